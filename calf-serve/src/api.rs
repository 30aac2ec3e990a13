//! The admin API: NATS request/reply in the tenant's own account, bodies
//! in MessagePack (maps with named fields, as `rmp_serde::to_vec_named`
//! writes them), errors as the worker protocol's error replies (headers
//! `Nats-Service-Error` and `Nats-Service-Error-Code`, empty body).
//! Documented in docs/serve.md; any language can drive it.
//!
//! A request names no tenant: the scheduler answers on the connection it
//! holds in the tenant's account, so a request is always about the
//! tenant whose user sent it. Pids are numbers; a pid of another tenant
//! is, to this tenant, a pid that does not exist.

use serde::{Deserialize, Serialize};

/// The prefix of every subject of the API.
pub const PREFIX: &str = "calf.api";

/// The subjects, one per verb (under [`PREFIX`]).
pub mod subject {
    pub const SUBMIT: &str = "calf.api.submit";
    pub const PS: &str = "calf.api.ps";
    pub const SUMMARY: &str = "calf.api.summary";
    pub const INSPECT: &str = "calf.api.inspect";
    pub const KILL: &str = "calf.api.kill";
    pub const SEND: &str = "calf.api.send";
    pub const LOGS: &str = "calf.api.logs";
    pub const ATTACH: &str = "calf.api.attach";
    pub const EVAL: &str = "calf.api.eval";
    pub const COMPLETE: &str = "calf.api.complete";
    pub const INTERRUPT: &str = "calf.api.interrupt";
    pub const DETACH: &str = "calf.api.detach";
    /// In the operator account only: every tenant's summary.
    pub const TENANTS: &str = "calf.api.tenants";
}

/// Error codes of the API's error replies (`Nats-Service-Error-Code`).
pub mod code {
    /// The body did not decode, or a field is out of range.
    pub const BAD_REQUEST: &str = "400";
    /// No such process, job or session in this tenant.
    pub const NOT_FOUND: &str = "404";
    /// A quota was reached; the message names it, its limit and the tenant.
    pub const QUOTA: &str = "429";
    /// The program does not read (the message is the rendered error).
    pub const UNPROCESSABLE: &str = "422";
    /// The scheduler is shutting down.
    pub const UNAVAILABLE: &str = "503";
    /// A bug in the scheduler.
    pub const INTERNAL: &str = "500";
}

/// A reply that carries nothing but success.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// One file of a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedFile {
    /// Relative to the submission's root, `/`-separated: `app/util.calf`
    /// is the namespace `app.util`.
    pub path: String,
    pub text: String,
}

/// `calf.api.submit`: run a program as a new job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submit {
    /// The path (among `files`) of the file the main process runs.
    pub main: String,
    pub files: Vec<SubmittedFile>,
    #[serde(default)]
    pub args: Vec<String>,
    /// Makes the job's main process durable (docs/durability.md): refused
    /// by a `calf serve` started without `--durable`.
    #[serde(default)]
    pub durable: bool,
    /// The node of a cluster to run it on (its `--durable` node id);
    /// `None`: the node the request reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// The reply to `submit`: the job's main process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub pid: u64,
}

/// Rows `calf.api.ps` answers at most at once: a page of them stays far
/// below NATS's default max payload (1 MiB) whatever the processes are.
pub const PS_PAGE: u64 = 1_000;

/// `calf.api.ps`: a page of the processes, by pid. An empty body (or
/// map) asks for the first page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ps {
    /// The processes after this pid (0: from the first).
    #[serde(default)]
    pub after: u64,
    /// At most this many rows (at most, and by default, [`PS_PAGE`]).
    #[serde(default)]
    pub limit: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessList {
    pub processes: Vec<ProcessRow>,
    /// When there are more: the `after` of the next page.
    #[serde(default)]
    pub next: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRow {
    pub pid: u64,
    /// The main process of its job.
    pub job: u64,
    pub name: Option<String>,
    /// `running`, `runnable`, `waiting`, `sleeping`, `calling`, `loading`.
    pub status: String,
    /// `ns/name` of the function it is in.
    pub function: Option<String>,
    pub mailbox: u64,
    pub reductions: u64,
    /// Bytes of its own structures.
    pub memory: u64,
    pub age_ms: u64,
    /// Set for a durable process: where it runs and its last save.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable: Option<Durable>,
}

/// A durable process's place and saves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durable {
    /// The node id of the scheduler running it (`calf serve --durable`).
    pub node: String,
    /// When the store last took its state, in Unix milliseconds; nil
    /// before its first save is stored.
    pub saved_at_ms: Option<i64>,
    /// The size of that save, in bytes (its code is stored apart, once).
    pub saved_bytes: u64,
}

/// `calf.api.summary` takes an empty map; `calf.api.tenants` (operator
/// account) answers a list of these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub tenant: String,
    pub processes: u64,
    pub jobs: u64,
    pub reductions: u64,
    pub calls_in_flight: u64,
    pub quota_refusals: u64,
    pub quotas: QuotaView,
}

/// The quotas a tenant runs under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaView {
    pub max_processes: u64,
    pub max_calls_in_flight: u64,
    pub max_mailbox: u64,
    pub max_output: u64,
    pub cpu_share: u32,
}

/// The reply of `calf.api.tenants`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantList {
    pub tenants: Vec<Summary>,
}

/// `calf.api.inspect`, `calf.api.kill`'s target, ...: one process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspect {
    pub pid: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessDetail {
    #[serde(flatten)]
    pub row: ProcessRow,
    /// Innermost first: `fn (file:line:col)`.
    pub stack: Vec<String>,
    /// The first messages, printed as Calf data.
    pub mailbox_items: Vec<String>,
    pub links: Vec<u64>,
    pub monitors: Vec<u64>,
    pub monitored_by: Vec<u64>,
    pub traps_exits: bool,
    pub call: Option<CallWait>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallWait {
    pub subject: String,
    pub attempt: u32,
    /// Unix milliseconds.
    pub deadline_ms: i64,
}

/// `calf.api.kill`: `(exit pid reason)` from outside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kill {
    pub pid: u64,
    /// Calf data (EDN) read as the reason; default `:kill`.
    pub reason: Option<String>,
}

/// `calf.api.send`: a message from outside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub pid: u64,
    /// Calf data (EDN), read into the message; never evaluated.
    pub message: String,
}

/// `calf.api.logs`: a job's output from byte `from` on. With `wait_ms`,
/// the reply waits up to that long for output past `from` (or the job's
/// end): a client follows a job by asking again from `next`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logs {
    /// The job (its main process), or an attached session's process.
    pub pid: u64,
    #[serde(default)]
    pub from: u64,
    #[serde(default)]
    pub wait_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    /// Where `text` starts: past `from` when older output was dropped
    /// (the ring keeps the job's last `max_output` bytes).
    pub start: u64,
    pub text: String,
    /// Where the next request starts.
    pub next: u64,
    /// Set once the job's main process has ended.
    pub ended: Option<JobEnd>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobEnd {
    /// `:normal`, the error thrown, ... printed.
    pub reason: String,
    pub status: i32,
    /// Rendered for a person, when the job failed.
    pub failure: Option<String>,
}

/// `calf.api.attach` takes an empty map: a REPL process in the tenant's
/// runtime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    pub session: u64,
    /// The REPL's process; its output is `logs` of this pid.
    pub pid: u64,
    /// The namespace the first line is read in.
    pub ns: String,
}

/// `calf.api.eval`: one line (as typed; it may hold several forms).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eval {
    pub session: u64,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    /// The value of its last form, printed; `None` when it failed.
    pub value: Option<String>,
    /// The failure, rendered for a person.
    pub error: Option<String>,
    /// The namespace the next line is read in.
    pub ns: String,
    /// The session's output offset when the line ended: output before it
    /// belongs before the value.
    pub output_next: u64,
}

/// `calf.api.complete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complete {
    pub session: u64,
    pub line: String,
    /// A byte offset into `line`.
    pub pos: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completions {
    /// Where the completed word starts in the line.
    pub start: u64,
    pub names: Vec<String>,
}

/// `calf.api.interrupt` and `calf.api.detach`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub session: u64,
}

/// A body as MessagePack (a map with named fields).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Every type here serializes to a map of plain fields: encoding cannot
    // fail.
    rmp_serde::to_vec_named(value).unwrap_or_default()
}

/// A body from MessagePack; the error says what did not decode.
pub fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    rmp_serde::from_slice(body).map_err(|e| format!("the request's body does not decode: {e}"))
}
