//! What a host lets its VM do without stopping.
//!
//! Every effect goes to the host; most of them must wait (a `receive` with
//! nothing to take, a `sleep`, a call) or need the whole process (a spawn,
//! a link). A few the host can answer at once, and a message passed
//! between two processes takes three of them: the `receive`, the accepting
//! clause, and the `send` of the answer. Returning to the host for each
//! and being resumed cost more than the VM's own work of a message. So the
//! VM offers those to a [`Host`] first, in the middle of its dispatch loop,
//! and returns the effect only when the host declines.
//!
//! The host is a trait object: the VM still touches no mailbox, clock or
//! process table itself, and calf-lang stays free of I/O. The answers must
//! be the ones the host would give on resuming the VM: a host that answers
//! at once here does what it would do for the returned effect, only sooner.

use super::Effect;
use crate::value::Value;

/// The effects a host may answer without the VM returning.
pub trait Host {
    /// `receive` asks for the next message of the mailbox (from the first
    /// when `restart`, which starts a new receive that gives up after
    /// `timeout_ms`). `Some(message)`: the VM goes on with a clone of it,
    /// as it would after [`crate::vm::Vm::resume_received`]. `None` (nothing to hand
    /// out yet, or the host would rather see to its signals first): the VM
    /// returns [`Effect::Receive`] with the same operands, so starting a
    /// receive must be something the host can do twice.
    fn next_message(&mut self, restart: bool, timeout_ms: Option<u64>) -> Option<&Value>;

    /// A clause took the message last handed out: remove it from the
    /// mailbox. False: the VM returns [`Effect::ReceiveAccept`].
    fn accept_message(&mut self) -> bool;

    /// Carries out `effect` at once if the host can: `Ok(answer)` and the
    /// VM goes on with the answer, `Err(effect)` (given back untouched) and
    /// the VM returns it.
    fn perform_now(&mut self, effect: Effect) -> Result<Value, Effect>;
}

/// A host that answers nothing at once: every effect is returned.
pub struct NoHost;

impl Host for NoHost {
    fn next_message(&mut self, _restart: bool, _timeout_ms: Option<u64>) -> Option<&Value> {
        None
    }

    fn accept_message(&mut self) -> bool {
        false
    }

    fn perform_now(&mut self, effect: Effect) -> Result<Value, Effect> {
        Err(effect)
    }
}
