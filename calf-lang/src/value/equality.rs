//! Equality and hashing as Calf's `=` sees them.
//!
//! Lists and vectors with the same items are equal (sequential equality) and
//! hash alike; numbers of different kinds are never equal; functions are
//! equal only to themselves.

use std::hash::{Hash, Hasher};
use triomphe::Arc;

use super::deep::deeper;
use super::Value;
use crate::vm::work::charge_items;

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Nil, Nil) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Symbol(a), Symbol(b)) => a == b,
            (Keyword(a), Keyword(b)) => a == b,
            (List(a) | Vector(a), List(b) | Vector(b)) => Arc::ptr_eq(a, b) || items_eq(a, b),
            (Map(a), Map(b)) => Arc::ptr_eq(a, b) || maps_eq(a, b),
            (Set(a), Set(b)) => Arc::ptr_eq(a, b) || sets_eq(a, b),
            (Fn(a), Fn(b)) => Arc::ptr_eq(a, b),
            (Native(a), Native(b)) => std::ptr::eq(*a, *b),
            (Pid(a), Pid(b)) => a == b,
            (Ref(a), Ref(b)) => a == b,
            (Char(a), Char(b)) => a == b,
            (Regex(a), Regex(b)) => Arc::ptr_eq(a, b),
            (Var(a), Var(b)) => std::sync::Arc::ptr_eq(a, b),
            (Sorted(a), Sorted(b)) => {
                Arc::ptr_eq(a, b)
                    || (a.set == b.set && a.len() == b.len() && sorted_within(a, |k| b.get(k)))
            }
            (Sorted(a), Map(b)) | (Map(b), Sorted(a)) => {
                !a.set
                    && b.record_type().is_none()
                    && a.len() == b.len()
                    && sorted_within(a, |k| b.get(k))
            }
            (Sorted(a), Set(b)) | (Set(b), Sorted(a)) => {
                a.set && a.len() == b.len() && sorted_within(a, |k| b.contains(k).then_some(&NIL))
            }
            (Lazy(a), Lazy(b)) if Arc::ptr_eq(a, b) => true,
            (Lazy(_), List(_) | Vector(_) | Lazy(_)) | (List(_) | Vector(_), Lazy(_)) => {
                lazy_eq(self, other)
            }
            _ => false,
        }
    }
}

impl Eq for Value {}

/// Compares two lists or vectors item by item. Out of line: inlined, it
/// made `eq` save and restore registers on every call, for integers too
/// (the map's key comparisons).
/// Each steps into the items through `deeper`: values nest deeper than
/// the stack (see `deep.rs`).
/// Items compared are owed to the budget, as hashing's are.
#[inline(never)]
fn items_eq(a: &super::Vector, b: &super::Vector) -> bool {
    if a.len() == b.len() {
        charge_items(a.len());
    }
    deeper(|| a == b)
}

#[inline(never)]
fn maps_eq(a: &super::Map, b: &super::Map) -> bool {
    if a.len() == b.len() {
        charge_items(a.len());
    }
    deeper(|| a == b)
}

#[inline(never)]
fn sets_eq(a: &super::Set, b: &super::Set) -> bool {
    if a.len() == b.len() {
        charge_items(a.len());
    }
    deeper(|| a == b)
}

/// Compares a lazy seq with a list, a vector or another lazy seq item by
/// item. Unrealized, it is unequal for now: the walk notes the seq for the
/// native that compares (see `lazy.rs`), which asks the VM to realize it
/// and compares again.
#[inline(never)]
fn lazy_eq(a: &Value, b: &Value) -> bool {
    for v in [a, b] {
        if let Some(cell) = super::lazy::first_unrealized(v) {
            super::lazy::note_unrealized(cell);
            return false;
        }
    }
    deeper(|| {
        let mut x = super::lazy::Items::new(a);
        let mut y = super::lazy::Items::new(b);
        let mut compared = 0;
        let equal = loop {
            match (x.next(), y.next()) {
                (None, None) => break true,
                (Some(p), Some(q)) if p == q => compared += 1,
                _ => break false,
            }
        };
        charge_items(compared);
        equal
    })
}

static NIL: Value = Value::Nil;

/// Whether every entry of the sorted collection `a` is in the other
/// collection, which `get` looks up (a set's members map to `nil`).
#[inline(never)]
fn sorted_within<'a>(a: &super::Sorted, get: impl Fn(&Value) -> Option<&'a Value>) -> bool {
    charge_items(a.len());
    deeper(|| a.iter().all(|(k, v)| get(k) == Some(v)))
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        use Value::*;
        match self {
            Nil => state.write_u8(0),
            Bool(b) => {
                state.write_u8(1);
                b.hash(state)
            }
            // A lone write_i64, so that KeyHasher can keep integer keys near
            // their neighbours; an integer never equals another kind of value.
            Int(n) => state.write_i64(*n),
            Float(x) => {
                state.write_u8(3);
                // 0.0 and -0.0 are equal, so they must hash alike.
                let x = if *x == 0.0 { 0.0 } else { *x };
                x.to_bits().hash(state)
            }
            Str(s) => {
                state.write_u8(4);
                s.hash(state)
            }
            Symbol(s) => {
                state.write_u8(5);
                s.hash(state)
            }
            Keyword(s) => {
                state.write_u8(6);
                s.hash(state)
            }
            // Hashing a collection walks all of it: owed to the budget of
            // the process whose native hashes it (`vm/work.rs`).
            List(items) | Vector(items) => {
                state.write_u8(7);
                state.write_usize(items.len());
                charge_items(items.len());
                deeper(|| {
                    for item in items.iter() {
                        item.hash(state);
                    }
                })
            }
            Map(m) => {
                state.write_u8(8);
                charge_items(m.len());
                state.write_u64(deeper(|| {
                    unordered_hash(m.iter().map(|(k, v)| pair_hash(k, v)))
                }));
            }
            Set(s) => {
                state.write_u8(9);
                charge_items(s.len());
                state.write_u64(deeper(|| unordered_hash(s.iter().map(single_hash))));
            }
            Fn(f) => {
                state.write_u8(10);
                (Arc::as_ptr(f) as usize).hash(state)
            }
            Native(n) => {
                state.write_u8(11);
                (*n as *const _ as usize).hash(state)
            }
            Pid(p) => {
                state.write_u8(12);
                p.hash(state)
            }
            Ref(r) => {
                state.write_u8(13);
                r.hash(state)
            }
            Char(c) => {
                state.write_u8(14);
                state.write_u32(*c as u32)
            }
            Regex(r) => {
                state.write_u8(15);
                (Arc::as_ptr(r) as usize).hash(state)
            }
            // By name: equal vars are one var, which has one name.
            Var(v) => {
                state.write_u8(16);
                v.name.hash(state)
            }
            // As the hash map or set with the same entries, which it equals.
            Sorted(s) if s.set => {
                state.write_u8(9);
                charge_items(s.len());
                state.write_u64(deeper(|| {
                    unordered_hash(s.iter().map(|(k, _)| single_hash(k)))
                }));
            }
            Sorted(s) => {
                state.write_u8(8);
                charge_items(s.len());
                state.write_u64(deeper(|| {
                    unordered_hash(s.iter().map(|(k, v)| pair_hash(k, v)))
                }));
            }
            // As the list of its items, which it equals; the part not yet
            // realized is noted for the native hashing it (see `lazy_eq`).
            Lazy(_) => {
                if let Some(cell) = super::lazy::first_unrealized(self) {
                    super::lazy::note_unrealized(cell);
                }
                let n = super::lazy::Items::new(self).count();
                state.write_u8(7);
                state.write_usize(n);
                charge_items(n);
                deeper(|| {
                    for item in super::lazy::Items::new(self) {
                        item.hash(state);
                    }
                })
            }
        }
    }
}

fn single_hash(v: &Value) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

fn pair_hash(k: &Value, v: &Value) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    k.hash(&mut h);
    v.hash(&mut h);
    h.finish()
}

/// Maps and sets iterate in an order that depends on their history, so their
/// hash must not depend on order.
fn unordered_hash(items: impl Iterator<Item = u64>) -> u64 {
    items.fold(0u64, |acc, h| {
        acc.wrapping_add(h.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ h)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(v: &Value) -> u64 {
        single_hash(v)
    }

    #[test]
    fn sequential_equality_and_hash() {
        let l = Value::list([Value::Int(1), Value::Int(2)]);
        let v = Value::vector([Value::Int(1), Value::Int(2)]);
        assert_eq!(l, v);
        assert_eq!(hash_of(&l), hash_of(&v));
        assert_ne!(Value::Int(1), Value::Float(1.0));
        assert_eq!(Value::Float(0.0), Value::Float(-0.0));
        assert_eq!(hash_of(&Value::Float(0.0)), hash_of(&Value::Float(-0.0)));
    }

    #[test]
    fn maps_compare_by_value_whatever_their_history() {
        let a = Value::map([
            (Value::keyword("a"), Value::Int(1)),
            (Value::keyword("b"), Value::Int(2)),
        ]);
        let b = Value::map([
            (Value::keyword("b"), Value::Int(2)),
            (Value::keyword("a"), Value::Int(1)),
        ]);
        assert_eq!(a, b);
        assert_eq!(hash_of(&a), hash_of(&b));
    }
}
