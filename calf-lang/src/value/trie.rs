//! The compressed hash trie (CHAMP layout) under Calf's maps and sets.
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

use std::hash::BuildHasher;

use triomphe::Arc;

use super::{KeyHashBuilder, Value};

const BITS_PER_LEVEL: u32 = 5;
const HASH_BITS: u32 = 32;

/// What a trie stores: a map's key and value, or a set's member.
pub trait Entry: Clone {
    fn key(&self) -> &Value;
}

impl Entry for (Value, Value) {
    fn key(&self) -> &Value {
        &self.0
    }
}

impl Entry for Value {
    fn key(&self) -> &Value {
        self
    }
}

/// A persistent set of entries keyed by value; cloning is one
/// reference-count increment.
#[derive(Clone)]
pub struct Trie<E> {
    root: Option<Arc<Node<E>>>,
    len: usize,
}

impl<E> Default for Trie<E> {
    fn default() -> Self {
        Trie { root: None, len: 0 }
    }
}

#[derive(Clone)]
struct Node<E> {
    /// Positions (of 32) that hold an entry in `entries`.
    data_map: u32,
    /// Positions that hold a child in `children`.
    node_map: u32,
    /// In position order; in a collision node (below the last level), in
    /// insertion order.
    entries: Vec<E>,
    children: Vec<Arc<Node<E>>>,
}

impl<E> Default for Node<E> {
    fn default() -> Self {
        Node {
            data_map: 0,
            node_map: 0,
            entries: Vec::new(),
            children: Vec::new(),
        }
    }
}

pub(super) fn hash_of(key: &Value) -> u32 {
    match key {
        // What the hasher gives for a lone integer, without its state machine.
        Value::Int(n) => super::hashing::int_key_hash(*n) as u32,
        _ => KeyHashBuilder::default().hash_one(key) as u32,
    }
}

/// The position bit of `hash` in a node `shift` bits down: the next five
/// bits from the top (at the last level, the two left then three that the
/// node's keys share anyway).
#[inline]
fn position(hash: u32, shift: u32) -> u32 {
    1 << (hash.rotate_left(shift + BITS_PER_LEVEL) & 31)
}

/// The node for changing in place: `Arc::make_mut`, with the check that
/// it is not shared (nearly always true in a loop that owns its map) inlined
/// and the copy kept out of line.
#[inline(always)]
fn unique<E: Entry>(node: &mut Arc<Node<E>>) -> &mut Node<E> {
    if !node.is_unique() {
        copy_shared(node);
    }
    Arc::get_mut(node).expect("the node was just made unique")
}

#[cold]
#[inline(never)]
fn copy_shared<E: Entry>(node: &mut Arc<Node<E>>) {
    *node = Arc::new(Node::clone(node));
}

/// Where the item at `bit` is (or goes) among those marked in `bitmap`.
#[inline]
fn index(bitmap: u32, bit: u32) -> usize {
    (bitmap & (bit - 1)).count_ones() as usize
}

fn is_collision_level(shift: u32) -> bool {
    shift >= HASH_BITS
}

impl<E: Entry> Node<E> {
    /// `get` compiled for processors with `popcnt`. Calf is built for the
    /// x86-64 baseline, which lacks it, and `count_ones` there is a dozen
    /// instructions, one or two per level of every lookup and insert.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn get_with_popcnt(&self, hash: u32, key: &Value) -> Option<&E> {
        self.get(hash, 0, key)
    }

    /// `insert` compiled for processors with `popcnt` (see `get_with_popcnt`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn insert_with_popcnt(&mut self, hash: u32, entry: E) -> Option<E> {
        self.insert(hash, entry)
    }

    #[inline(always)]
    fn get(&self, hash: u32, mut shift: u32, key: &Value) -> Option<&E> {
        let mut node = self;
        loop {
            if is_collision_level(shift) {
                return node.entries.iter().find(|e| e.key() == key);
            }
            let bit = position(hash, shift);
            if node.data_map & bit != 0 {
                let entry = &node.entries[index(node.data_map, bit)];
                return (entry.key() == key).then_some(entry);
            }
            if node.node_map & bit == 0 {
                return None;
            }
            node = &node.children[index(node.node_map, bit)];
            shift += BITS_PER_LEVEL;
        }
    }

    /// Inserts or replaces; returns the entry replaced. A loop, not
    /// recursion: this is the inner loop of every `assoc` and `conj`.
    #[inline(always)]
    fn insert(&mut self, hash: u32, entry: E) -> Option<E> {
        let mut node = self;
        let mut shift = 0;
        loop {
            if is_collision_level(shift) {
                return match node.entries.iter_mut().find(|e| e.key() == entry.key()) {
                    Some(old) => Some(std::mem::replace(old, entry)),
                    None => {
                        node.entries.push(entry);
                        None
                    }
                };
            }
            let bit = position(hash, shift);
            if node.node_map & bit != 0 {
                let at = index(node.node_map, bit);
                node = unique(&mut node.children[at]);
                shift += BITS_PER_LEVEL;
                continue;
            }
            if node.data_map & bit == 0 {
                node.entries.insert(index(node.data_map, bit), entry);
                node.data_map |= bit;
                return None;
            }
            let at = index(node.data_map, bit);
            if node.entries[at].key() == entry.key() {
                return Some(std::mem::replace(&mut node.entries[at], entry));
            }
            let old = node.entries.remove(at);
            let child = Node::pair(
                (hash_of(old.key()), old),
                (hash, entry),
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
    fn pair(a: (u32, E), b: (u32, E), shift: u32) -> Node<E> {
        if is_collision_level(shift) {
            return Node {
                entries: vec![a.1, b.1],
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
            entries: vec![first.1, second.1],
            ..Node::default()
        }
    }

    /// Removes `key`, which must be present; returns its entry.
    fn remove(&mut self, hash: u32, shift: u32, key: &Value) -> E {
        if is_collision_level(shift) {
            let at = self
                .entries
                .iter()
                .position(|e| e.key() == key)
                .expect("the key was found before removing");
            return self.entries.remove(at);
        }
        let bit = position(hash, shift);
        if self.data_map & bit != 0 {
            self.data_map ^= bit;
            return self.entries.remove(index(self.data_map, bit));
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

impl<E: Entry> Trie<E> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, key: &Value) -> Option<&E> {
        let root = self.root.as_ref()?;
        let hash = hash_of(key);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the processor has the instruction.
            return unsafe { root.get_with_popcnt(hash, key) };
        }
        root.get(hash, 0, key)
    }

    /// Adds `entry` in place (copying only nodes another trie shares),
    /// replacing the one with the same key; returns the one replaced.
    pub fn insert(&mut self, entry: E) -> Option<E> {
        let hash = hash_of(entry.key());
        let root = unique(self.root.get_or_insert_with(Default::default));
        #[cfg(target_arch = "x86_64")]
        let replaced = if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the processor has the instruction.
            unsafe { root.insert_with_popcnt(hash, entry) }
        } else {
            root.insert(hash, entry)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let replaced = root.insert(hash, entry);
        if replaced.is_none() {
            self.len += 1;
        }
        replaced
    }

    /// Removes the entry of `key` in place, if there is one.
    pub fn remove(&mut self, key: &Value) -> Option<E> {
        let hash = hash_of(key);
        // Looking first keeps a shared trie's nodes uncopied when the key is absent.
        self.root.as_ref()?.get(hash, 0, key)?;
        let root = self.root.as_mut().expect("the key was found");
        let removed = Arc::make_mut(root).remove(hash, 0, key);
        self.len -= 1;
        if self.len == 0 {
            self.root = None;
        }
        Some(removed)
    }

    /// Entries in the trie's order, which depends only on the keys:
    /// non-negative integers ascending.
    pub fn iter(&self) -> Iter<'_, E> {
        Iter {
            stack: self.root.iter().map(|node| Cursor::new(node)).collect(),
            remaining: self.len,
        }
    }

    /// Whether both are the same trie in memory (so certainly equal).
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
pub struct Iter<'a, E> {
    stack: Vec<Cursor<'a, E>>,
    remaining: usize,
}

struct Cursor<'a, E> {
    node: &'a Node<E>,
    /// Positions not visited yet.
    unvisited: u32,
    next_entry: usize,
    next_child: usize,
}

impl<'a, E> Cursor<'a, E> {
    fn new(node: &'a Node<E>) -> Self {
        Cursor {
            node,
            unvisited: node.data_map | node.node_map,
            next_entry: 0,
            next_child: 0,
        }
    }
}

enum Step<'a, E> {
    Entry(&'a E),
    Child(&'a Node<E>),
    Done,
}

impl<'a, E> Iterator for Iter<'a, E> {
    type Item = &'a E;

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
                Step::Entry(entry) => {
                    self.remaining -= 1;
                    return Some(entry);
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

impl<E> ExactSizeIterator for Iter<'_, E> {}
