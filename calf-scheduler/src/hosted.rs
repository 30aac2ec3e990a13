//! A runtime hosted by a long-running scheduler (`calf serve`): one
//! tenant's processes, registry and quotas, sharing the scheduler's
//! threads with the other tenants' runtimes in proportion to its share.
//!
//! Where `run_program` runs one program and ends with it, a hosted runtime
//! lives until it is shut down and runs *jobs*: each submitted program is
//! the main process of a new job, with its own namespaces (its `require`s
//! resolve against the files submitted with it, then the bundled stdlib,
//! never the scheduler's disk) and its own output. When a job's main
//! process ends, the job's other processes are stopped, as when a script
//! run by `calf` ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calf_lang::namespace::Globals;
use calf_lang::span::{add_source, forget_source};
use calf_lang::value::Pid;
use calf_lang::vm::{Thrown, Vm};
use calf_lang::{RuntimeError, Sym, Value};
use tokio::sync::oneshot;

use crate::bus::Bus;
use crate::cluster::Cluster;
use crate::durable::Store;
use crate::job::Job;
use crate::load::LoadPath;
use crate::mailbox::{ExitSignal, ProcessHandle, Signal};
use crate::process::Program;
use crate::quota::Quotas;
use crate::runtime::{Config, Ending, Evaluated, Failure, Parts, Shared};
use crate::telemetry::{SpanSink, Telemetry};
use calf_executor::fair::{Fairness, Share};
use calf_executor::Pool;

/// How long `ps` waits for the processes to tell what they do: a process
/// answers between two slices, so only one inside a native that runs long
/// is late, and is shown as `busy`.
const PS_WAIT: Duration = Duration::from_secs(1);

/// How long `inspect` waits for its process.
const INSPECT_WAIT: Duration = Duration::from_secs(2);

/// How long processes killed at shutdown have to go.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// What a tenant may use of the scheduler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Processes alive at once; a spawn past it throws
    /// `:calf/quota-exceeded`.
    pub max_processes: usize,
    /// Foreign calls in flight at once; a call past it waits for one to
    /// finish.
    pub max_calls_in_flight: usize,
    /// Messages one mailbox may hold; past it the process is killed with
    /// a `:calf/quota-exceeded` reason.
    pub max_mailbox: usize,
    /// The tenant's weight: runnable tenants get reductions in proportion
    /// to it, whatever their number of processes.
    pub cpu_share: u32,
}

/// The threads every hosted runtime of a scheduler shares, and how their
/// time is divided between the runtimes.
pub struct Scheduler {
    tokio: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    threads: usize,
    render: fn(&Failure) -> String,
    /// How the threads are divided between the hosted runtimes.
    fairness: Arc<Fairness>,
    /// The trace file every hosted runtime's calls go to.
    spans: Option<Arc<SpanSink>>,
}

impl Scheduler {
    /// A scheduler running processes on `threads` threads; `render`
    /// shows a failure to a person (job ends, crash reports).
    pub fn new(threads: usize, render: fn(&Failure) -> String) -> std::io::Result<Scheduler> {
        let threads = threads.max(1);
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_stack_size(64 << 20)
            .enable_all()
            .build()?;
        Ok(Scheduler {
            handle: tokio.handle().clone(),
            tokio: Some(tokio),
            threads,
            render,
            fairness: Fairness::new(),
            spans: None,
        })
    }

    /// Writes the calls of the runtimes hosted from now on to `spans`.
    pub fn trace_to(&mut self, spans: Arc<SpanSink>) {
        self.spans = Some(spans);
    }

    /// The tokio runtime the scheduler's threads belong to: the serve
    /// layer runs its NATS connections on it.
    pub fn tokio(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Starts a hosted runtime named `tenant` (in errors and quota
    /// reports), sending its foreign calls to `bus`, saving its durable
    /// processes in `durable`, when given, and a node of `cluster`, when
    /// given (made with the same store).
    pub fn host(
        &self,
        tenant: &str,
        config: Config,
        limits: Limits,
        bus: Arc<dyn Bus>,
        durable: Option<Arc<Store>>,
        cluster: Option<Arc<Cluster>>,
    ) -> Hosted {
        // The call sender is a task of the scheduler's runtime.
        let _entered = self.handle.enter();
        let share = self.fairness.join(limits.cpu_share, self.threads);
        let pool = Pool::sharing(self.threads, &self.handle, Some(share.clone()));
        let telemetry = Telemetry::new(Some(tenant), self.spans.clone());
        let shared = Shared::new(
            Parts {
                config: Config {
                    max_mailbox: limits.max_mailbox,
                    ..config
                },
                render: self.render,
                bus,
                quotas: Quotas::hosted(tenant, limits),
                hosted: true,
                durable,
                telemetry: Some(telemetry.clone()),
                cluster,
            },
            pool,
        );
        Hosted {
            tokio: self.handle.clone(),
            shared: Arc::new(shared),
            share,
            stopping: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            telemetry,
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        if let Some(tokio) = self.tokio.take() {
            tokio.shutdown_background();
        }
    }
}

/// Where a job's output and its end go.
pub trait JobOutput: Send + Sync + 'static {
    /// Text a process of the job printed.
    fn write(&self, text: &str, to_stderr: bool);
    /// The job's main process ended: how. Called once.
    fn ended(&self, end: JobEnd);
}

/// How a job ended.
#[derive(Debug)]
pub struct JobEnd {
    /// `:normal`, the error thrown, or `[:exit status]` for
    /// `exit-program`, printed.
    pub reason: String,
    /// Zero when the main process returned; the status of
    /// `exit-program`; 1 for a failure.
    pub status: i32,
    /// The failure, rendered for a person (with its source excerpt and
    /// Calf stack); `None` when it did not fail.
    pub failure: Option<String>,
}

/// A program to run as a new job.
pub struct Submission {
    /// The file whose forms the main process runs, as named in `files`.
    pub main: String,
    /// Every submitted file: its path relative to the submission's root
    /// (`app/util.calf` is the namespace `app.util`), and its text.
    pub files: Vec<(String, String)>,
    /// `*command-line-args*`.
    pub args: Vec<String>,
    pub output: Arc<dyn JobOutput>,
    /// Whether the main process is durable: saved whenever it parks, and
    /// resumed by this or another scheduler after a crash.
    pub durable: bool,
}

/// Why a job did not start.
#[derive(Debug)]
pub enum Refused {
    /// The main file is missing from the submission, or does not read:
    /// the failure, rendered (with its source line: the source itself is
    /// not kept).
    Source(String),
    /// A quota was reached (the error value, `:calf/quota-exceeded`).
    Quota(Value),
    /// The runtime is shutting down.
    ShuttingDown,
    /// A durable job, and the runtime keeps no durable processes or its
    /// store did not take the main process: why.
    NotDurable(String),
}

/// What `ps` shows of a process.
#[derive(Clone, Debug)]
pub struct ProcessRow {
    pub pid: Pid,
    /// The main process of the job it belongs to.
    pub job: Pid,
    /// Its registered name, if any.
    pub name: Option<String>,
    /// `running`, `runnable`, `waiting` (in `receive`), `sleeping`,
    /// `calling`, `loading`.
    pub status: &'static str,
    /// The function it is in, as `ns/name`.
    pub function: Option<String>,
    pub mailbox: usize,
    pub reductions: u64,
    /// Bytes of its own structures: task, stacks, mailbox.
    pub memory: usize,
    pub age: Duration,
    /// Its saves, for a durable process.
    pub durable: Option<SavedState>,
}

/// What `ps` and `inspect` show of a durable process's saves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedState {
    /// When the store last took its state, in Unix milliseconds; `None`
    /// before the first save is stored.
    pub saved_at_ms: Option<i64>,
    /// The bytes of that save (its image; code is stored apart, once).
    pub bytes: u64,
}

/// What `inspect` shows of one process.
#[derive(Clone, Debug)]
pub struct ProcessDetail {
    pub row: ProcessRow,
    /// The Calf stack, innermost first, each `fn (file:line:col)`.
    pub stack: Vec<String>,
    /// The first messages of its mailbox, printed.
    pub mailbox: Vec<String>,
    pub links: Vec<Pid>,
    /// The processes it monitors.
    pub monitors: Vec<Pid>,
    /// The processes monitoring it.
    pub monitored_by: Vec<Pid>,
    pub traps_exits: bool,
    /// The call it waits on.
    pub call: Option<CallWait>,
}

/// A foreign call a process waits on.
#[derive(Clone, Debug)]
pub struct CallWait {
    pub subject: String,
    pub attempt: u32,
    /// When the call gives up, in Unix milliseconds.
    pub deadline_ms: i64,
}

/// A tenant's figures, for `ps --summary`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Figures {
    pub processes: usize,
    pub jobs: usize,
    pub reductions: u64,
    pub calls_in_flight: usize,
    pub quota_refusals: u64,
}

/// No process with that pid lives in this runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoSuchProcess(pub Pid);

/// Why a message from outside was not sent.
#[derive(Clone, Debug)]
pub enum NotSent {
    NoSuchProcess(NoSuchProcess),
    /// A message to a durable process that could not be stored: the
    /// error value (`:calf/not-storable`, `:calf/store-unavailable`).
    Refused(Value),
}

impl From<NoSuchProcess> for NotSent {
    fn from(missing: NoSuchProcess) -> NotSent {
        NotSent::NoSuchProcess(missing)
    }
}

/// One tenant's runtime on a [`Scheduler`].
pub struct Hosted {
    /// The scheduler's runtime, where its processes' tasks run.
    tokio: tokio::runtime::Handle,
    shared: Arc<Shared>,
    /// Its part of the scheduler's threads.
    share: Arc<Share>,
    /// Set by `shutdown`: no job starts after it.
    stopping: AtomicBool,
    /// Set once its processes are stopped.
    stopped: AtomicBool,
    /// The record of its foreign calls (also the runtime's).
    telemetry: Arc<Telemetry>,
}

impl Hosted {
    /// New quotas (a reloaded configuration); running processes keep
    /// running.
    pub fn set_limits(&self, limits: Limits) {
        self.shared.quotas.set(limits);
        self.share.set_weight(limits.cpu_share);
    }

    /// The record of this runtime's foreign calls.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// The cluster this runtime is a node of, if any.
    pub fn cluster(&self) -> Option<Arc<Cluster>> {
        self.shared.cluster.clone()
    }

    /// Its node's index in the cluster (0: none): its pids carry it.
    pub fn node_index(&self) -> u32 {
        self.shared.cluster.as_ref().map_or(0, |c| c.index())
    }

    /// Whether process `pid` runs here.
    pub fn is_alive(&self, pid: Pid) -> bool {
        self.shared.is_alive(pid)
    }

    /// The node id this runtime saves its durable processes as, when it
    /// has a store.
    pub fn durable_node(&self) -> Option<&str> {
        self.shared.durable.as_deref().map(Store::node)
    }

    /// Takes over the saved durable processes no scheduler runs (a dead
    /// node's, and those an earlier run of this node left), now and every
    /// third of a lease after; what they print goes to `output`. Nothing
    /// without a store.
    pub fn keep_resuming(&self, output: Arc<dyn JobOutput>) {
        let Some(store) = &self.shared.durable else {
            return;
        };
        let host = Arc::new(Job::hosted(
            calf_lang::prelude::new_globals(),
            LoadPath::submitted(Vec::new()),
            output,
            false,
        ));
        let _entered = self.tokio.enter();
        crate::durable::restore::keep_resuming(&self.shared, &host, store.lease_ttl() / 3);
        Cluster::start(&self.shared, &host);
    }

    /// The main process of the job `pid` belongs to, while `pid` lives;
    /// `None` for a process taken over from another scheduler, whose job
    /// is not here.
    pub fn job_of(&self, pid: Pid) -> Option<Pid> {
        let job = self.shared.handle(pid)?.job();
        (job.0 != 0).then_some(job)
    }

    /// Starts a job; its pid is its main process's.
    pub async fn submit(&self, submission: Submission) -> Result<Pid, Refused> {
        let Submission {
            main,
            files,
            args,
            output,
            durable,
        } = submission;
        if durable && self.shared.durable.is_none() {
            return Err(Refused::NotDurable(
                "this scheduler keeps no durable processes: start calf serve with --durable NODE"
                    .to_string(),
            ));
        }
        let Some((_, text)) = files.iter().find(|(path, _)| *path == main) else {
            let listed: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
            let missing = thrown(RuntimeError::new(
                crate::load::UNREADABLE,
                format!(
                    "the main file {main} is not among the files submitted ({})",
                    listed.join(", ")
                ),
            ));
            return Err(Refused::Source((self.shared.render)(&missing)));
        };
        let file = add_source(main.clone(), text.clone());
        let forms = match calf_lang::reader::read_file(file) {
            Ok(forms) => forms,
            Err(error) => {
                let rendered = (self.shared.render)(&Failure::Source(error));
                forget_source(file);
                return Err(Refused::Source(rendered));
            }
        };
        let job = Job::hosted(
            globals_with_args(&args),
            LoadPath::submitted(files),
            output,
            true,
        );
        job.keep_source(file);
        let (pid, _, first_save) = self.start(job, Program::new(forms), durable)?;
        let Some(first_save) = first_save else {
            return Ok(pid);
        };
        match first_save.await {
            Ok(()) => Ok(pid),
            Err(error) => {
                let _ = self.kill(pid, Value::keyword("kill"));
                Err(Refused::NotDurable(calf_lang::error::message_of(&error)))
            }
        }
    }

    /// Starts `job`'s main process, running `program`; when `durable`, in a
    /// runtime with a store, as a durable process, with its first save.
    fn start(
        &self,
        job: Job,
        program: Program,
        durable: bool,
    ) -> Result<(Pid, Arc<Job>, Option<crate::process::FirstSave>), Refused> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(Refused::ShuttingDown);
        }
        let job = Arc::new(job);
        let mut first_save = None;
        let pid = durable.then(crate::durable::new_pid);
        let pid = self
            .shared
            .spawn_as(&job, pid, Vm::call(Value::Nil, Vec::new()), |main| {
                main.set_program(program);
                if durable {
                    main.make_durable();
                    first_save = main.save_at_start();
                }
            })
            .map_err(|error| Refused::Quota(error.into_value()))?;
        let first_save = first_save.map(|save| -> crate::process::FirstSave { Box::pin(save) });
        Ok((pid, job, first_save))
    }

    /// Every process, by pid.
    pub async fn processes(&self) -> Vec<ProcessRow> {
        self.processes_after(Pid(0), usize::MAX).await.0
    }

    /// At most `limit` processes whose pids come after `after`, by pid,
    /// and whether more follow: only those are asked.
    pub async fn processes_after(&self, after: Pid, limit: usize) -> (Vec<ProcessRow>, bool) {
        let mut handles = self.shared.handles();
        handles.retain(|h| h.pid() > after);
        let more = handles.len() > limit;
        handles.truncate(limit);
        (self.rows(handles).await, more)
    }

    /// What `handles`' processes tell of themselves.
    async fn rows(&self, handles: Vec<Arc<ProcessHandle>>) -> Vec<ProcessRow> {
        let asked: Vec<_> = handles
            .into_iter()
            .filter_map(|handle| ask(&handle).map(|answer| (handle, answer)))
            .collect();
        let until = tokio::time::Instant::now() + PS_WAIT;
        let mut rows = Vec::with_capacity(asked.len());
        for (handle, answer) in asked {
            match tokio::time::timeout_at(until, answer).await {
                Ok(Ok(detail)) => rows.push(detail.row),
                // Ended meanwhile.
                Ok(Err(_)) => {}
                Err(_) => rows.push(busy_row(&handle)),
            }
        }
        rows
    }

    pub async fn inspect(&self, pid: Pid) -> Result<ProcessDetail, NoSuchProcess> {
        let handle = self.shared.handle(pid).ok_or(NoSuchProcess(pid))?;
        let answer = ask(&handle).ok_or(NoSuchProcess(pid))?;
        match tokio::time::timeout(INSPECT_WAIT, answer).await {
            Ok(Ok(detail)) => Ok(detail),
            Ok(Err(_)) => Err(NoSuchProcess(pid)),
            Err(_) => Ok(ProcessDetail {
                row: busy_row(&handle),
                stack: Vec::new(),
                mailbox: Vec::new(),
                links: Vec::new(),
                monitors: Vec::new(),
                monitored_by: Vec::new(),
                traps_exits: handle.traps_exits(),
                call: None,
            }),
        }
    }

    /// An exit signal, as `(exit pid reason)` sent from outside.
    pub fn kill(&self, pid: Pid, reason: Value) -> Result<(), NoSuchProcess> {
        let handle = self.shared.handle(pid).ok_or(NoSuchProcess(pid))?;
        handle
            .push(exit_signal(reason))
            .map_err(|_| NoSuchProcess(pid))
    }

    /// A message from outside. One to a durable process is stored in
    /// its inbox first (see `durable/inbox.rs`), and reaches it wherever
    /// it runs, or once it is taken over.
    pub async fn send(&self, pid: Pid, message: Value) -> Result<(), NotSent> {
        if let Some(storable) = crate::process::storable_message(&self.shared, pid, &message) {
            let (store, bytes) = storable.map_err(|e| NotSent::Refused(e.into_value()))?;
            let refused = |e| NotSent::Refused(crate::process::save_error(&e));
            if !self.shared.is_alive(pid) && !store.is_saved(pid.0).await.map_err(refused)? {
                return Err(NotSent::NoSuchProcess(NoSuchProcess(pid)));
            }
            return store
                .put_message(pid.0, bytes)
                .await
                .map(|_| ())
                .map_err(refused);
        }
        let handle = self.shared.handle(pid).ok_or(NoSuchProcess(pid))?;
        handle
            .push(Signal::Message(message))
            .map_err(|_| NotSent::NoSuchProcess(NoSuchProcess(pid)))
    }

    /// A REPL process in this runtime (fresh namespaces, the runtime's
    /// registry); what it prints goes to `output`.
    pub fn attach(&self, output: Arc<dyn JobOutput>) -> Result<Attached, Refused> {
        self.attach_to(
            globals_with_args(&[]),
            LoadPath::submitted(Vec::new()),
            output,
        )
    }

    /// A REPL process compiling in `globals` (which several sessions may
    /// share, as an editor's sessions see one another's definitions) and
    /// loading from `load_path`; what it prints goes to `output`.
    pub fn attach_to(
        &self,
        globals: Arc<Globals>,
        load_path: LoadPath,
        output: Arc<dyn JobOutput>,
    ) -> Result<Attached, Refused> {
        let (results_tx, results) = std::sync::mpsc::channel();
        let job = Job::hosted(globals, load_path, output, false);
        let (pid, job, _) = self.start(job, Program::interactive(results_tx), false)?;
        let handle = self
            .shared
            .handle(pid)
            .unwrap_or_else(|| Arc::new(ProcessHandle::new(pid)));
        Ok(Attached {
            handle,
            job,
            results: Arc::new(Mutex::new(results)),
            ns: Mutex::new(Sym::new(calf_lang::namespace::USER)),
        })
    }

    pub fn figures(&self) -> Figures {
        let handles = self.shared.handles();
        let mut jobs: Vec<Pid> = handles.iter().map(|h| h.job()).collect();
        jobs.sort();
        jobs.dedup();
        Figures {
            processes: handles.len(),
            jobs: jobs.len(),
            reductions: self.shared.reductions.load(Ordering::Relaxed),
            calls_in_flight: self.shared.quotas.calls_in_flight(),
            quota_refusals: self.shared.quotas.refusals(),
        }
    }

    /// Stops every process: first with the exit reason `:shutdown`
    /// (processes trapping exits may clean up), then, after `grace`,
    /// killed.
    pub async fn shutdown(&self, grace: Duration) {
        self.stopping.store(true, Ordering::Release);
        // Durable processes stop where their last save has them: the next
        // scheduler goes on from there.
        self.shared.leave();
        for (reason, wait) in [("shutdown", grace), ("kill", KILL_WAIT)] {
            for handle in self.shared.handles() {
                let _ = handle.push(exit_signal(Value::keyword(reason)));
            }
            let until = Instant::now() + wait;
            while self.shared.process_count() > 0 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let shared = self.shared.clone();
        if !self.stopped.swap(true, Ordering::AcqRel) {
            // The pool's runners are tasks of this runtime: wait for them
            // on a thread that is not one of its workers.
            let _ = tokio::task::spawn_blocking(move || shared.stop()).await;
        }
        if let Some(store) = &self.shared.durable {
            // Another scheduler, or this node's next run, need not wait
            // for the lease to lapse.
            if let Err(e) = store.release().await {
                tracing::warn!(why = %e, "the durable store's lease was not given up");
            }
        }
    }
}

impl Drop for Hosted {
    /// Stops what still runs (`shutdown` is the orderly way).
    fn drop(&mut self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            self.shared.stop();
        }
    }
}

/// The row of a process that did not answer in time: one inside a native
/// that runs long, which says what it does at the end of its slice.
fn busy_row(handle: &ProcessHandle) -> ProcessRow {
    ProcessRow {
        pid: handle.pid(),
        job: handle.job(),
        name: None,
        status: "busy",
        function: None,
        mailbox: 0,
        reductions: 0,
        memory: 0,
        age: Duration::ZERO,
        durable: None,
    }
}

/// Asks a process what it does; `None` if it has ended.
fn ask(handle: &ProcessHandle) -> Option<oneshot::Receiver<ProcessDetail>> {
    let (tx, rx) = oneshot::channel();
    handle.push(Signal::Inspect(Box::new(tx))).ok()?;
    Some(rx)
}

/// An exit signal from outside the runtime (pid 0, which no process has).
fn exit_signal(reason: Value) -> Signal {
    Signal::Exit(Box::new(ExitSignal {
        from: Pid(0),
        reason,
        link_broken: false,
    }))
}

fn thrown(error: RuntimeError) -> Failure {
    Failure::Thrown(Thrown {
        value: error.into_value(),
        trace: Vec::new(),
    })
}

/// Fresh namespaces with the core library, `*command-line-args*` set.
fn globals_with_args(args: &[String]) -> Arc<Globals> {
    let globals = calf_lang::prelude::new_globals();
    globals
        .core()
        .intern(Sym::new("*command-line-args*"))
        .set(Value::vector(args.iter().map(|a| Value::str(a.as_str()))));
    globals
}

/// A REPL process living in a hosted runtime.
pub struct Attached {
    handle: Arc<ProcessHandle>,
    /// The session's job: its namespaces, and its lines' sources.
    job: Arc<Job>,
    results: Arc<Mutex<std::sync::mpsc::Receiver<Evaluated>>>,
    /// The namespace the next line is read in.
    ns: Mutex<Sym>,
}

impl Attached {
    pub fn pid(&self) -> Pid {
        self.handle.pid()
    }

    /// Evaluates one line (read from `source`, named `name` in errors)
    /// and waits for its result.
    pub async fn eval(&self, name: &str, source: &str) -> Evaluated {
        self.eval_in(None, name, source).await
    }

    /// Evaluates one line as [`Attached::eval`] does, starting in namespace
    /// `ns` when one is given (as `in-ns` would: the next line starts where
    /// this one ends).
    pub async fn eval_in(&self, ns: Option<Sym>, name: &str, source: &str) -> Evaluated {
        let current = *self.ns.lock().unwrap_or_else(|e| e.into_inner());
        let file = add_source(name.to_string(), source.to_string());
        self.job.keep_source(file);
        let mut forms = match calf_lang::reader::read_file(file) {
            Ok(forms) => forms,
            Err(error) => {
                return Evaluated {
                    result: Err(Failure::Source(error)),
                    ns: ns.unwrap_or(current),
                }
            }
        };
        let ns = match ns {
            Some(ns) if ns != current => {
                // A form built here, not text: a namespace name is never
                // read as code.
                let in_ns = Value::list([
                    Value::symbol("in-ns"),
                    Value::list([Value::symbol("quote"), Value::Symbol(ns)]),
                ]);
                forms.forms.insert(0, in_ns);
                forms
                    .form_spans
                    .insert(0, calf_lang::span::Span::new(file, 0, 0));
                ns
            }
            _ => current,
        };
        if forms.forms.is_empty() {
            return Evaluated {
                result: Ok(Value::Nil),
                ns,
            };
        }
        let results = self.results.clone();
        let handle = self.handle.clone();
        let evaluated = tokio::task::spawn_blocking(move || {
            let results = results.lock().unwrap_or_else(|e| e.into_inner());
            // An answer to an interrupt that came too late is stale.
            while results.try_recv().is_ok() {}
            if handle.push(Signal::Input(Box::new(forms))).is_err() {
                return None;
            }
            results.recv().ok()
        })
        .await
        .ok()
        .flatten();
        let evaluated = evaluated.unwrap_or_else(|| Evaluated {
            result: Err(thrown(RuntimeError::new(
                "calf/session-ended",
                "the session's process has ended (exit-program, or it was killed): attach again",
            ))),
            ns,
        });
        *self.ns.lock().unwrap_or_else(|e| e.into_inner()) = evaluated.ns;
        evaluated
    }

    /// The namespaces the session compiles in.
    pub fn globals(&self) -> &Arc<Globals> {
        &self.job.globals
    }

    /// The namespace the next line is read in.
    pub fn ns(&self) -> Sym {
        *self.ns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fails the line being evaluated with `:calf/interrupted`.
    pub fn interrupt(&self) {
        let _ = self.handle.push(Signal::Interrupt);
    }

    /// Ends the session's process now, whatever it is doing, as dropping
    /// the session does; what it spawned keeps running.
    pub fn stop(&self) {
        // An interactive process told to exit only fails its line and
        // waits for the next, while its job goes on: the job ends first.
        self.job
            .end(Ending::Returned(Value::Nil), |_| String::new());
        let _ = self.handle.push(exit_signal(Value::keyword("kill")));
    }

    /// Completions of the word ending at `pos` in `line`, in the namespace
    /// the next line is read in: where the word starts, and the names
    /// (`calf_lang::completion::complete`).
    pub fn completions(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let ns = *self.ns.lock().unwrap_or_else(|e| e.into_inner());
        let mut pos = pos.min(line.len());
        while !line.is_char_boundary(pos) {
            pos -= 1;
        }
        calf_lang::completion::complete(&self.job.globals, ns, line, pos)
    }
}

impl Drop for Attached {
    /// The REPL's process ends; what it spawned keeps running.
    fn drop(&mut self) {
        self.stop();
    }
}
