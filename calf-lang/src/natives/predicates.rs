//! Type and truth predicates: one argument, any value, a boolean back.

use crate::error::RuntimeError;
use crate::value::{Arity, Native, Value};

/// Defines a predicate native from a test on its one argument.
macro_rules! predicate {
    ($id:ident, $name:literal, $test:expr, $doc:literal) => {
        pure!(
            $id,
            $name,
            Arity::exactly(1),
            |args: &[Value]| -> Result<Value, RuntimeError> {
                let test: fn(&Value) -> bool = $test;
                Ok(Value::Bool(test(&args[0])))
            },
            $doc
        );
    };
}

predicate!(
    NOT,
    "not",
    |v| !v.is_truthy(),
    "True if the value is nil or false."
);
predicate!(
    IS_NIL,
    "nil?",
    |v| matches!(v, Value::Nil),
    "True if the value is nil."
);
predicate!(
    IS_SOME,
    "some?",
    |v| !matches!(v, Value::Nil),
    "True if the value is not nil."
);
predicate!(
    IS_TRUE,
    "true?",
    |v| matches!(v, Value::Bool(true)),
    "True if the value is exactly true."
);
predicate!(
    IS_FALSE,
    "false?",
    |v| matches!(v, Value::Bool(false)),
    "True if the value is exactly false."
);
predicate!(
    IS_BOOLEAN,
    "boolean?",
    |v| matches!(v, Value::Bool(_)),
    "True if the value is true or false."
);
predicate!(
    IS_NUMBER,
    "number?",
    |v| matches!(v, Value::Int(_) | Value::Float(_)),
    "True if the value is an integer or a float."
);
predicate!(
    IS_INT,
    "int?",
    |v| matches!(v, Value::Int(_)),
    "True if the value is an integer."
);
predicate!(
    IS_INTEGER,
    "integer?",
    |v| matches!(v, Value::Int(_)),
    "True if the value is an integer."
);
predicate!(
    IS_POS_INT,
    "pos-int?",
    |v| matches!(v, Value::Int(n) if *n > 0),
    "True if the value is an integer greater than zero."
);
predicate!(
    IS_NEG_INT,
    "neg-int?",
    |v| matches!(v, Value::Int(n) if *n < 0),
    "True if the value is an integer less than zero."
);
predicate!(
    IS_NAT_INT,
    "nat-int?",
    |v| matches!(v, Value::Int(n) if *n >= 0),
    "True if the value is an integer that is zero or more."
);
predicate!(
    IS_FLOAT,
    "float?",
    |v| matches!(v, Value::Float(_)),
    "True if the value is a float."
);
predicate!(
    IS_DOUBLE,
    "double?",
    |v| matches!(v, Value::Float(_)),
    "True if the value is a float."
);
predicate!(
    IS_NAN,
    "NaN?",
    |v| matches!(v, Value::Float(x) if x.is_nan()),
    "True if the value is the float NaN."
);
predicate!(
    IS_STRING,
    "string?",
    |v| matches!(v, Value::Str(_)),
    "True if the value is a string."
);
predicate!(
    IS_KEYWORD,
    "keyword?",
    |v| matches!(v, Value::Keyword(_)),
    "True if the value is a keyword."
);
predicate!(
    IS_SYMBOL,
    "symbol?",
    |v| matches!(v, Value::Symbol(_)),
    "True if the value is a symbol."
);
predicate!(
    IS_IDENT,
    "ident?",
    |v| matches!(v, Value::Keyword(_) | Value::Symbol(_)),
    "True if the value is a keyword or a symbol."
);
predicate!(
    IS_QUALIFIED_KEYWORD,
    "qualified-keyword?",
    |v| matches!(v, Value::Keyword(k) if k.namespace().is_some()),
    "True if the value is a keyword with a namespace."
);
predicate!(
    IS_SIMPLE_KEYWORD,
    "simple-keyword?",
    |v| matches!(v, Value::Keyword(k) if k.namespace().is_none()),
    "True if the value is a keyword without a namespace."
);
predicate!(
    IS_QUALIFIED_SYMBOL,
    "qualified-symbol?",
    |v| matches!(v, Value::Symbol(s) if s.namespace().is_some()),
    "True if the value is a symbol with a namespace."
);
predicate!(
    IS_SIMPLE_SYMBOL,
    "simple-symbol?",
    |v| matches!(v, Value::Symbol(s) if s.namespace().is_none()),
    "True if the value is a symbol without a namespace."
);
predicate!(
    IS_VECTOR,
    "vector?",
    |v| matches!(v, Value::Vector(_)),
    "True if the value is a vector."
);
predicate!(
    IS_LIST,
    "list?",
    |v| matches!(v, Value::List(_)),
    "True if the value is a list."
);
predicate!(
    IS_MAP,
    "map?",
    |v| matches!(v, Value::Map(_)),
    "True if the value is a map."
);
predicate!(
    IS_SET,
    "set?",
    |v| matches!(v, Value::Set(_)),
    "True if the value is a set."
);
predicate!(
    IS_FN,
    "fn?",
    |v| matches!(v, Value::Fn(_) | Value::Native(_)),
    "True if the value is a function."
);
predicate!(
    IS_PID,
    "pid?",
    |v| matches!(v, Value::Pid(_)),
    "True if the value is a process identifier."
);
predicate!(
    IS_REF,
    "ref?",
    |v| matches!(v, Value::Ref(_)),
    "True if the value is a unique reference, as monitor returns."
);
predicate!(
    IS_COLL,
    "coll?",
    |v| matches!(
        v,
        Value::List(_) | Value::Vector(_) | Value::Map(_) | Value::Set(_)
    ),
    "True if the value is a list, vector, map or set."
);
predicate!(
    IS_SEQ,
    "seq?",
    |v| matches!(v, Value::List(_)),
    "True if the value is a sequence, that is a list."
);
predicate!(
    IS_SEQUENTIAL,
    "sequential?",
    |v| matches!(v, Value::List(_) | Value::Vector(_)),
    "True if the value is a list or a vector."
);
predicate!(
    IS_ASSOCIATIVE,
    "associative?",
    |v| matches!(v, Value::Map(_) | Value::Vector(_)),
    "True if the value is a map or a vector."
);
predicate!(
    IS_SEQABLE,
    "seqable?",
    |v| matches!(
        v,
        Value::Nil
            | Value::Str(_)
            | Value::List(_)
            | Value::Vector(_)
            | Value::Map(_)
            | Value::Set(_)
    ),
    "True if seq accepts the value: a collection, a string or nil."
);
predicate!(IS_ANY, "any?", |_| true, "Returns true for any value.");

pub static NATIVES: &[&Native] = &[
    &NOT,
    &IS_NIL,
    &IS_SOME,
    &IS_TRUE,
    &IS_FALSE,
    &IS_BOOLEAN,
    &IS_NUMBER,
    &IS_INT,
    &IS_INTEGER,
    &IS_POS_INT,
    &IS_NEG_INT,
    &IS_NAT_INT,
    &IS_FLOAT,
    &IS_DOUBLE,
    &IS_NAN,
    &IS_STRING,
    &IS_KEYWORD,
    &IS_SYMBOL,
    &IS_IDENT,
    &IS_QUALIFIED_KEYWORD,
    &IS_SIMPLE_KEYWORD,
    &IS_QUALIFIED_SYMBOL,
    &IS_SIMPLE_SYMBOL,
    &IS_VECTOR,
    &IS_LIST,
    &IS_MAP,
    &IS_SET,
    &IS_FN,
    &IS_PID,
    &IS_REF,
    &IS_COLL,
    &IS_SEQ,
    &IS_SEQUENTIAL,
    &IS_ASSOCIATIVE,
    &IS_SEQABLE,
    &IS_ANY,
];

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::value::Pid;

    #[test]
    fn truth() {
        check("not", &[nil()], b(true));
        check("not", &[b(false)], b(true));
        check("not", &[i(0)], b(false));
        check("nil?", &[nil()], b(true));
        check("some?", &[b(false)], b(true));
        check("true?", &[i(1)], b(false));
        check("false?", &[b(false)], b(true));
        check("boolean?", &[nil()], b(false));
    }

    #[test]
    fn kinds() {
        check("number?", &[f(1.0)], b(true));
        check("int?", &[f(1.0)], b(false));
        check("integer?", &[i(1)], b(true));
        check("float?", &[f(1.0)], b(true));
        check("pos-int?", &[i(0)], b(false));
        check("nat-int?", &[i(0)], b(true));
        check("NaN?", &[f(f64::NAN)], b(true));
        check("string?", &[s("")], b(true));
        check("keyword?", &[kw("a")], b(true));
        check("symbol?", &[kw("a")], b(false));
        check("qualified-keyword?", &[kw("a/b")], b(true));
        check("simple-symbol?", &[sym("a")], b(true));
        check("vector?", &[lints(&[1])], b(false));
        check("list?", &[lints(&[1])], b(true));
        check("map?", &[m(&[])], b(true));
        check("set?", &[set(&[])], b(true));
        check("fn?", &[crate::value::Value::Native(native("+"))], b(true));
        check("fn?", &[kw("a")], b(false));
        check("pid?", &[crate::value::Value::Pid(Pid(1))], b(true));
        check("coll?", &[s("abc")], b(false));
        check("coll?", &[set(&[])], b(true));
        check("seq?", &[lints(&[])], b(true));
        check("seq?", &[ints(&[])], b(false));
        check("sequential?", &[ints(&[])], b(true));
        check("seqable?", &[nil()], b(true));
        check("seqable?", &[i(1)], b(false));
    }
}
