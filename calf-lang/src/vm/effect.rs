//! What the VM asks of its host.
//!
//! The VM never prints, sleeps, spawns or calls out by itself: it stops and
//! returns one of these. The host acts, then resumes the VM with the answer
//! (the value the effect's call returns) or with an error to throw there.

use crate::require::Require;
use crate::value::Value;

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
    /// Hand out the next message of the mailbox, from its first when
    /// `restart`, waiting up to `timeout_ms` (forever: `None`) for one to
    /// arrive. Resume with [`crate::vm::Vm::resume_received`].
    Receive {
        restart: bool,
        timeout_ms: Option<u64>,
    },
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
    /// The process-related requests that take one or two values: `link`,
    /// `unlink`, `monitor`, `demonitor`, `exit`, `trap-exit!`, `register!`,
    /// `unregister!`, `whereis`, `alive?`, `processes`, `make-ref`.
    Process { op: ProcessOp, args: Vec<Value> },
    /// Load the namespaces of these libs that are not loaded yet (the host
    /// reads their files), then make them usable from the caller's
    /// namespace with [`crate::require::refer`]; resume with `nil`.
    Require(Require),
    /// Evaluate the forms of the file at `path` (the host reads it) in the
    /// caller's namespace, one by one as a program's; resume with the value
    /// of the last, or throw the error one of them threw.
    LoadFile { path: String },
}

/// Which process request an [`Effect::Process`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessOp {
    Link,
    Unlink,
    Monitor,
    Demonitor,
    /// `(exit reason)` or `(exit pid reason)`.
    Exit,
    TrapExit,
    Register,
    Unregister,
    Whereis,
    Alive,
    Processes,
    MakeRef,
}
