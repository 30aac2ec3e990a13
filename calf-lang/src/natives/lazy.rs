//! Lazy seqs: making them, and the steps the VM takes to realize them
//! (`vm/realize.rs`): natives never call a thunk themselves.

use triomphe::Arc;

use super::helpers::{illegal, type_error};
use crate::error::RuntimeError;
use crate::value::lazy::{first_unrealized, WHOLE_LIMIT};
use crate::value::{LazySeq, Step, Value};

/// `(-make-lazy thunk)`: the lazy seq `(lazy-seq body)` makes.
fn make_lazy(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Fn(_) | Value::Native(_) => Ok(Value::Lazy(Arc::new(LazySeq::new(args[0].clone())))),
        _ => Err(type_error("-make-lazy", args, 0, "a function of no arguments")),
    }
}

/// `(-realize-next seq steps whole)`: the first cell whose step is not
/// known among the first `steps` from `seq`, and how many cells it is from
/// `seq`, as `[cell walked]`; `nil` when they are all known (or the seq
/// ends). When `whole` and `steps` are used up, the seq is taken to be
/// endless: an error says so.
fn realize_next(args: &[Value]) -> Result<Value, RuntimeError> {
    let steps = match &args[1] {
        Value::Int(n) => *n,
        _ => return Err(type_error("-realize-next", args, 1, "an integer")),
    };
    let whole = args[2].is_truthy();
    let mut at = &args[0];
    let mut walked: i64 = 0;
    let found = loop {
        let Value::Lazy(cell) = at else { break None };
        match cell.step() {
            Some(Step::Empty) => break None,
            Some(Step::Cons(_, rest)) => {
                walked += 1;
                at = rest;
            }
            None if walked < steps => break Some(cell),
            None if whole => {
                return Err(RuntimeError::new(
                    "calf/too-large",
                    format!(
                        "a lazy seq of more than {WHOLE_LIMIT} items was needed whole (by count, vec, \
                         printing, = ...): is it endless? Take a part of it first, with take"
                    ),
                )
                .with("limit", Value::Int(WHOLE_LIMIT)))
            }
            None => break None,
        }
        if !whole && walked >= steps {
            break None;
        }
    };
    crate::vm::work::charge_items(walked as usize / 2);
    Ok(match found {
        Some(cell) => Value::vector([Value::Lazy(cell.clone()), Value::Int(walked)]),
        None => Value::Nil,
    })
}

/// `(-lazy-thunk cell)`: the function that realizes `cell`; when another
/// process realized it meanwhile, `list`, whose `()` changes nothing.
fn lazy_thunk(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Lazy(cell) = &args[0] else {
        return Err(type_error("-lazy-thunk", args, 0, "a lazy seq"));
    };
    Ok(match cell.thunk() {
        Value::Nil => Value::Native(
            super::by_name("list").expect("the core list native"),
        ),
        thunk => thunk,
    })
}

/// `(-lazy-deliver cell result)`: keeps what the thunk of `cell` returned
/// as its step. Another lazy seq not realized yet hands over its thunk
/// (the next round calls it), so nesting of any depth is a loop.
fn lazy_deliver(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Lazy(cell) = &args[0] else {
        return Err(type_error("-lazy-deliver", args, 0, "a lazy seq"));
    };
    if cell.step().is_some() {
        return Ok(Value::Nil);
    }
    let step = match &args[1] {
        Value::Nil => Step::Empty,
        Value::Lazy(inner) => match inner.step() {
            None => {
                cell.adopt(inner.thunk());
                return Ok(Value::Nil);
            }
            Some(Step::Empty) => Step::Empty,
            Some(Step::Cons(first, rest)) => Step::Cons(first.clone(), rest.clone()),
        },
        Value::List(v) | Value::Vector(v) => match v.front() {
            None => Step::Empty,
            Some(first) => Step::Cons(first.clone(), Value::List(Arc::new(v.skip(1)))),
        },
        other => match super::helpers::try_items(other) {
            Some(items) => {
                let items: crate::value::Vector = items.collect();
                match items.front() {
                    None => Step::Empty,
                    Some(first) => Step::Cons(first.clone(), Value::List(Arc::new(items.skip(1)))),
                }
            }
            None => {
                return Err(illegal(
                    "lazy-seq",
                    format!(
                        "its body must give a seq, a collection or nil, got {} {}",
                        other.type_name(),
                        crate::value::print::pr_str(other).chars().take(60).collect::<String>()
                    ),
                ))
            }
        },
    };
    cell.deliver(step);
    Ok(Value::Nil)
}

/// `(realized? x)`: whether a lazy seq's first step is known; any other
/// value is realized.
fn realized(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Bool(match &args[0] {
        Value::Lazy(cell) => cell.step().is_some(),
        _ => true,
    }))
}

/// `(-fully-realized? x)`: whether nothing of a lazy seq is left to realize.
fn fully_realized(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Bool(first_unrealized(&args[0]).is_none()))
}

natives! {
    pure "-make-lazy" "1" make_lazy,
        "The lazy seq realized by calling thunk, a function of no arguments: what lazy-seq expands to.";
    pure "-realize-next" "3" realize_next,
        "(-realize-next seq steps whole): the next cell to realize and how far it is, or nil.";
    pure "-lazy-thunk" "1" lazy_thunk,
        "The function that realizes a lazy seq's cell.";
    pure "-lazy-deliver" "2" lazy_deliver,
        "Keeps what a lazy seq's thunk returned as its step.";
    pure "realized?" "1" realized,
        "True if x, a lazy seq, has its first item (or its end) computed; true for any other value: (realized? (iterate inc 0)) is false until the seq is used.";
    pure "-fully-realized?" "1" fully_realized,
        "True if nothing of the lazy seq x is left to compute.";
    predicate "-lazy?" "1" |v| matches!(v, Value::Lazy(_)),
        "True if x is a lazy seq.";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unrealized() -> Value {
        let thunk = Value::Native(super::super::by_name("list").expect("list"));
        Value::Lazy(Arc::new(LazySeq::new(thunk)))
    }

    #[test]
    fn the_next_cell_to_realize_is_found_within_the_steps_asked() {
        let tail = unrealized();
        let step = Step::Cons(Value::Int(1), tail.clone());
        let seq = Value::Lazy(Arc::new(LazySeq::realized(step)));
        let found = realize_next(&[seq.clone(), Value::Int(2), Value::Bool(false)]).unwrap();
        assert_eq!(found, Value::vector([tail, Value::Int(1)]));
        let none = realize_next(&[seq, Value::Int(1), Value::Bool(false)]).unwrap();
        assert_eq!(none, Value::Nil);
    }

    #[test]
    fn a_seq_needed_whole_past_the_limit_is_taken_to_be_endless() {
        let err = realize_next(&[unrealized(), Value::Int(0), Value::Bool(true)]).unwrap_err();
        assert_eq!(err.kind, "calf/too-large");
        assert!(err.message.contains("take"), "{}", err.message);
    }

    #[test]
    fn a_body_that_gives_no_seq_is_an_error_and_nested_ones_hand_over() {
        let cell = unrealized();
        let Value::Lazy(inner) = &cell else { unreachable!() };
        let err = lazy_deliver(&[cell.clone(), Value::Int(3)]).unwrap_err();
        assert!(err.message.contains("got int 3"), "{}", err.message);
        assert!(inner.step().is_none());
        lazy_deliver(&[cell.clone(), Value::vector([Value::Int(7)])]).unwrap();
        assert_eq!(cell, Value::list([Value::Int(7)]));
    }
}
