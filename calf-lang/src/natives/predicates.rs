//! Type and truth predicates: one argument, any value, a boolean back.

use crate::value::Value;

/// Declares the predicates as `natives!` entries of kind `predicate`:
/// `"name" test, "Doc.";`, each taking exactly one argument.
macro_rules! predicates {
    ($($name:literal $test:expr, $doc:literal;)*) => {
        natives! { $(predicate $name "1" $test, $doc;)* }
    };
}

fn is_coll(v: &Value) -> bool {
    matches!(
        v,
        Value::List(_) | Value::Vector(_) | Value::Map(_) | Value::Set(_) | Value::Sorted(_) | Value::Lazy(_)
    )
}

/// True if `s` is a UUID in its canonical textual form (`8-4-4-4-12` hex
/// digits, either case), as `uuid` makes them.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

predicates! {
    "not" |v| !v.is_truthy(),
        "True if the value is nil or false.";
    "nil?" |v| matches!(v, Value::Nil),
        "True if the value is nil.";
    "some?" |v| !matches!(v, Value::Nil),
        "True if the value is not nil.";
    "true?" |v| matches!(v, Value::Bool(true)),
        "True if the value is exactly true.";
    "false?" |v| matches!(v, Value::Bool(false)),
        "True if the value is exactly false.";
    "boolean?" |v| matches!(v, Value::Bool(_)),
        "True if the value is true or false.";
    "int?" |v| matches!(v, Value::Int(_)),
        "True if the value is an integer.";
    "integer?" |v| matches!(v, Value::Int(_)),
        "True if the value is an integer.";
    "float?" |v| matches!(v, Value::Float(_)),
        "True if the value is a float.";
    "double?" |v| matches!(v, Value::Float(_)),
        "True if the value is a float.";
    "string?" |v| matches!(v, Value::Str(_)),
        "True if the value is a string.";
    "char?" |v| matches!(v, Value::Char(_)),
        "True if the value is a character.";
    "keyword?" |v| matches!(v, Value::Keyword(_)),
        "True if the value is a keyword.";
    "symbol?" |v| matches!(v, Value::Symbol(_)),
        "True if the value is a symbol.";
    "vector?" |v| matches!(v, Value::Vector(_)),
        "True if the value is a vector.";
    "list?" |v| matches!(v, Value::List(_)),
        "True if the value is a list.";
    "map?" |v| matches!(v, Value::Map(_)) || matches!(v, Value::Sorted(s) if !s.set),
        "True if the value is a map, sorted or not.";
    "set?" |v| matches!(v, Value::Set(_)) || matches!(v, Value::Sorted(s) if s.set),
        "True if the value is a set, sorted or not.";
    "sorted?" |v| matches!(v, Value::Sorted(_)),
        "True if the value is a sorted map or set.";
    "reversible?" |v| matches!(v, Value::Vector(_) | Value::Sorted(_)),
        "True if rseq takes the value: a vector, or a sorted map or set.";
    "pid?" |v| matches!(v, Value::Pid(_)),
        "True if the value is a process identifier.";
    "ref?" |v| matches!(v, Value::Ref(_)),
        "True if the value is a unique reference, as monitor returns.";
    "seq?" |v| matches!(v, Value::List(_) | Value::Lazy(_)),
        "True if the value is a sequence, that is a list.";
    "number?" |v| matches!(v, Value::Int(_) | Value::Float(_)),
        "True if the value is an integer or a float.";
    "pos-int?" |v| matches!(v, Value::Int(n) if *n > 0),
        "True if the value is an integer greater than zero.";
    "neg-int?" |v| matches!(v, Value::Int(n) if *n < 0),
        "True if the value is an integer less than zero.";
    "nat-int?" |v| matches!(v, Value::Int(n) if *n >= 0),
        "True if the value is an integer that is zero or more.";
    "NaN?" |v| matches!(v, Value::Float(x) if x.is_nan()),
        "True if the value is the float NaN.";
    "ident?" |v| matches!(v, Value::Keyword(_) | Value::Symbol(_)),
        "True if the value is a keyword or a symbol.";
    "simple-ident?" |v| matches!(v, Value::Keyword(s) | Value::Symbol(s) if s.namespace().is_none()),
        "True if the value is a keyword or a symbol without a namespace.";
    "qualified-ident?" |v| matches!(v, Value::Keyword(s) | Value::Symbol(s) if s.namespace().is_some()),
        "True if the value is a keyword or a symbol with a namespace.";
    "qualified-keyword?" |v| matches!(v, Value::Keyword(k) if k.namespace().is_some()),
        "True if the value is a keyword with a namespace.";
    "simple-keyword?" |v| matches!(v, Value::Keyword(k) if k.namespace().is_none()),
        "True if the value is a keyword without a namespace.";
    "qualified-symbol?" |v| matches!(v, Value::Symbol(s) if s.namespace().is_some()),
        "True if the value is a symbol with a namespace.";
    "simple-symbol?" |v| matches!(v, Value::Symbol(s) if s.namespace().is_none()),
        "True if the value is a symbol without a namespace.";
    "fn?" |v| matches!(v, Value::Fn(_) | Value::Native(_)),
        "True if the value is a function.";
    "ifn?" |v| matches!(
        v,
        Value::Fn(_) | Value::Native(_) | Value::Keyword(_) | Value::Map(_) | Value::Set(_) | Value::Vector(_) | Value::Sorted(_)
    ),
        "True if the value can be called: a function, keyword, map, set or vector.";
    "coll?" is_coll,
        "True if the value is a list, vector, map or set.";
    "counted?" is_coll,
        "True if count takes constant time on the value: a list, vector, map or set.";
    "sequential?" |v| matches!(v, Value::List(_) | Value::Vector(_) | Value::Lazy(_)),
        "True if the value is a list or a vector.";
    "associative?" |v| matches!(v, Value::Map(_) | Value::Vector(_)) || matches!(v, Value::Sorted(s) if !s.set),
        "True if the value is a map or a vector.";
    "seqable?" |v| matches!(v, Value::Nil | Value::Str(_)) || is_coll(v),
        "True if seq accepts the value: a collection, a string or nil.";
    "uuid?" |v| matches!(v, Value::Str(s) if is_uuid(s.as_str())),
        "True if the value is a UUID: a string in the canonical form, 36 characters of hex digits in groups of 8-4-4-4-12 with dashes between.";
    "any?" |_| true,
        "Returns true for any value.";
}
