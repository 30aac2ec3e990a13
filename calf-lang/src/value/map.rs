//! Calf's persistent hash map, on the hash trie of `trie.rs`.

use std::fmt;

use super::trie::{self, Trie};
use super::{Sym, Value};

/// A persistent map from values to values; cloning is one reference-count
/// increment, and updating a map nothing else holds changes it in place.
#[derive(Clone, Default)]
pub struct PersistentMap {
    trie: Trie<(Value, Value)>,
    /// What few maps have besides their entries, behind one pointer so
    /// that every other map stays as small as it was.
    extras: Option<std::sync::Arc<Extras>>,
}

/// A map's record type and metadata.
#[derive(Clone, Default)]
struct Extras {
    /// Set when the map is a record: a map with a type, as `defrecord`
    /// makes it. Records reuse everything maps do; only `=`, printing,
    /// `type` and removing a field look at it.
    record: Option<std::sync::Arc<RecordType>>,
    /// Its metadata (a map), which `=` and hashing ignore.
    meta: Option<Value>,
}

/// The type of a record: its qualified name and its fields (keywords), in
/// the order `defrecord` gave them, which is the order it prints them in.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordType {
    pub name: Sym,
    pub fields: Box<[Value]>,
}

/// The entries of a map, in the trie's order.
pub struct Iter<'a>(trie::Iter<'a, (Value, Value)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Value, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl PersistentMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.trie.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.trie.get(key).map(|(_, v)| v)
    }

    /// The entry of `key`, with the key as the map stores it.
    pub fn get_key_value(&self, key: &Value) -> Option<(&Value, &Value)> {
        self.trie.get(key).map(|(k, v)| (k, v))
    }

    pub fn contains_key(&self, key: &Value) -> bool {
        self.trie.get(key).is_some()
    }

    /// Sets `key` to `value` in place; returns the value it replaced.
    pub fn insert(&mut self, key: Value, value: Value) -> Option<Value> {
        self.trie.insert((key, value)).map(|(_, old)| old)
    }

    /// Removes `key` in place; returns its value if it was there. A record
    /// that loses one of its fields is a plain map from then on, as in
    /// Clojure.
    pub fn remove(&mut self, key: &Value) -> Option<Value> {
        if self.record_type().is_some_and(|r| r.fields.contains(key)) {
            self.set_record_type(None);
        }
        self.trie.remove(key).map(|(_, v)| v)
    }

    /// The record type of this map, if it is a record.
    pub fn record_type(&self) -> Option<&std::sync::Arc<RecordType>> {
        self.extras.as_ref()?.record.as_ref()
    }

    /// Makes this map a record of `record` (or a plain map with `None`).
    pub fn set_record_type(&mut self, record: Option<std::sync::Arc<RecordType>>) {
        self.change_extras(|extras| extras.record = record);
    }

    /// The map's metadata, if it has any.
    pub fn meta(&self) -> Option<&Value> {
        self.extras.as_ref()?.meta.as_ref()
    }

    /// Gives the map `meta` as its metadata (none with `None`).
    pub fn set_meta(&mut self, meta: Option<Value>) {
        self.change_extras(|extras| extras.meta = meta);
    }

    fn change_extras(&mut self, change: impl FnOnce(&mut Extras)) {
        let mut extras = self.extras.as_deref().cloned().unwrap_or_default();
        change(&mut extras);
        self.extras =
            (extras.record.is_some() || extras.meta.is_some()).then(|| std::sync::Arc::new(extras));
    }

    /// Entries in an order that depends only on the keys: non-negative
    /// integers ascending.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.trie.iter())
    }

    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.iter().map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for &'a PersistentMap {
    type Item = (&'a Value, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<(Value, Value)> for PersistentMap {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(items: I) -> Self {
        let mut map = PersistentMap::new();
        map.extend(items);
        map
    }
}

impl Extend<(Value, Value)> for PersistentMap {
    fn extend<I: IntoIterator<Item = (Value, Value)>>(&mut self, items: I) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

impl PartialEq for PersistentMap {
    fn eq(&self, other: &Self) -> bool {
        self.record_type() == other.record_type()
            && (self.trie.ptr_eq(&other.trie)
                || (self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))))
    }
}

impl Eq for PersistentMap {}

impl fmt::Debug for PersistentMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::trie::hash_of;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// Two integers whose 32-bit key hashes are equal, so they meet in a
    /// collision node.
    fn colliding_pair(seed: u32) -> (i64, i64) {
        let low = seed;
        let other_high: u32 = 7;
        let other_low = low ^ other_high.wrapping_mul(0x9E37_79B9);
        (
            i64::from(low),
            (i64::from(other_high) << 32) | i64::from(other_low),
        )
    }

    #[test]
    fn colliding_keys_are_kept_apart() {
        let (a, b) = colliding_pair(12345);
        assert_eq!(hash_of(&Value::Int(a)), hash_of(&Value::Int(b)));
        let mut map = PersistentMap::new();
        map.insert(Value::Int(a), Value::Int(1));
        map.insert(Value::Int(b), Value::Int(2));
        assert_eq!(map.get(&Value::Int(a)), Some(&Value::Int(1)));
        assert_eq!(map.get(&Value::Int(b)), Some(&Value::Int(2)));
        assert_eq!(map.remove(&Value::Int(a)), Some(Value::Int(1)));
        assert_eq!(map.get(&Value::Int(b)), Some(&Value::Int(2)));
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn an_update_leaves_the_original_unchanged() {
        let original: PersistentMap = (0..1000).map(|i| (Value::Int(i), Value::Int(i))).collect();
        let mut changed = original.clone();
        changed.insert(Value::Int(5), Value::Int(-5));
        changed.remove(&Value::Int(6));
        assert_eq!(original.get(&Value::Int(5)), Some(&Value::Int(5)));
        assert_eq!(original.get(&Value::Int(6)), Some(&Value::Int(6)));
        assert_eq!(changed.get(&Value::Int(5)), Some(&Value::Int(-5)));
        assert_eq!(changed.get(&Value::Int(6)), None);
        assert_eq!((original.len(), changed.len()), (1000, 999));
    }

    #[test]
    fn the_same_entries_iterate_in_the_same_order_whatever_the_history() {
        let forward: PersistentMap = (0..500).map(|i| (Value::Int(i), Value::Nil)).collect();
        let mut backward: PersistentMap = (0..600)
            .rev()
            .map(|i| (Value::Int(i), Value::Nil))
            .collect();
        for i in 500..600 {
            backward.remove(&Value::Int(i));
        }
        let order = |m: &PersistentMap| m.keys().cloned().collect::<Vec<_>>();
        assert_eq!(order(&forward), order(&backward));
        assert_eq!(
            order(&forward),
            (0..500).map(Value::Int).collect::<Vec<_>>()
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(i64, i64),
        Remove(i64),
        Snapshot,
    }

    fn key() -> impl Strategy<Value = i64> {
        prop_oneof![
            0i64..64,
            any::<i64>(),
            (0u32..16).prop_map(|seed| colliding_pair(seed).1),
            (0u32..16).prop_map(|seed| colliding_pair(seed).0),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (key(), any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            2 => key().prop_map(Op::Remove),
            1 => Just(Op::Snapshot),
        ]
    }

    fn assert_same(map: &PersistentMap, model: &HashMap<i64, i64>) {
        assert_eq!(map.len(), model.len());
        assert_eq!(map.iter().len(), model.len());
        for (k, v) in model {
            assert_eq!(map.get(&Value::Int(*k)), Some(&Value::Int(*v)));
        }
        for (k, v) in map.iter() {
            let (Value::Int(k), Value::Int(v)) = (k, v) else {
                panic!("not ints")
            };
            assert_eq!(model.get(k), Some(v));
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map_and_snapshots_never_change(ops in proptest::collection::vec(op(), 0..300)) {
            let mut map = PersistentMap::new();
            let mut model = HashMap::new();
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let old = map.insert(Value::Int(k), Value::Int(v));
                        prop_assert_eq!(old, model.insert(k, v).map(Value::Int));
                    }
                    Op::Remove(k) => {
                        let old = map.remove(&Value::Int(k));
                        prop_assert_eq!(old, model.remove(&k).map(Value::Int));
                    }
                    Op::Snapshot => snapshots.push((map.clone(), model.clone())),
                }
            }
            assert_same(&map, &model);
            for (snapshot, model) in &snapshots {
                assert_same(snapshot, model);
            }
            let rebuilt: PersistentMap = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(&rebuilt, &map);
            prop_assert_eq!(
                rebuilt.keys().collect::<Vec<_>>(),
                map.keys().collect::<Vec<_>>()
            );
        }
    }
}
