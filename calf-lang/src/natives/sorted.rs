//! Sorted maps and sets (`value/sorted.rs`): making them, and what only
//! they do (`rseq`, `subseq`, `rsubseq`). `assoc`, `conj`, `get` and the
//! other collection natives take them as they take hash maps and sets.
//!
//! They are ordered by `compare`, or against it: `sorted-map-by` and
//! `sorted-set-by` take `compare`, `<` (the same order, for numbers) or
//! `>` (the reverse). Any other comparator is Calf code, which the tree,
//! comparing in Rust, cannot call; `sort-by` sorts by one.

use triomphe::Arc;

use super::helpers::{illegal, list_of, type_error, vector_of, ILLEGAL_ARGUMENT};
use crate::error::RuntimeError;
use crate::value::sorted::{take_incomparable, SortKey};
use crate::value::{Sorted, Value, Vector};
use crate::vm::work::charge_items;

#[cold]
fn incomparable(fname: &str, k: &Value) -> RuntimeError {
    RuntimeError::new(
        "calf/type-error",
        format!(
            "{fname}: the key {} cannot be compared with the keys already there; a sorted collection's keys must be mutually comparable (numbers, or strings, or keywords, ...)",
            crate::value::print::pr_str(k)
        ),
    )
    .with("function", Value::str(fname))
}

/// Inserts `k` (with `v`) into `sorted`, refusing a key `compare` cannot
/// order against those there.
pub(super) fn insert(fname: &str, sorted: &mut Sorted, k: Value, v: Value) -> Result<(), RuntimeError> {
    take_incomparable();
    let shown = k.clone();
    sorted.tree.insert(SortKey(k), v);
    charge_items(1);
    if take_incomparable() {
        return Err(incomparable(fname, &shown));
    }
    Ok(())
}

pub(super) fn remove(sorted: &mut Sorted, k: &Value) {
    sorted.tree.remove(&SortKey(k.clone()));
    take_incomparable();
}

/// The order a comparator argument asks for: descending or not.
fn order_of(fname: &str, args: &[Value]) -> Result<bool, RuntimeError> {
    match &args[0] {
        Value::Native(n) if matches!(n.name, "compare" | "<") => Ok(false),
        Value::Native(n) if n.name == ">" => Ok(true),
        Value::Fn(f) if f.proto.name.is_some_and(|n| n.name() == "compare") => Ok(false),
        _ => Err(RuntimeError::new(
            ILLEGAL_ARGUMENT,
            format!(
                "{fname}: the comparator must be compare, < or > (a sorted collection orders its keys in Rust, which cannot call a function written in Calf); to order by anything else, sort with sort-by"
            ),
        )
        .with("function", Value::str(fname))),
    }
}

fn build(fname: &str, set: bool, descending: bool, kvs: &[Value]) -> Result<Value, RuntimeError> {
    let mut sorted = Sorted::new(set, descending);
    if set {
        for k in kvs {
            insert(fname, &mut sorted, k.clone(), Value::Nil)?;
        }
    } else {
        if !kvs.len().is_multiple_of(2) {
            return Err(illegal(fname, "expects a value for every key"));
        }
        for kv in kvs.chunks_exact(2) {
            insert(fname, &mut sorted, kv[0].clone(), kv[1].clone())?;
        }
    }
    Ok(Value::Sorted(Arc::new(sorted)))
}

fn sorted_map(args: &[Value]) -> Result<Value, RuntimeError> {
    build("sorted-map", false, false, args)
}

fn sorted_set(args: &[Value]) -> Result<Value, RuntimeError> {
    build("sorted-set", true, false, args)
}

fn sorted_map_by(args: &[Value]) -> Result<Value, RuntimeError> {
    let descending = order_of("sorted-map-by", args)?;
    build("sorted-map-by", false, descending, &args[1..])
}

fn sorted_set_by(args: &[Value]) -> Result<Value, RuntimeError> {
    let descending = order_of("sorted-set-by", args)?;
    build("sorted-set-by", true, descending, &args[1..])
}

/// An item as `seq` gives it: a key of a set, an entry of a map.
fn item(sorted: &Sorted, k: &Value, v: &Value) -> Value {
    if sorted.set {
        k.clone()
    } else {
        vector_of([k.clone(), v.clone()].into_iter().collect())
    }
}

fn rseq(args: &[Value]) -> Result<Value, RuntimeError> {
    let out: Vector = match &args[0] {
        Value::Vector(v) => v.iter().rev().cloned().collect(),
        Value::Sorted(s) => {
            let entries: Vec<_> = s.iter().collect();
            entries.into_iter().rev().map(|(k, v)| item(s, k, v)).collect()
        }
        _ => return Err(type_error("rseq", args, 0, "a vector or a sorted map or set")),
    };
    charge_items(out.len());
    Ok(if out.is_empty() { Value::Nil } else { list_of(out) })
}

/// The test of `subseq`: which comparison of an item's key with the
/// bound keeps it.
fn test_of(fname: &str, args: &[Value], i: usize) -> Result<fn(std::cmp::Ordering) -> bool, RuntimeError> {
    use std::cmp::Ordering::*;
    if let Value::Native(n) = &args[i] {
        match n.name {
            "<" => return Ok(|o| o == Less),
            "<=" => return Ok(|o| o != Greater),
            ">" => return Ok(|o| o == Greater),
            ">=" => return Ok(|o| o != Less),
            _ => {}
        }
    }
    Err(type_error(fname, args, i, "one of < <= > >="))
}

/// `(subseq sc test key)` or `(subseq sc start-test start-key end-test
/// end-key)`: the items whose keys pass the tests, in the collection's
/// order (`reverse` for `rsubseq`).
fn sub(fname: &str, args: &[Value], reverse: bool) -> Result<Value, RuntimeError> {
    let Value::Sorted(s) = &args[0] else {
        return Err(type_error(fname, args, 0, "a sorted map or set"));
    };
    if args.len() != 3 && args.len() != 5 {
        return Err(illegal(fname, "takes a sorted collection and one or two pairs of a test and a key"));
    }
    let mut tests = Vec::new();
    for i in (1..args.len()).step_by(2) {
        tests.push((test_of(fname, args, i)?, &args[i + 1]));
    }
    let mut out = Vector::new();
    for (k, v) in s.iter() {
        let mut keep = true;
        for (test, bound) in &tests {
            let order = crate::natives::numbers::compare(k, bound)?;
            keep &= test(order);
        }
        if keep {
            out.push_back(item(s, k, v));
        }
    }
    charge_items(s.len());
    if reverse {
        out = out.into_iter().rev().collect();
    }
    Ok(if out.is_empty() { Value::Nil } else { list_of(out) })
}

fn subseq(args: &[Value]) -> Result<Value, RuntimeError> {
    sub("subseq", args, false)
}

fn rsubseq(args: &[Value]) -> Result<Value, RuntimeError> {
    sub("rsubseq", args, true)
}

/// `conj` of one item: a key onto a set, an entry (or a map's entries)
/// onto a map.
pub(super) fn conj1(fname: &str, pos: usize, sorted: &mut Sorted, x: Value) -> Result<(), RuntimeError> {
    if sorted.set {
        return insert(fname, sorted, x, Value::Nil);
    }
    match &x {
        Value::Vector(kv) if kv.len() == 2 => insert(fname, sorted, kv[0].clone(), kv[1].clone()),
        Value::Map(m) => {
            for (k, v) in m.iter() {
                insert(fname, sorted, k.clone(), v.clone())?;
            }
            Ok(())
        }
        Value::Sorted(other) if !other.set => {
            for (k, v) in other.iter() {
                insert(fname, sorted, k.clone(), v.clone())?;
            }
            Ok(())
        }
        Value::Nil => Ok(()),
        _ => Err(RuntimeError::wrong_type(fname, pos, "a [key value] vector, a map or nil", &x)),
    }
}

natives! {
    pure "sorted-map" "0.." sorted_map,
        "Returns a map of the keys and values, kept sorted by compare.";
    pure "sorted-set" "0.." sorted_set,
        "Returns a set of the items, kept sorted by compare.";
    pure "sorted-map-by" "1.." sorted_map_by,
        "Returns a map of the keys and values, kept sorted by the comparator: compare, < or >.";
    pure "sorted-set-by" "1.." sorted_set_by,
        "Returns a set of the items, kept sorted by the comparator: compare, < or >.";
    pure "rseq" "1" rseq,
        "Returns the items of a vector or a sorted map or set in reverse order, or nil if it is empty.";
    pure "subseq" "3..=5" subseq,
        "Returns the items of a sorted collection whose keys pass the tests (< <= > >= against a key), in order, or nil.";
    pure "rsubseq" "3..=5" rsubseq,
        "Returns the items of a sorted collection whose keys pass the tests (< <= > >= against a key), in reverse order, or nil.";
}
