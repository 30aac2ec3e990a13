//! Calf's persistent hash map: a compressed hash trie (CHAMP layout).
//!
//! Each node takes the next five bits of a key's 32-bit hash, high bits
//! first (see `hashing.rs` for why), and keeps two bitmaps:
//! which of its 32 positions hold an entry inline and which hold a child
//! node. Entries and children are stored densely in position order. Keys whose
//! hashes agree on all 32 bits share a collision node at the bottom, searched
//! in order.
//!
//! Updating a map that is not shared changes its nodes in place (a node is
//! copied only where another map still holds it), which is what lets a loop
//! that `assoc`s into a map it owns run without copying paths. Uniqueness is
//! one atomic load per node (`triomphe::Arc` keeps no weak count).
//!
//! Entries always live as high in the trie as their hash allows: a child left
//! with one entry and no children is folded back into its parent, so two maps
//! with the same entries have the same shape and iterate in the same order
//! (keys with fully colliding hashes excepted: they keep insertion order).

use std::fmt;
use std::hash::BuildHasher;

use triomphe::Arc;

use super::{KeyHashBuilder, Value};

const BITS_PER_LEVEL: u32 = 5;
const HASH_BITS: u32 = 32;

/// A persistent map from values to values; cloning is one reference-count
/// increment.
#[derive(Clone, Default)]
pub struct PersistentMap {
    root: Option<Arc<Node>>,
    len: usize,
}

#[derive(Clone, Default)]
struct Node {
    /// Positions (of 32) that hold an entry in `entries`.
    data_map: u32,
    /// Positions that hold a child in `children`.
    node_map: u32,
    /// In position order; in a collision node (below the last level), in
    /// insertion order.
    entries: Vec<(Value, Value)>,
    children: Vec<Arc<Node>>,
}

fn hash_of(key: &Value) -> u32 {
    KeyHashBuilder::default().hash_one(key) as u32
}

/// The position bit of `hash` in a node `shift` bits down: the next five
/// bits from the top (at the last level, the two left then three that the
/// node's keys share anyway).
#[inline]
fn position(hash: u32, shift: u32) -> u32 {
    1 << (hash.rotate_left(shift + BITS_PER_LEVEL) & 31)
}

/// Where the item at `bit` is (or goes) among those marked in `bitmap`.
#[inline]
fn index(bitmap: u32, bit: u32) -> usize {
    (bitmap & (bit - 1)).count_ones() as usize
}

fn is_collision_level(shift: u32) -> bool {
    shift >= HASH_BITS
}

impl Node {
    fn get(&self, hash: u32, mut shift: u32, key: &Value) -> Option<&(Value, Value)> {
        let mut node = self;
        loop {
            if is_collision_level(shift) {
                return node.entries.iter().find(|(k, _)| k == key);
            }
            let bit = position(hash, shift);
            if node.data_map & bit != 0 {
                let entry = &node.entries[index(node.data_map, bit)];
                return (entry.0 == *key).then_some(entry);
            }
            if node.node_map & bit == 0 {
                return None;
            }
            node = &node.children[index(node.node_map, bit)];
            shift += BITS_PER_LEVEL;
        }
    }

    /// Inserts or replaces; returns the value replaced. A loop, not
    /// recursion: this is the inner loop of every `assoc`.
    fn insert(&mut self, hash: u32, key: Value, value: Value) -> Option<Value> {
        let mut node = self;
        let mut shift = 0;
        loop {
            if is_collision_level(shift) {
                return match node.entries.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => Some(std::mem::replace(v, value)),
                    None => {
                        node.entries.push((key, value));
                        None
                    }
                };
            }
            let bit = position(hash, shift);
            if node.node_map & bit != 0 {
                let at = index(node.node_map, bit);
                node = Arc::make_mut(&mut node.children[at]);
                shift += BITS_PER_LEVEL;
                continue;
            }
            if node.data_map & bit == 0 {
                node.entries.insert(index(node.data_map, bit), (key, value));
                node.data_map |= bit;
                return None;
            }
            let at = index(node.data_map, bit);
            if node.entries[at].0 == key {
                return Some(std::mem::replace(&mut node.entries[at].1, value));
            }
            let (old_key, old_value) = node.entries.remove(at);
            let old_hash = hash_of(&old_key);
            let child = Node::pair(
                (old_hash, old_key, old_value),
                (hash, key, value),
                shift + BITS_PER_LEVEL,
            );
            node.data_map ^= bit;
            node.node_map |= bit;
            node.children
                .insert(index(node.node_map, bit), Arc::new(child));
            return None;
        }
    }

    /// A node holding two entries whose hashes agree below `shift`.
    fn pair(a: (u32, Value, Value), b: (u32, Value, Value), shift: u32) -> Node {
        if is_collision_level(shift) {
            return Node {
                entries: vec![(a.1, a.2), (b.1, b.2)],
                ..Node::default()
            };
        }
        let (bit_a, bit_b) = (position(a.0, shift), position(b.0, shift));
        if bit_a == bit_b {
            return Node {
                node_map: bit_a,
                children: vec![Arc::new(Node::pair(a, b, shift + BITS_PER_LEVEL))],
                ..Node::default()
            };
        }
        let (first, second) = if bit_a < bit_b { (a, b) } else { (b, a) };
        Node {
            data_map: bit_a | bit_b,
            entries: vec![(first.1, first.2), (second.1, second.2)],
            ..Node::default()
        }
    }

    /// Removes `key`, which must be present; returns its value.
    fn remove(&mut self, hash: u32, shift: u32, key: &Value) -> Value {
        if is_collision_level(shift) {
            let at = self
                .entries
                .iter()
                .position(|(k, _)| k == key)
                .expect("the key was found before removing");
            return self.entries.remove(at).1;
        }
        let bit = position(hash, shift);
        if self.data_map & bit != 0 {
            self.data_map ^= bit;
            return self.entries.remove(index(self.data_map, bit)).1;
        }
        let at = index(self.node_map, bit);
        let child = Arc::make_mut(&mut self.children[at]);
        let removed = child.remove(hash, shift + BITS_PER_LEVEL, key);
        if child.children.is_empty() && child.entries.len() == 1 {
            let entry = child.entries.pop().expect("one entry");
            self.children.remove(at);
            self.node_map ^= bit;
            self.entries.insert(index(self.data_map, bit), entry);
            self.data_map |= bit;
        }
        removed
    }
}

impl PersistentMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.get_key_value(key).map(|(_, v)| v)
    }

    /// The entry of `key`, with the key as the map stores it.
    pub fn get_key_value(&self, key: &Value) -> Option<(&Value, &Value)> {
        let (k, v) = self.root.as_ref()?.get(hash_of(key), 0, key)?;
        Some((k, v))
    }

    pub fn contains_key(&self, key: &Value) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value` in place (copying only nodes another map
    /// shares); returns the value it replaced.
    pub fn insert(&mut self, key: Value, value: Value) -> Option<Value> {
        let hash = hash_of(&key);
        let root = self.root.get_or_insert_with(|| Arc::new(Node::default()));
        let replaced = Arc::make_mut(root).insert(hash, key, value);
        if replaced.is_none() {
            self.len += 1;
        }
        replaced
    }

    /// A new map with `key` set to `value`.
    #[must_use]
    pub fn update(&self, key: Value, value: Value) -> Self {
        let mut map = self.clone();
        map.insert(key, value);
        map
    }

    /// Removes `key` in place; returns its value if it was there.
    pub fn remove(&mut self, key: &Value) -> Option<Value> {
        let hash = hash_of(key);
        // Looking first keeps a shared map's nodes uncopied when the key is absent.
        self.root.as_ref()?.get(hash, 0, key)?;
        let root = self.root.as_mut().expect("the key was found");
        let removed = Arc::make_mut(root).remove(hash, 0, key);
        self.len -= 1;
        if self.len == 0 {
            self.root = None;
        }
        Some(removed)
    }

    /// A new map without `key`.
    #[must_use]
    pub fn without(&self, key: &Value) -> Self {
        let mut map = self.clone();
        map.remove(key);
        map
    }

    /// Entries in the trie's order, which depends only on the keys:
    /// non-negative integers ascending.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            stack: self.root.iter().map(|node| Cursor::new(node)).collect(),
            remaining: self.len,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.iter().map(|(_, v)| v)
    }

    /// Whether both are the same map in memory (so certainly equal).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        match (&self.root, &other.root) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

/// Walks the trie depth first in position order, so integer keys come out
/// in ascending order.
pub struct Iter<'a> {
    stack: Vec<Cursor<'a>>,
    remaining: usize,
}

struct Cursor<'a> {
    node: &'a Node,
    /// Positions not visited yet.
    unvisited: u32,
    next_entry: usize,
    next_child: usize,
}

impl<'a> Cursor<'a> {
    fn new(node: &'a Node) -> Self {
        Cursor {
            node,
            unvisited: node.data_map | node.node_map,
            next_entry: 0,
            next_child: 0,
        }
    }
}

enum Step<'a> {
    Entry(&'a (Value, Value)),
    Child(&'a Node),
    Done,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a Value, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let cursor = self.stack.last_mut()?;
            let node = cursor.node;
            let step = if cursor.unvisited != 0 {
                let bit = cursor.unvisited & cursor.unvisited.wrapping_neg();
                cursor.unvisited ^= bit;
                if node.data_map & bit != 0 {
                    cursor.next_entry += 1;
                    Step::Entry(&node.entries[cursor.next_entry - 1])
                } else {
                    cursor.next_child += 1;
                    Step::Child(&node.children[cursor.next_child - 1])
                }
            } else if let Some(entry) = node.entries.get(cursor.next_entry) {
                // A collision node: no positions, entries in order.
                cursor.next_entry += 1;
                Step::Entry(entry)
            } else {
                Step::Done
            };
            match step {
                Step::Entry((k, v)) => {
                    self.remaining -= 1;
                    return Some((k, v));
                }
                Step::Child(child) => self.stack.push(Cursor::new(child)),
                Step::Done => {
                    self.stack.pop();
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

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
        self.ptr_eq(other)
            || (self.len == other.len && self.iter().all(|(k, v)| other.get(k) == Some(v)))
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
        let changed = original
            .update(Value::Int(5), Value::Int(-5))
            .without(&Value::Int(6));
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
