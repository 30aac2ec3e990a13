//! The one value model: immutable, `Send + Sync`, 16 bytes.
//!
//! Scalars are stored inline; every collection is an `imbl` persistent
//! structure behind an `Arc`, so cloning a value (sending a message, reading a
//! collection) is at most one reference-count increment.

mod equality;
mod function;
pub mod print;
mod symbol;

use std::sync::Arc;

pub use function::{Arity, Closure, ConsumingFn, FnProto, Native, NativeFn, NativeKind};
pub use symbol::{next_gensym_id, Sym};

/// Deterministic hashing: the print order of maps and sets is the same on
/// every run.
pub type Hasher = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;
pub type Vector = imbl::Vector<Value>;
pub type Map = imbl::GenericHashMap<Value, Value, Hasher, imbl::shared_ptr::DefaultSharedPtr>;
pub type Set = imbl::GenericHashSet<Value, Hasher, imbl::shared_ptr::DefaultSharedPtr>;

/// A process identifier: which node-local process a message goes to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Pid(pub u64);

/// Every Calf value.
#[derive(Clone)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<String>),
    Symbol(Sym),
    Keyword(Sym),
    /// A list or any other sequence: prints as `(...)`.
    List(Arc<Vector>),
    Vector(Arc<Vector>),
    Map(Arc<Map>),
    Set(Arc<Set>),
    Fn(Arc<Closure>),
    Native(&'static Native),
    Pid(Pid),
    /// A unique reference, as made by `monitor` or `make-ref`.
    Ref(u64),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Arc::new(s.into()))
    }

    pub fn symbol(name: &str) -> Value {
        Value::Symbol(Sym::new(name))
    }

    pub fn keyword(name: &str) -> Value {
        Value::Keyword(Sym::new(name))
    }

    pub fn list(items: impl IntoIterator<Item = Value>) -> Value {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    pub fn vector(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Vector(Arc::new(items.into_iter().collect()))
    }

    pub fn map(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        Value::Map(Arc::new(entries.into_iter().collect()))
    }

    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        Value::Set(Arc::new(items.into_iter().collect()))
    }

    pub fn empty_list() -> Value {
        Value::List(Arc::new(Vector::new()))
    }

    /// `nil` and `false` are false; everything else is true.
    #[inline]
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    /// The name `type` returns and error messages use.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Symbol(_) => "symbol",
            Value::Keyword(_) => "keyword",
            Value::List(_) => "list",
            Value::Vector(_) => "vector",
            Value::Map(_) => "map",
            Value::Set(_) => "set",
            Value::Fn(_) | Value::Native(_) => "fn",
            Value::Pid(_) => "pid",
            Value::Ref(_) => "ref",
        }
    }

    /// The items of a list or vector.
    pub fn as_seq(&self) -> Option<&Vector> {
        match self {
            Value::List(v) | Value::Vector(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_symbol(&self) -> Option<Sym> {
        match self {
            Value::Symbol(s) => Some(*s),
            _ => None,
        }
    }

    pub fn is_symbol(&self, name: &str) -> bool {
        matches!(self, Value::Symbol(s) if s.name() == name)
    }

    /// A stable identity for a collection literal, used to find its source span.
    pub fn identity(&self) -> Option<usize> {
        match self {
            Value::List(v) | Value::Vector(v) => Some(Arc::as_ptr(v) as usize),
            Value::Map(m) => Some(Arc::as_ptr(m) as usize),
            Value::Set(s) => Some(Arc::as_ptr(s) as usize),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print::pr_str(self))
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&print::pr_str(self))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Value {
        Value::Float(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_sixteen_bytes_and_shareable() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        fn shareable<T: Send + Sync>() {}
        shareable::<Value>();
    }
}
