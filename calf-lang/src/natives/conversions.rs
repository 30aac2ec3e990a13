//! Conversions between numbers and characters, and parsing numbers, booleans and UUIDs
//! from strings.

use super::helpers::{
    illegal, overflow, str_arg, type_error,
};
use crate::error::RuntimeError;
use crate::value::Value;

fn to_int(fname: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    match args[0] {
        Value::Int(_) => Ok(args[0].clone()),
        Value::Char(c) => Ok(Value::Int(i64::from(u32::from(c)))),
        Value::Float(x) if x.is_nan() => Err(illegal(fname, "NaN is not an integer")),
        Value::Float(x) if (-TWO_63..TWO_63).contains(&x) => Ok(Value::Int(x as i64)),
        Value::Float(_) => Err(overflow(fname)),
        _ => Err(type_error(fname, args, 0, "a number or a character")),
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

/// The character of a code point, as Clojure's `char`.
fn char(args: &[Value]) -> Result<Value, RuntimeError> {
    match args[0] {
        Value::Char(_) => Ok(args[0].clone()),
        Value::Int(n) => u32::try_from(n)
            .ok()
            .and_then(char::from_u32)
            .map(Value::Char)
            .ok_or_else(|| {
                illegal(
                    "char",
                    format!("{n} is not a character's code point (0 to 0x10FFFF, not a surrogate)"),
                )
            }),
        _ => Err(type_error("char", args, 0, "an integer or a character")),
    }
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

fn parse_uuid(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("parse-uuid", args, 0)?;
    Ok(if super::predicates::is_uuid(s) {
        Value::str(s.to_ascii_lowercase())
    } else {
        Value::Nil
    })
}

natives! {
    pure "int" "1" int,
        "Returns the number as an integer, truncating a float toward zero, or a character's code point.";
    pure "long" "1" long,
        "Returns the number as an integer, truncating a float toward zero, or a character's code point.";
    pure "char" "1" char,
        "Returns the character whose code point is the integer.";
    pure "double" "1" double,
        "Returns the number as a float.";
    pure "float" "1" float,
        "Returns the number as a float.";
    pure "parse-long" "1" parse_long,
        "Returns the integer the string spells, or nil if it spells none.";
    pure "parse-double" "1" parse_double,
        "Returns the float the string spells, or nil if it spells none.";
    pure "parse-boolean" "1" parse_boolean,
        "Returns true or false for the strings \"true\" and \"false\", else nil.";
    pure "parse-uuid" "1" parse_uuid,
        "Returns the UUID the string spells, in lower case, or nil if it is not one (UUIDs are strings: see uuid?).";
}
