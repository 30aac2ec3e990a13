//! Calf's persistent hash set, on the hash trie of `trie.rs`.

use std::fmt;

use super::trie::{self, Trie};
use super::Value;

/// A persistent set of values; cloning is one reference-count increment,
/// and updating a set nothing else holds changes it in place.
#[derive(Clone, Default)]
pub struct PersistentSet {
    trie: Trie<Value>,
    /// Its metadata (a map), which `=` and hashing ignore.
    meta: Option<std::sync::Arc<Value>>,
}

/// The members of a set, in the trie's order.
pub type Iter<'a> = trie::Iter<'a, Value>;

impl PersistentSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.trie.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The set's metadata, if it has any.
    pub fn meta(&self) -> Option<&Value> {
        self.meta.as_deref()
    }

    /// Gives the set `meta` as its metadata (none with `None`).
    pub fn set_meta(&mut self, meta: Option<Value>) {
        self.meta = meta.map(std::sync::Arc::new);
    }

    pub fn contains(&self, value: &Value) -> bool {
        self.trie.get(value).is_some()
    }

    /// Adds `value` in place; true if it was not there yet.
    pub fn insert(&mut self, value: Value) -> bool {
        self.trie.insert(value).is_none()
    }

    /// Removes `value` in place; true if it was there.
    pub fn remove(&mut self, value: &Value) -> bool {
        self.trie.remove(value).is_some()
    }

    /// Members in an order that depends only on them: non-negative integers
    /// ascending.
    pub fn iter(&self) -> Iter<'_> {
        self.trie.iter()
    }
}

impl<'a> IntoIterator for &'a PersistentSet {
    type Item = &'a Value;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Value> for PersistentSet {
    fn from_iter<I: IntoIterator<Item = Value>>(items: I) -> Self {
        let mut set = PersistentSet::new();
        set.extend(items);
        set
    }
}

impl Extend<Value> for PersistentSet {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, items: I) {
        for value in items {
            self.insert(value);
        }
    }
}

impl PartialEq for PersistentSet {
    fn eq(&self, other: &Self) -> bool {
        self.trie.ptr_eq(&other.trie)
            || (self.len() == other.len() && self.iter().all(|v| other.contains(v)))
    }
}

impl Eq for PersistentSet {}

impl fmt::Debug for PersistentSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_come_out_once_and_in_ascending_order() {
        let set: PersistentSet = [3, 1, 2, 3, 1].into_iter().map(Value::Int).collect();
        assert_eq!(set.len(), 3);
        assert_eq!(
            set.iter().cloned().collect::<Vec<_>>(),
            [1, 2, 3].map(Value::Int)
        );
        let mut smaller = set.clone();
        smaller.remove(&Value::Int(2));
        assert!(set.contains(&Value::Int(2)) && !smaller.contains(&Value::Int(2)));
        assert_eq!(smaller, [1, 3].into_iter().map(Value::Int).collect());
    }
}
