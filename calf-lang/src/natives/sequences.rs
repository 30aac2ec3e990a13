//! Sequences: building, reading and reshaping lists and vectors (and any
//! collection as a sequence of its items), with Clojure's treatment of
//! `nil` as an empty collection.
//!
//! Sequence functions are eager and return lists (which compare equal to
//! vectors with the same items). Lists and vectors share an `imbl` vector
//! inside, so taking the rest, a prefix or a slice of one shares structure
//! instead of copying.

use super::helpers::take_arg;
use std::cmp::Ordering;
use triomphe::Arc;

use super::helpers::{
    count_arg, count_of, illegal, int_arg, items, list_of, out_of_bounds, seq_vector,
    type_error, vector_of, Items, MAX_ELEMENTS,
};
use super::numbers::compare;
use crate::error::RuntimeError;
use crate::value::{lazy, Hasher, Map, Parts, Set, Value, Vector};
use crate::vm::work;

const MAP_ENTRY: &str = "a [key value] vector, a map or nil";

/// A collection being built by `conj` and `into`, taken from the argument
/// slot: when the argument held the only reference, it grows in place.
enum Builder {
    List(Arc<Vector>),
    Vector(Arc<Vector>),
    Map(Arc<Map>),
    Set(Arc<Set>),
    Sorted(Arc<crate::value::Sorted>),
}

impl Builder {
    /// The builder for argument `i`; `nil` starts a list.
    fn take(fname: &str, args: &mut [Value], i: usize) -> Result<Builder, RuntimeError> {
        Ok(match take_arg(&mut args[i]).into_parts() {
            Parts::Other(Value::Nil) => Builder::List(Arc::new(Vector::new())),
            Parts::List(v) => Builder::List(v),
            Parts::Vector(v) => Builder::Vector(v),
            Parts::Map(m) => Builder::Map(m),
            Parts::Set(s) => Builder::Set(s),
            Parts::Sorted(s) => Builder::Sorted(s),
            other => {
                args[i] = other.into_value();
                return Err(type_error(fname, args, i, "a collection or nil"));
            }
        })
    }

    /// Adds `x` as `conj` does; `pos` is the 1-based argument it came from.
    fn conj(&mut self, fname: &str, pos: usize, x: Value) -> Result<(), RuntimeError> {
        match self {
            Builder::List(v) => Arc::make_mut(v).push_front(x),
            Builder::Vector(v) => Arc::make_mut(v).push_back(x),
            Builder::Set(s) => {
                Arc::make_mut(s).insert(x);
            }
            Builder::Map(m) => match &x {
                Value::Vector(kv) if kv.len() == 2 => {
                    Arc::make_mut(m).insert(kv[0].clone(), kv[1].clone());
                }
                Value::Map(other) => {
                    let m = Arc::make_mut(m);
                    for (k, v) in other.iter() {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Value::Nil => {}
                _ => return Err(RuntimeError::wrong_type(fname, pos, MAP_ENTRY, &x)),
            },
            Builder::Sorted(s) => super::sorted::conj1(fname, pos, Arc::make_mut(s), x)?,
        }
        Ok(())
    }

    fn into_value(self) -> Value {
        match self {
            Builder::List(v) => Value::List(v),
            Builder::Vector(v) => Value::Vector(v),
            Builder::Map(m) => Value::Map(m),
            Builder::Set(s) => Value::Set(s),
            Builder::Sorted(s) => Value::Sorted(s),
        }
    }
}

/// `(conj coll)`, `(into coll)`: the collection itself, `nil` included.
fn only_collection(fname: &str, args: &mut [Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Nil
        | Value::List(_)
        | Value::Vector(_)
        | Value::Map(_)
        | Value::Set(_)
        | Value::Sorted(_) => {
            Ok(take_arg(&mut args[0]))
        }
        _ => Err(type_error(fname, args, 0, "a collection or nil")),
    }
}

fn list(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(list_of(args.iter().cloned().collect()))
}

fn vector(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(vector_of(args.iter().cloned().collect()))
}

fn conj(args: &mut [Value]) -> Result<Value, RuntimeError> {
    match args.len() {
        0 => return Ok(vector_of(Vector::new())),
        1 => return only_collection("conj", args),
        _ => {}
    }
    // The loop's common case, one item onto a vector, without the builder.
    if let [Value::Vector(v), x] = args {
        Arc::make_mut(v).push_back(take_arg(x));
        return Ok(take_arg(&mut args[0]));
    }
    if let Value::Lazy(_) = &args[0] {
        return Ok(conj_onto_lazy(args));
    }
    if hashes_items(&args[0]) {
        super::maps::keys_realized(&args[1..])?;
    }
    let mut coll = Builder::take("conj", args, 0)?;
    for (i, x) in args.iter_mut().enumerate().skip(1) {
        coll.conj("conj", i + 1, take_arg(x))?;
    }
    Ok(coll.into_value())
}

/// Whether `conj` onto `coll` hashes what it adds: a lazy seq in it must
/// be realized first (see `lazy::realized_key`).
fn hashes_items(coll: &Value) -> bool {
    matches!(coll, Value::Set(_) | Value::Map(_))
}

/// `conj` onto a lazy seq, as `cons`: the items in front, the rest not
/// realized. Out of `conj`, whose common case stays small enough to
/// inline what it calls.
#[cold]
#[inline(never)]
fn conj_onto_lazy(args: &mut [Value]) -> Value {
    let mut seq = take_arg(&mut args[0]);
    for x in args[1..].iter_mut() {
        let step = crate::value::Step::Cons(take_arg(x), seq);
        seq = Value::Lazy(Arc::new(crate::value::LazySeq::realized(step)));
    }
    seq
}

fn into(args: &mut [Value]) -> Result<Value, RuntimeError> {
    match args.len() {
        0 => return Ok(vector_of(Vector::new())),
        1 => return only_collection("into", args),
        _ => {}
    }
    // Asked before the collection is taken from its slot: the VM calls
    // again with the same arguments once the seq is realized.
    if let Some(cell) = lazy::first_unrealized(&args[1]) {
        return Err(lazy::needs_realizing(cell, true));
    }
    if hashes_items(&args[0]) {
        if let Some(cell) = lazy::unrealized_within(&args[1]) {
            return Err(lazy::needs_realizing(cell, true));
        }
    }
    // Into a lazy seq, as conj: each item in front.
    if let Value::Lazy(_) = &args[0] {
        let from: Vector = items("into", args, 1)?.collect();
        let mut seq = take_arg(&mut args[0]);
        for x in from {
            let step = crate::value::Step::Cons(x, seq);
            seq = Value::Lazy(Arc::new(crate::value::LazySeq::realized(step)));
        }
        return Ok(seq);
    }
    let mut coll = Builder::take("into", args, 0)?;
    match (&mut coll, &args[1]) {
        (Builder::Vector(to), Value::List(from) | Value::Vector(from)) => {
            append_items(Arc::make_mut(to), from);
        }
        (Builder::Map(to), Value::Map(from)) => {
            let to = Arc::make_mut(to);
            for (k, v) in from.iter() {
                to.insert(k.clone(), v.clone());
            }
        }
        (Builder::Set(to), Value::Set(from)) => {
            Arc::make_mut(to).extend(from.iter().cloned());
        }
        (coll, _) => {
            for x in items("into", args, 1)? {
                coll.conj("into", 2, x)?;
            }
        }
    }
    Ok(coll.into_value())
}

fn cons(args: &[Value]) -> Result<Value, RuntimeError> {
    // Onto a lazy seq, a cell realized from the start: the rest stays lazy.
    if let Value::Lazy(_) = &args[1] {
        let step = crate::value::Step::Cons(args[0].clone(), args[1].clone());
        return Ok(Value::Lazy(Arc::new(crate::value::LazySeq::realized(step))));
    }
    let mut out = seq_vector("cons", args, 1)?;
    out.push_front(args[0].clone());
    Ok(list_of(out))
}

fn list_star(args: &[Value]) -> Result<Value, RuntimeError> {
    let last = args.len() - 1;
    // Onto a lazy seq, cells realized from the start: the rest stays lazy.
    if let Value::Lazy(_) = &args[last] {
        let mut seq = args[last].clone();
        for x in args[..last].iter().rev() {
            let step = crate::value::Step::Cons(x.clone(), seq);
            seq = Value::Lazy(Arc::new(crate::value::LazySeq::realized(step)));
        }
        return Ok(seq);
    }
    let mut out = seq_vector("list*", args, last)?;
    for x in args[..last].iter().rev() {
        out.push_front(x.clone());
    }
    Ok(list_of(out))
}

fn count(args: &[Value]) -> Result<Value, RuntimeError> {
    match count_of(&args[0]) {
        Some(n) => Ok(Value::Int(n as i64)),
        None => Err(type_error("count", args, 0, super::helpers::SEQABLE)),
    }
}

fn first(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::List(v) | Value::Vector(v) => v.front().cloned().unwrap_or(Value::Nil),
        Value::Lazy(cell) => lazy::first_of(cell)?,
        _ => items("first", args, 0)?.next().unwrap_or(Value::Nil),
    })
}

fn second(args: &[Value]) -> Result<Value, RuntimeError> {
    if let Value::Lazy(_) = &args[0] {
        return match &lazy::seq_of(lazy::after(&args[0], 1)?)? {
            Value::Lazy(cell) => lazy::first_of(cell),
            Value::List(v) => Ok(v.front().cloned().unwrap_or(Value::Nil)),
            _ => Ok(Value::Nil),
        };
    }
    Ok(items("second", args, 0)?.nth(1).unwrap_or(Value::Nil))
}

fn last(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::List(v) | Value::Vector(v) => v.back().cloned().unwrap_or(Value::Nil),
        _ => items("last", args, 0)?.last().unwrap_or(Value::Nil),
    })
}

/// The items of argument `i` after the first `n`.
fn drop_n(fname: &str, args: &[Value], i: usize, n: usize) -> Result<Vector, RuntimeError> {
    Ok(match &args[i] {
        Value::List(v) | Value::Vector(v) => v.skip(n.min(v.len())),
        _ => items(fname, args, i)?.skip(n).collect(),
    })
}

/// The first `n` items of argument `i`.
fn take_n(fname: &str, args: &[Value], i: usize, n: usize) -> Result<Vector, RuntimeError> {
    Ok(match &args[i] {
        Value::List(v) | Value::Vector(v) => v.take(n.min(v.len())),
        _ => items(fname, args, i)?.take(n).collect(),
    })
}

fn non_empty_list(items: Vector) -> Value {
    if items.is_empty() {
        Value::Nil
    } else {
        list_of(items)
    }
}

fn rest(args: &[Value]) -> Result<Value, RuntimeError> {
    if let Value::Lazy(_) = &args[0] {
        return lazy::after(&args[0], 1);
    }
    Ok(list_of(drop_n("rest", args, 0, 1)?))
}

fn next(args: &[Value]) -> Result<Value, RuntimeError> {
    if let Value::Lazy(_) = &args[0] {
        return lazy::seq_of(lazy::after(&args[0], 1)?);
    }
    Ok(non_empty_list(drop_n("next", args, 0, 1)?))
}

/// The first item of `coll`, for the composed accessors (`ffirst`, ...).
fn first_in(fname: &str, coll: Value) -> Result<Value, RuntimeError> {
    let args = [coll];
    Ok(match &args[0] {
        Value::List(v) | Value::Vector(v) => v.front().cloned().unwrap_or(Value::Nil),
        Value::Lazy(cell) => lazy::first_of(cell)?,
        _ => items(fname, &args, 0)?.next().unwrap_or(Value::Nil),
    })
}

/// The items of `coll` after the first, or nil, for the composed accessors.
fn next_in(fname: &str, coll: Value) -> Result<Value, RuntimeError> {
    if let Value::Lazy(_) = &coll {
        return lazy::seq_of(lazy::after(&coll, 1)?);
    }
    Ok(non_empty_list(drop_n(fname, &[coll], 0, 1)?))
}

fn ffirst(args: &[Value]) -> Result<Value, RuntimeError> {
    first_in("ffirst", first_in("ffirst", args[0].clone())?)
}

fn fnext(args: &[Value]) -> Result<Value, RuntimeError> {
    first_in("fnext", next_in("fnext", args[0].clone())?)
}

fn nfirst(args: &[Value]) -> Result<Value, RuntimeError> {
    next_in("nfirst", first_in("nfirst", args[0].clone())?)
}

fn nnext(args: &[Value]) -> Result<Value, RuntimeError> {
    next_in("nnext", next_in("nnext", args[0].clone())?)
}

fn nthnext(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = count_arg("nthnext", args, 1)?;
    if let Value::Lazy(_) = &args[0] {
        return lazy::seq_of(lazy::after(&args[0], n)?);
    }
    Ok(non_empty_list(drop_n("nthnext", args, 0, n)?))
}

fn nthrest(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = count_arg("nthrest", args, 1)?;
    if matches!(args[0], Value::Nil) {
        return Ok(Value::Nil);
    }
    if let Value::Lazy(_) = &args[0] {
        return lazy::after(&args[0], n);
    }
    if n == 0 {
        items("nthrest", args, 0)?;
        return Ok(args[0].clone());
    }
    Ok(list_of(drop_n("nthrest", args, 0, n)?))
}

fn nth(args: &[Value]) -> Result<Value, RuntimeError> {
    let index = int_arg("nth", args, 1)?;
    let found = match &args[0] {
        Value::Nil => return Ok(args.get(2).cloned().unwrap_or(Value::Nil)),
        Value::List(v) | Value::Vector(v) => {
            usize::try_from(index).ok().and_then(|i| v.get(i)).cloned()
        }
        Value::Str(s) => usize::try_from(index)
            .ok()
            .and_then(|i| s.chars().nth(i))
            .map(Value::Char),
        Value::Lazy(_) => match usize::try_from(index) {
            Ok(i) => match &lazy::seq_of(lazy::after(&args[0], i)?)? {
                Value::Lazy(cell) => Some(lazy::first_of(cell)?),
                Value::List(v) => v.front().cloned(),
                _ => None,
            },
            Err(_) => None,
        },
        _ => {
            return Err(type_error(
                "nth",
                args,
                0,
                "a list, a vector, a string or nil",
            ))
        }
    };
    match (found, args.get(2)) {
        (Some(v), _) => Ok(v),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(out_of_bounds("nth", index, count_of(&args[0]).unwrap_or(0))),
    }
}

fn seq(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::Lazy(_) => lazy::seq_of(args[0].clone())?,
        Value::List(v) if !v.is_empty() => args[0].clone(),
        Value::Vector(v) => non_empty_list((**v).clone()),
        _ => non_empty_list(items("seq", args, 0)?.collect()),
    })
}

fn is_empty_value(fname: &str, args: &[Value], i: usize) -> Result<bool, RuntimeError> {
    Ok(match &args[i] {
        Value::Str(s) => s.is_empty(),
        Value::Lazy(_) => lazy::seq_of(args[i].clone())?.is_truthy().then_some(()).is_none(),
        v => match count_of(v) {
            Some(n) => n == 0,
            None => return Err(type_error(fname, args, i, super::helpers::SEQABLE)),
        },
    })
}

fn empty_q(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Bool(is_empty_value("empty?", args, 0)?))
}

fn not_empty(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(if is_empty_value("not-empty", args, 0)? {
        Value::Nil
    } else {
        args[0].clone()
    })
}

fn empty(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::List(_) => Value::empty_list(),
        Value::Vector(_) => vector_of(Vector::new()),
        Value::Map(_) => Value::Map(Arc::new(Map::default())),
        Value::Set(_) => Value::Set(Arc::new(Set::default())),
        Value::Sorted(s) => Value::Sorted(Arc::new(crate::value::Sorted::new(s.set, s.descending))),
        _ => Value::Nil,
    })
}

/// Items appended at most one by one: past it, `append` joins the trees.
const SMALL_APPEND: usize = 64;

/// Adds the items of `from` at the end of `to`. imbl's `append` joins two
/// trees, and a tree joined with many small ones grows unbalanced: an
/// `into` of a pair per item, which is what `mapcat` does, took time
/// growing with the square of the items (20,000 pairs, 0.2 s). A few items
/// are pushed one by one instead, which keeps the tree dense.
fn append_items(to: &mut Vector, from: &Vector) {
    if from.len() <= SMALL_APPEND {
        to.extend(from.iter().cloned());
    } else {
        to.append(from.clone());
    }
}

fn concat(args: &[Value]) -> Result<Value, RuntimeError> {
    if let Some(Value::Lazy(_)) = args.last() {
        return concat_onto_lazy(args);
    }
    let mut out = Vector::new();
    for (i, coll) in args.iter().enumerate() {
        match coll {
            Value::List(v) | Value::Vector(v) => append_items(&mut out, v),
            _ => out.extend(items("concat", args, i)?),
        }
    }
    Ok(list_of(out))
}

/// `concat` whose last collection is a lazy seq: the items of the others,
/// each a cell realized from the start, then that seq, not realized (so
/// `(lazy-cat [0 1] (map + fib (rest fib)))` can refer to itself). A lazy
/// seq before the last is realized whole first.
fn concat_onto_lazy(args: &[Value]) -> Result<Value, RuntimeError> {
    let last = args.len() - 1;
    let mut prefix = Vector::new();
    for i in 0..last {
        match &args[i] {
            Value::List(v) | Value::Vector(v) => append_items(&mut prefix, v),
            _ => prefix.extend(items("concat", args, i)?),
        }
    }
    let mut seq = args[last].clone();
    for x in prefix.into_iter().rev() {
        let step = crate::value::Step::Cons(x, seq);
        seq = Value::Lazy(Arc::new(crate::value::LazySeq::realized(step)));
    }
    Ok(seq)
}

#[cold]
fn too_many(fname: &str, count: impl std::fmt::Display) -> RuntimeError {
    illegal(
        fname,
        format!("would make {count} items, more than the limit of {MAX_ELEMENTS}"),
    )
}

fn range(args: &[Value]) -> Result<Value, RuntimeError> {
    let (start, end, step) = match args.len() {
        0 => {
            return Err(illegal(
                "range",
                "an endless range cannot be built: sequences are eager, give an end",
            ))
        }
        1 => (Value::Int(0), &args[0], Value::Int(1)),
        2 => (args[0].clone(), &args[1], Value::Int(1)),
        _ => (args[0].clone(), &args[1], args[2].clone()),
    };
    let number = |v: &Value, pos: usize| -> Result<f64, RuntimeError> {
        match v {
            Value::Int(n) => Ok(*n as f64),
            Value::Float(x) => Ok(*x),
            _ => Err(RuntimeError::wrong_type("range", pos, "a number", v)),
        }
    };
    let pos = |i: usize| if args.len() == 1 { 1 } else { i };
    let (s, e, st) = (
        number(&start, pos(1))?,
        number(end, pos(2))?,
        number(&step, 3)?,
    );
    if let (Value::Int(s), Value::Int(e), Value::Int(st)) = (&start, end, &step) {
        let (s, e, st) = (*s as i128, *e as i128, *st as i128);
        if st == 0 {
            if s == e {
                return Ok(Value::empty_list());
            }
            return Err(illegal("range", "a step of 0 would never reach the end"));
        }
        let n = if (st > 0 && e > s) || (st < 0 && e < s) {
            ((e - s).abs() + st.abs() - 1) / st.abs()
        } else {
            0
        };
        if n > MAX_ELEMENTS as i128 {
            return Err(too_many("range", n));
        }
        let out: Vector = (0..n).map(|k| Value::Int((s + k * st) as i64)).collect();
        work::charge_items(out.len());
        return Ok(list_of(out));
    }
    // With floats, add the step again and again, as Clojure does.
    if st == 0.0 || st.is_nan() {
        if s == e {
            return Ok(Value::empty_list());
        }
        return Err(illegal("range", "a step of 0 would never reach the end"));
    }
    let estimate = ((e - s) / st).ceil();
    if estimate.is_nan() || estimate > MAX_ELEMENTS as f64 {
        return Err(too_many("range", estimate));
    }
    let mut out = Vector::new();
    let mut x = start;
    let mut xf = s;
    while (st > 0.0 && xf < e) || (st < 0.0 && xf > e) {
        out.push_back(x.clone());
        x = super::numbers::add(&x, &step)?;
        xf = number(&x, 1)?;
    }
    work::charge_items(out.len());
    Ok(list_of(out))
}

fn take(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = count_arg("take", args, 0)?;
    Ok(list_of(take_n("take", args, 1, n)?))
}

fn drop(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = count_arg("drop", args, 0)?;
    if let Value::Lazy(_) = &args[1] {
        return lazy::after(&args[1], n);
    }
    Ok(list_of(drop_n("drop", args, 1, n)?))
}

fn take_last(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = count_arg("take-last", args, 0)?;
    let all = seq_vector("take-last", args, 1)?;
    let len = all.len();
    Ok(non_empty_list(all.skip(len.saturating_sub(n))))
}

fn drop_last(args: &[Value]) -> Result<Value, RuntimeError> {
    let (n, coll) = if args.len() == 1 {
        (1, 0)
    } else {
        (count_arg("drop-last", args, 0)?, 1)
    };
    let all = seq_vector("drop-last", args, coll)?;
    let len = all.len();
    Ok(list_of(all.take(len.saturating_sub(n))))
}

fn butlast(args: &[Value]) -> Result<Value, RuntimeError> {
    let all = seq_vector("butlast", args, 0)?;
    let len = all.len();
    Ok(non_empty_list(all.take(len.saturating_sub(1))))
}

fn split_at(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = count_arg("split-at", args, 0)?;
    let all = seq_vector("split-at", args, 1)?;
    let n = n.min(all.len());
    let (front, back) = all.split_at(n);
    Ok(vector_of(
        [list_of(front), list_of(back)].into_iter().collect(),
    ))
}

fn positive(fname: &str, args: &[Value], i: usize) -> Result<usize, RuntimeError> {
    match int_arg(fname, args, i)? {
        n if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(type_error(fname, args, i, "a positive integer")),
    }
}

fn take_nth(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = positive("take-nth", args, 0)?;
    Ok(list_of(items("take-nth", args, 1)?.step_by(n).collect()))
}

fn reverse(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(list_of(match &args[0] {
        Value::List(v) | Value::Vector(v) => v.iter().rev().cloned().collect(),
        _ => {
            let mut all: Vec<Value> = items("reverse", args, 0)?.collect();
            all.reverse();
            all.into_iter().collect()
        }
    }))
}

/// Sorts `values` stably by [`compare`], failing on the first pair that
/// cannot be compared.
pub fn sort_values(values: &mut [Value]) -> Result<(), RuntimeError> {
    let mut error = None;
    values.sort_by(|a, b| {
        if error.is_some() {
            return Ordering::Equal;
        }
        compare(a, b).unwrap_or_else(|e| {
            error = Some(e);
            Ordering::Equal
        })
    });
    match error {
        Some(mut e) => {
            e.message = e.message.replacen("compare:", "sort:", 1);
            Err(e)
        }
        None => Ok(()),
    }
}

fn sort(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut all: Vec<Value> = items("sort", args, 0)?.collect();
    // About n log n comparisons.
    let n = all.len();
    work::charge_items(n * (usize::BITS - n.leading_zeros()) as usize);
    sort_values(&mut all)?;
    Ok(list_of(all.into_iter().collect()))
}

type HashSet = std::collections::HashSet<Value, Hasher>;

// Values hash by content, and functions (the only holders of interior
// mutability) by identity, so a value's hash never changes.
#[allow(clippy::mutable_key_type)]
fn distinct(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut seen = HashSet::default();
    let mut out = Vector::new();
    for x in items("distinct", args, 0)? {
        if seen.insert(x.clone()) {
            out.push_back(x);
        }
    }
    Ok(list_of(out))
}

fn dedupe(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut out = Vector::new();
    for x in items("dedupe", args, 0)? {
        if out.back() != Some(&x) {
            out.push_back(x);
        }
    }
    Ok(list_of(out))
}

fn flatten(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut out = Vector::new();
    let mut stack: Vec<(Arc<Vector>, usize)> = Vec::new();
    if let Value::List(v) | Value::Vector(v) = &args[0] {
        stack.push((v.clone(), 0));
    }
    while let Some((items, i)) = stack.last_mut() {
        let Some(x) = items.get(*i) else {
            stack.pop();
            continue;
        };
        *i += 1;
        match x {
            Value::List(inner) | Value::Vector(inner) => {
                let inner = inner.clone();
                stack.push((inner, 0));
            }
            _ => out.push_back(x.clone()),
        }
    }
    Ok(list_of(out))
}

fn partition_impl(fname: &str, args: &[Value], keep_tail: bool) -> Result<Value, RuntimeError> {
    let n = positive(fname, args, 0)?;
    let step = if args.len() >= 3 {
        positive(fname, args, 1)?
    } else {
        n
    };
    let coll = args.len() - 1;
    let pad = if args.len() == 4 {
        Some(seq_vector(fname, args, 2)?)
    } else {
        None
    };
    let all = seq_vector(fname, args, coll)?;
    let mut out = Vector::new();
    let mut start = 0;
    while start < all.len() {
        let end = start.saturating_add(n);
        if end <= all.len() {
            out.push_back(list_of(all.skip(start).take(n)));
        } else {
            let mut part = all.skip(start);
            if let Some(pad) = &pad {
                let missing = n - part.len();
                part.append(pad.take(missing.min(pad.len())));
            } else if !keep_tail {
                break;
            }
            out.push_back(list_of(part));
            break;
        }
        start = start.saturating_add(step);
    }
    Ok(list_of(out))
}

fn partition(args: &[Value]) -> Result<Value, RuntimeError> {
    partition_impl("partition", args, false)
}

fn partition_all(args: &[Value]) -> Result<Value, RuntimeError> {
    partition_impl("partition-all", args, true)
}

fn repeat(args: &[Value]) -> Result<Value, RuntimeError> {
    if args.len() == 1 {
        return Err(illegal(
            "repeat",
            "an endless repetition cannot be built: sequences are eager, give a count",
        ));
    }
    let n = count_arg("repeat", args, 0)?;
    if n as u64 > MAX_ELEMENTS {
        return Err(too_many("repeat", n));
    }
    work::charge_items(n);
    Ok(list_of(std::iter::repeat_n(args[1].clone(), n).collect()))
}

fn interleave(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut iters: Vec<Items<'_>> = Vec::with_capacity(args.len());
    for i in 0..args.len() {
        iters.push(items("interleave", args, i)?);
    }
    let mut out = Vector::new();
    if iters.is_empty() {
        return Ok(list_of(out));
    }
    let mut round = Vec::with_capacity(iters.len());
    'outer: loop {
        round.clear();
        for it in iters.iter_mut() {
            match it.next() {
                Some(x) => round.push(x),
                None => break 'outer,
            }
        }
        out.extend(round.drain(..));
    }
    Ok(list_of(out))
}

fn interpose(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut out = Vector::new();
    for (i, x) in items("interpose", args, 1)?.enumerate() {
        if i > 0 {
            out.push_back(args[0].clone());
        }
        out.push_back(x);
    }
    Ok(list_of(out))
}

fn vec(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::Vector(_) => args[0].clone(),
        _ => vector_of(seq_vector("vec", args, 0)?),
    })
}

fn subvec(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Vector(v) = &args[0] else {
        return Err(type_error("subvec", args, 0, "a vector"));
    };
    let len = v.len();
    let start = int_arg("subvec", args, 1)?;
    let end = match args.get(2) {
        Some(_) => int_arg("subvec", args, 2)?,
        None => len as i64,
    };
    if start < 0 || start as usize > len {
        return Err(out_of_bounds("subvec", start, len));
    }
    if end < start || end as usize > len {
        return Err(out_of_bounds("subvec", end, len));
    }
    Ok(vector_of(
        v.skip(start as usize).take((end - start) as usize),
    ))
}

fn peek(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Nil => Ok(Value::Nil),
        Value::Vector(v) => Ok(v.back().cloned().unwrap_or(Value::Nil)),
        Value::List(v) => Ok(v.front().cloned().unwrap_or(Value::Nil)),
        _ => Err(type_error("peek", args, 0, "a list, a vector or nil")),
    }
}

fn pop(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Nil => Ok(Value::Nil),
        Value::Vector(v) | Value::List(v) if v.is_empty() => Err(illegal(
            "pop",
            format!("cannot pop an empty {}", args[0].type_name()),
        )),
        Value::Vector(v) => Ok(vector_of(v.take(v.len() - 1))),
        Value::List(v) => Ok(list_of(v.skip(1))),
        _ => Err(type_error("pop", args, 0, "a list, a vector or nil")),
    }
}

natives! {
    pure "list" "0.." list,
        "Returns a list of the arguments.";
    pure "vector" "0.." vector,
        "Returns a vector of the arguments.";
    consuming "conj" "0.." conj,
        "Adds items to a collection where it adds them best: lists at the front, vectors at the end, maps take [key value] vectors or maps, nil gives a list.";
    pure "cons" "2" cons,
        "Returns a list of the item followed by the items of the collection.";
    pure "list*" "1.." list_star,
        "Returns a list of the leading arguments followed by the items of the last one.";
    pure "count" "1" count,
        "Returns the number of items in a collection or characters in a string; nil has 0.";
    pure "first" "1" first,
        "Returns the first item, or nil if there is none.";
    pure "second" "1" second,
        "Returns the second item, or nil if there is none.";
    pure "last" "1" last,
        "Returns the last item, or nil if there is none.";
    pure "rest" "1" rest,
        "Returns a list of the items after the first, possibly empty.";
    pure "next" "1" next,
        "Returns a list of the items after the first, or nil if there are none.";
    pure "ffirst" "1" ffirst,
        "Returns the first item of the first item, as (first (first coll)).";
    pure "fnext" "1" fnext,
        "Returns the second item, as (first (next coll)).";
    pure "nfirst" "1" nfirst,
        "Returns the items after the first of the first item, or nil, as (next (first coll)).";
    pure "nnext" "1" nnext,
        "Returns a list of the items after the second, or nil if there are none, as (next (next coll)).";
    pure "nth" "2..=3" nth,
        "Returns the item at an index of a list, vector or string, or the default; without one, an index out of range is an error.";
    pure "nthnext" "2" nthnext,
        "Returns a list of the items after the first n, or nil if there are none.";
    pure "nthrest" "2" nthrest,
        "Returns a list of the items after the first n.";
    pure "seq" "1" seq,
        "Returns a list of the items (map entries as [key value] vectors, characters as strings), or nil if there are none.";
    pure "empty?" "1" empty_q,
        "True if the collection or string has no items; nil is empty.";
    pure "not-empty" "1" not_empty,
        "Returns the collection, or nil if it is empty.";
    pure "empty" "1" empty,
        "Returns an empty collection of the same kind, or nil.";
    pure "concat" "0.." concat,
        "Returns a list of the items of every collection in turn.";
    consuming "into" "0..=2" into,
        "Adds every item of the second collection to the first, as conj does.";
    pure "range" "0..=3" range,
        "Returns a list of numbers from start (0) up to but not including end, by step (1).";
    pure "take" "2" take,
        "Returns a list of the first n items.";
    pure "drop" "2" drop,
        "Returns a list of the items after the first n.";
    pure "take-last" "2" take_last,
        "Returns a list of the last n items, or nil if there are none.";
    pure "drop-last" "1..=2" drop_last,
        "Returns a list of all but the last n (1) items.";
    pure "butlast" "1" butlast,
        "Returns a list of all but the last item, or nil if there are none.";
    pure "split-at" "2" split_at,
        "Returns a vector of a list of the first n items and a list of the rest.";
    pure "take-nth" "2" take_nth,
        "Returns a list of every nth item, starting with the first.";
    pure "reverse" "1" reverse,
        "Returns a list of the items in reverse order.";
    pure "sort" "1" sort,
        "Returns a list of the items in the natural order of compare; the sort is stable.";
    pure "distinct" "1" distinct,
        "Returns a list of the items without repeats, keeping the first of each.";
    pure "dedupe" "1" dedupe,
        "Returns a list of the items without consecutive repeats: of a run of equal items, the first.";
    pure "flatten" "1" flatten,
        "Returns a list of the non-sequential items inside nested lists and vectors.";
    pure "partition" "2..=4" partition,
        "Returns a list of lists of n items, each step (n) apart, padded from pad if given, dropping an incomplete last one.";
    pure "partition-all" "2..=3" partition_all,
        "Returns a list of lists of n items, each step (n) apart, keeping an incomplete last one.";
    pure "repeat" "1..=2" repeat,
        "Returns a list of n copies of the value.";
    pure "interleave" "0.." interleave,
        "Returns a list of the first item of each collection, then the second of each, and so on until one runs out.";
    pure "interpose" "2" interpose,
        "Returns a list of the items with the separator between each two.";
    pure "vec" "1" vec,
        "Returns a vector of the items.";
    pure "subvec" "2..=3" subvec,
        "Returns the part of the vector from start up to but not including end (the count).";
    pure "peek" "1" peek,
        "Returns the last item of a vector or the first of a list, or nil.";
    pure "pop" "1" pop,
        "Returns the vector without its last item or the list without its first.";
}
