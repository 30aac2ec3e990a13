//! A durable process's saves: where it parks (a call, a sleep, a receive
//! that waits), its state is encoded on its own thread and stored, the
//! call or sleep going on only once the store has it.
//!
//! Saves of one process are stored one after the other (its slot's lock),
//! each a compare-and-set on the revision the last one left: a save
//! refused that way means another scheduler took the process over, and
//! this copy stops with `:calf/fenced`.

use std::future::Future;

use bytes::Bytes;
use calf_lang::snapshot::format::{CallImage, ProcessImage, ProgramImage, WaitImage};
use calf_lang::snapshot::{
    write_image, Encoder, Hash, ImageCache, Kind, ProgramForms, SnapshotError,
};

use super::*;
use crate::durable::{Store, StoreError};
use crate::hosted::SavedState;

/// What a durable process holds of its saves.
///
/// Saves run as tasks of their own and may start in another order than
/// they were made in (a save in the background at a `receive`, then the
/// one before a call): each takes a ticket when it is made, and one
/// whose state is older than what the store already has is skipped. Its
/// end takes a ticket too, so that no older save brings it back.
#[derive(Default)]
pub(crate) struct DurableSlot {
    /// Locked for the whole of a save or of the removal at the end.
    state: tokio::sync::Mutex<SlotState>,
    tickets: std::sync::atomic::AtomicU64,
    /// When the store last took a save, in Unix milliseconds (0: never),
    /// and that save's size: what `calf ps` and `calf inspect` show,
    /// read without waiting for a save going on.
    saved_at_ms: std::sync::atomic::AtomicI64,
    saved_bytes: std::sync::atomic::AtomicU64,
    /// The number of the last inbox message taken into the mailbox (set
    /// and read on the process's thread), and the number below which the
    /// stream no longer holds its messages.
    inbox_seq: std::sync::atomic::AtomicU64,
    dropped_below: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct SlotState {
    /// The revision of its entry in the store, once saved: the next save
    /// names it.
    revision: Option<u64>,
    /// The ticket of the last save or removal done.
    done: u64,
}

impl DurableSlot {
    /// A slot whose entry, of `bytes`, is at `revision`: a restored
    /// process's, whose claim was a save, holding its inbox's messages
    /// up to `inbox_seq`.
    fn restored(revision: u64, bytes: usize, inbox_seq: u64) -> DurableSlot {
        let slot = DurableSlot {
            state: tokio::sync::Mutex::new(SlotState {
                revision: Some(revision),
                done: 0,
            }),
            inbox_seq: inbox_seq.into(),
            ..Default::default()
        };
        slot.saved(bytes);
        slot
    }

    /// Drops from the stream the inbox messages up to `inbox_seq`, which
    /// a stored save accounts for; in the background: one left behind is
    /// skipped as taken when fetched again.
    fn drop_taken_messages(&self, store: &Arc<Store>, pid: u64, inbox_seq: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        if inbox_seq == 0 || self.dropped_below.fetch_max(inbox_seq + 1, Relaxed) > inbox_seq {
            return;
        }
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.drop_messages_below(pid, inbox_seq + 1).await {
                tracing::warn!(pid, why = %e, "taken messages were not dropped from the inbox");
            }
        });
    }

    /// Takes inbox message `seq`, unless the process has it already.
    pub(crate) fn took_from_inbox(&self, seq: u64) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        if seq <= self.inbox_seq.load(Relaxed) {
            return false;
        }
        self.inbox_seq.store(seq, Relaxed);
        true
    }

    fn saved(&self, bytes: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.saved_bytes.store(bytes as u64, Relaxed);
        self.saved_at_ms.store(now_ms(), Relaxed);
    }

    pub(crate) fn saved_state(&self) -> SavedState {
        use std::sync::atomic::Ordering::Relaxed;
        let at = self.saved_at_ms.load(Relaxed);
        SavedState {
            saved_at_ms: (at != 0).then_some(at),
            bytes: self.saved_bytes.load(Relaxed),
        }
    }

    fn ticket(&self) -> u64 {
        self.tickets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }
}

/// Where a durable process parks, as its save tells it.
pub(super) enum Parked<'a> {
    /// Not yet started: saved before `spawn-durable` returns.
    Start,
    Message {
        deadline_ms: Option<i64>,
    },
    Sleep {
        until_ms: i64,
    },
    Call {
        subject: &'a str,
        payload: &'a Value,
        options: &'a Value,
        id: &'a str,
        deadline_ms: i64,
    },
}

/// A save, encoded: the process image and the images it names that the
/// store does not have yet.
pub(super) struct Encoded {
    image: Vec<u8>,
    missing: Vec<(Hash, Bytes)>,
    /// The last inbox message the saved mailbox accounts for.
    inbox_seq: u64,
}

/// How long `spawn-durable` waits for an unavailable store before it
/// throws `:calf/store-unavailable`.
const START_SAVE_PATIENCE_MS: i64 = 10_000;

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Waits until `at_ms` (Unix milliseconds) has passed.
pub(super) async fn sleep_until_ms(at_ms: i64) {
    let left = at_ms.saturating_sub(now_ms());
    if left > 0 {
        tokio::time::sleep(Duration::from_millis(left as u64)).await;
    }
}

/// Whether a message to `to` is stored before it is sent: `to` is a
/// durable process and the runtime has a store.
#[inline]
pub(super) fn is_stored_send(shared: &Shared, to: Pid) -> bool {
    shared.durable.is_some() && crate::durable::is_durable(to)
}

/// `message` to `to`, encoded to be stored (see `durable/inbox.rs`), with
/// the store it goes to: an error when it is not data that can be
/// stored. `None` for a message sent as any other.
pub(crate) fn storable_message(
    shared: &Shared,
    to: Pid,
    message: &Value,
) -> Option<Result<(Arc<Store>, Bytes), RuntimeError>> {
    if !is_stored_send(shared, to) {
        return None;
    }
    let store = shared.durable.clone()?;
    let refused = |why: String| {
        Some(Err(RuntimeError::new(
            "calf/not-storable",
            format!("a message to durable process {to} is stored, and {why}",),
        )))
    };
    let bytes = match crate::wire::encode(message) {
        Ok(bytes) => Bytes::from(bytes),
        Err(why) => {
            return refused(format!(
                "this one cannot be: {why} (send data: what a call's payload may hold)"
            ))
        }
    };
    let most = store.max_message();
    if bytes.len() > most {
        return refused(format!(
            "this one is {} bytes, more than the NATS server takes ({most}): send a smaller \
             one, or where to find it",
            bytes.len()
        ));
    }
    Some(Ok((store, bytes)))
}

/// The send of `message` to `to`, when it is stored first: what the
/// sender waits on, which answers once JetStream has the message; an
/// error when the message cannot be stored. `None` for a message sent as
/// any other.
pub(super) fn stored_send(
    shared: &Shared,
    to: Pid,
    message: &Value,
) -> Option<Result<crate::call_sender::Call, RuntimeError>> {
    let (store, bytes) = match storable_message(shared, to, message)? {
        Ok(stored) => stored,
        Err(error) => return Some(Err(error)),
    };
    let here = shared.handle(to).is_some();
    let message = message.clone();
    Some(Ok(Box::pin(async move {
        // To a durable process that has ended, a message goes nowhere, as
        // to any process that has ended.
        if here || store.is_saved(to.0).await.map_err(|e| save_error(&e))? {
            store
                .put_message(to.0, bytes)
                .await
                .map_err(|e| save_error(&e))?;
        }
        Ok(message)
    })))
}

/// The hash of `job`'s namespaces image, and the images an image needing
/// `needs` (and those namespaces) names that `store` lacks.
pub(crate) fn images_to_store(
    job: &Job,
    store: &Store,
    cache: &mut ImageCache,
    needs: impl IntoIterator<Item = Hash>,
) -> Result<(Hash, Vec<(Hash, Bytes)>), SnapshotError> {
    let namespaces = job.namespaces_image(cache)?;
    let mut needs: Vec<Hash> = needs.into_iter().collect();
    needs.extend(namespaces.needs.iter().copied());
    let mut missing: Vec<(Hash, Bytes)> = store
        .missing(needs.iter())
        .into_iter()
        .filter_map(|h| cache.blob(&h).map(|b| (h, Bytes::copy_from_slice(&b[..]))))
        .collect();
    if !store.missing([&namespaces.hash]).is_empty() {
        missing.push((
            namespaces.hash,
            Bytes::copy_from_slice(&namespaces.bytes[..]),
        ));
    }
    Ok((namespaces.hash, missing))
}

/// Stores `images` (from [`images_to_store`]).
pub(crate) async fn store_images(
    store: &Store,
    images: &[(Hash, Bytes)],
) -> Result<(), StoreError> {
    for (hash, bytes) in images {
        store.put_image(*hash, bytes.clone()).await?;
    }
    Ok(())
}

/// The error a durable process gets when its save fails.
pub(crate) fn save_error(error: &StoreError) -> Value {
    let kind = match error {
        StoreError::Fenced { .. } => "calf/fenced",
        _ => "calf/store-unavailable",
    };
    RuntimeError::new(kind, error.to_string()).into_value()
}

impl Process {
    pub(super) fn durable_slot(&self) -> Option<Arc<DurableSlot>> {
        self.seldom.as_ref().and_then(|m| m.durable.clone())
    }

    /// This process's image, parked at `parked`.
    pub(super) fn encode(
        &self,
        store: &Store,
        parked: Parked<'_>,
    ) -> Result<Encoded, SnapshotError> {
        let inbox_seq = self.durable_slot().map_or(0, |slot| {
            slot.inbox_seq.load(std::sync::atomic::Ordering::Relaxed)
        });
        let mut cache = self.job.images.lock().unwrap_or_else(|e| e.into_inner());
        let mut encoder = Encoder::new(&mut cache);
        let vm = encoder.vm(&self.vm)?;
        let mailbox = (0..self.mailbox.len())
            .filter_map(|i| self.mailbox.get(i))
            .map(|m| encoder.value(m))
            .collect::<Result<Vec<_>, _>>()?;
        let wait = match parked {
            Parked::Start => WaitImage::Running,
            Parked::Message { deadline_ms } => WaitImage::Message {
                restart: false,
                deadline_ms,
            },
            Parked::Sleep { until_ms } => WaitImage::Sleep { until_ms },
            Parked::Call {
                subject,
                payload,
                options,
                id,
                deadline_ms,
            } => WaitImage::Call(CallImage {
                subject: subject.to_string(),
                payload: encoder.value(payload)?,
                options: encoder.value(options)?,
                id: id.to_string(),
                attempt: 1,
                deadline_ms,
            }),
        };
        let program = self.program_image(&mut encoder)?;
        let files = match self.job.load_path.submitted_files() {
            Some(files) => encoder.files(files)?,
            None => Vec::new(),
        };
        let needs = encoder.into_needs();
        let (job_hash, missing) = images_to_store(&self.job, store, &mut cache, needs)?;
        let pid = self.pid();
        let ties = self.seldom.as_ref().map(|m| &m.ties);
        let image = ProcessImage {
            pid: pid.0,
            job: job_hash,
            vm,
            wait,
            mailbox,
            cursor: self.cursor,
            links: ties.map_or(Vec::new(), |t| t.links.iter().map(|p| p.0).collect()),
            watchers: ties.map_or(Vec::new(), |t| {
                t.watchers.iter().map(|(r, p)| (*r, p.0)).collect()
            }),
            watching: ties.map_or(Vec::new(), |t| {
                t.watching.iter().map(|(r, p)| (*r, p.0)).collect()
            }),
            trap_exit: self.handle.traps_exits(),
            registered: self
                .shared
                .registered()
                .into_iter()
                .find(|(_, p)| *p == pid)
                .map(|(name, _)| name.name().to_string()),
            inbox_seq,
            reductions: self.reductions,
            saved_at_ms: now_ms(),
            files,
            program,
        };
        Ok(Encoded {
            image: write_image(Kind::Process, &image)?,
            missing,
            inbox_seq,
        })
    }

    /// The top-level forms a durable main process has still to run. A file
    /// being loaded is not saved: its forms' frame holds the VM that called
    /// `require`, which a save does not keep.
    fn program_image(
        &self,
        encoder: &mut Encoder<'_>,
    ) -> Result<Option<ProgramImage>, SnapshotError> {
        let frames = self.frames();
        if let Some(loading) = frames.iter().find_map(|f| f.loading.as_ref()) {
            return Err(SnapshotError::Invalid(format!(
                "it is loading {}: a durable process is saved only outside require and \
                 load-file, so the top level of a file it loads must not call, sleep or receive",
                loading.file
            )));
        }
        let Some(main) = frames.first() else {
            return Ok(None);
        };
        let program = &main.program;
        encoder
            .program(program.ns, &mut program.forms.iter(), &program.spans)
            .map(Some)
    }

    /// The save of this process parked at `parked`, to run before what it
    /// parked for goes on: retried while the store is unavailable, until
    /// `give_up_ms` (Unix milliseconds). `None` for a process that is not
    /// durable.
    pub(super) fn save(
        &self,
        parked: Parked<'_>,
        give_up_ms: i64,
    ) -> Option<impl Future<Output = Result<(), Value>> + Send + 'static> {
        let slot = self.durable_slot()?;
        let store = self.shared.durable.clone()?;
        // A restored process goes on after the save, never printing again
        // what it printed before: that must be out before the save is.
        self.job.flush_stdout();
        let encoded = self.encode(&store, parked);
        let pid = self.pid().0;
        let ticket = slot.ticket();
        let shared = self.shared.clone();
        Some(async move {
            let encoded = encoded.map_err(|e| {
                RuntimeError::new("calf/snapshot", format!("the process cannot be saved: {e}"))
                    .into_value()
            })?;
            if shared.is_leaving() {
                // The process waits here (this future is its own, dropped
                // with it) until its runtime stops it: its last save is
                // where the next scheduler resumes it.
                std::future::pending::<()>().await;
            }
            let mut state = slot.state.lock().await;
            if state.done > ticket {
                // A later state is stored already.
                return Ok(());
            }
            loop {
                match store_once(&store, pid, &encoded, state.revision).await {
                    Ok(saved) => {
                        state.revision = Some(saved);
                        state.done = ticket;
                        slot.saved(encoded.image.len());
                        slot.drop_taken_messages(&store, pid, encoded.inbox_seq);
                        return Ok(());
                    }
                    Err(e @ StoreError::Fenced { .. }) => return Err(save_error(&e)),
                    Err(e) if now_ms() >= give_up_ms => return Err(save_error(&e)),
                    Err(e) => {
                        tracing::warn!(pid, why = %e, "saving a durable process failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        })
    }

    /// A durable process's sleep until `until_ms` (Unix milliseconds). A
    /// node stopped or cut off for longer than a lease may have had its
    /// durable processes taken over meanwhile: at the end of the sleep it
    /// finds out, and a copy another node took stops with `:calf/fenced`
    /// rather than run on beside it; one nobody took goes on.
    pub(super) fn durable_sleep(
        &self,
        until_ms: i64,
    ) -> impl Future<Output = Result<Value, Value>> + Send + 'static {
        let store = self.shared.durable.clone();
        let lapses = store.as_ref().map(|s| s.lapses());
        let pid = self.pid().0;
        async move {
            sleep_until_ms(until_ms).await;
            if let Some(store) = store {
                store.confirm_lease().await;
                // The lease lapsed meanwhile: the process goes on only if
                // no other node took it over (its next save checks again).
                if Some(store.lapses()) != lapses {
                    match store.owner_of(pid).await {
                        Ok(Some(owner)) if owner == store.node() => {}
                        Ok(Some(owner)) => {
                            return Err(save_error(&StoreError::Fenced { pid, owner }))
                        }
                        Ok(None) | Err(_) => {
                            let owner = "unknown, while this one was cut off".to_string();
                            return Err(save_error(&StoreError::Fenced { pid, owner }));
                        }
                    }
                }
            }
            Ok(Value::Nil)
        }
    }

    /// A save at a `receive` that waits, done in the background: nothing
    /// waits for it, and the process goes on when a message comes. A
    /// failure leaves the last save standing.
    pub(super) fn save_in_background(&self) {
        let deadline_ms = self
            .seldom
            .as_ref()
            .and_then(|m| m.timers.receive_deadline)
            .map(|at| now_ms() + at.saturating_duration_since(Instant::now()).as_millis() as i64);
        if self.shared.is_leaving() {
            return;
        }
        if let Some(save) = self.save(Parked::Message { deadline_ms }, now_ms()) {
            tokio::spawn(async move {
                if let Err(e) = save.await {
                    tracing::warn!(why = %e, "a durable process waiting in receive was not saved");
                }
            });
        }
    }

    /// Its first save, before `spawn-durable` returns: a scheduler that
    /// dies before the process first parks does not lose it.
    pub(crate) fn save_at_start(
        &self,
    ) -> Option<impl Future<Output = Result<(), Value>> + Send + 'static> {
        self.save(Parked::Start, now_ms() + START_SAVE_PATIENCE_MS)
    }

    /// Forgets the process in the store: it ended.
    pub(super) fn forget_saved(&self) {
        let (Some(slot), Some(store)) = (self.durable_slot(), self.shared.durable.clone()) else {
            return;
        };
        self.shared.durable_ended();
        // Once forgotten, it never runs again: what it printed must be out
        // before, or a crash could lose it.
        self.job.flush_stdout();
        let pid = self.pid().0;
        let ticket = slot.ticket();
        tokio::spawn(async move {
            let mut state = slot.state.lock().await;
            state.done = ticket;
            if let Some(revision) = state.revision.take() {
                if let Err(e) = store.remove(pid, revision).await {
                    tracing::warn!(pid, why = %e, "an ended durable process was not forgotten");
                }
            }
            // A message sent to it from now on is dropped by its sender
            // (no such process); one that came before has no reader.
            if let Err(e) = store.erase_inbox(pid).await {
                tracing::warn!(pid, why = %e, "an ended durable process's inbox was not dropped");
            }
        });
    }
}

async fn store_once(
    store: &Store,
    pid: u64,
    encoded: &Encoded,
    revision: Option<u64>,
) -> Result<u64, StoreError> {
    store_images(store, &encoded.missing).await?;
    store.save(pid, &encoded.image, revision).await
}

/// What a restored process waits for, with the answer its VM is owed.
pub(crate) enum RestoredWait {
    Ready,
    Message(Received, Option<i64>),
    Sleep(Resume, i64),
    Call {
        resume: Resume,
        subject: String,
        payload: Value,
        options: Value,
        id: String,
        attempt: u32,
        deadline_ms: i64,
    },
}

impl Process {
    /// Sets up a process restored from `image`, whose entry in the store
    /// is at `revision`, to go on where it parked.
    pub(crate) fn restore(
        &mut self,
        (revision, bytes): (u64, usize),
        wait: RestoredWait,
        mailbox: Vec<Value>,
        image: &ProcessImage,
    ) {
        self.shared.durable_started();
        self.seldom().durable = Some(Arc::new(DurableSlot::restored(
            revision,
            bytes,
            image.inbox_seq,
        )));
        self.shared.inboxes.open(self.pid(), image.inbox_seq);
        for message in mailbox {
            self.mailbox.push_back(message);
        }
        self.cursor = image.cursor;
        self.reductions = image.reductions;
        let ties = &mut self.seldom().ties;
        ties.links = image.links.iter().map(|p| Pid(*p)).collect();
        ties.watchers = image.watchers.iter().map(|(r, p)| (*r, Pid(*p))).collect();
        ties.watching = image.watching.iter().map(|(r, p)| (*r, Pid(*p))).collect();
        if image.trap_exit {
            self.handle
                .trap_exit
                .store(true, std::sync::atomic::Ordering::Release);
        }
        if let Some(name) = &image.registered {
            let _ = self.shared.register(Sym::new(name), self.pid());
        }
        match wait {
            RestoredWait::Ready => {}
            RestoredWait::Message(received, deadline_ms) => {
                self.seldom().timers.receive_deadline = deadline_ms.map(|at| {
                    Instant::now()
                        + Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64)
                });
                self.waiting = Some(Wait::Message(received));
            }
            RestoredWait::Sleep(resume, until_ms) => {
                let sleep = self.durable_sleep(until_ms);
                self.wait_for(Box::pin(sleep), resume);
            }
            RestoredWait::Call {
                resume,
                subject,
                payload,
                options,
                id,
                attempt,
                deadline_ms,
            } => {
                let call = self.call_again(subject, payload, &options, id, attempt, deadline_ms);
                self.wait_for(call, resume);
            }
        }
    }

    /// Makes a restored process the main process of its job again, with
    /// the top-level forms it had still to run. `started` says whether it
    /// was saved in the middle of a form (its VM holds the rest of it) or
    /// before its first one.
    pub(crate) fn resume_program(&mut self, program: ProgramForms, started: bool) {
        let mut resumed = Program::new(calf_lang::reader::Forms {
            forms: Vec::new(),
            spans: program.spans,
            form_spans: Vec::new(),
        });
        resumed.forms = program.forms.into_iter().collect();
        resumed.ns = program.ns;
        let seldom = self.seldom();
        seldom.forms.frames.push(Frame {
            program: resumed,
            loading: None,
        });
        seldom.forms.main = true;
        if !started {
            self.waiting = Some(Wait::Start);
        }
    }

    /// A call made before the save, made again with the same id and the
    /// next attempt, until its first deadline.
    fn call_again(
        &self,
        subject: String,
        payload: Value,
        options: &Value,
        id: String,
        attempt: u32,
        deadline_ms: i64,
    ) -> crate::call_sender::Call {
        let (policy, body) = match (
            Policy::from_options(options),
            crate::bus::encode_payload(&payload),
        ) {
            (Ok(policy), Ok(body)) => (policy, body),
            (Err(e), _) | (_, Err(e)) => {
                let error = e.into_value();
                return Box::pin(async move { Err(error) });
            }
        };
        let mut context = call::CallContext {
            attempts_before: attempt,
            deadline_ms: Some(deadline_ms),
            telemetry: self.shared.telemetry.clone().map(|t| (t, self.pid())),
            ..Default::default()
        };
        if let Some(tenant) = &self.shared.quotas.tenant {
            context.tenant = Some(tenant.clone());
            context.permits = self.shared.quotas.call_permits();
        }
        let bus = self.shared.bus.clone();
        Box::pin(call::run(bus, subject, payload, body, policy, id, context))
    }
}
