//! Arithmetic, numeric comparison and `compare`.
//!
//! Integers are 64-bit and never wrap: overflow raises `calf/overflow`. An
//! operation mixing an integer and a float gives a float. `/` of integers
//! that divide evenly gives an integer, otherwise a float.
//!
//! The two-argument functions ([`add`], [`lt`], ...) are public so that the
//! VM's inlined instructions behave exactly like the natives.

use std::cmp::Ordering;

use super::helpers::{int_arg, overflow, type_error, DIVIDE_BY_ZERO, TYPE_ERROR};
use crate::error::RuntimeError;
use crate::value::deep::deeper;
use crate::value::Value;

/// A number argument, unpacked.
#[derive(Clone, Copy, Debug)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    #[inline]
    fn float(self) -> f64 {
        match self {
            Num::I(n) => n as f64,
            Num::F(x) => x,
        }
    }

    #[inline]
    fn value(self) -> Value {
        match self {
            Num::I(n) => Value::Int(n),
            Num::F(x) => Value::Float(x),
        }
    }
}

#[inline]
fn num(fname: &str, args: &[Value], i: usize) -> Result<Num, RuntimeError> {
    match args[i] {
        Value::Int(n) => Ok(Num::I(n)),
        Value::Float(x) => Ok(Num::F(x)),
        _ => Err(type_error(fname, args, i, "a number")),
    }
}

#[cold]
fn divide_by_zero(fname: &str) -> RuntimeError {
    RuntimeError::new(DIVIDE_BY_ZERO, format!("{fname}: divide by zero"))
        .with("function", Value::str(fname))
}

#[inline]
fn add2(a: Num, b: Num) -> Result<Num, RuntimeError> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => x.checked_add(y).map(Num::I).ok_or_else(|| overflow("+")),
        _ => Ok(Num::F(a.float() + b.float())),
    }
}

#[inline]
fn sub2(a: Num, b: Num) -> Result<Num, RuntimeError> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => x.checked_sub(y).map(Num::I).ok_or_else(|| overflow("-")),
        _ => Ok(Num::F(a.float() - b.float())),
    }
}

#[inline]
fn mul2(a: Num, b: Num) -> Result<Num, RuntimeError> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => x.checked_mul(y).map(Num::I).ok_or_else(|| overflow("*")),
        _ => Ok(Num::F(a.float() * b.float())),
    }
}

#[inline]
fn div2(a: Num, b: Num) -> Result<Num, RuntimeError> {
    match (a, b) {
        (Num::I(_), Num::I(0)) => Err(divide_by_zero("/")),
        (Num::I(x), Num::I(y)) => match x.checked_rem(y) {
            Some(0) => Ok(Num::I(x / y)),
            Some(_) => Ok(Num::F(x as f64 / y as f64)),
            // i64::MIN / -1
            None => Err(overflow("/")),
        },
        _ => Ok(Num::F(a.float() / b.float())),
    }
}

/// Folds a variadic arithmetic native over its arguments.
#[inline]
fn fold(
    fname: &str,
    args: &[Value],
    identity: Num,
    op: fn(Num, Num) -> Result<Num, RuntimeError>,
) -> Result<Value, RuntimeError> {
    let mut acc = match args.len() {
        0 => return Ok(identity.value()),
        1 => return Ok(op(identity, num(fname, args, 0)?)?.value()),
        _ => num(fname, args, 0)?,
    };
    for i in 1..args.len() {
        acc = op(acc, num(fname, args, i)?)?;
    }
    Ok(acc.value())
}

fn plus(args: &[Value]) -> Result<Value, RuntimeError> {
    // Two integers, as `(reduce + 0 v)` steps, without the general fold.
    if let [Value::Int(a), Value::Int(b)] = args {
        if let Some(n) = a.checked_add(*b) {
            return Ok(Value::int(n));
        }
    }
    fold("+", args, Num::I(0), add2)
}

fn minus(args: &[Value]) -> Result<Value, RuntimeError> {
    if let [Value::Float(x)] = args {
        return Ok(Value::Float(-x));
    }
    fold("-", args, Num::I(0), sub2)
}

fn times(args: &[Value]) -> Result<Value, RuntimeError> {
    fold("*", args, Num::I(1), mul2)
}

fn divide(args: &[Value]) -> Result<Value, RuntimeError> {
    fold("/", args, Num::I(1), div2)
}

/// `(+ a b)`, as the VM's inlined addition.
pub fn add(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    binary("+", a, b, add2)
}

/// `(- a b)`.
pub fn sub(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    binary("-", a, b, sub2)
}

/// `(* a b)`.
pub fn mul(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    binary("*", a, b, mul2)
}

/// `(/ a b)`.
pub fn div(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    binary("/", a, b, div2)
}

#[inline]
fn binary(
    fname: &str,
    a: &Value,
    b: &Value,
    op: fn(Num, Num) -> Result<Num, RuntimeError>,
) -> Result<Value, RuntimeError> {
    let x = match a {
        Value::Int(n) => Num::I(*n),
        Value::Float(x) => Num::F(*x),
        _ => return Err(RuntimeError::wrong_type(fname, 1, "a number", a)),
    };
    let y = match b {
        Value::Int(n) => Num::I(*n),
        Value::Float(x) => Num::F(*x),
        _ => return Err(RuntimeError::wrong_type(fname, 2, "a number", b)),
    };
    Ok(op(x, y)?.value())
}

/// `(inc x)`.
pub fn inc(x: &Value) -> Result<Value, RuntimeError> {
    match x {
        Value::Int(n) => n
            .checked_add(1)
            .map(Value::Int)
            .ok_or_else(|| overflow("inc")),
        Value::Float(f) => Ok(Value::Float(f + 1.0)),
        _ => Err(RuntimeError::wrong_type("inc", 1, "a number", x)),
    }
}

/// `(dec x)`.
pub fn dec(x: &Value) -> Result<Value, RuntimeError> {
    match x {
        Value::Int(n) => n
            .checked_sub(1)
            .map(Value::Int)
            .ok_or_else(|| overflow("dec")),
        Value::Float(f) => Ok(Value::Float(f - 1.0)),
        _ => Err(RuntimeError::wrong_type("dec", 1, "a number", x)),
    }
}

fn inc_native(args: &[Value]) -> Result<Value, RuntimeError> {
    inc(&args[0])
}

fn dec_native(args: &[Value]) -> Result<Value, RuntimeError> {
    dec(&args[0])
}

/// Which of `quot`, `rem` and `mod` to compute.
#[derive(Clone, Copy)]
enum IntDiv {
    Quot,
    Rem,
    Mod,
}

fn int_div(fname: &str, args: &[Value], which: IntDiv) -> Result<Value, RuntimeError> {
    let (a, b) = (num(fname, args, 0)?, num(fname, args, 1)?);
    match (a, b) {
        (Num::I(x), Num::I(y)) => {
            if y == 0 {
                return Err(divide_by_zero(fname));
            }
            let r = match which {
                IntDiv::Quot => {
                    return x
                        .checked_div(y)
                        .map(Value::Int)
                        .ok_or_else(|| overflow(fname))
                }
                // i64::MIN rem -1 is 0, though Rust's checked_rem refuses it.
                _ => x.checked_rem(y).unwrap_or(0),
            };
            Ok(Value::Int(match which {
                IntDiv::Mod if r != 0 && (r < 0) != (y < 0) => r + y,
                _ => r,
            }))
        }
        _ => {
            let (x, y) = (a.float(), b.float());
            if y == 0.0 {
                return Err(divide_by_zero(fname));
            }
            Ok(Value::Float(match which {
                IntDiv::Quot => (x / y).trunc(),
                IntDiv::Rem => x % y,
                IntDiv::Mod => {
                    let r = x % y;
                    if r != 0.0 && (r < 0.0) != (y < 0.0) {
                        r + y
                    } else {
                        r
                    }
                }
            }))
        }
    }
}

fn quot(args: &[Value]) -> Result<Value, RuntimeError> {
    int_div("quot", args, IntDiv::Quot)
}

fn rem(args: &[Value]) -> Result<Value, RuntimeError> {
    int_div("rem", args, IntDiv::Rem)
}

fn modulo(args: &[Value]) -> Result<Value, RuntimeError> {
    int_div("mod", args, IntDiv::Mod)
}

/// Compares an integer with a float exactly (no rounding of large
/// integers); `None` when the float is NaN.
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let whole = f.trunc();
    Some(match i.cmp(&(whole as i64)) {
        Ordering::Equal => {
            let frac = f - whole;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    })
}

#[inline]
fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Checks that every argument is a number and that each adjacent pair
/// satisfies `ok`.
#[inline]
fn chain(fname: &str, args: &[Value], ok: fn(Ordering) -> bool) -> Result<Value, RuntimeError> {
    let mut prev = num(fname, args, 0)?;
    let mut result = true;
    for i in 1..args.len() {
        let next = num(fname, args, i)?;
        if result && !num_cmp(prev, next).is_some_and(ok) {
            result = false;
        }
        prev = next;
    }
    Ok(Value::Bool(result))
}

#[inline]
fn binary_cmp(
    fname: &str,
    a: &Value,
    b: &Value,
    ok: fn(Ordering) -> bool,
) -> Result<bool, RuntimeError> {
    let x = match a {
        Value::Int(n) => Num::I(*n),
        Value::Float(x) => Num::F(*x),
        _ => return Err(RuntimeError::wrong_type(fname, 1, "a number", a)),
    };
    let y = match b {
        Value::Int(n) => Num::I(*n),
        Value::Float(x) => Num::F(*x),
        _ => return Err(RuntimeError::wrong_type(fname, 2, "a number", b)),
    };
    Ok(num_cmp(x, y).is_some_and(ok))
}

/// `(< a b)`.
pub fn lt(a: &Value, b: &Value) -> Result<bool, RuntimeError> {
    binary_cmp("<", a, b, Ordering::is_lt)
}

/// `(<= a b)`.
pub fn le(a: &Value, b: &Value) -> Result<bool, RuntimeError> {
    binary_cmp("<=", a, b, Ordering::is_le)
}

/// `(> a b)`.
pub fn gt(a: &Value, b: &Value) -> Result<bool, RuntimeError> {
    binary_cmp(">", a, b, Ordering::is_gt)
}

/// `(>= a b)`.
pub fn ge(a: &Value, b: &Value) -> Result<bool, RuntimeError> {
    binary_cmp(">=", a, b, Ordering::is_ge)
}

/// `(== a b)`: numeric equality across integers and floats.
pub fn num_eq(a: &Value, b: &Value) -> Result<bool, RuntimeError> {
    binary_cmp("==", a, b, Ordering::is_eq)
}

fn less(args: &[Value]) -> Result<Value, RuntimeError> {
    chain("<", args, Ordering::is_lt)
}

fn less_eq(args: &[Value]) -> Result<Value, RuntimeError> {
    chain("<=", args, Ordering::is_le)
}

fn greater(args: &[Value]) -> Result<Value, RuntimeError> {
    chain(">", args, Ordering::is_gt)
}

fn greater_eq(args: &[Value]) -> Result<Value, RuntimeError> {
    chain(">=", args, Ordering::is_ge)
}

fn numeric_eq(args: &[Value]) -> Result<Value, RuntimeError> {
    chain("==", args, Ordering::is_eq)
}

fn equal(args: &[Value]) -> Result<Value, RuntimeError> {
    all_equal(args).map(Value::Bool)
}

fn not_equal(args: &[Value]) -> Result<Value, RuntimeError> {
    all_equal(args).map(|equal| Value::Bool(!equal))
}

/// Whether the values are all equal. Unequal may mean that a lazy seq
/// among them is not realized far enough: the comparison noted it, and
/// the VM realizes it and calls again (see `value/lazy.rs`).
fn all_equal(args: &[Value]) -> Result<bool, RuntimeError> {
    crate::value::lazy::clear_unrealized();
    let equal = args.windows(2).all(|w| w[0] == w[1]);
    if !equal {
        if let Some(request) = crate::value::lazy::unrealized_met() {
            return Err(request);
        }
    }
    Ok(equal)
}

fn extreme(
    fname: &str,
    args: &[Value],
    keep_new: fn(Ordering) -> bool,
) -> Result<Value, RuntimeError> {
    let mut best = num(fname, args, 0)?;
    let mut nan = matches!(best, Num::F(x) if x.is_nan());
    for i in 1..args.len() {
        let next = num(fname, args, i)?;
        if matches!(next, Num::F(x) if x.is_nan()) {
            nan = true;
        } else if num_cmp(next, best).is_some_and(keep_new) {
            best = next;
        }
    }
    Ok(if nan {
        Value::Float(f64::NAN)
    } else {
        best.value()
    })
}

fn max(args: &[Value]) -> Result<Value, RuntimeError> {
    extreme("max", args, Ordering::is_gt)
}

fn min(args: &[Value]) -> Result<Value, RuntimeError> {
    extreme("min", args, Ordering::is_lt)
}

fn abs(args: &[Value]) -> Result<Value, RuntimeError> {
    match num("abs", args, 0)? {
        Num::I(n) => n
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| overflow("abs")),
        Num::F(x) => Ok(Value::Float(x.abs())),
    }
}

fn sign_test(fname: &str, args: &[Value], ok: fn(Ordering) -> bool) -> Result<Value, RuntimeError> {
    let x = num(fname, args, 0)?;
    Ok(Value::Bool(num_cmp(x, Num::I(0)).is_some_and(ok)))
}

fn is_zero(args: &[Value]) -> Result<Value, RuntimeError> {
    sign_test("zero?", args, Ordering::is_eq)
}

fn is_pos(args: &[Value]) -> Result<Value, RuntimeError> {
    sign_test("pos?", args, Ordering::is_gt)
}

fn is_neg(args: &[Value]) -> Result<Value, RuntimeError> {
    sign_test("neg?", args, Ordering::is_lt)
}

fn is_even(args: &[Value]) -> Result<Value, RuntimeError> {
    match args[0] {
        Value::Int(n) => Ok(Value::Bool(n % 2 == 0)),
        _ => Err(type_error("even?", args, 0, "an integer")),
    }
}

fn is_odd(args: &[Value]) -> Result<Value, RuntimeError> {
    match args[0] {
        Value::Int(n) => Ok(Value::Bool(n % 2 != 0)),
        _ => Err(type_error("odd?", args, 0, "an integer")),
    }
}

/// Names compare like Clojure's: unqualified before qualified, then by
/// namespace, then by name.
fn cmp_names(a: crate::value::Sym, b: crate::value::Sym) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    match (a.namespace(), b.namespace()) {
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (x, y) => x.cmp(&y).then_with(|| a.local_name().cmp(b.local_name())),
    }
}

#[cold]
fn incomparable(a: &Value, b: &Value) -> RuntimeError {
    RuntimeError::new(
        TYPE_ERROR,
        format!(
            "compare: cannot compare {} with {}",
            a.type_name(),
            b.type_name()
        ),
    )
    .with("function", Value::str("compare"))
}

/// The total order `compare` and `sort` use: `nil` first; numbers by value
/// (NaN after every other number); strings, keywords and symbols by text;
/// lists and vectors by length, then item by item (as Clojure's vectors);
/// booleans `false` first; characters by code point; pids and refs by
/// number. Values of different
/// kinds, maps, sets and functions are incomparable.
pub fn compare(a: &Value, b: &Value) -> Result<Ordering, RuntimeError> {
    use Value::*;
    Ok(match (a, b) {
        (Nil, Nil) => Ordering::Equal,
        (Nil, _) => Ordering::Less,
        (_, Nil) => Ordering::Greater,
        (Bool(x), Bool(y)) => x.cmp(y),
        (Int(x), Int(y)) => x.cmp(y),
        (Float(x), Float(y)) => x
            .partial_cmp(y)
            .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan())),
        (Int(x), Float(y)) => cmp_int_float(*x, *y).unwrap_or(Ordering::Less),
        (Float(x), Int(y)) => cmp_int_float(*y, *x).map_or(Ordering::Greater, Ordering::reverse),
        (Str(x), Str(y)) => x.as_str().cmp(y.as_str()),
        (Keyword(x), Keyword(y)) | (Symbol(x), Symbol(y)) => cmp_names(*x, *y),
        (List(x) | Vector(x), List(y) | Vector(y)) => match x.len().cmp(&y.len()) {
            // Values nest deeper than the stack: see `value/deep.rs`.
            Ordering::Equal => deeper(|| {
                for (p, q) in x.iter().zip(y.iter()) {
                    match compare(p, q)? {
                        Ordering::Equal => {}
                        o => return Ok(o),
                    }
                }
                Ok(Ordering::Equal)
            })?,
            o => o,
        },
        (Pid(x), Pid(y)) => x.cmp(y),
        (Ref(x), Ref(y)) => x.cmp(y),
        (Char(x), Char(y)) => x.cmp(y),
        _ => return Err(incomparable(a, b)),
    })
}

fn compare_native(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Int(match compare(&args[0], &args[1])? {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

/// Folds a variadic bit operation over its integer arguments.
fn bits(fname: &str, args: &[Value], op: fn(i64, i64) -> i64) -> Result<Value, RuntimeError> {
    let mut acc = int_arg(fname, args, 0)?;
    for i in 1..args.len() {
        acc = op(acc, int_arg(fname, args, i)?);
    }
    Ok(Value::Int(acc))
}

fn bit_and(args: &[Value]) -> Result<Value, RuntimeError> {
    bits("bit-and", args, |a, b| a & b)
}

fn bit_or(args: &[Value]) -> Result<Value, RuntimeError> {
    bits("bit-or", args, |a, b| a | b)
}

fn bit_xor(args: &[Value]) -> Result<Value, RuntimeError> {
    bits("bit-xor", args, |a, b| a ^ b)
}

fn bit_and_not(args: &[Value]) -> Result<Value, RuntimeError> {
    bits("bit-and-not", args, |a, b| a & !b)
}

fn bit_not(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Int(!int_arg("bit-not", args, 0)?))
}

/// A two-integer bit operation whose second argument is a shift count or a
/// bit index: as in Clojure (and Java), only its low six bits count.
fn shift(fname: &str, args: &[Value], op: fn(i64, u32) -> i64) -> Result<Value, RuntimeError> {
    let x = int_arg(fname, args, 0)?;
    let n = int_arg(fname, args, 1)?;
    Ok(Value::Int(op(x, (n & 63) as u32)))
}

fn bit_shift_left(args: &[Value]) -> Result<Value, RuntimeError> {
    shift("bit-shift-left", args, |x, n| x << n)
}

fn bit_shift_right(args: &[Value]) -> Result<Value, RuntimeError> {
    shift("bit-shift-right", args, |x, n| x >> n)
}

fn unsigned_bit_shift_right(args: &[Value]) -> Result<Value, RuntimeError> {
    shift("unsigned-bit-shift-right", args, |x, n| ((x as u64) >> n) as i64)
}

fn bit_set(args: &[Value]) -> Result<Value, RuntimeError> {
    shift("bit-set", args, |x, n| x | (1 << n))
}

fn bit_clear(args: &[Value]) -> Result<Value, RuntimeError> {
    shift("bit-clear", args, |x, n| x & !(1 << n))
}

fn bit_flip(args: &[Value]) -> Result<Value, RuntimeError> {
    shift("bit-flip", args, |x, n| x ^ (1 << n))
}

fn bit_test(args: &[Value]) -> Result<Value, RuntimeError> {
    let x = int_arg("bit-test", args, 0)?;
    let n = int_arg("bit-test", args, 1)?;
    Ok(Value::Bool(x & (1 << (n & 63)) != 0))
}

natives! {
    pure "+" "0.." plus,
        "Returns the sum of the numbers, 0 for none.";
    pure "-" "1.." minus,
        "Subtracts the other numbers from the first, or negates a single one.";
    pure "*" "0.." times,
        "Returns the product of the numbers, 1 for none.";
    pure "/" "1.." divide,
        "Divides the first number by the others (an integer only when integers divide evenly), or inverts a single one.";
    pure "quot" "2" quot,
        "Returns the quotient of dividing the first number by the second, rounded toward zero.";
    pure "rem" "2" rem,
        "Returns the remainder of dividing the first number by the second, with the sign of the first.";
    pure "mod" "2" modulo,
        "Returns the first number modulo the second, with the sign of the second.";
    pure "inc" "1" inc_native,
        "Returns the number plus one.";
    pure "dec" "1" dec_native,
        "Returns the number minus one.";
    pure "=" "1.." equal,
        "True if all the values are equal (numbers of different kinds never are).";
    pure "not=" "1.." not_equal,
        "True if the values are not all equal.";
    pure "==" "1.." numeric_eq,
        "True if all the numbers are numerically equal, integers and floats alike.";
    pure "<" "1.." less,
        "True if the numbers are in strictly increasing order.";
    pure "<=" "1.." less_eq,
        "True if the numbers are in non-decreasing order.";
    pure ">" "1.." greater,
        "True if the numbers are in strictly decreasing order.";
    pure ">=" "1.." greater_eq,
        "True if the numbers are in non-increasing order.";
    pure "min" "1.." min,
        "Returns the least of the numbers.";
    pure "max" "1.." max,
        "Returns the greatest of the numbers.";
    pure "abs" "1" abs,
        "Returns the absolute value of the number.";
    pure "zero?" "1" is_zero,
        "True if the number is zero.";
    pure "pos?" "1" is_pos,
        "True if the number is greater than zero.";
    pure "neg?" "1" is_neg,
        "True if the number is less than zero.";
    pure "even?" "1" is_even,
        "True if the integer is even.";
    pure "odd?" "1" is_odd,
        "True if the integer is odd.";
    pure "compare" "2" compare_native,
        "Returns -1, 0 or 1 as the first value sorts before, with or after the second.";
    pure "bit-and" "2.." bit_and,
        "Returns the bitwise and of the integers.";
    pure "bit-or" "2.." bit_or,
        "Returns the bitwise or of the integers.";
    pure "bit-xor" "2.." bit_xor,
        "Returns the bitwise exclusive or of the integers.";
    pure "bit-and-not" "2.." bit_and_not,
        "Returns the bits of the first integer that are set in none of the others.";
    pure "bit-not" "1" bit_not,
        "Returns the bitwise complement of the integer.";
    pure "bit-shift-left" "2" bit_shift_left,
        "Shifts the integer left by n bits (n taken modulo 64); bits shifted out are lost.";
    pure "bit-shift-right" "2" bit_shift_right,
        "Shifts the integer right by n bits (n taken modulo 64), keeping its sign.";
    pure "unsigned-bit-shift-right" "2" unsigned_bit_shift_right,
        "Shifts the integer right by n bits (n taken modulo 64), filling with zeros.";
    pure "bit-set" "2" bit_set,
        "Returns the integer with bit n (0 to 63, taken modulo 64) set.";
    pure "bit-clear" "2" bit_clear,
        "Returns the integer with bit n (0 to 63, taken modulo 64) cleared.";
    pure "bit-flip" "2" bit_flip,
        "Returns the integer with bit n (0 to 63, taken modulo 64) flipped.";
    pure "bit-test" "2" bit_test,
        "True if bit n (0 to 63, taken modulo 64) of the integer is set.";
}

#[cfg(test)]
mod tests {
    use super::super::helpers::TYPE_ERROR;
    use super::super::testing::*;
    use super::*;

    #[test]
    fn public_binary_forms_match_the_natives() {
        assert_eq!(add(&i(1), &i(2)).unwrap(), i(3));
        assert_eq!(div(&i(1), &i(2)).unwrap(), f(0.5));
        assert!(lt(&i(1), &f(1.5)).unwrap());
        assert!(num_eq(&i(1), &f(1.0)).unwrap());
        assert_eq!(inc(&i(1)).unwrap(), i(2));
        let e = sub(&s("x"), &i(1)).unwrap_err();
        assert_eq!(e.kind, TYPE_ERROR);
        assert_eq!(mul(&i(3), &i(3)).unwrap(), i(9));
        assert_eq!(compare(&i(1), &i(1)).unwrap(), Ordering::Equal);
        assert!(
            gt(&i(2), &i(1)).unwrap() && ge(&i(1), &i(1)).unwrap() && le(&i(1), &i(1)).unwrap()
        );
        assert_eq!(dec(&i(1)).unwrap(), i(0));
    }

    #[test]
    fn bit_operations_mask_their_counts_and_take_only_integers() {
        check("bit-and-not", &[i(15), i(1), i(2)], i(12));
        check("bit-shift-left", &[i(1), i(64)], i(1));
        check("bit-shift-left", &[i(1), i(63)], i(i64::MIN));
        check("bit-shift-right", &[i(-8), i(1)], i(-4));
        check("unsigned-bit-shift-right", &[i(-1), i(63)], i(1));
        check("bit-set", &[i(0), i(-1)], i(i64::MIN));
        check("bit-test", &[i(1), i(64)], Value::Bool(true));
        check_err("bit-or", &[i(1), f(1.0)], TYPE_ERROR);
        check_err("bit-flip", &[i(1), s("1")], TYPE_ERROR);
    }
}
