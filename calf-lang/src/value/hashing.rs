//! How map and set keys are hashed.
//!
//! Maps and sets are hash tries that take the hash's low bits first. With a
//! mixing hash, consecutive integer keys land in unrelated leaves, so filling
//! or reading a large map by counting up touches a new cache line at every
//! level, every time. An integer key is hashed instead to its own bits in
//! reverse order: keys that differ only in their low bits share the path
//! down to one leaf, the way an array indexed by them would. Every other key
//! is mixed as `FxHasher` does.

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

/// The low 32 bits (all a trie uses) are the integer's low 32 bits reversed,
/// with its high half folded in so that `n` and `n + 2^32` differ.
fn int_key_hash(n: i64) -> u64 {
    let bits = n as u64;
    let low = bits as u32;
    let high = (bits >> 32) as u32;
    let folded = low ^ high.wrapping_mul(0x9E37_79B9);
    (u64::from(high) << 32) | u64::from(folded.reverse_bits())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash(key: impl Hash) -> u64 {
        KeyHashBuilder::default().hash_one(key)
    }

    #[test]
    fn neighbouring_integers_differ_only_in_the_high_bits_of_the_hash() {
        let a = hash(crate::value::Value::Int(1000)) as u32;
        let b = hash(crate::value::Value::Int(1001)) as u32;
        assert_eq!(a ^ b, 1 << 31);
    }

    #[test]
    fn small_negative_and_wide_integers_do_not_collide_with_zero() {
        let zero = hash(crate::value::Value::Int(0)) as u32;
        for n in [-1i64, -2, 1 << 32, i64::MIN, i64::MAX] {
            assert_ne!(hash(crate::value::Value::Int(n)) as u32, zero, "{n}");
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
