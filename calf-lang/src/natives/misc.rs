//! Everything else: types, hashing, errors as values, randomness, number
//! conversions and parsing.

use std::cell::Cell;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use triomphe::Arc;

use super::helpers::{
    count_of, illegal, int_arg, out_of_bounds, overflow, seq_vector, str_arg, type_error, vector_of,
};
use crate::error::{ex_info, RuntimeError};
use crate::value::{Arity, Map, Native, StrBuf, Text, Value};

fn type_of(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::keyword(args[0].type_name()))
}

fn hash(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut h = rustc_hash::FxHasher::default();
    args[0].hash(&mut h);
    Ok(Value::Int(h.finish() as i64))
}

fn identity(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(args[0].clone())
}

fn identical(args: &[Value]) -> Result<Value, RuntimeError> {
    use Value::*;
    let same = match (&args[0], &args[1]) {
        (Nil, Nil) => true,
        (Bool(a), Bool(b)) => a == b,
        (Int(a), Int(b)) => a == b,
        (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
        (Str(a), Str(b)) => a.identical(b),
        (Symbol(a), Symbol(b)) | (Keyword(a), Keyword(b)) => a == b,
        (List(a), List(b)) | (Vector(a), Vector(b)) => Arc::ptr_eq(a, b),
        (Map(a), Map(b)) => Arc::ptr_eq(a, b),
        (Set(a), Set(b)) => Arc::ptr_eq(a, b),
        (Fn(a), Fn(b)) => Arc::ptr_eq(a, b),
        (Native(a), Native(b)) => std::ptr::eq(*a, *b),
        (Pid(a), Pid(b)) => a == b,
        (Ref(a), Ref(b)) => a == b,
        _ => false,
    };
    Ok(Value::Bool(same))
}

fn boolean(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Bool(args[0].is_truthy()))
}

// ---- errors as values ----

fn ex_info_native(args: &[Value]) -> Result<Value, RuntimeError> {
    let message = match &args[0] {
        Value::Str(_) | Value::Nil => args[0].clone(),
        _ => return Err(type_error("ex-info", args, 0, "a string")),
    };
    let data = match &args[1] {
        Value::Map(_) => args[1].clone(),
        Value::Nil => Value::Map(Arc::new(Map::default())),
        _ => return Err(type_error("ex-info", args, 1, "a map")),
    };
    Ok(ex_info(message, data, args.get(2).cloned()))
}

/// The entry `key` of an error map, or nil for any other value.
fn error_part(v: &Value, key: &str) -> Value {
    match v {
        Value::Map(m) => m.get(&Value::keyword(key)).cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    }
}

fn ex_message(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(error_part(&args[0], "message"))
}

fn ex_data(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(error_part(&args[0], "data"))
}

fn ex_cause(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(error_part(&args[0], "cause"))
}

// ---- randomness ----

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

// ---- conversions and parsing ----

fn to_int(fname: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    match args[0] {
        Value::Int(_) => Ok(args[0].clone()),
        Value::Float(x) if x.is_nan() => Err(illegal(fname, "NaN is not an integer")),
        Value::Float(x) if (-TWO_63..TWO_63).contains(&x) => Ok(Value::Int(x as i64)),
        Value::Float(_) => Err(overflow(fname)),
        _ => Err(type_error(fname, args, 0, "a number")),
    }
}

fn int(args: &[Value]) -> Result<Value, RuntimeError> {
    to_int("int", args)
}

fn long(args: &[Value]) -> Result<Value, RuntimeError> {
    to_int("long", args)
}

fn to_float(fname: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    match args[0] {
        Value::Int(n) => Ok(Value::Float(n as f64)),
        Value::Float(_) => Ok(args[0].clone()),
        _ => Err(type_error(fname, args, 0, "a number")),
    }
}

fn double(args: &[Value]) -> Result<Value, RuntimeError> {
    to_float("double", args)
}

fn float(args: &[Value]) -> Result<Value, RuntimeError> {
    to_float("float", args)
}

fn parse_long(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("parse-long", args, 0)?;
    Ok(s.parse::<i64>().map_or(Value::Nil, Value::Int))
}

fn parse_double(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("parse-double", args, 0)?;
    let s = s.trim_matches(|c: char| c <= ' ');
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    let x = match body {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        _ if body.starts_with(['+', '-']) => None,
        _ if body.bytes().any(|b| b.is_ascii_digit())
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) =>
        {
            body.parse::<f64>().ok()
        }
        _ => None,
    };
    Ok(x.map_or(Value::Nil, |x| Value::Float(sign * x)))
}

fn parse_boolean(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match str_arg("parse-boolean", args, 0)? {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::Nil,
    })
}

pure!(TYPE, "type", Arity::exactly(1), type_of, "Returns the kind of the value as a keyword: :nil :boolean :int :float :string :symbol :keyword :list :vector :map :set :fn :pid or :ref.");
pure!(
    HASH,
    "hash",
    Arity::exactly(1),
    hash,
    "Returns the hash of the value, consistent with =."
);
pure!(
    IDENTITY,
    "identity",
    Arity::exactly(1),
    identity,
    "Returns its argument."
);
pure!(
    IDENTICAL,
    "identical?",
    Arity::exactly(2),
    identical,
    "True if the two values are the same object, not merely equal."
);
pure!(
    BOOLEAN,
    "boolean",
    Arity::exactly(1),
    boolean,
    "Returns false for nil and false, true for anything else."
);
pure!(
    EX_INFO,
    "ex-info",
    Arity::between(2, 3),
    ex_info_native,
    "Returns an error value with a message, a data map and an optional cause, ready to throw."
);
pure!(
    EX_MESSAGE,
    "ex-message",
    Arity::exactly(1),
    ex_message,
    "Returns the message of an error value, or nil."
);
pure!(
    EX_DATA,
    "ex-data",
    Arity::exactly(1),
    ex_data,
    "Returns the data map of an error value, or nil."
);
pure!(
    EX_CAUSE,
    "ex-cause",
    Arity::exactly(1),
    ex_cause,
    "Returns the cause of an error value, or nil."
);
pure!(
    RAND,
    "rand",
    Arity::between(0, 1),
    rand,
    "Returns a random float from 0 (inclusive) to n (1, exclusive)."
);
pure!(
    RAND_INT,
    "rand-int",
    Arity::exactly(1),
    rand_int,
    "Returns a random integer from 0 (inclusive) to n (exclusive)."
);
pure!(
    RAND_NTH,
    "rand-nth",
    Arity::exactly(1),
    rand_nth,
    "Returns a random item of a list, vector or string."
);
pure!(
    SHUFFLE,
    "shuffle",
    Arity::exactly(1),
    shuffle,
    "Returns a vector of the items in random order."
);
pure!(
    UUID,
    "uuid",
    Arity::exactly(0),
    uuid,
    "Returns a random (version 4) UUID as a string."
);
pure!(
    INT,
    "int",
    Arity::exactly(1),
    int,
    "Returns the number as an integer, truncating a float toward zero."
);
pure!(
    LONG,
    "long",
    Arity::exactly(1),
    long,
    "Returns the number as an integer, truncating a float toward zero."
);
pure!(
    DOUBLE,
    "double",
    Arity::exactly(1),
    double,
    "Returns the number as a float."
);
pure!(
    FLOAT,
    "float",
    Arity::exactly(1),
    float,
    "Returns the number as a float."
);
pure!(
    PARSE_LONG,
    "parse-long",
    Arity::exactly(1),
    parse_long,
    "Returns the integer the string spells, or nil if it spells none."
);
pure!(
    PARSE_DOUBLE,
    "parse-double",
    Arity::exactly(1),
    parse_double,
    "Returns the float the string spells, or nil if it spells none."
);
pure!(
    PARSE_BOOLEAN,
    "parse-boolean",
    Arity::exactly(1),
    parse_boolean,
    "Returns true or false for the strings \"true\" and \"false\", else nil."
);

pub static NATIVES: &[&Native] = &[
    &TYPE,
    &HASH,
    &IDENTITY,
    &IDENTICAL,
    &BOOLEAN,
    &EX_INFO,
    &EX_MESSAGE,
    &EX_DATA,
    &EX_CAUSE,
    &RAND,
    &RAND_INT,
    &RAND_NTH,
    &SHUFFLE,
    &UUID,
    &INT,
    &LONG,
    &DOUBLE,
    &FLOAT,
    &PARSE_LONG,
    &PARSE_DOUBLE,
    &PARSE_BOOLEAN,
];

#[cfg(test)]
mod tests {
    use super::super::helpers::{ILLEGAL_ARGUMENT, INDEX_OUT_OF_BOUNDS, OVERFLOW, TYPE_ERROR};
    use super::super::testing::*;
    use crate::value::Value;

    #[test]
    fn types_and_identity() {
        check("type", &[i(1)], kw("int"));
        check("type", &[s("a")], kw("string"));
        check("type", &[ints(&[])], kw("vector"));
        check("type", &[lints(&[])], kw("list"));
        check("type", &[m(&[])], kw("map"));
        check("type", &[nil()], kw("nil"));
        check("type", &[Value::Native(native("+"))], kw("fn"));
        check(
            "hash",
            &[ints(&[1, 2])],
            call("hash", &[lints(&[1, 2])]).unwrap(),
        );
        assert_ne!(
            call("hash", &[i(1)]).unwrap(),
            call("hash", &[i(2)]).unwrap()
        );
        check("identity", &[kw("x")], kw("x"));
        let xs = ints(&[1]);
        check("identical?", &[xs.clone(), xs.clone()], b(true));
        check("identical?", &[xs.clone(), ints(&[1])], b(false));
        check("identical?", &[kw("a"), kw("a")], b(true));
        check("identical?", &[i(1), f(1.0)], b(false));
        check("boolean", &[nil()], b(false));
        check("boolean", &[i(0)], b(true));
    }

    #[test]
    fn errors_as_values() {
        let data = m(&[(kw("k"), i(1))]);
        let e = call("ex-info", &[s("boom"), data.clone()]).unwrap();
        check("ex-message", std::slice::from_ref(&e), s("boom"));
        check("ex-data", std::slice::from_ref(&e), data.clone());
        check("ex-cause", std::slice::from_ref(&e), nil());
        let outer = call("ex-info", &[s("outer"), nil(), e.clone()]).unwrap();
        check("ex-cause", std::slice::from_ref(&outer), e.clone());
        check("ex-data", &[outer], m(&[]));
        check("ex-message", &[i(42)], nil());
        check("ex-data", &[s("x")], nil());
        check_err("ex-info", &[s("boom"), i(1)], TYPE_ERROR);
        check_err("ex-info", &[i(1), m(&[])], TYPE_ERROR);
        let thrown = crate::error::RuntimeError::new("calf/overflow", "too big").into_value();
        check("ex-message", std::slice::from_ref(&thrown), s("too big"));
        check(
            "ex-data",
            &[thrown],
            m(&[(kw("type"), kw("calf/overflow"))]),
        );
    }

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

    #[test]
    fn conversions_and_parsing() {
        check("int", &[f(3.9)], i(3));
        check("int", &[f(-3.9)], i(-3));
        check("int", &[i(5)], i(5));
        check("long", &[f(2.0)], i(2));
        check_err("int", &[f(1e19)], OVERFLOW);
        check_err("int", &[f(f64::NAN)], ILLEGAL_ARGUMENT);
        check_err("int", &[s("1")], TYPE_ERROR);
        check("double", &[i(2)], f(2.0));
        check("float", &[f(2.5)], f(2.5));
        check("parse-long", &[s("42")], i(42));
        check("parse-long", &[s("-42")], i(-42));
        check("parse-long", &[s("4x")], nil());
        check("parse-long", &[s("99999999999999999999")], nil());
        check("parse-long", &[s(" 1")], nil());
        check_err("parse-long", &[i(1)], TYPE_ERROR);
        check("parse-double", &[s("1.5")], f(1.5));
        check("parse-double", &[s("-2e3")], f(-2000.0));
        check("parse-double", &[s(" 7 ")], f(7.0));
        check("parse-double", &[s(".5")], f(0.5));
        check("parse-double", &[s("Infinity")], f(f64::INFINITY));
        check("parse-double", &[s("-Infinity")], f(f64::NEG_INFINITY));
        check("parse-double", &[s("NaN")], f(f64::NAN));
        check("parse-double", &[s("inf")], nil());
        check("parse-double", &[s("1.2.3")], nil());
        check("parse-double", &[s("--1")], nil());
        check("parse-double", &[s("")], nil());
        check("parse-boolean", &[s("true")], b(true));
        check("parse-boolean", &[s("yes")], nil());
    }
}
