//! Functions as values: closures over compiled code, and natives.

use std::sync::Arc;

use super::{Sym, Value};
use crate::bytecode::{Capture, Code};
use crate::error::RuntimeError;
use crate::vm::Effect;

/// A compiled `fn` form: one body per arity, shared by every closure made
/// from it.
#[derive(Debug)]
pub struct FnProto {
    pub name: Option<Sym>,
    /// Bodies taking a fixed number of arguments.
    pub fixed: Box<[Arc<Code>]>,
    /// The `& rest` body, if any; its last parameter receives the rest.
    pub variadic: Option<Arc<Code>>,
    /// Where each captured value comes from in the frame that makes the closure.
    pub captures: Box<[Capture]>,
}

impl FnProto {
    /// The body to run for `argc` arguments.
    pub fn body_for(&self, argc: usize) -> Option<&Arc<Code>> {
        for code in self.fixed.iter() {
            if code.params() as usize == argc {
                return Some(code);
            }
        }
        match &self.variadic {
            Some(code) if argc >= code.params() as usize - 1 => Some(code),
            _ => None,
        }
    }

    /// "1 or 2", "2 or more": for arity errors.
    pub fn describe_arities(&self) -> String {
        let mut parts: Vec<String> = self.fixed.iter().map(|c| c.params().to_string()).collect();
        if let Some(v) = &self.variadic {
            parts.push(format!("{} or more", v.params() - 1));
        }
        parts.join(" or ")
    }
}

/// A function value: code plus the values it captured when it was made.
#[derive(Debug)]
pub struct Closure {
    pub proto: Arc<FnProto>,
    pub captures: Box<[Value]>,
}

/// How many arguments a native takes.
#[derive(Clone, Copy, Debug)]
pub struct Arity {
    pub min: u8,
    /// `None`: any number from `min` on.
    pub max: Option<u8>,
}

impl Arity {
    pub const fn exactly(n: u8) -> Arity {
        Arity {
            min: n,
            max: Some(n),
        }
    }
    pub const fn between(min: u8, max: u8) -> Arity {
        Arity {
            min,
            max: Some(max),
        }
    }
    pub const fn at_least(min: u8) -> Arity {
        Arity { min, max: None }
    }
    pub fn accepts(self, argc: usize) -> bool {
        argc >= self.min as usize && self.max.is_none_or(|m| argc <= m as usize)
    }
    pub fn describe(self) -> String {
        match self.max {
            Some(max) if max == self.min => max.to_string(),
            Some(max) => format!("{} to {}", self.min, max),
            None => format!("{} or more", self.min),
        }
    }
}

pub type NativeFn = fn(&[Value]) -> Result<Value, RuntimeError>;

/// A pure native that may take its arguments out of the slice (the caller
/// discards them after the call): given the only reference to a
/// collection, it updates that collection in place instead of copying.
pub type ConsumingFn = fn(&mut [Value]) -> Result<Value, RuntimeError>;

/// A pure native computes a value; an effect native asks the host to act.
pub enum NativeKind {
    Pure(NativeFn),
    Consuming(ConsumingFn),
    Effect(fn(&[Value]) -> Result<Effect, RuntimeError>),
}

/// A function written in Rust. Natives never call back into the VM.
pub struct Native {
    pub name: &'static str,
    pub arity: Arity,
    pub kind: NativeKind,
    pub doc: &'static str,
}

impl std::fmt::Debug for Native {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#native[{}]", self.name)
    }
}
