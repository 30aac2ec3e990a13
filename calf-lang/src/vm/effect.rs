//! What the VM asks of its host.
//!
//! The VM never prints, sleeps, spawns or calls out by itself: it stops and
//! returns one of these. The host acts, then resumes the VM with the answer
//! (the value the effect's call returns) or with an error to throw there.

use crate::require::Require;
use crate::value::{Pid, Sym, Value};

/// A request from a running process to its host.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Write text to standard output (or standard error); resume with `nil`.
    Print { text: String, to_stderr: bool },
    /// Pause this process for some milliseconds; resume with `nil`.
    Sleep { ms: u64 },
    /// End the whole program with this status.
    ExitProgram { status: i32 },
    /// Read the wall clock; resume with milliseconds since the Unix epoch.
    NowMs,
    /// Remove the message last handed out from the mailbox; resume with `nil`.
    ReceiveAccept,
    /// Start a process running `(apply function args)`, linked to this one
    /// and/or monitored by it. Resume with its pid, or `[pid ref]` when
    /// monitored.
    Spawn {
        function: Value,
        args: Vec<Value>,
        link: bool,
        monitor: bool,
        /// Saved whenever it parks, and resumed after a crash.
        durable: bool,
    },
    /// Send a message to a pid or a registered name; resume with the message.
    Send { to: Value, message: Value },
    /// This process's pid.
    SelfPid,
    /// A foreign call on `subject`. With `wait`, resume with the reply (or
    /// throw its error); without, resume at once with a promise (a ref) for
    /// `Await`.
    Call {
        subject: String,
        payload: Value,
        options: Value,
        wait: bool,
    },
    /// Wait for the reply of a `call-async` promise, at most `timeout_ms`.
    Await {
        promise: u64,
        timeout_ms: Option<u64>,
    },
    /// Answer `subject` with a new process applying `handler` to each
    /// request's payload; resume with its pid.
    Serve { subject: String, handler: Value },
    /// A serving process's answer to the request `request`: `[:ok value]`
    /// or `[:error thrown]`; resume with `nil`.
    Reply { request: u64, result: Value },
    /// A process request (`link`, `monitor`, `exit`, `register!`, ...),
    /// its arguments checked by the native that asked.
    Process(ProcessOp),
    /// Load the namespaces of these libs that are not loaded yet (the host
    /// reads their files), then make them usable from the caller's
    /// namespace with [`crate::require::refer`]; resume with `nil`.
    Require(Require),
    /// Evaluate the forms of the file at `path` (the host reads it) in the
    /// caller's namespace, one by one as a program's; resume with the value
    /// of the last, or throw the error one of them threw.
    LoadFile { path: String },
    /// Compile and run `form` in the caller's namespace, as a top-level
    /// form of a file; resume with its value, or throw its error.
    Eval(Value),
    /// Evaluate the forms of this text as [`Effect::LoadFile`] does a
    /// file's.
    LoadString(String),
    /// Expand `form` once if it is a call of a macro (again and again
    /// with `all`), in the caller's namespace; resume with the expansion,
    /// or the form itself.
    Macroexpand { form: Value, all: bool },
    /// A question about the namespaces (`resolve`, `ns-publics` ...),
    /// asked in the caller's namespace: resume with
    /// [`crate::reflection::answer`], or throw its error.
    Namespace(crate::reflection::NamespaceOp),
    /// A change to or a read of this process's dynamic bindings or captured
    /// output: the VM answers it itself, so a host sees it only if it
    /// drives the VM another way (answer it with [`crate::vm::Vm::perform_dynamic`]).
    Dynamic(super::DynamicOp),
}

/// A process request of an [`Effect::Process`], with its arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum ProcessOp {
    /// `(link pid)`; resume with `true`.
    Link(Pid),
    /// `(unlink pid)`; resume with `true`.
    Unlink(Pid),
    /// `(monitor pid-or-name)`; resume with the monitor's ref.
    Monitor(Dest),
    /// `(demonitor ref)`; resume with `true`.
    Demonitor(u64),
    /// `(exit reason)`: this process exits.
    ExitSelf(Value),
    /// `(exit pid reason)`: an exit signal to `pid`; resume with `true`.
    Exit { pid: Pid, reason: Value },
    /// `(trap-exit! on)`; resume with the flag it had.
    TrapExit(bool),
    /// `(register! name pid)`; resume with `true`.
    Register { name: Sym, pid: Pid },
    /// `(unregister! name)`; resume with whether it was registered.
    Unregister(Sym),
    /// `(whereis name)`; resume with its pid or `nil`.
    Whereis(Sym),
    /// `(alive? pid)`.
    Alive(Pid),
    /// `(processes)`: the pids of every process.
    Processes,
    /// `(make-ref)`.
    MakeRef,
    /// `(spawn-on node f & args)` and `(spawn-link-on ...)`: a process
    /// started on another node of the cluster; resume with its pid.
    SpawnOn {
        node: String,
        function: Value,
        args: Vec<Value>,
        link: bool,
    },
    /// `(nodes)`: the names of the other nodes of the cluster.
    Nodes,
    /// `(node)`: this node's name; `(node pid)`: the name of the node
    /// `pid` runs on.
    NodeOf(Option<Pid>),
    /// `(register-global name pid)`: a name unique across the cluster;
    /// resume with `true`.
    RegisterGlobal { name: Sym, pid: Pid },
}

/// Where a message or a monitor goes: a pid, or a registered name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    Pid(Pid),
    Name(Sym),
}

impl Dest {
    /// The value the program named it by.
    pub fn to_value(self) -> Value {
        match self {
            Dest::Pid(pid) => Value::Pid(pid),
            Dest::Name(name) => Value::Keyword(name),
        }
    }
}
