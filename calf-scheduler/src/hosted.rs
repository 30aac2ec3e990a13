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

use std::sync::Arc;
use std::time::Duration;

use calf_lang::value::Pid;
use calf_lang::Value;

use crate::bus::Bus;
use crate::runtime::{Config, Evaluated, Failure};

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
    _private: (),
}

impl Scheduler {
    /// A scheduler running processes on `threads` threads; `render`
    /// shows a failure to a person (job ends, crash reports).
    pub fn new(threads: usize, render: fn(&Failure) -> String) -> std::io::Result<Scheduler> {
        let _ = (threads, render);
        todo!()
    }

    /// The tokio runtime the scheduler's threads belong to: the serve
    /// layer runs its NATS connections on it.
    pub fn tokio(&self) -> &tokio::runtime::Handle {
        todo!()
    }

    /// Starts a hosted runtime named `tenant` (in errors and quota
    /// reports), sending its foreign calls to `bus`.
    pub fn host(&self, tenant: &str, config: Config, limits: Limits, bus: Arc<dyn Bus>) -> Hosted {
        let _ = (tenant, config, limits, bus);
        todo!()
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
}

/// Why a job did not start.
#[derive(Debug)]
pub enum Refused {
    /// The main file is missing from the submission, or does not read.
    Source(Failure),
    /// A quota was reached (the error value, `:calf/quota-exceeded`).
    Quota(Value),
    /// The runtime is shutting down.
    ShuttingDown,
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

/// One tenant's runtime on a [`Scheduler`].
pub struct Hosted {
    _private: (),
}

impl Hosted {
    /// New quotas (a reloaded configuration); running processes keep
    /// running.
    pub fn set_limits(&self, limits: Limits) {
        let _ = limits;
        todo!()
    }

    /// Starts a job; its pid is its main process's.
    pub fn submit(&self, submission: Submission) -> Result<Pid, Refused> {
        let _ = submission;
        todo!()
    }

    /// Every process, by pid.
    pub async fn processes(&self) -> Vec<ProcessRow> {
        todo!()
    }

    pub async fn inspect(&self, pid: Pid) -> Result<ProcessDetail, NoSuchProcess> {
        let _ = pid;
        todo!()
    }

    /// An exit signal, as `(exit pid reason)` sent from outside.
    pub fn kill(&self, pid: Pid, reason: Value) -> Result<(), NoSuchProcess> {
        let _ = (pid, reason);
        todo!()
    }

    /// A message from outside.
    pub fn send(&self, pid: Pid, message: Value) -> Result<(), NoSuchProcess> {
        let _ = (pid, message);
        todo!()
    }

    /// A REPL process in this runtime (fresh namespaces, the runtime's
    /// registry); what it prints goes to `output`.
    pub fn attach(&self, output: Arc<dyn JobOutput>) -> Result<Attached, Refused> {
        let _ = output;
        todo!()
    }

    pub fn figures(&self) -> Figures {
        todo!()
    }

    /// Stops every process: first with the exit reason `:shutdown`
    /// (processes trapping exits may clean up), then, after `grace`,
    /// killed.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = grace;
        todo!()
    }
}

/// A REPL process living in a hosted runtime.
pub struct Attached {
    _private: (),
}

impl Attached {
    pub fn pid(&self) -> Pid {
        todo!()
    }

    /// Evaluates one line (read from `source`, named `name` in errors)
    /// and waits for its result.
    pub async fn eval(&self, name: &str, source: &str) -> Evaluated {
        let _ = (name, source);
        todo!()
    }

    /// Fails the line being evaluated with `:calf/interrupted`.
    pub fn interrupt(&self) {
        todo!()
    }

    /// Completions of the word ending at `pos` in `line`, in the namespace
    /// the next line is read in: where the word starts, and the names
    /// (`calf_lang::completion::complete`).
    pub fn completions(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let _ = (line, pos);
        todo!()
    }
}

impl Drop for Attached {
    /// The REPL's process ends; what it spawned keeps running.
    fn drop(&mut self) {}
}
