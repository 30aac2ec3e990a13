//! Sorted maps and sets: `imbl`'s B-tree map, ordered by `compare`.
//!
//! The order is `compare`'s (or its reverse), never a comparator written
//! in Calf: the tree compares keys inside Rust, and a Rust frame must not
//! call Calf. Keys that `compare` cannot order (`:a` and `1`) are found
//! out as they are inserted: the comparison notes it (see
//! [`take_incomparable`]) and the native that inserted them refuses the
//! result, as Clojure throws.

use std::cell::Cell;
use std::cmp::Ordering;

use super::Value;

/// A key of a sorted collection: ordered by `compare`.
#[derive(Clone)]
pub struct SortKey(pub Value);

thread_local! {
    static INCOMPARABLE: Cell<bool> = const { Cell::new(false) };
}

/// Whether two keys that `compare` cannot order were compared since the
/// last call, which clears it.
pub fn take_incomparable() -> bool {
    INCOMPARABLE.with(|seen| seen.replace(false))
}

/// Orders the kinds, only so that the tree stays a tree while a native
/// finds out that its keys cannot be ordered.
fn rank(v: &Value) -> u8 {
    // SAFETY: `Value` is `repr(u8)`: its first byte is the tag.
    unsafe { *std::ptr::from_ref(v).cast::<u8>() }
}

impl Ord for SortKey {
    fn cmp(&self, other: &SortKey) -> Ordering {
        match crate::natives::numbers::compare(&self.0, &other.0) {
            Ok(order) => order,
            Err(_) => {
                INCOMPARABLE.with(|seen| seen.set(true));
                rank(&self.0).cmp(&rank(&other.0))
            }
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &SortKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &SortKey) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

pub type Tree = imbl::OrdMap<SortKey, Value>;

/// A sorted map, or a sorted set (whose keys map to `nil`).
#[derive(Clone)]
pub struct Sorted {
    pub tree: Tree,
    pub set: bool,
    /// Ordered against `compare`, as `(sorted-map-by >)` is.
    pub descending: bool,
}

impl Sorted {
    pub fn new(set: bool, descending: bool) -> Sorted {
        Sorted {
            tree: Tree::new(),
            set,
            descending,
        }
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    pub fn get(&self, k: &Value) -> Option<&Value> {
        let key = SortKey(k.clone());
        let found = self.tree.get_key_value(&key);
        // A lookup of a key of another kind is a miss, not an error.
        take_incomparable();
        found.map(|(_, v)| v)
    }

    pub fn get_key(&self, k: &Value) -> Option<&Value> {
        let key = SortKey(k.clone());
        let found = self.tree.get_key_value(&key);
        take_incomparable();
        found.map(|(k, _)| &k.0)
    }

    /// The hash map or set with the same entries, which it equals.
    pub fn to_unsorted(&self) -> Value {
        if self.set {
            Value::set(self.iter().map(|(k, _)| k.clone()))
        } else {
            Value::map(self.iter().map(|(k, v)| (k.clone(), v.clone())))
        }
    }

    /// The entries in the collection's order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Value, &Value)> + '_> {
        let entries = self.tree.iter().map(|(k, v)| (&k.0, v));
        if self.descending {
            Box::new(entries.rev())
        } else {
            Box::new(entries)
        }
    }
}
