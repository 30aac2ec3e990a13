//! Errors as values: building an ex-info and taking it apart.

use triomphe::Arc;

use super::helpers::type_error;
use crate::error::{ex_info, RuntimeError};
use crate::value::{Map, Value};

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

natives! {
    pure "ex-info" "2..=3" ex_info_native,
        "Returns an error value with a message, a data map and an optional cause, ready to throw.";
    pure "ex-message" "1" ex_message,
        "Returns the message of an error value, or nil.";
    pure "ex-data" "1" ex_data,
        "Returns the data map of an error value, or nil.";
    pure "ex-cause" "1" ex_cause,
        "Returns the cause of an error value, or nil.";
}
