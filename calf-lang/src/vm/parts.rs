//! A stopped VM taken apart for a snapshot, and put back together from
//! one, with every check that makes the restored machine as safe to run as
//! one the compiler made: the dispatch loop trusts what it finds.

use std::ptr::NonNull;
use std::sync::Arc;

use super::{call_code, Frame, Handler, Received, Resume, Thrown, Vm};
use crate::bytecode::{Code, Op};
use crate::snapshot::format::{FrameClosure, HandlerImage};
use crate::value::{Closure, Value};

/// The body a frame runs.
pub(crate) enum PartCode<'a> {
    /// A body of the frame's closure.
    Body(&'a Code),
    /// The VM's own body calling the function below `n` arguments.
    Call(u16),
    /// The VM's own body realizing a lazy seq (`realize.rs`).
    Realize,
}

pub(crate) struct FramePart<'a> {
    pub code: PartCode<'a>,
    pub closure: FrameClosure,
    pub pc: u32,
    pub base: u32,
}

/// A stopped VM, as its parts.
pub(crate) struct Parts<'a> {
    pub stack: &'a [Value],
    pub frames: Vec<FramePart<'a>>,
    pub handlers: Vec<HandlerImage>,
    pub caught: Option<&'a Thrown>,
    pub max_depth: usize,
    /// The dynamic bindings in force, innermost last (each the whole view).
    pub bindings: &'a [Value],
    /// The output each `with-out-str` in progress has captured.
    pub captures: &'a [String],
}

/// A restored VM's dynamic state: its bindings and captured output.
#[derive(Default)]
pub(crate) struct RestoredDynamic {
    pub bindings: Vec<Value>,
    pub captures: Vec<String>,
}

/// The body a restored frame runs.
pub(crate) enum RestoredCode {
    Body(Arc<Code>),
    Call(u16),
    Realize,
}

pub(crate) struct RestoredFrame {
    pub code: RestoredCode,
    pub closure: FrameClosure,
    pub pc: u32,
    pub base: u32,
}

/// What a stopped VM is owed before it can run again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owed {
    /// Nothing: it yielded, or has not started.
    Nothing,
    /// The answer to an effect ([`Vm::resume`]).
    Answer,
    /// A message or a timeout ([`Vm::resume_received`]).
    Message,
}

/// A restored VM, with the token of the answer it is owed.
pub enum Restored {
    Ready(Vm),
    Answer(Vm, Resume),
    Message(Vm, Received),
}

fn same_closure(value: Option<&Value>, closure: NonNull<Closure>) -> bool {
    matches!(value, Some(Value::Fn(f)) if std::ptr::eq(triomphe::Arc::as_ptr(f), closure.as_ptr()))
}

impl Vm {
    /// Its parts, for a snapshot: the VM must be stopped (it is, whenever
    /// it is not inside `run`). An error is a frame whose closure is not
    /// where the VM keeps it, which would be a bug in the VM.
    pub(crate) fn parts(&self) -> Result<Parts<'_>, String> {
        let mut frames = Vec::with_capacity(self.frames.len());
        for (i, frame) in self.frames.iter().enumerate() {
            let (code, closure) = match frame.closure {
                None => match frame.code().ops().first() {
                    Some(Op::TailCall(argc))
                        if std::ptr::eq(frame.code(), call_code(*argc as usize)) =>
                    {
                        (PartCode::Call(*argc), FrameClosure::None)
                    }
                    _ if std::ptr::eq(frame.code(), super::realize::realize_code()) => {
                        (PartCode::Realize, FrameClosure::None)
                    }
                    _ => return Err(format!("frame {i} runs a body of no closure")),
                },
                Some(closure) => {
                    let slot = (frame.base as usize)
                        .checked_sub(1)
                        .and_then(|s| self.stack.get(s));
                    let kind = if same_closure(slot, closure) {
                        FrameClosure::Slot
                    } else if i > 0 && self.frames[i - 1].closure == Some(closure) {
                        FrameClosure::Caller
                    } else {
                        return Err(format!("frame {i}'s closure is not where the VM keeps it"));
                    };
                    (PartCode::Body(frame.code()), kind)
                }
            };
            frames.push(FramePart {
                code,
                closure,
                pc: frame.pc,
                base: frame.base,
            });
        }
        Ok(Parts {
            stack: &self.stack,
            frames,
            handlers: self
                .handlers
                .iter()
                .map(|h| HandlerImage {
                    frames: h.frames,
                    stack: h.stack,
                    catch_pc: h.catch_pc,
                })
                .collect(),
            caught: self.rare.as_ref().and_then(|r| r.caught.as_ref()),
            max_depth: self.max_depth,
            bindings: self.rare.as_ref().map_or(&[], |r| &r.bindings),
            captures: self.rare.as_ref().map_or(&[], |r| &r.captures),
        })
    }

    /// A VM from its parts, owed `owed`, or what is wrong with them: every
    /// frame runs a checked body of its own closure, the operands between
    /// frames and of the top frame number what the checked depths of their
    /// bodies say at the instruction each resumes at, and every handler
    /// cuts back to a depth its catch expects.
    pub(crate) fn from_parts(
        stack: Vec<Value>,
        restored: Vec<RestoredFrame>,
        handlers: &[HandlerImage],
        caught: Option<Thrown>,
        max_depth: usize,
        dynamic: RestoredDynamic,
        owed: Owed,
    ) -> Result<Restored, String> {
        if restored.is_empty() {
            return Err("the VM has no frame: it had finished".to_string());
        }
        let mut frames: Vec<Frame> = Vec::with_capacity(restored.len());
        // Where each frame's operands start, and its depth before each of
        // its instructions.
        let mut layout: Vec<(usize, Vec<Option<usize>>)> = Vec::with_capacity(restored.len());
        let mut room = stack.len();
        for (i, part) in restored.iter().enumerate() {
            let base = part.base as usize;
            if base == 0 || base > stack.len() {
                return Err(format!(
                    "frame {i}'s base {base} is outside the stack ({})",
                    stack.len()
                ));
            }
            let closure: Option<NonNull<Closure>> = match part.closure {
                FrameClosure::None => None,
                FrameClosure::Slot => match &stack[base - 1] {
                    Value::Fn(f) => Some(NonNull::from(&**f)),
                    other => {
                        return Err(format!(
                            "frame {i}'s function slot holds a {}, not a fn",
                            other.type_name()
                        ))
                    }
                },
                FrameClosure::Caller => match frames.last().and_then(|f| f.closure) {
                    Some(c) => Some(c),
                    None => {
                        return Err(format!(
                            "frame {i} runs its caller's closure, which has none"
                        ))
                    }
                },
            };
            let (code, origin, depths): (NonNull<Code>, usize, Vec<Option<usize>>) =
                match &part.code {
                    RestoredCode::Call(argc) => {
                        if closure.is_some() {
                            return Err(format!("frame {i} calls a function but has a closure"));
                        }
                        let code = call_code(*argc as usize);
                        // Its operands start at its function slot (see `call_code`).
                        let depths = code.depths_from(*argc as usize + 1)?;
                        (NonNull::from(code), base - 1, depths)
                    }
                    RestoredCode::Realize => {
                        if closure.is_some() {
                            return Err(format!("frame {i} realizes a lazy seq but has a closure"));
                        }
                        let code = super::realize::realize_code();
                        (
                            NonNull::from(code),
                            base + code.locals() as usize,
                            code.depths()?,
                        )
                    }
                    RestoredCode::Body(code) => {
                        let Some(closure) = closure else {
                            return Err(format!("frame {i} runs a body without its closure"));
                        };
                        // SAFETY: the closure is held by a stack slot (or by the
                        // caller's, checked the same way), which `stack` owns.
                        let proto = unsafe { &closure.as_ref().proto };
                        let owned = proto
                            .fixed
                            .iter()
                            .chain(proto.variadic.iter())
                            .find(|body| Arc::ptr_eq(body, code));
                        let Some(owned) = owned else {
                            return Err(format!("frame {i} runs a body that is not its closure's"));
                        };
                        (
                            NonNull::from(&**owned),
                            base + owned.locals() as usize,
                            owned.depths()?,
                        )
                    }
                };
            // SAFETY: as above: the body is its closure's (or static).
            let body = unsafe { code.as_ref() };
            let pc = part.pc as usize;
            let Some(Some(depth)) = depths.get(pc) else {
                return Err(format!(
                    "frame {i} resumes at instruction {pc}, which its body never reaches"
                ));
            };
            let top = origin + depth;
            let expected_top = match restored.get(i + 1) {
                // The callee's answer takes its function slot.
                Some(next) => next.base as usize,
                None => {
                    stack.len()
                        + match owed {
                            Owed::Nothing => 0,
                            Owed::Answer => 1,
                            Owed::Message => 2,
                        }
                }
            };
            if top != expected_top {
                return Err(format!(
                    "frame {i} has {} operands where its body expects {depth} at instruction {pc}",
                    expected_top as isize - origin as isize
                ));
            }
            room = room.max(origin + body.max_stack() as usize);
            frames.push(Frame {
                code,
                closure,
                pc: part.pc,
                base: part.base,
            });
            layout.push((origin, depths));
        }
        for (n, h) in handlers.iter().enumerate() {
            let frame = (h.frames as usize).checked_sub(1);
            let Some((origin, depths)) = frame.and_then(|f| layout.get(f)) else {
                return Err(format!(
                    "handler {n} belongs to frame {} of {}",
                    h.frames,
                    frames.len()
                ));
            };
            let Some(Some(depth)) = depths.get(h.catch_pc as usize) else {
                return Err(format!(
                    "handler {n} catches at an instruction its body never reaches"
                ));
            };
            // A throw cuts the stack back to `stack` and pushes the value.
            if h.stack as usize + 1 != origin + depth {
                return Err(format!(
                    "handler {n} cuts the stack back to a depth its catch does not expect"
                ));
            }
            if n > 0 && handlers[n - 1].frames > h.frames {
                return Err(format!("handler {n} is out of order"));
            }
        }
        let mut vm = Vm::empty();
        vm.stack = stack;
        vm.stack.reserve(room.saturating_sub(vm.stack.len()));
        vm.frames = frames;
        vm.handlers = handlers
            .iter()
            .map(|h| Handler {
                frames: h.frames,
                stack: h.stack,
                catch_pc: h.catch_pc,
            })
            .collect();
        if caught.is_some() || !dynamic.bindings.is_empty() || !dynamic.captures.is_empty() {
            let rare = vm.rare();
            rare.caught = caught;
            rare.bindings = dynamic.bindings;
            rare.captures = dynamic.captures;
        }
        vm.set_max_depth(max_depth);
        Ok(match owed {
            Owed::Nothing => Restored::Ready(vm),
            Owed::Answer => Restored::Answer(vm, Resume(())),
            Owed::Message => Restored::Message(vm, Received(())),
        })
    }
}
