//! What a process keeps apart from its frames: the throw being handled,
//! its dynamic bindings (`binding`) and the output `with-out-str` is
//! capturing. Few processes use any of it, so a `Vm` holds it boxed, made
//! on first use.
//!
//! Bindings and captures are the process's own: another process (even one
//! it spawns) sees a var's root value and prints to the program's output,
//! unless `bound-fn` conveys the bindings. The VM answers the effects that
//! read and change them itself ([`DynamicOp`]); no host sees them.

use super::unwind::Thrown;
use crate::error::RuntimeError;
use crate::value::{Map, Sym, Value};

/// The rarely used state of a VM.
#[derive(Default)]
pub(crate) struct Rare {
    /// The trace of the throw being handled, for `Rethrow`.
    pub caught: Option<Thrown>,
    /// The bindings in force, innermost last: each is the whole view (a
    /// map from a var's name to its value), so a read looks at one map.
    pub bindings: Vec<Value>,
    /// The text each `with-out-str` in progress has captured, innermost last.
    pub captures: Vec<String>,
}

/// An effect on the process's own dynamic state, answered by the VM.
#[derive(Clone, Debug, PartialEq)]
pub enum DynamicOp {
    /// Binds the vars a map names (on top of the bindings in force).
    Push(Value),
    /// Undoes the last `Push`.
    Pop,
    /// The value the var `name` has here: its binding, else `root`.
    Get { name: Sym, root: Value },
    /// The bindings in force, as a map (for `bound-fn`).
    Bindings,
    /// Starts capturing what this process prints.
    Capture,
    /// Stops the last capture; answers the text it captured.
    EndCapture,
}

impl Rare {
    /// Carries out `op`.
    pub(crate) fn perform(&mut self, op: DynamicOp) -> Result<Value, RuntimeError> {
        Ok(match op {
            DynamicOp::Push(map) => {
                let Value::Map(added) = &map else {
                    return Err(RuntimeError::wrong_type(
                        "push-thread-bindings",
                        1,
                        "a map",
                        &map,
                    ));
                };
                let view = match self.bindings.last() {
                    Some(Value::Map(view)) => {
                        let mut view: Map = (**view).clone();
                        for (k, v) in added.iter() {
                            view.insert(k.clone(), v.clone());
                        }
                        Value::Map(triomphe::Arc::new(view))
                    }
                    _ => map,
                };
                self.bindings.push(view);
                Value::Nil
            }
            DynamicOp::Pop => {
                if self.bindings.pop().is_none() {
                    return Err(RuntimeError::new(
                        "calf/illegal-state",
                        "pop-thread-bindings: no bindings to pop",
                    ));
                }
                Value::Nil
            }
            DynamicOp::Get { name, root } => match self.bindings.last() {
                Some(Value::Map(view)) => view.get(&Value::Symbol(name)).cloned().unwrap_or(root),
                _ => root,
            },
            DynamicOp::Bindings => self
                .bindings
                .last()
                .cloned()
                .unwrap_or_else(|| Value::map([])),
            DynamicOp::Capture => {
                self.captures.push(String::new());
                Value::Nil
            }
            DynamicOp::EndCapture => match self.captures.pop() {
                Some(text) => Value::str(text),
                None => {
                    return Err(RuntimeError::new(
                        "calf/illegal-state",
                        "captured-output: no output is being captured",
                    ))
                }
            },
        })
    }

    /// Keeps `text` if output is being captured; whether it did.
    pub(crate) fn capture(&mut self, text: &str) -> bool {
        match self.captures.last_mut() {
            Some(captured) => {
                captured.push_str(text);
                true
            }
            None => false,
        }
    }
}
