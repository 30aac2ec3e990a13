//! Lazy sequences: a function of no arguments, called at most once to
//! find the sequence's first step, which is kept.
//!
//! A `LazySeq` is a value like any other (immutable as far as anyone can
//! tell, `Send + Sync`): its step is written once, behind a `OnceLock`,
//! and two processes that share it see the same step. Natives never call
//! the thunk (DESIGN.md invariant 3): a native that needs a step it does
//! not have answers [`needs_realizing`], and the VM runs the thunk as Calf
//! code and calls the native again (`vm/realize.rs`). `cons` onto a lazy
//! seq makes one whose step is known from the start.

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

use triomphe::Arc;

use super::Value;
use crate::error::RuntimeError;

/// The kind of the error a native answers when it needs more of a lazy
/// seq than is realized: the VM realizes it and calls again, so no
/// program ever catches it.
pub const NEEDS_REALIZING: &str = "calf/needs-realizing";

/// How many items the VM realizes for one native that needs a lazy seq
/// whole (`count`, `vec`, printing, `=`...), at most: past it the seq is
/// taken to be endless and the call throws `:calf/too-large`. A realized
/// item costs about 150 bytes, so this bounds the memory of such a
/// mistake to about 1.5 GB, and a second or two of work.
pub const WHOLE_LIMIT: i64 = 10_000_000;

/// A sequence whose items are computed when first needed.
pub struct LazySeq {
    /// The function of no arguments that gives the first step (any
    /// seqable value or another lazy seq); `nil` once the step is known,
    /// so that what it captured can be freed.
    thunk: Mutex<Value>,
    step: OnceLock<Step>,
}

/// A realized lazy seq: empty, or a first item and the rest (a lazy seq,
/// a list or a vector).
pub enum Step {
    Empty,
    Cons(Value, Value),
}

impl LazySeq {
    /// A lazy seq realized by calling `thunk`.
    pub fn new(thunk: Value) -> LazySeq {
        LazySeq {
            thunk: Mutex::new(thunk),
            step: OnceLock::new(),
        }
    }

    /// A lazy seq realized already, as `(cons first rest)` makes.
    pub fn realized(step: Step) -> LazySeq {
        LazySeq {
            thunk: Mutex::new(Value::Nil),
            step: OnceLock::from(step),
        }
    }

    /// The step, when it is known.
    #[inline]
    pub fn step(&self) -> Option<&Step> {
        self.step.get()
    }

    /// The function to call to realize this seq (`nil` when realized).
    pub fn thunk(&self) -> Value {
        self.thunk.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes `thunk` the function that realizes this seq: a thunk that
    /// returned another unrealized lazy seq hands over that one's thunk,
    /// so nesting of any depth is realized by a loop.
    pub fn adopt(&self, thunk: Value) {
        *self.thunk.lock().unwrap_or_else(|e| e.into_inner()) = thunk;
    }

    /// Keeps `step` as this seq's step, unless another realization got
    /// there first (two processes sharing the seq): either way the step
    /// kept is the one everybody sees.
    pub fn deliver(&self, step: Step) -> &Step {
        let kept = self.step.get_or_init(|| step);
        *self.thunk.lock().unwrap_or_else(|e| e.into_inner()) = Value::Nil;
        kept
    }
}

impl Drop for LazySeq {
    /// A realized chain is as long as the seq: each cell is dropped here,
    /// one after the other, instead of each dropping the next (which
    /// would nest as deep as the chain is long).
    fn drop(&mut self) {
        let Some(Step::Cons(_, rest)) = self.step.take() else {
            return;
        };
        let mut next = rest;
        loop {
            let Value::Lazy(cell) = &next else { return };
            if !cell.is_unique() {
                return;
            }
            let super::Parts::Lazy(cell) = std::mem::replace(&mut next, Value::Nil).into_parts()
            else {
                return;
            };
            let Ok(mut cell) = Arc::try_unwrap(cell) else {
                return;
            };
            match cell.step.take() {
                Some(Step::Cons(_, rest)) => next = rest,
                _ => return,
            }
        }
    }
}

/// The error a native answers when it needs `seq` realized: its first
/// step only, or (`whole`) to its end.
pub fn needs_realizing(seq: &Arc<LazySeq>, whole: bool) -> RuntimeError {
    RuntimeError::new(NEEDS_REALIZING, String::new())
        .with("seq", Value::Lazy(seq.clone()))
        .with("whole", Value::Bool(whole))
}

/// The error a native answers when it needs the first `steps` cells of
/// `seq` realized (`nth`, `take`...).
pub fn needs_steps(seq: &Arc<LazySeq>, steps: usize) -> RuntimeError {
    RuntimeError::new(NEEDS_REALIZING, String::new())
        .with("seq", Value::Lazy(seq.clone()))
        .with("steps", Value::Int(steps.min(i64::MAX as usize) as i64))
}

/// The first cell of the chain from `value` whose step is not known yet,
/// walking realized cells (and owing the budget for them).
pub fn first_unrealized(value: &Value) -> Option<&Arc<LazySeq>> {
    let mut at = value;
    let mut walked = 0;
    let found = loop {
        let Value::Lazy(cell) = at else { break None };
        match cell.step() {
            None => break Some(cell),
            Some(Step::Empty) => break None,
            Some(Step::Cons(_, rest)) => {
                walked += 1;
                at = rest;
            }
        }
    };
    if walked > 1 {
        crate::vm::work::charge_items(walked / 2);
    }
    found
}

/// The items of a realized chain, then of the list or vector that ends it.
/// Stops at a cell that is not realized: callers check [`first_unrealized`]
/// first.
pub struct Items<'a> {
    at: Option<&'a Value>,
    tail: Option<imbl::vector::Iter<'a, Value, imbl::shared_ptr::DefaultSharedPtr>>,
}

impl<'a> Items<'a> {
    pub fn new(value: &'a Value) -> Items<'a> {
        Items {
            at: Some(value),
            tail: None,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = &'a Value;

    fn next(&mut self) -> Option<&'a Value> {
        if let Some(tail) = &mut self.tail {
            return tail.next();
        }
        match self.at.take()? {
            Value::Lazy(cell) => match cell.step()? {
                Step::Empty => None,
                Step::Cons(first, rest) => {
                    self.at = Some(rest);
                    Some(first)
                }
            },
            Value::List(v) | Value::Vector(v) => {
                let mut tail = v.iter();
                let item = tail.next();
                self.tail = Some(tail);
                item
            }
            _ => None,
        }
    }
}

thread_local! {
    /// The unrealized lazy seq that printing, comparing or hashing met
    /// last on this thread: those walks cannot fail, so they leave it
    /// here for the native that started them to ask for it.
    static MET: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// Notes that a walk met `seq` unrealized.
pub fn note_unrealized(seq: &Arc<LazySeq>) {
    MET.with(|met| {
        let mut met = met.borrow_mut();
        if met.is_none() {
            *met = Some(Value::Lazy(seq.clone()));
        }
    });
}

/// Forgets what walks met, before a walk whose result depends on it.
pub fn clear_unrealized() {
    MET.with(|met| met.borrow_mut().take());
}

/// The error asking for the lazy seq the last walks met unrealized, if
/// they met one.
pub fn unrealized_met() -> Option<RuntimeError> {
    let met = MET.with(|met| met.borrow_mut().take())?;
    let Value::Lazy(seq) = &met else { return None };
    Some(needs_realizing(seq, true))
}

/// What a request to realize becomes where the VM cannot call again (an
/// instruction that took its operands): a type error.
#[cold]
#[inline(never)]
pub fn not_here(error: RuntimeError) -> RuntimeError {
    if error.kind != NEEDS_REALIZING {
        return error;
    }
    RuntimeError::new(
        "calf/type-error",
        "a lazy seq that is not realized cannot be used here: realize it first, with doall or vec",
    )
}

/// A native's request to realize a lazy seq: which, and how far.
pub struct Request {
    pub seq: Value,
    /// How many cells from `seq` must be realized (when not `whole`).
    pub steps: i64,
    pub whole: bool,
}

/// Whether `error` is a native's request to realize a lazy seq.
#[inline]
pub fn realizing_request(error: &RuntimeError) -> Option<Request> {
    if error.kind != NEEDS_REALIZING {
        return None;
    }
    let field = |name: &str| error.data.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    Some(Request {
        seq: field("seq")?.clone(),
        steps: match field("steps") {
            Some(Value::Int(n)) => *n,
            _ => 1,
        },
        whole: field("whole").is_some_and(Value::is_truthy),
    })
}

/// The part of a seq after its first `n` items: a lazy cell, or a list
/// (empty when the seq is shorter). Asks for the cells it needs realized.
pub fn after(value: &Value, n: usize) -> Result<Value, RuntimeError> {
    let mut at = value;
    let mut k = 0;
    loop {
        match at {
            Value::Lazy(_) if k == n => return Ok(at.clone()),
            Value::Lazy(cell) => match cell.step() {
                None => return Err(needs_steps(cell, n - k)),
                Some(Step::Empty) => return Ok(Value::empty_list()),
                Some(Step::Cons(_, rest)) => {
                    at = rest;
                    k += 1;
                }
            },
            Value::List(v) | Value::Vector(v) => {
                return Ok(Value::List(Arc::new(v.skip((n - k).min(v.len())))))
            }
            _ => return Ok(Value::empty_list()),
        }
    }
}

/// `(seq x)` of what [`after`] gives: `nil` when empty, else a lazy cell
/// realized at least one step, or a non-empty list.
pub fn seq_of(value: Value) -> Result<Value, RuntimeError> {
    match &value {
        Value::Lazy(cell) => match cell.step() {
            None => Err(needs_steps(cell, 1)),
            Some(Step::Empty) => Ok(Value::Nil),
            Some(Step::Cons(..)) => Ok(value),
        },
        Value::List(v) | Value::Vector(v) if v.is_empty() => Ok(Value::Nil),
        Value::List(_) => Ok(value),
        Value::Vector(v) => Ok(Value::List(v.clone())),
        _ => Ok(Value::Nil),
    }
}

/// The first item of a lazy seq, asking for its first step.
pub fn first_of(cell: &Arc<LazySeq>) -> Result<Value, RuntimeError> {
    match cell.step() {
        None => Err(needs_steps(cell, 1)),
        Some(Step::Empty) => Ok(Value::Nil),
        Some(Step::Cons(first, _)) => Ok(first.clone()),
    }
}

/// Whether `value` holds, at any depth, a lazy seq not realized to its
/// end: what printing it would show as `...`.
pub fn holds_unrealized(value: &Value) -> bool {
    unrealized_within(value).is_some()
}

/// The first cell not realized of a lazy seq that `value` holds, at any
/// depth.
pub fn unrealized_within(value: &Value) -> Option<&Arc<LazySeq>> {
    use super::deep::deeper;
    match value {
        Value::List(v) | Value::Vector(v) => deeper(|| v.iter().find_map(unrealized_within)),
        Value::Map(m) => deeper(|| {
            m.iter()
                .find_map(|(k, v)| unrealized_within(k).or_else(|| unrealized_within(v)))
        }),
        Value::Set(s) => deeper(|| s.iter().find_map(unrealized_within)),
        Value::Sorted(s) => deeper(|| {
            s.iter()
                .find_map(|(k, v)| unrealized_within(k).or_else(|| unrealized_within(v)))
        }),
        Value::Lazy(_) => first_unrealized(value)
            .or_else(|| deeper(|| Items::new(value).find_map(unrealized_within))),
        _ => None,
    }
}

/// Asks for every lazy seq `key` holds realized to its end before the key
/// is hashed (looked up, inserted, `hash`): a lazy seq hashes as the list
/// of all its items, which it equals, and a native cannot realize it.
#[inline]
pub fn realized_key(key: &Value) -> Result<(), RuntimeError> {
    if key.owns_nothing() || matches!(key, Value::Str(_)) {
        return Ok(());
    }
    unrealized_key(key)
}

#[inline(never)]
fn unrealized_key(key: &Value) -> Result<(), RuntimeError> {
    match unrealized_within(key) {
        Some(cell) => Err(needs_realizing(cell, true)),
        None => Ok(()),
    }
}
