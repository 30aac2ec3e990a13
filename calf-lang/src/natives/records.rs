//! Records: maps with a type, as `defrecord` makes them (the macro is in
//! `core.calf`; what makes a map a record is in `value/map.rs`).

use std::sync::Arc;

use super::helpers::{illegal, items, type_error};
use crate::error::RuntimeError;
use crate::value::{Map, RecordType, Value};

/// `(record-prototype 'user.Point [:x :y])`: a record of that type whose
/// fields are all nil. `defrecord` makes one per type, and its
/// constructors `assoc` into it, so every record of the type shares one
/// `RecordType`.
fn record_prototype(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Symbol(name) = &args[0] else {
        return Err(type_error("record-prototype", args, 0, "a symbol"));
    };
    let mut fields: Vec<Value> = Vec::new();
    for field in items("record-prototype", args, 1)? {
        if !matches!(&field, Value::Keyword(k) if k.namespace().is_none()) {
            return Err(illegal(
                "record-prototype",
                format!("a field is a simple keyword, not {}", crate::value::print::pr_str(&field)),
            ));
        }
        if fields.contains(&field) {
            return Err(illegal(
                "record-prototype",
                format!("the field {} is named twice", crate::value::print::pr_str(&field)),
            ));
        }
        fields.push(field);
    }
    let mut map: Map = fields.iter().map(|f| (f.clone(), Value::Nil)).collect();
    map.set_record_type(Some(Arc::new(RecordType {
        name: *name,
        fields: fields.into(),
    })));
    Ok(Value::Map(triomphe::Arc::new(map)))
}

fn is_record(v: &Value) -> bool {
    matches!(v, Value::Map(m) if m.record_type().is_some())
}

natives! {
    pure "record-prototype" "2" record_prototype,
        "The record of type name (a symbol) with the given fields (simple keywords), all nil: what defrecord's constructors assoc into.";
    predicate "record?" "1" is_record,
        "True if the value is a record, as defrecord makes them.";
}

#[cfg(test)]
mod tests {
    use super::super::testing::call;
    use super::*;

    #[test]
    fn a_prototype_prints_its_fields_in_order_and_is_a_record() {
        let proto = call(
            "record-prototype",
            &[
                Value::symbol("user.P"),
                Value::vector([Value::keyword("y"), Value::keyword("x")]),
            ],
        )
        .unwrap();
        assert_eq!(crate::value::print::pr_str(&proto), "#user.P{:y nil, :x nil}");
        assert!(is_record(&proto));
        assert!(!is_record(&Value::map([])));
    }

    #[test]
    fn fields_must_be_simple_distinct_keywords() {
        let bad = |fields: Vec<Value>| {
            call(
                "record-prototype",
                &[Value::symbol("user.P"), Value::vector(fields)],
            )
            .is_err()
        };
        assert!(bad(vec![Value::symbol("x")]));
        assert!(bad(vec![Value::keyword("a/x")]));
        assert!(bad(vec![Value::keyword("x"), Value::keyword("x")]));
    }
}
