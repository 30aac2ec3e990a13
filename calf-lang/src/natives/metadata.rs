//! Metadata: a map of facts about a value that `=` and hashing ignore.
//! Maps and sets carry it in their own structure (`Value` stays 16
//! bytes); a var's is what its definition recorded.

use super::helpers::type_error;
use crate::error::RuntimeError;
use crate::value::Value;

/// The var's metadata as Clojure gives it: `:name` is the var's own name
/// and `:ns` its namespace.
fn var_meta(var: &crate::namespace::Var) -> Value {
    let meta = var.meta_map();
    let Value::Map(entries) = &meta else {
        unreachable!("a var's metadata is a map")
    };
    let mut entries = (**entries).clone();
    entries.insert(
        Value::keyword("name"),
        Value::symbol(var.name.local_name()),
    );
    Value::from(entries)
}

fn meta(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::Var(var) => var_meta(var),
        Value::Map(m) => m.meta().cloned().unwrap_or(Value::Nil),
        Value::Set(s) => s.meta().cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    })
}

fn with_meta(args: &[Value]) -> Result<Value, RuntimeError> {
    let meta = match &args[1] {
        Value::Nil => None,
        m @ Value::Map(_) => Some(m.clone()),
        _ => return Err(type_error("with-meta", args, 1, "a map or nil")),
    };
    let value = &args[0];
    value.with_meta(meta).ok_or_else(|| {
        RuntimeError::new(
            "calf/unsupported",
            format!(
                "with-meta: a {} carries no metadata in Calf; maps and sets do (and vars, through their definition)",
                value.type_name()
            ),
        )
        .with("value", value.clone())
    })
}

natives! {
    pure "meta" "1" meta,
        "The metadata of x: a map's or a set's (as with-meta gives it), a var's (:name :ns :doc :arglists, where it was defined ...); else nil.";
    pure "with-meta" "2" with_meta,
        "A map or set equal to obj with m (a map, or nil for none) as its metadata: (meta (with-meta {:a 1} {:source :db})) is {:source :db}.";
}
