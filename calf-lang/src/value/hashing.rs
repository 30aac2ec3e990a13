//! How map keys are hashed.
//!
//! A map is a hash trie that takes the hash's high bits first (see
//! `map.rs`). A mixing hash would send consecutive integer keys to unrelated
//! leaves, so filling or reading a large map by counting up would touch a new
//! cache line at every level, every time. An integer key hashes instead to
//! its own low 32 bits (its high half folded in), rotated so that its low 20
//! bits come first: keys that differ only in their low bits share the path
//! down to one leaf, as in an array indexed by them; keys below 2^20 (about
//! a million) are at most four levels down instead of seven; and those keys,
//! when not negative, iterate in ascending order. Every other key is mixed as
//! `FxHasher` does.

use std::hash::Hasher;

/// Builds the [`KeyHasher`] of one key; deterministic, so a map prints in
/// the same order on every run.
pub type KeyHashBuilder = std::hash::BuildHasherDefault<KeyHasher>;

/// The hasher of map and set keys (see the module documentation).
#[derive(Default)]
pub struct KeyHasher {
    state: State,
}

#[derive(Default)]
enum State {
    #[default]
    Empty,
    /// The key so far is one integer.
    Int(i64),
    Mixed(rustc_hash::FxHasher),
}

impl KeyHasher {
    fn mixed(&mut self) -> &mut rustc_hash::FxHasher {
        match self.state {
            State::Mixed(ref mut h) => return h,
            State::Empty => self.state = State::Mixed(Default::default()),
            State::Int(n) => {
                let mut h = rustc_hash::FxHasher::default();
                h.write_i64(n);
                self.state = State::Mixed(h);
            }
        }
        match self.state {
            State::Mixed(ref mut h) => h,
            _ => unreachable!("the state was just made mixed"),
        }
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.mixed().write(bytes)
    }

    fn write_u8(&mut self, i: u8) {
        self.mixed().write_u8(i)
    }

    fn write_u32(&mut self, i: u32) {
        self.mixed().write_u32(i)
    }

    fn write_u64(&mut self, i: u64) {
        self.mixed().write_u64(i)
    }

    fn write_usize(&mut self, i: usize) {
        self.mixed().write_usize(i)
    }

    fn write_i64(&mut self, i: i64) {
        match self.state {
            State::Empty => self.state = State::Int(i),
            _ => self.mixed().write_i64(i),
        }
    }

    fn finish(&self) -> u64 {
        match &self.state {
            State::Empty => 0,
            State::Int(n) => int_key_hash(*n),
            State::Mixed(h) => h.finish(),
        }
    }
}

/// The low 32 bits (all a map uses) are the integer's low 32 bits, with its
/// high half folded in so that `n` and `n + 2^32` differ, rotated left by 12.
pub(super) fn int_key_hash(n: i64) -> u64 {
    let bits = n as u64;
    let low = bits as u32;
    let high = (bits >> 32) as u32;
    let folded = low ^ high.wrapping_mul(0x9E37_79B9);
    (u64::from(high) << 32) | u64::from(folded.rotate_left(12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash(key: impl Hash) -> u64 {
        KeyHashBuilder::default().hash_one(key)
    }

    #[test]
    fn integers_below_two_to_the_twenty_hash_to_themselves_shifted_to_the_top() {
        for n in [0, 1, 1000, 1001, (1 << 20) - 1] {
            assert_eq!(hash(crate::value::Value::Int(n)) as u32, (n as u32) << 12);
        }
    }

    #[test]
    fn small_negative_and_wide_integers_do_not_collide_with_zero() {
        let zero = hash(crate::value::Value::Int(0)) as u32;
        for n in [-1i64, -2, 1 << 32, i64::MIN, i64::MAX] {
            assert_ne!(hash(crate::value::Value::Int(n)) as u32, zero, "{n}");
        }
    }

    #[test]
    fn the_tries_shortcut_for_integer_keys_agrees_with_the_hasher() {
        for n in [0, 1, -1, 1 << 20, 1 << 32, i64::MIN, i64::MAX] {
            let key = crate::value::Value::Int(n);
            assert_eq!(crate::value::trie::hash_of(&key), hash(&key) as u32, "{n}");
        }
    }

    #[test]
    fn anything_but_a_lone_integer_is_mixed() {
        let mut fx = rustc_hash::FxHasher::default();
        "key".hash(&mut fx);
        assert_eq!(hash("key"), fx.finish());
        assert_ne!(hash((1i64, 2i64)), hash(1i64));
    }
}
