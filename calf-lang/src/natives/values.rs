//! Any value's type, hash, identity and truth.

use std::hash::{Hash, Hasher};
use triomphe::Arc;

use crate::error::RuntimeError;
use crate::value::Value;

fn type_of(args: &[Value]) -> Result<Value, RuntimeError> {
    if let Value::Map(m) = &args[0] {
        if let Some(record) = m.record_type() {
            return Ok(Value::Symbol(record.name));
        }
    }
    Ok(Value::keyword(args[0].type_name()))
}

fn hash(args: &[Value]) -> Result<Value, RuntimeError> {
    crate::value::lazy::realized_key(&args[0])?;
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
        (Char(a), Char(b)) => a == b,
        (Regex(a), Regex(b)) => Arc::ptr_eq(a, b),
        (Sorted(a), Sorted(b)) => Arc::ptr_eq(a, b),
        (Lazy(a), Lazy(b)) => Arc::ptr_eq(a, b),
        (Var(a), Var(b)) => std::sync::Arc::ptr_eq(a, b),
        _ => false,
    };
    Ok(Value::Bool(same))
}

fn boolean(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(Value::Bool(args[0].is_truthy()))
}

natives! {
    pure "type" "1" type_of,
        "Returns the kind of the value as a keyword: :nil :boolean :int :float :string :symbol :keyword :char :regex :list :vector :map :set :fn :pid or :ref; of a record, the symbol that names its type (user.Point).";
    pure "hash" "1" hash,
        "Returns the hash of the value, consistent with =.";
    pure "identity" "1" identity,
        "Returns its argument.";
    pure "identical?" "2" identical,
        "True if the two values are the same object, not merely equal.";
    pure "boolean" "1" boolean,
        "Returns false for nil and false, true for anything else.";
}
