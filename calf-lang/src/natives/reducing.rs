//! `reduce` with a native step function, looped in Rust.
//!
//! `reduce` is Calf code (a step function may be any Calf function, and
//! natives never call back into the VM). When the step is itself a native,
//! as in `(reduce + 0 v)` or `(reduce conj [] xs)`, the Calf loop would
//! spend a dozen instructions and a call per item on bookkeeping; here the
//! native is called straight from Rust, over a bounded chunk of items so
//! that a long reduction still yields to other processes between chunks.

use super::helpers::{count_arg, type_error};
use crate::error::RuntimeError;
use crate::value::{Native, NativeKind, Value};

/// `(-native? f)`: can `-reduce-chunk` call `f`?
fn is_native(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Bool(matches!(
        &args[0],
        Value::Native(Native {
            kind: NativeKind::Pure(_) | NativeKind::Consuming(_),
            ..
        })
    )))
}

/// `(-reduce-chunk f acc v from to)`: steps `acc` through items `from`
/// (inclusive) to `to` (exclusive) of vector `v`, stopping early when a
/// step returns a reduced value (returned as it is, still wrapped).
fn reduce_chunk(args: &mut [Value]) -> Result<Value, RuntimeError> {
    let Value::Native(native) = &args[0] else {
        return Err(type_error("-reduce-chunk", args, 0, "a native function"));
    };
    let items = match &args[2] {
        Value::Vector(items) => items.clone(),
        _ => return Err(type_error("-reduce-chunk", args, 2, "a vector")),
    };
    let from = count_arg("-reduce-chunk", args, 3)?;
    let to = count_arg("-reduce-chunk", args, 4)?.min(items.len());
    if !native.arity.accepts(2) {
        return Err(RuntimeError::new(
            "calf/arity-error",
            format!(
                "wrong number of arguments (2) passed to {}, which takes {}",
                native.name,
                native.arity.describe()
            ),
        )
        .with("given", Value::Int(2)));
    }
    let native = *native;
    if let NativeKind::Effect(_) = native.kind {
        return Err(type_error("-reduce-chunk", args, 0, "a pure native"));
    }
    // Names are unique: the native named `+` is the core one.
    let is_plus = native.name == "+";
    let mut acc = std::mem::replace(&mut args[1], Value::Nil);
    // The vector's leaves are walked in place: slicing a copy of the vector
    // would rebuild its tree for every chunk.
    // Charged up front: a reduction stopped early owes a little too much.
    crate::vm::work::charge_items(to.saturating_sub(from));
    let mut focus = items.focus();
    let mut at = from;
    while at < to {
        let (leaf, leaf_items) = focus.chunk_at(at);
        let end = leaf.end.min(to);
        for item in &leaf_items[at - leaf.start..end - leaf.start] {
            // `(reduce + ...)` over integers, the commonest reduction,
            // without building a call for each item.
            if is_plus {
                if let (Value::Int(a), Value::Int(b)) = (&acc, item) {
                    if let Some(sum) = a.checked_add(*b) {
                        acc = Value::int(sum);
                        continue;
                    }
                }
            }
            if is_reduced(&acc) {
                return Ok(acc);
            }
            let mut step = [acc, item.clone()];
            acc = match native.kind {
                NativeKind::Pure(f) => f(&step)?,
                // The accumulator is handed over: a collection built by the
                // reduction has one owner and grows in place.
                NativeKind::Consuming(f) => f(&mut step)?,
                NativeKind::Effect(_) => unreachable!("refused above"),
            };
        }
        at = end;
    }
    Ok(acc)
}

fn is_reduced(acc: &Value) -> bool {
    static REDUCED: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    match acc {
        Value::Map(m) => m.contains_key(REDUCED.get_or_init(|| Value::keyword("calf/reduced"))),
        _ => false,
    }
}

natives! {
    pure "-native?" "1" is_native,
        "True if f is a function written in Rust that -reduce-chunk can call (internal to reduce).";
    consuming "-reduce-chunk" "5" reduce_chunk,
        "Steps acc with the native f over items from..to of vector v, stopping at a reduced value (internal to reduce).";
}
