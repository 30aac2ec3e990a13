//! The pattern-matching instructions shared by `match` and `receive`.

use triomphe::Arc;

use crate::error::RuntimeError;
use crate::value::{print::pr_str, Value};

/// `TestSeq`: a list or vector of `len` items (or at least `len`).
pub(super) fn is_seq_of(value: &Value, len: u16, at_least: bool) -> bool {
    match value.as_seq() {
        Some(items) if at_least => items.len() >= len as usize,
        Some(items) => items.len() == len as usize,
        None => false,
    }
}

/// `ItemAt`: a checked sequence's item.
pub(super) fn item_at(value: &Value, index: u16) -> Value {
    value
        .as_seq()
        .and_then(|items| items.get(index as usize).cloned())
        .unwrap_or(Value::Nil)
}

/// `ItemsFrom`: the rest of a checked sequence, as a list.
pub(super) fn items_from(value: &Value, index: u16) -> Value {
    match value.as_seq() {
        Some(items) if (index as usize) < items.len() => {
            Value::List(Arc::new(items.skip(index as usize)))
        }
        _ => Value::empty_list(),
    }
}

pub(super) fn has_key(map: &Value, key: &Value) -> bool {
    matches!(map, Value::Map(m) if m.contains_key(key))
}

pub(super) fn get_key(map: &Value, key: &Value) -> Value {
    match map {
        Value::Map(m) => m.get(key).cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

pub(super) fn no_match(value: &Value) -> RuntimeError {
    let shown: String = pr_str(value).chars().take(200).collect();
    RuntimeError::new("calf/no-match", format!("no clause matches {shown}"))
        .with("value", value.clone())
}
