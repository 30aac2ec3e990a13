//! Throwing: unwinding to the nearest handler, and the trace a throw keeps.

use super::{Outcome, Vm};
use crate::span::Span;
use crate::value::{Sym, Value};

/// One line of a Calf stack trace.
#[derive(Clone, Debug)]
pub struct TraceEntry {
    pub function: Option<Sym>,
    pub span: Option<Span>,
    /// How many frames in a row were at this same place (deep recursion).
    pub times: usize,
}

/// A thrown value and where it was thrown, innermost frame first.
#[derive(Clone, Debug)]
pub struct Thrown {
    pub value: Value,
    pub trace: Vec<TraceEntry>,
}

impl Vm {
    /// Unwinds to the innermost handler and jumps to it with `value` pushed;
    /// with no handler left, the process ends with the error.
    pub(super) fn throw(&mut self, value: Value, trace: Vec<TraceEntry>) -> Result<(), Outcome> {
        match self.handlers.pop() {
            Some(handler) => {
                self.frames.truncate(handler.frames as usize);
                self.stack.truncate(handler.stack as usize);
                self.stack.push(value.clone());
                if let Some(frame) = self.frames.last_mut() {
                    frame.pc = handler.catch_pc;
                }
                self.rare().caught = Some(Thrown { value, trace });
                Ok(())
            }
            None => {
                self.frames.clear();
                self.stack.clear();
                Err(Outcome::Error(Thrown { value, trace }))
            }
        }
    }
}
