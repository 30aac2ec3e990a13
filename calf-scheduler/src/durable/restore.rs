//! Taking over the durable processes of schedulers that are gone: each
//! orphan is claimed (one node wins it), read back with the code and
//! namespaces it names, and started where it parked.

use std::sync::Arc;

use bytes::Bytes;
use calf_lang::error::RuntimeError;
use calf_lang::snapshot::format::{JobImage, ProcessImage, WaitImage};
use calf_lang::snapshot::{read_image, Blobs, Decoder, Hash, Kind, SnapshotError};
use calf_lang::value::Pid;
use calf_lang::vm::{Owed, Restored};
use calf_lang::Value;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::hash_map::Entry;

use super::{Claimed, Store, StoreError};
use crate::job::Job;
use crate::load::LoadPath;
use crate::mailbox::{ExitSignal, Signal};
use crate::process::RestoredWait;
use crate::runtime::Shared;

/// Whether node `me` takes orphan `pid` over in this pass: the node ranked
/// first for it among the `live` ones (so the orphans of a dead node
/// spread over the survivors), or any node once it has stayed an orphan
/// for a whole pass (`seen`: its first node did not take it).
fn claims_now(pid: u64, me: &str, live: &[String], seen: &FxHashSet<u64>) -> bool {
    seen.contains(&pid) || super::preferred_node(pid, live).is_none_or(|first| first == me)
}

/// Images fetched from the store, shared by the restores of one pass.
#[derive(Default)]
pub(crate) struct Fetched(FxHashMap<Hash, Arc<[u8]>>);

impl Blobs for Fetched {
    fn blob(&self, hash: &Hash) -> Option<Arc<[u8]>> {
        self.0.get(hash).cloned()
    }
}

/// The jobs restored in one pass, by the hash of their namespaces: the
/// processes of one program share them, as they did before.
pub(crate) struct RestoredJob {
    pub job: Arc<Job>,
    pub decoder: Decoder,
}

/// Claims and starts every orphan the store holds; gives how many
/// started. One that cannot be restored (code or a native that no longer
/// exists, a damaged snapshot) is reported on `host`'s stderr and
/// forgotten: it ends with that reason.
pub(crate) async fn resume_orphans(
    shared: &Arc<Shared>,
    host: &Arc<Job>,
    seen: &mut FxHashSet<u64>,
) -> Result<usize, StoreError> {
    let Some(store) = shared.durable.clone() else {
        return Ok(0);
    };
    let orphans = store.orphans(|pid| shared.is_alive(Pid(pid))).await?;
    if orphans.is_empty() {
        seen.clear();
        return Ok(0);
    }
    let live = store.live_nodes().await?;
    let (mine, later): (Vec<u64>, Vec<u64>) = orphans
        .into_iter()
        .partition(|pid| claims_now(*pid, store.node(), &live, seen));
    // The others' share, if still orphans at the next pass, is taken then.
    *seen = later.into_iter().collect();
    let orphans = mine;
    let mut fetched = Fetched::default();
    let mut jobs: FxHashMap<Hash, RestoredJob> = FxHashMap::default();
    let mut started = Vec::new();
    // The processes that could not be restored, and why: what their
    // partners are told.
    let mut ended: FxHashMap<u64, Value> = FxHashMap::default();
    for pid in orphans {
        let Some(Claimed { revision, image }) = store.claim(pid).await? else {
            continue;
        };
        match restore_one(
            shared,
            host,
            &store,
            &mut fetched,
            &mut jobs,
            &image,
            revision,
        )
        .await
        {
            Ok(restored) => started.push(restored),
            Err(Failed::Store(e)) => return Err(e),
            Err(Failed::Snapshot(e)) => {
                let why = format!("durable process #pid<{pid}> cannot be restored, and ends: {e}");
                host.write(&format!("{why}\n"), true);
                let _ = store.remove(pid, revision).await;
                let reason = RuntimeError::new(UNRESTORABLE, why).into_value();
                tell_partners_here(shared, pid, &image, &reason);
                ended.insert(pid, reason);
            }
        }
    }
    // Messages stored for them since their saves: each fetcher reads on
    // from where its process's save left off.
    if !started.is_empty() {
        match store.inboxes_with_messages().await {
            Ok(waiting) => {
                for (pid, _, _) in started.iter().filter(|(p, _, _)| waiting.contains(&p.0)) {
                    super::inbox::ring(shared, &store, pid.0);
                }
            }
            Err(e) => tracing::warn!(why = %e, "the inboxes of restored processes were not read"),
        }
    }
    // A link or monitor to a process that did not come back (it died with
    // the crashed scheduler, and was not durable) broke with that node; to
    // one that could not be restored, with the reason it ended. A durable
    // partner still saved is not gone: another scheduler runs it, or will.
    let mut gone: FxHashMap<u64, Option<Value>> = FxHashMap::default();
    for (pid, links, watching) in &started {
        let Some(handle) = shared.handle(*pid) else {
            continue;
        };
        let partners = links.iter().chain(watching.iter().map(|(_, p)| p));
        for other in partners {
            if !gone.contains_key(other) {
                let reason = partner_gone(shared, &store, &ended, *other).await?;
                gone.insert(*other, reason);
            }
        }
        let reason_of = |other: &u64| gone.get(other).cloned().flatten();
        for other in links {
            if let Some(reason) = reason_of(other) {
                let _ = handle.push(Signal::Exit(Box::new(ExitSignal {
                    from: Pid(*other),
                    reason,
                    link_broken: true,
                })));
            }
        }
        for (reference, other) in watching {
            if let Some(reason) = reason_of(other) {
                let _ = handle.push(Signal::Message(crate::process::down_message(
                    *reference,
                    Pid(*other),
                    reason,
                )));
            }
        }
    }
    Ok(started.len())
}

/// The type of the reason a durable process that cannot be restored ends
/// with.
const UNRESTORABLE: &str = "calf/unrestorable";

/// Why partner `pid` of a restored process is gone, if it is: `None` when
/// it runs here, or is durable and still saved.
async fn partner_gone(
    shared: &Shared,
    store: &Store,
    ended: &FxHashMap<u64, Value>,
    pid: u64,
) -> Result<Option<Value>, StoreError> {
    if let Some(reason) = ended.get(&pid) {
        return Ok(Some(reason.clone()));
    }
    if shared.is_alive(Pid(pid)) || (super::is_durable(Pid(pid)) && store.is_saved(pid).await?) {
        return Ok(None);
    }
    Ok(Some(Value::keyword("noconnection")))
}

/// Tells the partners of `pid`, a process that cannot be restored, that
/// run here that it ended with `reason`: the links and monitors its image
/// names, when it reads that far.
fn tell_partners_here(shared: &Shared, pid: u64, image: &Bytes, reason: &Value) {
    let Ok(image) = read_image::<ProcessImage>(Kind::Process, image) else {
        return;
    };
    for other in &image.links {
        if let Some(handle) = shared.handle(Pid(*other)) {
            let _ = handle.push(Signal::Exit(Box::new(ExitSignal {
                from: Pid(pid),
                reason: reason.clone(),
                link_broken: true,
            })));
        }
    }
    for (reference, watcher) in &image.watchers {
        if let Some(handle) = shared.handle(Pid(*watcher)) {
            let _ = handle.push(Signal::Message(crate::process::down_message(
                *reference,
                Pid(pid),
                reason.clone(),
            )));
        }
    }
}

/// A restored process, with the pids it links to and monitors.
type Started = (Pid, Vec<u64>, Vec<(u64, u64)>);

pub(crate) enum Failed {
    Store(StoreError),
    Snapshot(SnapshotError),
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Failed {
        Failed::Store(e)
    }
}

impl From<SnapshotError> for Failed {
    fn from(e: SnapshotError) -> Failed {
        Failed::Snapshot(e)
    }
}

/// Runs `attempt` until it no longer misses an image, fetching each one
/// it names from the store.
pub(crate) async fn with_images<T>(
    store: &Store,
    fetched: &mut Fetched,
    mut attempt: impl FnMut(&Fetched) -> Result<T, SnapshotError>,
) -> Result<T, Failed> {
    loop {
        let missing = match attempt(fetched) {
            Ok(value) => return Ok(value),
            Err(SnapshotError::MissingCode { hash, function }) => (hash, Some(function)),
            Err(SnapshotError::MissingSource(hash)) => (hash, None),
            Err(e) => return Err(e.into()),
        };
        match store.image(&missing.0).await? {
            Some(bytes) => {
                fetched.0.insert(missing.0, Arc::from(&bytes[..]));
            }
            None => {
                return Err(match missing.1 {
                    Some(function) => SnapshotError::MissingCode {
                        hash: missing.0,
                        function,
                    },
                    None => SnapshotError::MissingSource(missing.0),
                }
                .into())
            }
        }
    }
}

/// The job of `image`'s process, made again from the namespaces and the
/// files its image names, printing where `host` does.
pub(crate) async fn restored_job(
    store: &Store,
    fetched: &mut Fetched,
    host: &Arc<Job>,
    image: &ProcessImage,
) -> Result<RestoredJob, Failed> {
    let job_bytes = store.image(&image.job).await?.ok_or_else(|| {
        SnapshotError::Invalid(format!(
            "the namespaces of its program (hash {}) are not in the store",
            image.job.short()
        ))
    })?;
    let job_image: JobImage = read_image(Kind::Job, &job_bytes)?;
    let globals = calf_lang::prelude::new_globals();
    // Every process of a submitted job carries its files: where
    // the requires of any of them look, after as before.
    let files = match image.files.is_empty() {
        true => None,
        false => {
            Some(with_images(store, fetched, |blobs| Decoder::files(&image.files, blobs)).await?)
        }
    };
    // Each attempt starts from fresh namespaces: one that stopped
    // half-way for a missing image left some vars set.
    let decoder = with_images(store, fetched, |blobs| {
        let mut decoder = Decoder::new(globals.clone());
        decoder.job(&job_image, blobs)?;
        Ok(decoder)
    })
    .await?;
    let job = Arc::new(Job::restored(
        globals,
        host.clone(),
        files.map(LoadPath::submitted),
    ));
    Ok(RestoredJob { job, decoder })
}

async fn restore_one(
    shared: &Arc<Shared>,
    host: &Arc<Job>,
    store: &Store,
    fetched: &mut Fetched,
    jobs: &mut FxHashMap<Hash, RestoredJob>,
    bytes: &Bytes,
    revision: u64,
) -> Result<Started, Failed> {
    let image: ProcessImage = read_image(Kind::Process, bytes)?;
    let restored = match jobs.entry(image.job) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(slot) => slot.insert(restored_job(store, fetched, host, &image).await?),
    };
    let owed = match image.wait {
        WaitImage::Running => Owed::Nothing,
        WaitImage::Message { .. } => Owed::Message,
        WaitImage::Sleep { .. } | WaitImage::Call(_) => Owed::Answer,
    };
    let decoder = &mut restored.decoder;
    let vm = with_images(store, fetched, |blobs| decoder.vm(&image.vm, owed, blobs)).await?;
    // A job's main process: the forms it has still to run come back with
    // it.
    let program = match &image.program {
        Some(program) => {
            Some(with_images(store, fetched, |blobs| decoder.program(program, blobs)).await?)
        }
        None => None,
    };
    let started = !matches!(image.wait, WaitImage::Running);
    let mailbox = with_images(store, fetched, |blobs| {
        image
            .mailbox
            .iter()
            .map(|m| decoder.value(m, blobs))
            .collect::<Result<Vec<Value>, _>>()
    })
    .await?;
    let call = match &image.wait {
        WaitImage::Call(call) => Some(
            with_images(store, fetched, |blobs| {
                Ok((
                    decoder.value(&call.payload, blobs)?,
                    decoder.value(&call.options, blobs)?,
                ))
            })
            .await?,
        ),
        _ => None,
    };
    let (vm, wait) = match (vm, &image.wait) {
        (Restored::Ready(vm), _) => (vm, RestoredWait::Ready),
        (Restored::Message(vm, received), WaitImage::Message { deadline_ms, .. }) => {
            (vm, RestoredWait::Message(received, *deadline_ms))
        }
        (Restored::Answer(vm, resume), WaitImage::Sleep { until_ms }) => {
            (vm, RestoredWait::Sleep(resume, *until_ms))
        }
        (Restored::Answer(vm, resume), WaitImage::Call(image)) => {
            let (payload, options) = call.expect("decoded above");
            (
                vm,
                RestoredWait::Call {
                    resume,
                    subject: image.subject.clone(),
                    payload,
                    options,
                    id: image.id.clone(),
                    attempt: image.attempt,
                    deadline_ms: image.deadline_ms,
                },
            )
        }
        _ => unreachable!("the VM owes what its wait says"),
    };
    let pid = Pid(image.pid);
    let spawned = shared.spawn_as(&restored.job, Some(pid), vm, |process| {
        process.restore((revision, bytes.len()), wait, mailbox, &image);
        if let Some(program) = program {
            process.resume_program(program, started);
        }
    });
    spawned
        .map(|pid| (pid, image.links.clone(), image.watching.clone()))
        .map_err(|e| {
            Failed::Snapshot(SnapshotError::Invalid(format!(
                "it cannot start: {}",
                calf_lang::error::message_of(&e.into_value())
            )))
        })
}

/// Takes orphans over now and every `every` after, for as long as the
/// runtime's tokio runs; and delivers the messages stored for the durable
/// processes running here.
pub(crate) fn keep_resuming(shared: &Arc<Shared>, host: &Arc<Job>, every: std::time::Duration) {
    if let Some(store) = &shared.durable {
        super::inbox::keep_delivering(shared, store);
    }
    let (shared, host) = (shared.clone(), host.clone());
    tokio::spawn(async move {
        let mut seen = FxHashSet::default();
        loop {
            if let Err(e) = resume_orphans(&shared, &host, &mut seen).await {
                tracing::warn!(why = %e, "taking over durable processes failed; trying again");
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Waits until no durable process runs here, and, with
/// `until_store_empty`, none is saved by any node; then gives the lease
/// up, so that another scheduler need not wait for it to lapse.
pub(crate) async fn wait_for_durable(shared: &Shared, store: &Store, until_store_empty: bool) {
    loop {
        if shared.durable_alive() == 0 && (!until_store_empty || store.saved().await == Ok(0)) {
            break;
        }
        // Each listing of the store is a JetStream consumer: asked at most
        // a few times a second.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let _ = store.release().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_survivor_takes_its_share_first_and_the_rest_after_a_pass() {
        let live: Vec<String> = ["node-b", "node-c"].iter().map(|s| s.to_string()).collect();
        let none = FxHashSet::default();
        let b: Vec<u64> = (0..200)
            .filter(|p| claims_now(*p, "node-b", &live, &none))
            .collect();
        let c: Vec<u64> = (0..200)
            .filter(|p| claims_now(*p, "node-c", &live, &none))
            .collect();
        assert_eq!(b.len() + c.len(), 200, "each orphan has one first taker");
        assert!(
            b.len() > 60 && c.len() > 60,
            "spread: {} and {}",
            b.len(),
            c.len()
        );
        // Left an orphan for a pass, it goes to whoever sees it next.
        let seen: FxHashSet<u64> = c.iter().copied().collect();
        assert!(c.iter().all(|p| claims_now(*p, "node-b", &live, &seen)));
        // Alone, a node takes everything at once.
        let alone = vec!["node-b".to_string()];
        assert!((0..200).all(|p| claims_now(p, "node-b", &alone, &none)));
    }
}
