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
    /// Evaluate a form in the caller's namespace; resume with its value.
    Eval { form: Value },
    /// Load the namespaces of these libs that are not loaded yet (the host
    /// reads their files), then make them usable from the caller's
    /// namespace with [`crate::require::refer`]; resume with `nil`.
    Require(Require),
}
