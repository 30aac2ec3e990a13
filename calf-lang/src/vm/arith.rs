//! The inlined core operators: a fast path for two integers, and the core
//! natives' own code for everything else, so `(+ a b)` inlined and `+`
//! called as a function behave exactly alike.

use crate::error::RuntimeError;
use crate::natives::numbers;
use crate::value::lazy;
use crate::value::Value;

macro_rules! arith {
    ($name:ident, $checked:ident) => {
        #[inline]
        pub fn $name(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
            if let (Value::Int(x), Value::Int(y)) = (a, b) {
                if let Some(r) = x.$checked(*y) {
                    return Ok(Value::Int(r));
                }
            }
            numbers::$name(a, b)
        }
    };
}

arith!(add, checked_add);
arith!(sub, checked_sub);
arith!(mul, checked_mul);

#[inline]
pub fn div(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    numbers::div(a, b)
}

#[inline]
pub fn inc(a: &Value) -> Result<Value, RuntimeError> {
    match a {
        Value::Int(x) if *x < i64::MAX => Ok(Value::Int(x + 1)),
        _ => numbers::inc(a),
    }
}

#[inline]
pub fn dec(a: &Value) -> Result<Value, RuntimeError> {
    match a {
        Value::Int(x) if *x > i64::MIN => Ok(Value::Int(x - 1)),
        _ => numbers::dec(a),
    }
}

#[inline]
pub fn equal(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    if a.owns_nothing() || b.owns_nothing() {
        return Ok(Value::Bool(a == b));
    }
    equal_collections(a, b)
}

/// `=` of two values that may hold lazy seqs: unequal may mean that part
/// of one is not realized yet, which the comparison noted (`lazy.rs`); the
/// VM realizes it and compares again.
#[inline(never)]
fn equal_collections(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
    lazy::clear_unrealized();
    let equal = a == b;
    if !equal {
        if let Some(request) = lazy::unrealized_met() {
            return Err(request);
        }
    }
    Ok(Value::Bool(equal))
}

macro_rules! compare {
    ($name:ident, $op:tt) => {
        #[inline]
        pub fn $name(a: &Value, b: &Value) -> Result<Value, RuntimeError> {
            if let (Value::Int(x), Value::Int(y)) = (a, b) {
                return Ok(Value::Bool(x $op y));
            }
            numbers::$name(a, b).map(Value::Bool)
        }
    };
}

compare!(lt, <);
compare!(le, <=);
compare!(gt, >);
compare!(ge, >=);
compare!(num_eq, ==);
