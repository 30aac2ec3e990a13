//! Argument checking and small building blocks shared by the natives.

use triomphe::Arc;

use crate::error::RuntimeError;
use crate::value::{Value, Vector};

/// Error kinds (`:type` of the thrown ex-info) raised by natives, besides
/// `calf/type-error` which [`RuntimeError::wrong_type`] makes.
pub const OVERFLOW: &str = "calf/overflow";
pub const DIVIDE_BY_ZERO: &str = "calf/divide-by-zero";
pub const INDEX_OUT_OF_BOUNDS: &str = "calf/index-out-of-bounds";
pub const ILLEGAL_ARGUMENT: &str = "calf/illegal-argument";
pub const TYPE_ERROR: &str = "calf/type-error";

/// The most elements an eager sequence function (`range`, `repeat`) will
/// build: beyond this a program almost certainly meant something else.
pub const MAX_ELEMENTS: u64 = 100_000_000;

/// A wrong-type error for argument `i` (0-based) of `fname`.
#[cold]
pub fn type_error(fname: &str, args: &[Value], i: usize, expected: &str) -> RuntimeError {
    RuntimeError::wrong_type(fname, i + 1, expected, &args[i])
}

#[cold]
pub fn overflow(fname: &str) -> RuntimeError {
    RuntimeError::new(OVERFLOW, format!("{fname}: integer overflow"))
        .with("function", Value::str(fname))
}

#[cold]
pub fn illegal(fname: &str, message: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::new(ILLEGAL_ARGUMENT, format!("{fname}: {message}"))
        .with("function", Value::str(fname))
}

#[cold]
pub fn out_of_bounds(fname: &str, index: i64, count: usize) -> RuntimeError {
    RuntimeError::new(
        INDEX_OUT_OF_BOUNDS,
        format!("{fname}: index {index} is out of bounds for a collection of {count} items"),
    )
    .with("function", Value::str(fname))
    .with("index", Value::Int(index))
    .with("count", Value::Int(count as i64))
}

/// Argument `i` as an integer.
#[inline]
pub fn int_arg(fname: &str, args: &[Value], i: usize) -> Result<i64, RuntimeError> {
    match &args[i] {
        Value::Int(n) => Ok(*n),
        _ => Err(type_error(fname, args, i, "an integer")),
    }
}

/// Argument `i` as a string.
#[inline]
pub fn str_arg<'a>(fname: &str, args: &'a [Value], i: usize) -> Result<&'a str, RuntimeError> {
    match &args[i] {
        Value::Str(s) => Ok(s.as_str()),
        _ => Err(type_error(fname, args, i, "a string")),
    }
}

/// Argument `i` as a count: a non-negative integer (negatives count as 0).
pub fn count_arg(fname: &str, args: &[Value], i: usize) -> Result<usize, RuntimeError> {
    let n = int_arg(fname, args, i)?;
    Ok(usize::try_from(n.max(0)).unwrap_or(usize::MAX))
}

/// A `List` value holding `items`.
#[inline]
pub fn list_of(items: Vector) -> Value {
    Value::List(Arc::new(items))
}

/// A `Vector` value holding `items`.
#[inline]
pub fn vector_of(items: Vector) -> Value {
    Value::Vector(Arc::new(items))
}

/// A two-item vector: a map entry as `seq`, `first` and `find` return it.
pub fn entry(k: &Value, v: &Value) -> Value {
    let mut items = Vector::new();
    items.push_back(k.clone());
    items.push_back(v.clone());
    vector_of(items)
}

type Ptr = imbl::shared_ptr::DefaultSharedPtr;

/// The items of anything `seq` accepts, as owned values: a list's or a
/// vector's items, a map's entries as `[k v]` vectors, a set's members, a
/// string's characters; nothing for `nil`.
///
/// The items taken are owed to the caller's reduction budget when the
/// iterator is dropped (see [`crate::vm::work`]): a native that walks a
/// collection pays for the part it walked.
pub struct Items<'a> {
    of: ItemsOf<'a>,
    taken: usize,
}

enum ItemsOf<'a> {
    Empty,
    Seq(imbl::vector::Iter<'a, Value, Ptr>),
    Map(crate::value::MapIter<'a>),
    Set(crate::value::SetIter<'a>),
    Chars(std::str::Chars<'a>),
    Lazy(crate::value::lazy::Items<'a>),
    Sorted {
        iter: Box<dyn Iterator<Item = (&'a Value, &'a Value)> + 'a>,
        set: bool,
    },
}

impl Iterator for Items<'_> {
    type Item = Value;

    #[inline]
    fn next(&mut self) -> Option<Value> {
        let item = match &mut self.of {
            ItemsOf::Empty => None,
            ItemsOf::Seq(it) => it.next().cloned(),
            ItemsOf::Map(it) => it.next().map(|(k, v)| entry(k, v)),
            ItemsOf::Set(it) => it.next().cloned(),
            ItemsOf::Chars(it) => it.next().map(Value::Char),
            ItemsOf::Lazy(it) => it.next().cloned(),
            ItemsOf::Sorted { iter, set: true } => iter.next().map(|(k, _)| k.clone()),
            ItemsOf::Sorted { iter, .. } => iter.next().map(|(k, v)| entry(k, v)),
        };
        self.taken += 1;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.of {
            ItemsOf::Empty => (0, Some(0)),
            ItemsOf::Seq(it) => it.size_hint(),
            ItemsOf::Map(it) => it.size_hint(),
            ItemsOf::Set(it) => it.size_hint(),
            ItemsOf::Chars(it) => it.size_hint(),
            ItemsOf::Lazy(_) => (0, None),
            ItemsOf::Sorted { iter, .. } => iter.size_hint(),
        }
    }
}

impl Drop for Items<'_> {
    fn drop(&mut self) {
        crate::vm::work::charge_items(self.taken);
    }
}

/// The items of `value`, or `None` if it is not seqable. A lazy seq is
/// seqable once realized to its end: until then, the type error a native
/// makes of `None` asks the VM to realize it (see `RuntimeError::wrong_type`).
pub fn try_items(value: &Value) -> Option<Items<'_>> {
    let of = match value {
        Value::Lazy(_) if crate::value::lazy::first_unrealized(value).is_some() => return None,
        Value::Lazy(_) => ItemsOf::Lazy(crate::value::lazy::Items::new(value)),
        Value::Nil => ItemsOf::Empty,
        Value::List(v) | Value::Vector(v) => ItemsOf::Seq(v.iter()),
        Value::Map(m) => ItemsOf::Map(m.iter()),
        Value::Set(s) => ItemsOf::Set(s.iter()),
        Value::Str(s) => ItemsOf::Chars(s.chars()),
        Value::Sorted(s) => ItemsOf::Sorted {
            iter: s.iter(),
            set: s.set,
        },
        _ => return None,
    };
    Some(Items { of, taken: 0 })
}

/// The items of argument `i`, or a type error naming it.
pub fn items<'a>(fname: &str, args: &'a [Value], i: usize) -> Result<Items<'a>, RuntimeError> {
    try_items(&args[i]).ok_or_else(|| type_error(fname, args, i, SEQABLE))
}

/// What [`items`] accepts, for error messages.
pub const SEQABLE: &str = "a collection, a string or nil";

/// The items of argument `i` as a persistent vector: free for lists and
/// vectors (they share structure), built for anything else.
pub fn seq_vector(fname: &str, args: &[Value], i: usize) -> Result<Vector, RuntimeError> {
    match &args[i] {
        Value::List(v) | Value::Vector(v) => Ok((**v).clone()),
        _ => Ok(items(fname, args, i)?.collect()),
    }
}

/// How many items `value` has, if it is countable.
pub fn count_of(value: &Value) -> Option<usize> {
    Some(match value {
        Value::Nil => 0,
        Value::List(v) | Value::Vector(v) => v.len(),
        Value::Map(m) => m.len(),
        Value::Set(s) => s.len(),
        Value::Sorted(s) => s.len(),
        Value::Lazy(_) if crate::value::lazy::first_unrealized(value).is_some() => return None,
        Value::Lazy(_) => {
            let n = crate::value::lazy::Items::new(value).count();
            crate::vm::work::charge_items(n / 2);
            n
        }
        Value::Str(s) => {
            crate::vm::work::charge_items(s.len() / BYTES_PER_ITEM);
            s.chars().count()
        }
        _ => return None,
    })
}

/// Bytes of a string a native walks for the cost of one item (see
/// [`crate::vm::work::charge_items`]): scanning bytes is cheaper than
/// handling values.
pub const BYTES_PER_ITEM: usize = 8;

/// The byte offset of character `index` in `s`, if `index <= char count`.
pub fn char_to_byte(s: &str, index: usize) -> Option<usize> {
    if s.is_ascii() {
        return (index <= s.len()).then_some(index);
    }
    if index == 0 {
        return Some(0);
    }
    match s.char_indices().nth(index) {
        Some((b, _)) => Some(b),
        None if s.chars().count() == index => Some(s.len()),
        None => None,
    }
}

/// The character index of byte offset `byte` (a char boundary) in `s`.
pub fn byte_to_char(s: &str, byte: usize) -> usize {
    if s.is_ascii() {
        byte
    } else {
        s[..byte].chars().count()
    }
}

/// Takes an argument out of its slot, leaving `nil`.
pub fn take_arg(slot: &mut Value) -> Value {
    std::mem::replace(slot, Value::Nil)
}
