//! One runtime: its processes, their names, the output streams, and how the
//! program ends.
//!
//! Every process is a job of the runtime's pool (the calf-executor crate), polled by
//! its runners on tokio's threads, and runs its VM for one reduction budget
//! at a time (see `process/`). The program ends when its main process
//! returns, fails, or calls `exit-program`; the processes still running then
//! are stopped with it.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use calf_lang::error::SourceError;
use calf_lang::namespace::Globals;
use calf_lang::span::FileId;
use calf_lang::value::Pid;
use calf_lang::vm::{Thrown, Vm};
use calf_lang::{RuntimeError, Sym, Value};
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

use crate::bus::{Bus, Reply};
use crate::job::Job;
use crate::load::LoadPath;
use crate::mailbox::{ExitSignal, ProcessHandle, Signal};
use crate::process::{Process, Program};
use crate::quota::Quotas;
use calf_executor::Pool;

/// How processes run.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Reductions (calls and loop rounds) a process runs before it yields
    /// to the others.
    pub budget: u32,
    /// Nested calls allowed before a stack-overflow error.
    pub max_depth: usize,
    /// Messages a mailbox may hold; past that its process is killed.
    pub max_mailbox: usize,
    /// Threads running processes.
    pub threads: usize,
    /// Print the bytecode of each top-level form of the program before it
    /// runs.
    pub disassemble: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            budget: 20_000,
            max_depth: calf_lang::vm::DEFAULT_MAX_DEPTH,
            max_mailbox: 1_000_000,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            disassemble: false,
        }
    }
}

/// Why a process, or the program, failed.
#[derive(Debug)]
pub enum Failure {
    /// The source could not be read or compiled.
    Source(SourceError),
    /// A value was thrown and not caught.
    Thrown(Thrown),
}

/// How the program ended.
#[derive(Debug)]
pub enum Ending {
    /// The main process returned this value.
    Returned(Value),
    /// The main process failed.
    Failed(Failure),
    /// `exit-program` was called with this status.
    Exit(i32),
}

/// What one line typed at the REPL led to.
#[derive(Debug)]
pub struct Evaluated {
    /// The value of its last form, or why it failed.
    pub result: Result<Value, Failure>,
    /// The namespace the next line starts in.
    pub ns: Sym,
}

/// Where output goes, and how a crashed process is reported there.
pub struct Io {
    pub stdout: Box<dyn Write + Send>,
    pub stderr: Box<dyn Write + Send>,
    /// Renders the failure of a process for its crash report.
    pub render: fn(&Failure) -> String,
    /// The NATS server foreign calls go to; `None`: the embedded bus.
    pub nats_url: Option<String>,
    /// Where durable processes are saved (JetStream on `nats_url`);
    /// `None`: the program cannot spawn one.
    pub durable: Option<crate::durable::DurableOptions>,
    /// The trace file its calls' spans go to (`calf --trace FILE`).
    pub trace: Option<Arc<crate::telemetry::SpanSink>>,
}

/// State shared by every process of one runtime.
pub(crate) struct Shared {
    pub config: Config,
    processes: RwLock<FxHashMap<Pid, Arc<ProcessHandle>>>,
    /// The runners polling the processes.
    pool: Pool<Process>,
    names: Mutex<FxHashMap<Sym, Pid>>,
    next_pid: AtomicU64,
    next_ref: AtomicU64,
    /// Renders the failure of a process for its crash report.
    pub render: fn(&Failure) -> String,
    /// Where foreign calls go.
    pub bus: Arc<dyn Bus>,
    /// Sends the first attempt of `call`s, in batches.
    pub call_sender: crate::call_sender::CallSender,
    /// Requests a serving process has yet to answer, by reference.
    requests: Mutex<FxHashMap<u64, oneshot::Sender<Reply>>>,
    /// What the runtime's processes may use.
    pub quotas: Quotas,
    /// When the runtime started: processes' ages count from it.
    pub epoch: Instant,
    /// Whether ending one job leaves the runtime running (a hosted one);
    /// otherwise the program's end stops everything.
    pub hosted: bool,
    /// Reductions spent by the processes of a hosted runtime, counted
    /// after each poll of one.
    pub reductions: AtomicU64,
    /// Where durable processes are saved, when the runtime has a store.
    pub durable: Option<Arc<crate::durable::Store>>,
    /// Where the runtime's foreign calls are recorded, when anyone looks.
    pub telemetry: Option<Arc<crate::telemetry::Telemetry>>,
    /// The cluster this runtime is a node of, if any.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Durable processes running here.
    durable_alive: AtomicU64,
    /// Where each durable process running here is in its inbox.
    pub(crate) inboxes: crate::durable::inbox::Inboxes,
    /// Set when the runtime stops in order: its durable processes stay
    /// as their last save has them, for the next scheduler to resume.
    leaving: std::sync::atomic::AtomicBool,
}

/// What a runtime is made of, besides its pool.
pub(crate) struct Parts {
    pub config: Config,
    pub render: fn(&Failure) -> String,
    pub bus: Arc<dyn Bus>,
    pub quotas: Quotas,
    pub hosted: bool,
    pub durable: Option<Arc<crate::durable::Store>>,
    pub telemetry: Option<Arc<crate::telemetry::Telemetry>>,
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
}

impl Shared {
    /// A runtime whose processes run in `pool`; starts the call sender,
    /// so it must be called on the tokio runtime.
    pub fn new(parts: Parts, pool: Pool<Process>) -> Shared {
        // Pids and refs made here carry the node's index: unique across
        // the cluster.
        let first = Pid::on_node(parts.cluster.as_ref().map_or(0, |c| c.index()), 1).0;
        Shared {
            config: parts.config,
            processes: RwLock::default(),
            pool,
            names: Mutex::default(),
            next_pid: AtomicU64::new(first),
            next_ref: AtomicU64::new(first),
            render: parts.render,
            bus: parts.bus,
            call_sender: crate::call_sender::CallSender::start(),
            requests: Mutex::default(),
            quotas: parts.quotas,
            epoch: Instant::now(),
            hosted: parts.hosted,
            reductions: AtomicU64::new(0),
            telemetry: parts.telemetry,
            durable: parts.durable,
            cluster: parts.cluster,
            durable_alive: AtomicU64::new(0),
            inboxes: Default::default(),
            leaving: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// From now on, no durable process saves, and one that ends stays
    /// saved: the runtime stops, and another resumes them.
    pub fn leave(&self) {
        self.leaving.store(true, Ordering::Release);
    }

    pub fn is_leaving(&self) -> bool {
        self.leaving.load(Ordering::Acquire)
    }

    pub fn durable_started(&self) {
        self.durable_alive.fetch_add(1, Ordering::Relaxed);
    }

    pub fn durable_ended(&self) {
        self.durable_alive.fetch_sub(1, Ordering::Relaxed);
    }

    /// How many durable processes run here.
    pub fn durable_alive(&self) -> u64 {
        self.durable_alive.load(Ordering::Relaxed)
    }

    pub fn open_request(&self, reply: oneshot::Sender<Reply>) -> u64 {
        let id = self.new_ref();
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, reply);
        id
    }

    pub fn forget_request(&self, id: u64) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// A serving process's answer; a request nobody waits for any more is
    /// dropped.
    pub fn reply(&self, id: u64, result: &Value) {
        let waiting = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if let Some(tx) = waiting {
            let _ = tx.send(crate::bus::process_service_reply(result));
        }
    }

    pub fn handle(&self, pid: Pid) -> Option<Arc<ProcessHandle>> {
        self.processes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&pid)
            .cloned()
    }

    /// Delivers `signal` to `pid`, here or on its node of the cluster;
    /// gives it back when `pid` is known not to run (it ended here, or its
    /// node is gone).
    pub fn signal(&self, pid: Pid, signal: Signal) -> Result<(), Signal> {
        if let Some(cluster) = self.remote(pid) {
            return cluster.forward(pid, signal);
        }
        match (self.handle(pid), &self.cluster) {
            (Some(handle), _) => handle.push(signal),
            (None, Some(cluster)) if pid.is_durable() => {
                cluster.forward_durable(pid, signal);
                Ok(())
            }
            (None, _) => Err(signal),
        }
    }

    /// The cluster, when `pid` runs on another of its nodes.
    pub fn remote(&self, pid: Pid) -> Option<&crate::cluster::Cluster> {
        self.cluster.as_deref().filter(|c| c.is_remote(pid))
    }

    pub fn is_alive(&self, pid: Pid) -> bool {
        self.processes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&pid)
    }

    pub fn pids(&self) -> Vec<Pid> {
        let mut pids: Vec<Pid> = self
            .processes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        pids.sort();
        pids
    }

    /// Every live process's handle, by pid.
    pub fn handles(&self) -> Vec<Arc<ProcessHandle>> {
        let mut handles: Vec<Arc<ProcessHandle>> = self
            .processes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        handles.sort_by_key(|h| h.pid());
        handles
    }

    pub fn process_count(&self) -> usize {
        self.processes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn new_ref(&self) -> u64 {
        self.next_ref.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts a process of `job` running `vm`; `setup` prepares it (links,
    /// monitors) before it runs. Refused past the quota of processes.
    pub fn spawn(
        self: &Arc<Self>,
        job: &Arc<Job>,
        vm: Vm,
        setup: impl FnOnce(&mut Process),
    ) -> Result<Pid, RuntimeError> {
        self.spawn_as(job, None, vm, setup)
    }

    /// The same, under `pid` when given (a durable process's, which it
    /// keeps across restores) rather than the next of this runtime's.
    pub fn spawn_as(
        self: &Arc<Self>,
        job: &Arc<Job>,
        pid: Option<Pid>,
        vm: Vm,
        setup: impl FnOnce(&mut Process),
    ) -> Result<Pid, RuntimeError> {
        let pid = pid.unwrap_or_else(|| Pid(self.next_pid.fetch_add(1, Ordering::Relaxed)));
        let main = match job.main() {
            Pid(0) => pid,
            main => main,
        };
        let handle = Arc::new(ProcessHandle::of_job(pid, main));
        {
            let mut processes = self.processes.write().unwrap_or_else(|e| e.into_inner());
            let limit = self.quotas.max_processes();
            if processes.len() >= limit {
                drop(processes);
                return Err(self.quotas.exceeded(
                    "max-processes",
                    limit,
                    "cannot spawn another process",
                ));
            }
            processes.insert(pid, handle.clone());
        }
        if main == pid {
            job.set_main(pid);
        }
        let mut process = Process::new(self.clone(), job.clone(), handle, vm);
        setup(&mut process);
        self.pool.spawn(process);
        Ok(pid)
    }

    /// Forgets a process that has ended, and the names it had.
    pub fn remove(&self, pid: Pid) {
        self.processes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pid);
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, p| *p != pid);
        if let Some(cluster) = &self.cluster {
            cluster.names().release(pid);
        }
    }

    pub fn whereis(&self, name: Sym) -> Option<Pid> {
        let pid = *self
            .names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)?;
        self.is_alive(pid).then_some(pid)
    }

    /// The names registered, with their processes.
    pub fn registered(&self) -> Vec<(Sym, Pid)> {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, pid)| (*name, *pid))
            .collect()
    }

    /// Registers `name`; fails with the pid already holding it.
    pub fn register(&self, name: Sym, pid: Pid) -> Result<(), Pid> {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(holder) = names.get(&name) {
            if *holder != pid && self.is_alive(*holder) {
                return Err(*holder);
            }
        }
        names.insert(name, pid);
        Ok(())
    }

    pub fn unregister(&self, name: Sym) -> bool {
        self.names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name)
            .is_some()
    }

    /// Prints the crash report of a process of `job` that failed.
    pub fn report_crash(&self, job: &Job, pid: Pid, failure: &Failure) {
        let text = format!(
            "process {pid} exited with an error:\n{}",
            (self.render)(failure)
        );
        job.flush();
        job.write(&text, true);
    }

    /// Ends `job` (the first end wins). In a hosted runtime the job's
    /// other processes are then stopped, but its durable ones, which run
    /// to their own end as they would after a crash; otherwise the
    /// program's end stops the runtime.
    pub fn end_job(&self, job: &Job, ending: Ending) {
        if job.end(ending, self.render) && self.hosted && job.stops_with_main {
            self.kill_job(job.main());
        }
    }

    /// Sends `:kill` to every process of the job whose main process is
    /// `main`, but the main process itself (which has ended) and durable
    /// processes.
    fn kill_job(&self, main: Pid) {
        let kill = Value::keyword("kill");
        for handle in self.handles() {
            let pid = handle.pid();
            if handle.job() == main && pid != main && !crate::durable::is_durable(pid) {
                let _ = handle.push(Signal::Exit(Box::new(ExitSignal {
                    from: main,
                    reason: kill.clone(),
                    link_broken: false,
                })));
            }
        }
    }

    /// Stops every process: the pool's runners end after the slice each is
    /// running, and the processes still waiting are dropped.
    pub fn stop(&self) {
        self.pool.shutdown();
        let processes =
            std::mem::take(&mut *self.processes.write().unwrap_or_else(|e| e.into_inner()));
        // An inbox holds the waker of its parked process, which holds the
        // process, which holds its inbox: closing breaks the cycle.
        for handle in processes.into_values() {
            handle.close();
        }
    }
}

/// Runs a program: its source file's forms, one after another, in the main
/// process, with `args` in `*command-line-args*` already set in `globals`.
pub fn run_program(
    globals: Arc<Globals>,
    config: Config,
    load_path: LoadPath,
    file: FileId,
    io: Io,
) -> Ending {
    let forms = match calf_lang::reader::read_file(file) {
        Ok(forms) => forms,
        Err(error) => return Ending::Failed(Failure::Source(error)),
    };
    let until_store_empty = io.durable.as_ref().is_some_and(|d| d.until_store_empty);
    let started = match start(globals, config, load_path, io, Program::new(forms)) {
        Ok(started) => started,
        Err(ending) => return ending,
    };
    let Started {
        tokio,
        shared,
        job,
        ending,
        ..
    } = started;
    let ending = ending.blocking_recv().unwrap_or(Ending::Exit(0));
    if let Some(store) = shared.durable.clone() {
        // Durable processes outlive the main one: the program ends with
        // the last of them (of every node, with `until_store_empty`).
        tokio.block_on(crate::durable::restore::wait_for_durable(
            &shared,
            &store,
            until_store_empty,
        ));
    }
    job.flush();
    shared.stop();
    tokio.shutdown_background();
    ending
}

/// A runtime and its main process, started.
struct Started {
    tokio: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    job: Arc<Job>,
    main: Pid,
    ending: oneshot::Receiver<Ending>,
}

/// Starts a runtime whose main process runs `program`.
fn start(
    globals: Arc<Globals>,
    config: Config,
    load_path: LoadPath,
    io: Io,
    program: Program,
) -> Result<Started, Ending> {
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads.max(1))
        .thread_stack_size(64 << 20)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Err(failed(
                "calf/internal",
                format!("cannot start the scheduler: {e}"),
            ))
        }
    };
    // One runner of processes per thread.
    let pool = Pool::new(config.threads, tokio.handle());
    let (tx, rx) = oneshot::channel();
    let started = tokio.block_on(async {
        let (bus, store): (Arc<dyn Bus>, _) = match (&io.nats_url, &io.durable) {
            (None, Some(_)) => {
                return Err(failed(
                    "calf/no-durable-store",
                    "durable processes are saved in JetStream: give --nats URL with --durable"
                        .to_string(),
                ))
            }
            (None, None) => (Arc::new(crate::bus::embedded::EmbeddedBus::new()), None),
            (Some(url), durable) => {
                let bus = match crate::bus::nats::NatsBus::connect(url).await {
                    Ok(bus) => bus,
                    Err(why) => return Err(failed("calf/bus-unavailable", why)),
                };
                let store = match durable {
                    None => None,
                    Some(options) => {
                        match crate::durable::Store::open(
                            bus.client().clone(),
                            &options.node,
                            options.store,
                        )
                        .await
                        {
                            Ok(store) => Some(Arc::new(store)),
                            Err(e) => return Err(failed("calf/store-unavailable", e.to_string())),
                        }
                    }
                };
                (Arc::new(bus), store)
            }
        };
        let shared = Arc::new(Shared::new(
            Parts {
                config,
                render: io.render,
                bus,
                quotas: Quotas::unlimited(config.max_mailbox),
                hosted: false,
                durable: store,
                telemetry: io
                    .trace
                    .clone()
                    .map(|spans| crate::telemetry::Telemetry::new(None, Some(spans))),
                cluster: None,
            },
            pool,
        ));
        let job = Arc::new(Job::program(globals, load_path, io.stdout, io.stderr, tx));
        let main = shared.spawn(&job, Vm::call(Value::Nil, Vec::new()), |main| {
            main.set_program(program)
        });
        if let Some(store) = &shared.durable {
            crate::durable::restore::keep_resuming(&shared, &job, store.lease_ttl() / 3);
        }
        match main {
            Ok(main) => Ok((shared, job, main)),
            Err(error) => Err(Ending::Failed(Failure::Thrown(Thrown {
                value: error.into_value(),
                trace: Vec::new(),
            }))),
        }
    });
    match started {
        Ok((shared, job, main)) => Ok(Started {
            tokio,
            shared,
            job,
            main,
            ending: rx,
        }),
        Err(ending) => {
            tokio.shutdown_background();
            Err(ending)
        }
    }
}

/// Starts a runtime whose main process evaluates lines as they are typed
/// (the REPL): see [`Session`].
pub fn run_interactive(
    globals: Arc<Globals>,
    config: Config,
    load_path: LoadPath,
    io: Io,
) -> Result<Session, Ending> {
    let (results_tx, results) = std::sync::mpsc::channel();
    let started = start(
        globals,
        config,
        load_path,
        io,
        Program::interactive(results_tx),
    )?;
    let main = started
        .shared
        .handle(started.main)
        .unwrap_or_else(|| Arc::new(ProcessHandle::new(started.main)));
    Ok(Session {
        started: Some(started),
        main,
        results,
    })
}

/// A running interactive runtime. Its main process (the REPL's process)
/// lives between lines: what it spawned goes on, messages sent to it wait
/// in its mailbox, and a failed line is reported without ending it.
pub struct Session {
    started: Option<Started>,
    main: Arc<ProcessHandle>,
    results: std::sync::mpsc::Receiver<Evaluated>,
}

/// Stops the line being evaluated; usable from any thread.
#[derive(Clone)]
pub struct Interrupter(Arc<ProcessHandle>);

impl Interrupter {
    /// The line being evaluated fails with `:calf/interrupted`; between
    /// lines nothing happens.
    pub fn interrupt(&self) {
        let _ = self.0.push(crate::mailbox::Signal::Interrupt);
    }
}

impl Session {
    /// Evaluates one line's forms in the main process and waits for the
    /// result; `Err` when the program has ended (`exit-program`).
    pub fn eval(&mut self, forms: calf_lang::reader::Forms) -> Result<Evaluated, Ending> {
        // An answer to an interrupt that came too late is stale.
        while self.results.try_recv().is_ok() {}
        if self
            .main
            .push(crate::mailbox::Signal::Input(Box::new(forms)))
            .is_err()
        {
            return Err(self.ending());
        }
        match self.results.recv() {
            Ok(evaluated) => Ok(evaluated),
            Err(_) => Err(self.ending()),
        }
    }

    pub fn interrupter(&self) -> Interrupter {
        Interrupter(self.main.clone())
    }

    /// The pid of the REPL's process.
    pub fn pid(&self) -> Option<Pid> {
        self.started.as_ref().map(|s| s.main)
    }

    pub fn globals(&self) -> Option<Arc<Globals>> {
        self.started.as_ref().map(|s| s.job.globals.clone())
    }

    /// Writes out buffered output of every process.
    pub fn flush(&self) {
        if let Some(started) = &self.started {
            started.job.flush();
        }
    }

    /// How the program ended (waits for it).
    fn ending(&mut self) -> Ending {
        match &mut self.started {
            Some(started) => {
                let (_, rx) = oneshot::channel();
                std::mem::replace(&mut started.ending, rx)
                    .blocking_recv()
                    .unwrap_or(Ending::Exit(0))
            }
            None => Ending::Exit(0),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(started) = self.started.take() {
            started.job.flush();
            started.shared.stop();
            started.tokio.shutdown_background();
        }
    }
}

fn failed(kind: &'static str, message: String) -> Ending {
    Ending::Failed(Failure::Thrown(Thrown {
        value: calf_lang::RuntimeError::new(kind, message).into_value(),
        trace: Vec::new(),
    }))
}
