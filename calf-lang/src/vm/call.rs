//! Calling a value: closures enter a new frame, natives answer at once or
//! return an effect, and keywords, maps, sets and vectors look themselves up.

use triomphe::Arc;

use super::{Effect, Vm};
use crate::bytecode::Code;
use crate::error::RuntimeError;
use crate::natives::maps::lookup;
use crate::value::{Closure, NativeKind, Value};

/// What the dispatch loop does after a call.
pub(super) enum Next {
    /// The answer is on the stack; go on with the next instruction.
    Continue,
    /// A new frame is on top; start running it.
    Enter,
    /// Hand this effect to the host; its answer will be pushed.
    Effect(Effect),
}

impl Vm {
    /// Calls the value below the top `argc` values with them as arguments.
    pub(super) fn call_value(&mut self, argc: usize) -> Result<Next, RuntimeError> {
        let callee_at = self.stack.len() - argc - 1;
        match &self.stack[callee_at] {
            Value::Fn(closure) => {
                let Some(body) = closure.proto.body_for(argc) else {
                    return Err(arity_error(&self.stack[callee_at], argc));
                };
                // The closure stays in the slot below the frame's base,
                // keeping itself and its code alive (see `Frame`).
                let body: *const Code = &**body;
                let closure: *const Closure = &**closure;
                // SAFETY: as above; nothing below this line drops the closure.
                let (body, closure) = unsafe { (&*body, &*closure) };
                if self.frames.len() >= self.max_depth {
                    return Err(stack_overflow(self.max_depth));
                }
                if body.variadic() {
                    self.pack_rest(callee_at + 1, body.params() as usize);
                }
                self.enter(body, callee_at + 1, Some(closure));
                Ok(Next::Enter)
            }
            Value::Native(native) => {
                if !native.arity.accepts(argc) {
                    return Err(arity_error(&self.stack[callee_at], argc));
                }
                match native.kind {
                    NativeKind::Pure(f) => {
                        let result = f(&self.stack[callee_at + 1..])?;
                        self.stack.truncate(callee_at);
                        self.stack.push(result);
                        Ok(Next::Continue)
                    }
                    NativeKind::Consuming(f) => {
                        let result = f(&mut self.stack[callee_at + 1..])?;
                        self.stack.truncate(callee_at);
                        self.stack.push(result);
                        Ok(Next::Continue)
                    }
                    NativeKind::Effect(f) => {
                        let effect = f(&self.stack[callee_at + 1..])?;
                        self.stack.truncate(callee_at);
                        Ok(Next::Effect(effect))
                    }
                }
            }
            Value::Var(var) => {
                // A var calls the value it has now, as Clojure's does.
                match var.get() {
                    Some(Value::Var(_)) | None => Err(RuntimeError::new(
                        "calf/not-a-function",
                        format!(
                            "{} has no function to call: it holds no value, or another var",
                            var.name
                        ),
                    )
                    .with("value", self.stack[callee_at].clone())),
                    Some(value) => {
                        self.stack[callee_at] = value;
                        self.call_value(argc)
                    }
                }
            }
            Value::Keyword(_)
            | Value::Map(_)
            | Value::Set(_)
            | Value::Vector(_)
            | Value::Sorted(_) => {
                let result = self.lookup_call(callee_at, argc)?;
                self.stack.truncate(callee_at);
                self.stack.push(result);
                Ok(Next::Continue)
            }
            other => Err(RuntimeError::new(
                "calf/not-a-function",
                format!(
                    "{} {} cannot be called as a function",
                    other.type_name(),
                    crate::value::print::pr_str(other)
                        .chars()
                        .take(60)
                        .collect::<String>()
                ),
            )
            .with("value", other.clone())),
        }
    }

    /// Calls in place of the current frame (`base` is its slot 0), so that a
    /// chain of tail calls runs in constant space.
    pub(super) fn tail_call(&mut self, argc: usize, base: usize) -> Result<Next, RuntimeError> {
        let callee_at = self.stack.len() - argc - 1;
        let Value::Fn(closure) = &self.stack[callee_at] else {
            return self.call_value(argc);
        };
        let Some(body) = closure.proto.body_for(argc) else {
            return Err(arity_error(&self.stack[callee_at], argc));
        };
        let body: *const Code = &**body;
        let closure: *const Closure = &**closure;
        // SAFETY: the closure moves to the slot below `base` and stays there
        // for the new frame's life (see `Frame`); the one it replaces is
        // dropped together with the frame it kept.
        let (body, closure) = unsafe { (&*body, &*closure) };
        let dest = base - 1;
        for i in 0..=argc {
            self.stack.swap(dest + i, callee_at + i);
        }
        self.stack.truncate(dest + argc + 1);
        self.frames.pop();
        if body.variadic() {
            self.pack_rest(base, body.params() as usize);
        }
        self.enter(body, base, Some(closure));
        Ok(Next::Enter)
    }

    /// A function calling itself by name: the function slot below the
    /// arguments holds `nil`, and the new frame runs the caller's closure
    /// (which the caller's frame keeps alive), so the call costs no
    /// reference counting.
    pub(super) fn call_self(
        &mut self,
        argc: usize,
        running: Option<&Closure>,
    ) -> Result<(), RuntimeError> {
        let (body, closure) = self_body(running, argc)?;
        let callee_at = self.stack.len() - argc - 1;
        if self.frames.len() >= self.max_depth {
            return Err(stack_overflow(self.max_depth));
        }
        if body.variadic() {
            self.pack_rest(callee_at + 1, body.params() as usize);
        }
        self.enter(body, callee_at + 1, Some(closure));
        Ok(())
    }

    /// A function calling itself by name in tail position: the arguments
    /// replace the frame's own; the function slot is left as it is.
    pub(super) fn tail_call_self(
        &mut self,
        argc: usize,
        base: usize,
        running: Option<&Closure>,
    ) -> Result<(), RuntimeError> {
        let (body, closure) = self_body(running, argc)?;
        let first_arg = self.stack.len() - argc;
        for i in 0..argc {
            self.stack.swap(base + i, first_arg + i);
        }
        self.stack.truncate(base + argc);
        self.frames.pop();
        if body.variadic() {
            self.pack_rest(base, body.params() as usize);
        }
        self.enter(body, base, Some(closure));
        Ok(())
    }

    /// Replaces the arguments past the fixed ones with one list (or `nil`).
    fn pack_rest(&mut self, first_arg: usize, params: usize) {
        let rest = self.stack.split_off(first_arg + params - 1);
        self.stack.push(if rest.is_empty() {
            Value::Nil
        } else {
            Value::List(Arc::new(rest.into_iter().collect()))
        });
    }

    /// `(:k m)`, `(m k)`, `(s x)`, `(v i)`, with an optional default.
    fn lookup_call(&self, callee_at: usize, argc: usize) -> Result<Value, RuntimeError> {
        let callee = &self.stack[callee_at];
        if argc == 0 || argc > 2 {
            return Err(arity_error(callee, argc));
        }
        let arg = &self.stack[callee_at + 1];
        if !matches!(callee, Value::Keyword(_) | Value::Vector(_)) {
            crate::value::lazy::realized_key(arg)?;
        }
        let default = self.stack.get(callee_at + 2).filter(|_| argc == 2);
        let found = match callee {
            Value::Keyword(_) => lookup(arg, callee),
            Value::Vector(items) => match arg {
                Value::Int(i) if argc == 1 => {
                    return usize::try_from(*i)
                        .ok()
                        .and_then(|i| items.get(i).cloned())
                        .ok_or_else(|| {
                            RuntimeError::new(
                                "calf/index-out-of-bounds",
                                format!(
                                    "index {i} is out of bounds for a vector of {} items",
                                    items.len()
                                ),
                            )
                        })
                }
                _ => lookup(callee, arg),
            },
            _ => lookup(callee, arg),
        };
        Ok(found.or_else(|| default.cloned()).unwrap_or(Value::Nil))
    }
}

/// Pushes the items of `coll` (the last argument of `apply`); returns how
/// many.
pub(super) fn spread_onto(coll: &Value, stack: &mut Vec<Value>) -> Result<usize, RuntimeError> {
    let before = stack.len();
    match coll {
        Value::Nil => {}
        Value::List(items) | Value::Vector(items) => stack.extend(items.iter().cloned()),
        Value::Set(items) => stack.extend(items.iter().cloned()),
        Value::Lazy(_) if crate::value::lazy::first_unrealized(coll).is_none() => {
            stack.extend(crate::value::lazy::Items::new(coll).cloned())
        }
        Value::Map(entries) => stack.extend(
            entries
                .iter()
                .map(|(k, v)| Value::vector([k.clone(), v.clone()])),
        ),
        Value::Sorted(s) if s.set => stack.extend(s.iter().map(|(k, _)| k.clone())),
        Value::Sorted(s) => {
            stack.extend(s.iter().map(|(k, v)| Value::vector([k.clone(), v.clone()])))
        }
        other => return Err(RuntimeError::wrong_type("apply", 2, "a collection", other)),
    }
    Ok(stack.len() - before)
}

pub(super) fn stack_overflow(max_depth: usize) -> RuntimeError {
    RuntimeError::new(
        "calf/stack-overflow",
        format!(
            "stack overflow: more than {max_depth} nested calls (is a recursion missing its base case, or could it be a loop/recur?)"
        ),
    )
}

/// The body a self call runs, and the closure running it. Neither is
/// borrowed from the VM: the frame making the call (or one below it) keeps
/// the closure, and so its code, alive for as long as the new frame lives
/// (see `Frame`).
fn self_body<'a>(
    running: Option<&Closure>,
    argc: usize,
) -> Result<(&'a Code, &'a Closure), RuntimeError> {
    let Some(closure) = running else {
        return Err(RuntimeError::new(
            "calf/internal",
            "a self call outside a function",
        ));
    };
    let Some(body) = closure.proto.body_for(argc) else {
        return Err(arity_error(&Value::Fn(share(closure)), argc));
    };
    let body: *const Code = &**body;
    let closure: *const Closure = closure;
    // SAFETY: as said above; the VM keeps both alive past this frame.
    Ok(unsafe { (&*body, &*closure) })
}

/// An owning reference to a closure a frame runs, for error messages.
fn share(closure: &Closure) -> Arc<Closure> {
    match super::share_closure(closure).into_parts() {
        crate::value::Parts::Fn(c) => c,
        _ => unreachable!("share_closure makes a function"),
    }
}

fn arity_error(callee: &Value, argc: usize) -> RuntimeError {
    let (name, takes) = match callee {
        Value::Fn(c) => (
            c.proto
                .name
                .map_or("an anonymous fn".to_string(), |n| n.to_string()),
            c.proto.describe_arities(),
        ),
        Value::Native(n) => (n.name.to_string(), n.arity.describe()),
        other => (crate::value::print::pr_str(other), "1 or 2".to_string()),
    };
    RuntimeError::new(
        "calf/arity-error",
        format!("wrong number of arguments ({argc}) passed to {name}, which takes {takes}"),
    )
    .with("given", Value::Int(argc as i64))
}
