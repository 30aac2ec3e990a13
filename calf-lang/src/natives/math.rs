//! `calf.math`, Clojure's `clojure.math` (also named so): the floating
//! point functions of IEEE 754 arithmetic, each taking any number and
//! giving a float, as Java's `Math` does; `round` gives an integer, and
//! `floor-div` and `floor-mod` work on integers.

use super::helpers::{illegal, int_arg, overflow, type_error, DIVIDE_BY_ZERO};
use crate::error::RuntimeError;
use crate::value::Value;

/// Argument `i` as a float.
fn float_arg(fname: &str, args: &[Value], i: usize) -> Result<f64, RuntimeError> {
    match args[i] {
        Value::Int(n) => Ok(n as f64),
        Value::Float(x) => Ok(x),
        _ => Err(type_error(fname, args, i, "a number")),
    }
}

/// The native of a one-argument float function `$f` of `f64`.
macro_rules! unary {
    ($($native:ident $name:literal $f:expr;)+) => {$(
        fn $native(args: &[Value]) -> Result<Value, RuntimeError> {
            let f: fn(f64) -> f64 = $f;
            Ok(Value::Float(f(float_arg($name, args, 0)?)))
        }
    )+};
}

unary! {
    sqrt "calf.math/sqrt" f64::sqrt;
    cbrt "calf.math/cbrt" f64::cbrt;
    exp "calf.math/exp" f64::exp;
    log "calf.math/log" f64::ln;
    log10 "calf.math/log10" f64::log10;
    sin "calf.math/sin" f64::sin;
    cos "calf.math/cos" f64::cos;
    tan "calf.math/tan" f64::tan;
    asin "calf.math/asin" f64::asin;
    acos "calf.math/acos" f64::acos;
    atan "calf.math/atan" f64::atan;
    floor "calf.math/floor" f64::floor;
    ceil "calf.math/ceil" f64::ceil;
    rint "calf.math/rint" f64::round_ties_even;
    signum "calf.math/signum" |x| if x == 0.0 || x.is_nan() { x } else { x.signum() };
    to_radians "calf.math/to-radians" f64::to_radians;
    to_degrees "calf.math/to-degrees" f64::to_degrees;
}

fn pow(args: &[Value]) -> Result<Value, RuntimeError> {
    let base = float_arg("calf.math/pow", args, 0)?;
    Ok(Value::Float(base.powf(float_arg("calf.math/pow", args, 1)?)))
}

fn atan2(args: &[Value]) -> Result<Value, RuntimeError> {
    let y = float_arg("calf.math/atan2", args, 0)?;
    Ok(Value::Float(y.atan2(float_arg("calf.math/atan2", args, 1)?)))
}

fn hypot(args: &[Value]) -> Result<Value, RuntimeError> {
    let x = float_arg("calf.math/hypot", args, 0)?;
    Ok(Value::Float(x.hypot(float_arg("calf.math/hypot", args, 1)?)))
}

/// The integer nearest, ties toward positive infinity, as `Math/round`.
fn round(args: &[Value]) -> Result<Value, RuntimeError> {
    const NAME: &str = "calf.math/round";
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let x = float_arg(NAME, args, 0)?;
    let rounded = (x + 0.5).floor();
    if x.is_nan() {
        return Err(illegal(NAME, "NaN has no nearest integer"));
    }
    if !(-TWO_63..TWO_63).contains(&rounded) {
        return Err(overflow(NAME));
    }
    Ok(Value::Int(rounded as i64))
}

/// The two integers of `floor-div` and `floor-mod`; a zero divisor is an
/// error, as `quot`'s is.
fn int_pair(fname: &str, args: &[Value]) -> Result<(i64, i64), RuntimeError> {
    let (x, y) = (int_arg(fname, args, 0)?, int_arg(fname, args, 1)?);
    if y == 0 {
        return Err(
            RuntimeError::new(DIVIDE_BY_ZERO, format!("{fname}: divide by zero"))
                .with("function", Value::str(fname)),
        );
    }
    Ok((x, y))
}

fn floor_div(args: &[Value]) -> Result<Value, RuntimeError> {
    const NAME: &str = "calf.math/floor-div";
    let (x, y) = int_pair(NAME, args)?;
    let q = x.checked_div(y).ok_or_else(|| overflow(NAME))?;
    Ok(Value::Int(if (x % y != 0) && ((x < 0) != (y < 0)) { q - 1 } else { q }))
}

fn floor_mod(args: &[Value]) -> Result<Value, RuntimeError> {
    let (x, y) = int_pair("calf.math/floor-mod", args)?;
    Ok(Value::Int(x.checked_rem(y).map_or(0, |r| {
        if r != 0 && ((r < 0) != (y < 0)) {
            r + y
        } else {
            r
        }
    })))
}

natives! {
    pure "calf.math/sqrt" "1" sqrt, "The square root of the number, a float (NaN below zero).";
    pure "calf.math/cbrt" "1" cbrt, "The cube root of the number, a float.";
    pure "calf.math/pow" "2" pow, "x raised to the power y, a float.";
    pure "calf.math/exp" "1" exp, "e raised to the power of the number, a float.";
    pure "calf.math/log" "1" log, "The natural logarithm of the number, a float.";
    pure "calf.math/log10" "1" log10, "The base-10 logarithm of the number, a float.";
    pure "calf.math/sin" "1" sin, "The sine of an angle in radians.";
    pure "calf.math/cos" "1" cos, "The cosine of an angle in radians.";
    pure "calf.math/tan" "1" tan, "The tangent of an angle in radians.";
    pure "calf.math/asin" "1" asin, "The arc sine, in radians.";
    pure "calf.math/acos" "1" acos, "The arc cosine, in radians.";
    pure "calf.math/atan" "1" atan, "The arc tangent, in radians.";
    pure "calf.math/atan2" "2" atan2, "(atan2 y x): the angle in radians of the point (x, y).";
    pure "calf.math/hypot" "2" hypot, "The square root of x squared plus y squared, without overflow in between.";
    pure "calf.math/floor" "1" floor, "The largest whole float not above the number.";
    pure "calf.math/ceil" "1" ceil, "The smallest whole float not below the number.";
    pure "calf.math/rint" "1" rint, "The whole float nearest the number, ties to the even one.";
    pure "calf.math/round" "1" round, "The integer nearest the number, ties rounded up; NaN is an error, and so is a float beyond the integers.";
    pure "calf.math/signum" "1" signum, "-1.0, 0.0 or 1.0 by the sign of the number (a zero and NaN as they are).";
    pure "calf.math/to-radians" "1" to_radians, "The angle in degrees, in radians.";
    pure "calf.math/to-degrees" "1" to_degrees, "The angle in radians, in degrees.";
    pure "calf.math/floor-div" "2" floor_div, "The integer quotient rounded toward negative infinity.";
    pure "calf.math/floor-mod" "2" floor_mod, "The remainder of floor-div: it has the divisor's sign.";
}
