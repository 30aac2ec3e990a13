//! Randomness: numbers, picks, shuffles and UUIDs from a per-thread
//! generator.

use std::cell::Cell;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use super::helpers::{
    count_of, int_arg, items, list_of, out_of_bounds, seq_vector, type_error, vector_of,
};
use crate::error::RuntimeError;
use crate::value::{StrBuf, Text, Value};

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A seed that differs between threads, calls and runs: the standard
/// library's randomly keyed hasher over a counter and the clock.
fn fresh_seed() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut h);
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .hash(&mut h);
    h.finish() | 1
}

/// The next number of this thread's xorshift64* generator. Not for
/// cryptography.
pub fn random_u64() -> u64 {
    RNG.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = fresh_seed();
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A float in `[0, 1)`.
fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// An integer in `[0, n)`, for `n > 0`.
fn random_below(n: u64) -> u64 {
    ((random_u64() as u128 * n as u128) >> 64) as u64
}

fn rand(args: &[Value]) -> Result<Value, RuntimeError> {
    let scale = match args.first() {
        None => 1.0,
        Some(Value::Int(n)) => *n as f64,
        Some(Value::Float(x)) => *x,
        Some(_) => return Err(type_error("rand", args, 0, "a number")),
    };
    Ok(Value::Float(random_unit() * scale))
}

fn rand_int(args: &[Value]) -> Result<Value, RuntimeError> {
    let n = int_arg("rand-int", args, 0)?;
    let r = random_below(n.unsigned_abs().max(1)) as i64;
    Ok(Value::Int(if n < 0 {
        -r
    } else if n == 0 {
        0
    } else {
        r
    }))
}

fn rand_nth(args: &[Value]) -> Result<Value, RuntimeError> {
    let items = match &args[0] {
        Value::Map(_) | Value::Set(_) => {
            return Err(type_error(
                "rand-nth",
                args,
                0,
                "a list, a vector or a string",
            ))
        }
        _ => seq_vector("rand-nth", args, 0)?,
    };
    if items.is_empty() {
        return Err(out_of_bounds(
            "rand-nth",
            0,
            count_of(&args[0]).unwrap_or(0),
        ));
    }
    Ok(items[random_below(items.len() as u64) as usize].clone())
}

fn shuffle(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut items: Vec<Value> = seq_vector("shuffle", args, 0)?.into_iter().collect();
    for i in (1..items.len()).rev() {
        let j = random_below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
    Ok(vector_of(items.into_iter().collect()))
}

fn uuid(_: &[Value]) -> Result<Value, RuntimeError> {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = StrBuf::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit((byte >> 4) as u32, 16).unwrap_or('0'));
        out.push(char::from_digit((byte & 0xf) as u32, 16).unwrap_or('0'));
    }
    Ok(Value::str(out))
}

fn random_sample(args: &[Value]) -> Result<Value, RuntimeError> {
    let prob = match args[0] {
        Value::Int(n) => n as f64,
        Value::Float(x) => x,
        _ => return Err(type_error("random-sample", args, 0, "a number")),
    };
    let kept = items("random-sample", args, 1)?
        .filter(|_| random_unit() < prob)
        .collect();
    Ok(list_of(kept))
}

natives! {
    pure "rand" "0..=1" rand,
        "Returns a random float from 0 (inclusive) to n (1, exclusive).";
    pure "rand-int" "1" rand_int,
        "Returns a random integer from 0 (inclusive) to n (exclusive).";
    pure "rand-nth" "1" rand_nth,
        "Returns a random item of a list, vector or string.";
    pure "shuffle" "1" shuffle,
        "Returns a vector of the items in random order.";
    pure "uuid" "0" uuid,
        "Returns a random (version 4) UUID as a string.";
    pure "random-uuid" "0" uuid,
        "Returns a random (version 4) UUID as a string, as uuid does.";
    pure "random-sample" "2" random_sample,
        "Returns a list of the items of coll, each kept with probability prob (a number from 0 to 1).";
}

#[cfg(test)]
mod tests {
    use super::super::helpers::{INDEX_OUT_OF_BOUNDS, TYPE_ERROR};
    use super::super::testing::*;
    use crate::value::Value;

    #[test]
    fn randomness_stays_in_range() {
        for _ in 0..1000 {
            match call("rand", &[]).unwrap() {
                Value::Float(x) => assert!((0.0..1.0).contains(&x)),
                other => panic!("{other:?}"),
            }
            match call("rand-int", &[i(10)]).unwrap() {
                Value::Int(n) => assert!((0..10).contains(&n)),
                other => panic!("{other:?}"),
            }
            match call("rand-int", &[i(-3)]).unwrap() {
                Value::Int(n) => assert!((-2..=0).contains(&n)),
                other => panic!("{other:?}"),
            }
        }
        check("rand-int", &[i(0)], i(0));
        check("rand-int", &[i(1)], i(0));
        let seen: std::collections::HashSet<i64> = (0..200)
            .map(|_| match call("rand-int", &[i(4)]).unwrap() {
                Value::Int(n) => n,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(seen.len(), 4);
        check("rand-nth", &[ints(&[7])], i(7));
        check_err("rand-nth", &[ints(&[])], INDEX_OUT_OF_BOUNDS);
        let shuffled = call("shuffle", &[ints(&[1, 2, 3, 4])]).unwrap();
        let sorted = call("sort", &[shuffled]).unwrap();
        assert_eq!(sorted, ints(&[1, 2, 3, 4]));
        check_err("rand", &[s("1")], TYPE_ERROR);
    }

    #[test]
    fn uuids_are_version_four() {
        let a = call("uuid", &[]).unwrap();
        let b = call("uuid", &[]).unwrap();
        assert_ne!(a, b);
        let Value::Str(text) = &a else { panic!() };
        assert_eq!(text.len(), 36);
        let parts: Vec<&str> = text.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }
}
