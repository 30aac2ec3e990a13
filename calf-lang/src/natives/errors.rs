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

#[cfg(test)]
mod tests {
    use super::super::helpers::TYPE_ERROR;
    use super::super::testing::*;
    

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
}
