//! Values nested deeper than any Rust stack holds: every walk of a value
//! (equality, hashing, ordering, printing, dropping) works at any depth the
//! heap allows. The walks run on a thread with a small stack, so that a
//! walk that recurses on the Rust stack fails here at once.

use std::hash::{Hash, Hasher};

use calf_lang::natives::numbers::compare;
use calf_lang::value::print::pr_str;
use calf_lang::Value;

/// On a thread with a 128 KB stack: a few hundred frames of a recursive
/// walk overflow it.
fn on_a_small_stack(walk: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(walk)
        .expect("a thread")
        .join()
        .expect("the walk finished");
}

fn nested(depth: usize, wrap: impl Fn(Value) -> Value) -> Value {
    (0..depth).fold(Value::Nil, |inner, _| wrap(inner))
}

fn hash_of(value: &Value) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

const DEEP: usize = 300_000;

#[test]
fn vectors_and_lists_of_any_depth() {
    on_a_small_stack(|| {
        let a = nested(DEEP, |v| Value::vector([v]));
        let b = nested(DEEP, |v| Value::list([v]));
        assert!(a == b, "sequential equality, all the way down");
        assert_eq!(hash_of(&a), hash_of(&b));
        assert_eq!(compare(&a, &b).ok(), Some(std::cmp::Ordering::Equal));
        let printed = pr_str(&a);
        assert_eq!(printed.len(), 2 * DEEP + 3);
        assert!(printed.starts_with("[[[") && printed.contains("[nil]]"));
        drop((a, b));
    });
}

#[test]
fn maps_of_any_depth() {
    on_a_small_stack(|| {
        let a = nested(DEEP, |v| Value::map([(Value::keyword("a"), v)]));
        let b = nested(DEEP, |v| Value::map([(Value::keyword("a"), v)]));
        assert!(a == b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert!(pr_str(&a).contains("{:a {:a nil}}"));
        drop((a, b));
    });
}

#[test]
fn sets_of_any_depth() {
    // Building a set hashes its item, so a set of sets costs the square
    // of its depth to build: a smaller depth, still past any stack.
    const DEPTH: usize = 2_000;
    on_a_small_stack(|| {
        let a = nested(DEPTH, |v| Value::set([v]));
        let b = nested(DEPTH, |v| Value::set([v]));
        assert!(a == b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert!(pr_str(&a).contains("#{#{nil}}"));
        drop((a, b));
    });
}
