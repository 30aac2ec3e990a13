//! Test support: call natives by name and build values tersely.

use crate::error::RuntimeError;
use crate::value::{Native, NativeKind, Value};
use crate::vm::Effect;

/// The native called `name`, in any family.
pub fn native(name: &str) -> &'static Native {
    super::all()
        .find(|n| n.name == name)
        .unwrap_or_else(|| panic!("no native named {name}"))
}

/// Calls the pure native `name` with `args`, checking its declared arity.
pub fn call(name: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    let n = native(name);
    assert!(
        n.arity.accepts(args.len()),
        "{name} does not take {} arguments",
        args.len()
    );
    match n.kind {
        NativeKind::Pure(f) => f(args),
        NativeKind::Consuming(f) => f(&mut args.to_vec()),
        NativeKind::Effect(_) => panic!("{name} is an effect native"),
    }
}

/// Calls the effect native `name` with `args`.
pub fn call_effect(name: &str, args: &[Value]) -> Result<Effect, RuntimeError> {
    let n = native(name);
    assert!(n.arity.accepts(args.len()));
    match n.kind {
        NativeKind::Effect(f) => f(args),
        NativeKind::Pure(_) | NativeKind::Consuming(_) => panic!("{name} is a pure native"),
    }
}

/// `(name args...)` returns `expected`: equal, of the same type, and
/// printing the same (so a list is not taken for a vector).
#[track_caller]
pub fn check(name: &str, args: &[Value], expected: Value) {
    match call(name, args) {
        Ok(got) => {
            let both_nan = matches!((&got, &expected), (Value::Float(x), Value::Float(y)) if x.is_nan() && y.is_nan());
            assert!(
                both_nan || got == expected && got.type_name() == expected.type_name(),
                "({name} {args:?}) returned {got:?} ({}), expected {expected:?} ({})",
                got.type_name(),
                expected.type_name()
            );
            if !both_nan {
                assert_eq!(
                    format!("{got:?}"),
                    format!("{expected:?}"),
                    "({name} {args:?})"
                );
            }
        }
        Err(e) => panic!("({name} {args:?}) failed: {}: {}", e.kind, e.message),
    }
}

/// `(name args...)` raises an error of `kind`.
#[track_caller]
pub fn check_err(name: &str, args: &[Value], kind: &str) {
    match call(name, args) {
        Ok(got) => panic!("({name} {args:?}) returned {got:?}, expected a {kind} error"),
        Err(e) => assert_eq!(e.kind, kind, "({name} {args:?}): {}", e.message),
    }
}

pub fn i(n: i64) -> Value {
    Value::Int(n)
}
pub fn f(x: f64) -> Value {
    Value::Float(x)
}
pub fn s(text: &str) -> Value {
    Value::str(text)
}
pub fn kw(name: &str) -> Value {
    Value::keyword(name)
}
pub fn nil() -> Value {
    Value::Nil
}
pub fn v(items: &[Value]) -> Value {
    Value::vector(items.iter().cloned())
}
pub fn ints(items: &[i64]) -> Value {
    Value::vector(items.iter().map(|n| Value::Int(*n)))
}
