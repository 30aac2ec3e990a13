//! The one value model: immutable, `Send + Sync`, 16 bytes.
//!
//! Scalars are stored inline; every collection is a persistent structure
//! behind an `Arc` (lists and vectors: `imbl`'s RRB vector; maps and sets:
//! our hash trie in `trie.rs`), so cloning a value (sending a message,
//! reading a collection) is at most one reference-count increment.

pub mod deep;
mod equality;
mod function;
mod hashing;
pub mod lazy;
mod map;
pub mod print;
mod regex;
mod set;
pub mod sorted;
mod string;
mod symbol;
mod trie;

use triomphe::Arc;

pub use function::{Arity, Closure, ConsumingFn, FnProto, Native, NativeFn, NativeKind};
pub use lazy::{LazySeq, Step};
pub use regex::{Regex, SIZE_LIMIT as REGEX_SIZE_LIMIT};
pub use sorted::Sorted;
pub use string::{Str, StrBuf, Text};
pub use symbol::{next_gensym_id, Sym};

/// Deterministic hashing: the print order of maps and sets is the same on
/// every run.
pub type Hasher = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;
pub type Vector = imbl::Vector<Value>;
pub use hashing::{KeyHashBuilder, KeyHasher};
pub use map::{Iter as MapIter, PersistentMap as Map, RecordType};
pub use set::{Iter as SetIter, PersistentSet as Set};

/// A process identifier: which process a message goes to, and on which
/// node of a cluster it runs.
///
/// The 64 bits, high to low: one bit clear; a bit set for a durable
/// process, whose other 62 bits are drawn at random and stay the same
/// wherever it is restored; otherwise [`Pid::NODE_BITS`] bits of node
/// index (0: a runtime in no cluster) and [`Pid::NUMBER_BITS`] bits of
/// the node's own count. So an 8-byte pid from before clusters is node 0's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Pid(pub u64);

impl Pid {
    pub const NODE_BITS: u32 = 20;
    pub const NUMBER_BITS: u32 = 42;
    /// The bit of durable pids.
    pub const DURABLE: u64 = 1 << 62;
    /// The largest node index.
    pub const MAX_NODE: u32 = (1 << Pid::NODE_BITS) - 1;

    /// The `number`th pid of node `node`.
    pub fn on_node(node: u32, number: u64) -> Pid {
        debug_assert!(node <= Pid::MAX_NODE && number < 1 << Pid::NUMBER_BITS);
        Pid((u64::from(node) << Pid::NUMBER_BITS) | number)
    }

    /// Whether it is a durable process's (a pid from outside with the top
    /// bit set counts as one: it names no node).
    pub fn is_durable(self) -> bool {
        self.0 >= Pid::DURABLE
    }

    /// The node it was made on: `None` for a durable pid, which moves.
    pub fn node(self) -> Option<u32> {
        (!self.is_durable()).then_some((self.0 >> Pid::NUMBER_BITS) as u32 & Pid::MAX_NODE)
    }

    /// Its number on its node.
    pub fn number(self) -> u64 {
        self.0 & ((1 << Pid::NUMBER_BITS) - 1)
    }
}

impl std::fmt::Display for Pid {
    /// `#pid<12>` in no cluster (and for a durable pid), `#pid<3.12>` on
    /// node 3 of one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.node() {
            Some(node) if node != 0 => write!(f, "#pid<{node}.{}>", self.number()),
            _ => write!(f, "#pid<{}>", self.0),
        }
    }
}

impl std::str::FromStr for Pid {
    type Err = String;

    /// A pid as printed, or as people write it: `12`, `<12>`, `#pid<12>`,
    /// `3.12`, `#pid<3.12>`.
    fn from_str(text: &str) -> Result<Pid, String> {
        let trimmed = text.trim();
        let inner = trimmed.strip_prefix("#pid").unwrap_or(trimmed);
        let inner = inner
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(inner);
        let not_a_pid = || format!("{text} is not a pid: write 12, <12>, #pid<12> or #pid<3.12>");
        let number = |digits: &str| {
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u64>().ok())
                .flatten()
        };
        match inner.split_once('.') {
            None => number(inner).map(Pid).ok_or_else(not_a_pid),
            Some((node, n)) => {
                let node = number(node).filter(|n| *n <= u64::from(Pid::MAX_NODE));
                let n = number(n).filter(|n| *n < 1 << Pid::NUMBER_BITS);
                match (node, n) {
                    (Some(node), Some(n)) => Ok(Pid::on_node(node as u32, n)),
                    _ => Err(not_a_pid()),
                }
            }
        }
    }
}

/// Stores two 8-byte words as one 16-byte store where the machine has one.
///
/// # Safety
/// `slot` is valid for a 16-byte write, and the words are a valid `Value`.
#[inline(always)]
unsafe fn write_words(slot: *mut Value, low: u64, high: u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the caller vouches for `slot`.
    unsafe {
        use std::arch::x86_64::{_mm_set_epi64x, _mm_storeu_si128};
        _mm_storeu_si128(slot.cast(), _mm_set_epi64x(high as i64, low as i64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above.
    unsafe {
        slot.cast::<[u64; 2]>().write([low, high]);
    }
}

/// Copies the 16 bytes of a value with one load and one store.
///
/// # Safety
/// `from` is valid for a 16-byte read and `to` for a 16-byte write.
#[inline(always)]
unsafe fn copy_words(from: *const Value, to: *mut Value) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of x86-64; the caller vouches for both.
    unsafe {
        use std::arch::x86_64::{_mm_loadu_si128, _mm_storeu_si128};
        _mm_storeu_si128(to.cast(), _mm_loadu_si128(from.cast()));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above.
    unsafe {
        std::ptr::copy_nonoverlapping(from, to, 1)
    }
}

/// Every Calf value.
///
/// `repr(u8)` fixes the layout (a tag byte, then the payload, at offset 8
/// for 8-byte payloads) so that the VM can store a number or a boolean into
/// its stack slot in one store; see [`Value::write_int`].
#[repr(u8)]
pub enum Value {
    Nil = 0,
    Bool(bool) = 1,
    Int(i64) = 2,
    Float(f64),
    /// Text: inline up to 14 bytes, else one shared allocation.
    Str(Str),
    Symbol(Sym),
    Keyword(Sym),
    /// A list or any other sequence: prints as `(...)`.
    List(Arc<Vector>),
    Vector(Arc<Vector>),
    Map(Arc<Map>),
    Set(Arc<Set>),
    Fn(Arc<Closure>),
    Native(&'static Native) = 12,
    Pid(Pid),
    /// A unique reference, as made by `monitor` or `make-ref`.
    Ref(u64),
    /// A character (a Unicode scalar value): what a string is made of.
    Char(char),
    /// A compiled regular expression; equal only to itself, as in Clojure.
    Regex(Arc<Regex>),
    /// A sorted map or set, ordered by `compare`.
    Sorted(Arc<Sorted>),
    /// A lazy sequence: prints as `(...)`, equal to a list of its items.
    Lazy(Arc<LazySeq>),
    /// A var, as `(var name)` or `#'name` gives it: prints as `#'ns/name`,
    /// called or dereferenced it gives its value at that moment. Equal
    /// only to itself.
    Var(std::sync::Arc<crate::namespace::Var>),
}

impl Clone for Value {
    /// Values that own something share it (a reference-count increment);
    /// all others are copied bit for bit, with no per-variant code.
    #[inline(always)]
    fn clone(&self) -> Value {
        if self.owns_nothing() {
            // SAFETY: such a value holds only `Copy` data (numbers,
            // booleans, interned symbols, a `&'static` native, ids), so a
            // bitwise copy is a complete, independent value.
            return unsafe { std::ptr::read(self) };
        }
        match self {
            Value::Str(s) => {
                s.count_copy();
                // SAFETY: the count now includes this copy. Copied whole,
                // not rebuilt from its 15 bytes.
                unsafe { std::ptr::read(self) }
            }
            Value::List(items) => Value::List(items.clone()),
            Value::Vector(items) => Value::Vector(items.clone()),
            Value::Map(m) => Value::Map(m.clone()),
            Value::Set(s) => Value::Set(s.clone()),
            Value::Fn(f) => Value::Fn(f.clone()),
            Value::Regex(r) => Value::Regex(r.clone()),
            Value::Sorted(s) => Value::Sorted(s.clone()),
            Value::Lazy(s) => Value::Lazy(s.clone()),
            Value::Var(v) => Value::Var(v.clone()),
            _ => unreachable!("owns_nothing covers every other variant"),
        }
    }
}

/// Dropping the last reference to a collection drops its items, each of
/// which may hold the last reference to another: a recursion as deep as
/// the value. Each level goes through [`deep::deeper`], so that a value of
/// any depth can be dropped (one two million vectors deep aborted the
/// runtime on a 64 MB stack).
impl Drop for Value {
    #[inline]
    fn drop(&mut self) {
        let last_owner = match self {
            Value::List(items) | Value::Vector(items) => items.is_unique(),
            Value::Map(m) => m.is_unique(),
            Value::Set(s) => s.is_unique(),
            Value::Fn(f) => f.is_unique(),
            Value::Sorted(s) => s.is_unique(),
            // Its first item may be another lazy seq, as deep as it likes.
            Value::Lazy(s) => s.is_unique(),
            _ => false,
        };
        if last_owner {
            // SAFETY: the value is read out and `Nil` (which owns nothing)
            // written in its place without dropping, so what the value
            // owned is dropped once, below, and the drop glue that runs
            // after this finds nothing to drop.
            let owned = unsafe { std::ptr::replace(self, Value::Nil) };
            deep::deeper(move || drop(owned.into_parts()));
        }
    }
}

/// A value taken apart, what it owns moved out of it: `Value` has a
/// `Drop`, so a `match` cannot move a field out of it.
pub enum Parts {
    List(Arc<Vector>),
    Vector(Arc<Vector>),
    Map(Arc<Map>),
    Set(Arc<Set>),
    Fn(Arc<Closure>),
    Sorted(Arc<Sorted>),
    Lazy(Arc<LazySeq>),
    /// Any other value, as it was.
    Other(Value),
}

impl Parts {
    /// The value again.
    pub fn into_value(self) -> Value {
        match self {
            Parts::List(items) => Value::List(items),
            Parts::Vector(items) => Value::Vector(items),
            Parts::Map(m) => Value::Map(m),
            Parts::Set(s) => Value::Set(s),
            Parts::Fn(f) => Value::Fn(f),
            Parts::Sorted(s) => Value::Sorted(s),
            Parts::Lazy(s) => Value::Lazy(s),
            Parts::Other(value) => value,
        }
    }
}

impl Value {
    /// This value with `meta` as its metadata (`None`: none); `None` for a
    /// kind that carries no metadata (only maps and sets do).
    pub fn with_meta(&self, meta: Option<Value>) -> Option<Value> {
        match self {
            Value::Map(m) => {
                let mut m = (**m).clone();
                m.set_meta(meta);
                Some(Value::from(m))
            }
            Value::Set(s) => {
                let mut s = (**s).clone();
                s.set_meta(meta);
                Some(Value::from(s))
            }
            _ => None,
        }
    }

    /// Moves out what a collection or closure owns.
    pub fn into_parts(self) -> Parts {
        if !matches!(
            self,
            Value::List(_)
                | Value::Vector(_)
                | Value::Map(_)
                | Value::Set(_)
                | Value::Fn(_)
                | Value::Sorted(_)
                | Value::Lazy(_)
        ) {
            return Parts::Other(self);
        }
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: each arm reads the one field out of `this`, which is
        // then never used or dropped again.
        unsafe {
            match &*this {
                Value::List(items) => Parts::List(std::ptr::read(items)),
                Value::Vector(items) => Parts::Vector(std::ptr::read(items)),
                Value::Map(m) => Parts::Map(std::ptr::read(m)),
                Value::Set(s) => Parts::Set(std::ptr::read(s)),
                Value::Fn(f) => Parts::Fn(std::ptr::read(f)),
                Value::Sorted(s) => Parts::Sorted(std::ptr::read(s)),
                Value::Lazy(s) => Parts::Lazy(std::ptr::read(s)),
                _ => unreachable!("the values that own a collection or closure"),
            }
        }
    }

    /// Writes `Value::Int(n)` into `slot` with one 16-byte store.
    ///
    /// Built the ordinary way, a value is stored as a tag byte and an
    /// 8-byte payload; a later 16-byte copy of it (every clone, every push
    /// of a temporary) cannot be forwarded from those two narrow stores and
    /// stalls the processor for a dozen cycles, on the VM's hottest paths.
    /// One wide store forwards to wide and narrow loads alike.
    ///
    /// # Safety
    /// `slot` is valid for writes and holds nothing that needs dropping.
    #[inline(always)]
    pub unsafe fn write_int(slot: *mut Value, n: i64) {
        // SAFETY: `repr(u8)` puts `Int`'s tag (2) in byte 0 and the i64 at
        // offset 8; the caller vouches for `slot`.
        unsafe { write_words(slot, 2, n as u64) }
    }

    /// `Value::Int(n)`, built with one 16-byte store: a native's answer
    /// built field by field stalls the first 16-byte copy of it (see
    /// [`Value::write_int`]).
    #[inline(always)]
    pub fn int(n: i64) -> Value {
        let mut v = std::mem::MaybeUninit::<Value>::uninit();
        // SAFETY: the slot is valid and empty, and `write_int` makes it a
        // whole value.
        unsafe {
            Value::write_int(v.as_mut_ptr(), n);
            v.assume_init()
        }
    }

    /// Writes `Value::Native(native)` into `slot`, as [`Value::write_int`]
    /// does.
    ///
    /// # Safety
    /// As for [`Value::write_int`].
    #[inline(always)]
    pub unsafe fn write_native(slot: *mut Value, native: &'static Native) {
        // SAFETY: `Native`'s tag (12) is byte 0 and the reference is at
        // offset 8.
        unsafe { write_words(slot, 12, std::ptr::from_ref(native) as u64) }
    }

    /// Writes `Value::Nil` into `slot`, as [`Value::write_int`] does.
    ///
    /// # Safety
    /// As for [`Value::write_int`].
    #[inline(always)]
    pub unsafe fn write_nil(slot: *mut Value) {
        // SAFETY: `Nil`'s tag is 0, and it has no payload.
        unsafe { write_words(slot, 0, 0) }
    }

    /// Clones the value straight into `slot`, with one 16-byte load and
    /// store: built in a temporary first, a value is copied piecewise, and
    /// the next 16-byte load of the slot stalls (see [`Value::write_int`]).
    /// A value that owns something is one more owner of its `Arc`: the
    /// count is raised, and the bits are the same.
    ///
    /// # Safety
    /// `slot` is valid for writes and holds nothing that needs dropping.
    #[inline(always)]
    pub unsafe fn clone_to(&self, slot: *mut Value) {
        match self {
            Value::Str(s) => std::mem::forget(s.clone()),
            Value::List(items) | Value::Vector(items) => std::mem::forget(Arc::clone(items)),
            Value::Map(m) => std::mem::forget(Arc::clone(m)),
            Value::Set(s) => std::mem::forget(Arc::clone(s)),
            Value::Fn(f) => std::mem::forget(Arc::clone(f)),
            Value::Regex(r) => std::mem::forget(Arc::clone(r)),
            Value::Sorted(s) => std::mem::forget(Arc::clone(s)),
            Value::Lazy(s) => std::mem::forget(Arc::clone(s)),
            Value::Var(v) => std::mem::forget(std::sync::Arc::clone(v)),
            _ => {}
        }
        // SAFETY: the caller vouches for `slot`; the bits are a value whose
        // share (if any) was just taken.
        unsafe { copy_words(self, slot) }
    }

    /// Moves the value in `from` to `to` with one 16-byte load and store;
    /// `from` is left holding bits that must not be dropped.
    ///
    /// # Safety
    /// `from` holds a value, `to` is valid for writes and holds nothing
    /// that needs dropping.
    #[inline(always)]
    pub unsafe fn move_to(from: *const Value, to: *mut Value) {
        // SAFETY: as said above.
        unsafe { copy_words(from, to) }
    }

    /// Drops the value in `slot` where it lies. Read out first, an owning
    /// value is copied piecewise to a temporary for its drop code, which
    /// stalls on the store that wrote it (see [`Value::write_int`]).
    ///
    /// # Safety
    /// `slot` holds a value, dropped here: the slot holds nothing after.
    #[inline(always)]
    pub unsafe fn drop_at(slot: *mut Value) {
        // SAFETY: as said above.
        unsafe {
            if !(*slot).owns_nothing() {
                std::ptr::drop_in_place(slot)
            }
        }
    }

    /// Writes `Value::Vector(items)` (`Value::List` when `list`) into
    /// `slot` with one store, as [`Value::write_int`] does.
    ///
    /// # Safety
    /// As for [`Value::write_int`].
    #[inline(always)]
    pub unsafe fn write_seq(slot: *mut Value, items: Arc<Vector>, list: bool) {
        // `repr(u8)`: `List`'s tag is 7, `Vector`'s 8, and the `Arc` (one
        // pointer) is at offset 8; the value takes over the `Arc`.
        // SAFETY: an `Arc` of a sized type is one pointer.
        let bits: u64 = unsafe { std::mem::transmute::<Arc<Vector>, u64>(items) };
        // SAFETY: the caller vouches for `slot`.
        unsafe { write_words(slot, if list { 7 } else { 8 }, bits) }
    }

    /// Writes `Value::Bool(b)` into `slot`, as [`Value::write_int`] does.
    ///
    /// # Safety
    /// As for [`Value::write_int`].
    #[inline(always)]
    pub unsafe fn write_bool(slot: *mut Value, b: bool) {
        // SAFETY: `Bool`'s tag (1) is byte 0 and the bool is byte 1.
        unsafe { write_words(slot, 1 | ((b as u64) << 8), 0) }
    }

    /// Drops the value, calling the drop code only for values that own
    /// something: most values a VM throws away are numbers and booleans.
    #[inline(always)]
    pub fn drop_fast(self) {
        if self.owns_nothing() {
            std::mem::forget(self)
        } else {
            drop(self)
        }
    }

    /// True for the values that hold no reference to shared data. No `_`
    /// arm: a new variant must be placed on one side or the other, which
    /// `clone` and `drop_fast` rely on.
    #[inline(always)]
    pub fn owns_nothing(&self) -> bool {
        match self {
            Value::Nil
            | Value::Bool(_)
            | Value::Int(_)
            | Value::Float(_)
            | Value::Symbol(_)
            | Value::Keyword(_)
            | Value::Native(_)
            | Value::Pid(_)
            | Value::Ref(_)
            | Value::Char(_) => true,
            Value::Str(_)
            | Value::List(_)
            | Value::Vector(_)
            | Value::Map(_)
            | Value::Set(_)
            | Value::Fn(_)
            | Value::Regex(_)
            | Value::Sorted(_)
            | Value::Lazy(_)
            | Value::Var(_) => false,
        }
    }

    pub fn str(s: impl Into<Str>) -> Value {
        Value::Str(s.into())
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
            Value::Char(_) => "char",
            Value::Regex(_) => "regex",
            Value::Sorted(s) if s.set => "set",
            Value::Sorted(_) => "map",
            Value::Lazy(_) => "lazy-seq",
            Value::Var(_) => "var",
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

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Map(Arc::new(m))
    }
}

impl From<Set> for Value {
    fn from(s: Set) -> Value {
        Value::Set(Arc::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_sixteen_bytes_and_shareable() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 16);
    }

    #[test]
    fn numbers_and_booleans_written_field_by_field_are_whole_values() {
        let mut slot = std::mem::MaybeUninit::<Value>::uninit();
        for n in [0, -1, i64::MAX, i64::MIN, 42] {
            // SAFETY: the slot is valid and holds nothing to drop.
            unsafe { Value::write_int(slot.as_mut_ptr(), n) };
            // SAFETY: `write_int` wrote a whole value; an integer owns
            // nothing, so reading it again next round leaves no owner behind.
            let v = unsafe { slot.assume_init_read() };
            assert!(matches!(v, Value::Int(m) if m == n));
        }
        for b in [true, false] {
            // SAFETY: as above.
            unsafe { Value::write_bool(slot.as_mut_ptr(), b) };
            // SAFETY: as for the integers.
            let v = unsafe { slot.assume_init_read() };
            assert!(matches!(v, Value::Bool(c) if c == b));
        }
        fn shareable<T: Send + Sync>() {}
        shareable::<Value>();
    }

    #[test]
    fn nil_natives_and_clones_written_whole_are_values() {
        let mut slot = std::mem::MaybeUninit::<Value>::uninit();
        // SAFETY: the slot is valid and holds nothing to drop.
        unsafe { Value::write_nil(slot.as_mut_ptr()) };
        // SAFETY: `write_nil` wrote a whole value, which owns nothing.
        assert!(matches!(unsafe { slot.assume_init_read() }, Value::Nil));
        let native = crate::natives::core_natives().next().expect("a native");
        // SAFETY: as above.
        unsafe { Value::write_native(slot.as_mut_ptr(), native) };
        // SAFETY: a whole value was written; a native is `'static` and owns
        // nothing.
        let v = unsafe { slot.assume_init_read() };
        assert!(matches!(v, Value::Native(n) if std::ptr::eq(n, native)));
        let items: Vector = [Value::Int(1), Value::keyword("k")].into_iter().collect();
        for list in [false, true] {
            // SAFETY: as above.
            unsafe { Value::write_seq(slot.as_mut_ptr(), Arc::new(items.clone()), list) };
            // SAFETY: a whole value was written, and this read is its only
            // owner (the slot is written anew before it is read again).
            let v = unsafe { slot.assume_init_read() };
            assert_eq!(v.type_name(), if list { "list" } else { "vector" });
            assert_eq!(v.as_seq(), Some(&items));
        }
        for v in [
            Value::Int(7),
            Value::str("shared"),
            Value::str("shared, and on the heap"),
            Value::keyword("k"),
        ] {
            // SAFETY: as above; the clone is read back and dropped once.
            unsafe { v.clone_to(slot.as_mut_ptr()) };
            // SAFETY: `clone_to` wrote a whole value; this read owns it.
            assert_eq!(unsafe { slot.assume_init_read() }, v);
        }
    }

    #[test]
    fn strings_are_counted_once_per_value_whichever_way_they_are_copied() {
        let long = Value::str("a string on the heap, shared");
        let count = |v: &Value| match v {
            Value::Str(s) => s.share_count(),
            _ => unreachable!(),
        };
        assert!(!long.owns_nothing());
        let copies = [long.clone(), long.clone()];
        assert_eq!(count(&long), Some(3));
        let mut slot = std::mem::MaybeUninit::<Value>::uninit();
        // SAFETY: the slot is valid and holds nothing to drop.
        unsafe { long.clone_to(slot.as_mut_ptr()) };
        assert_eq!(count(&long), Some(4));
        // SAFETY: `clone_to` wrote a whole value; it is read, and dropped,
        // once.
        unsafe { slot.assume_init_read() }.drop_fast();
        for copy in copies {
            copy.drop_fast();
        }
        assert_eq!(count(&long), Some(1));
        let short = Value::str("inline");
        assert_eq!(count(&short), None);
        assert_eq!(short.clone(), Value::str("inline"));
    }

    #[test]
    fn a_clone_written_whole_is_one_more_owner_and_drop_at_gives_it_up() {
        let v = Value::str("shared, and long enough for the heap");
        let count = |v: &Value| match v {
            Value::Str(s) => s.share_count(),
            _ => unreachable!(),
        };
        let mut slot = std::mem::MaybeUninit::<Value>::uninit();
        // SAFETY: the slot is valid and holds nothing to drop.
        unsafe { v.clone_to(slot.as_mut_ptr()) };
        assert_eq!(count(&v), Some(2));
        let mut moved = std::mem::MaybeUninit::<Value>::uninit();
        // SAFETY: the clone moves to the other slot, and is dropped there
        // once.
        unsafe {
            Value::move_to(slot.as_ptr(), moved.as_mut_ptr());
            Value::drop_at(moved.as_mut_ptr());
        }
        assert_eq!(count(&v), Some(1));
    }
}
