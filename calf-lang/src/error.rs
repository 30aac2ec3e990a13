//! Errors as values with context.
//!
//! Reader and compiler errors are [`SourceError`]s: a message, the span it is
//! about, and a hint saying what to do. Runtime errors start as
//! [`RuntimeError`]s raised by natives or the VM and become ordinary thrown
//! Calf values (ex-info maps whose data has `:type`), so `catch` sees them
//! like any other. Rendering (miette) happens at the edge, not here.

use crate::span::Span;
use crate::value::Value;

/// What went wrong while reading or compiling source text.
#[derive(Clone, Debug)]
pub struct SourceError {
    pub message: String,
    pub span: Span,
    pub hint: Option<String>,
    /// The input ended inside an open form: more lines may complete it.
    pub incomplete: bool,
}

impl SourceError {
    pub fn new(message: impl Into<String>, span: Span) -> SourceError {
        SourceError {
            message: message.into(),
            span,
            hint: None,
            incomplete: false,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> SourceError {
        self.hint = Some(hint.into());
        self
    }

    /// The ex-info value `eval`, `read-string` and `load-file` throw.
    pub fn to_value(&self, kind: &str) -> Value {
        let mut data = vec![
            (Value::keyword("type"), Value::keyword(kind)),
            (Value::keyword("location"), Value::str(self.span.location())),
        ];
        if let Some(hint) = &self.hint {
            data.push((Value::keyword("hint"), Value::str(hint)));
        }
        ex_info(Value::str(&self.message), Value::map(data), None)
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.span.location(), self.message)
    }
}

/// An error raised by a native function or by the VM itself.
#[derive(Clone, Debug)]
pub struct RuntimeError {
    /// The `:type` keyword's name, e.g. `calf/type-error`.
    pub kind: &'static str,
    pub message: String,
    pub data: Vec<(&'static str, Value)>,
}

impl RuntimeError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            kind,
            message: message.into(),
            data: Vec::new(),
        }
    }

    /// A wrong-type argument: names the function, the argument position
    /// (1-based), the expected and the actual type.
    pub fn wrong_type(
        function: &str,
        position: usize,
        expected: &str,
        actual: &Value,
    ) -> RuntimeError {
        // A native that takes a lazy seq only whole finds it here when part
        // of it is not realized yet: the VM realizes it and calls again.
        if let Some(cell) = crate::value::lazy::first_unrealized(actual) {
            return crate::value::lazy::needs_realizing(cell, true);
        }
        RuntimeError::new(
            "calf/type-error",
            match actual {
                // `nil` is its own type: say it once.
                Value::Nil => {
                    format!("{function}: argument {position} must be {expected}, got nil")
                }
                _ => format!(
                    "{function}: argument {position} must be {expected}, got {} {}",
                    actual.type_name(),
                    crate::value::print::pr_str(actual)
                        .chars()
                        .take(60)
                        .collect::<String>()
                ),
            },
        )
        .with("function", Value::str(function))
        .with("position", Value::Int(position as i64))
        .with("expected", Value::str(expected))
        .with("actual", Value::str(actual.type_name()))
    }

    pub fn with(mut self, key: &'static str, value: Value) -> RuntimeError {
        self.data.push((key, value));
        self
    }

    /// The thrown value: `{:message "..." :data {:type :calf/... ...}}`.
    pub fn into_value(self) -> Value {
        let mut data = vec![(Value::keyword("type"), Value::keyword(self.kind))];
        data.extend(self.data.into_iter().map(|(k, v)| (Value::keyword(k), v)));
        ex_info(Value::str(self.message), Value::map(data), None)
    }
}

/// Builds the error map of `(ex-info message data cause)`.
pub fn ex_info(message: Value, data: Value, cause: Option<Value>) -> Value {
    let mut entries = vec![
        (Value::keyword("message"), message),
        (Value::keyword("data"), data),
    ];
    if let Some(cause) = cause {
        entries.push((Value::keyword("cause"), cause));
    }
    Value::map(entries)
}

/// The message of a thrown value: its `:message` if it is an error map, else
/// its printed form.
pub fn message_of(thrown: &Value) -> String {
    if let Value::Map(m) = thrown {
        if let Some(Value::Str(s)) = m.get(&Value::keyword("message")) {
            return s.to_string();
        }
    }
    crate::value::print::pr_str(thrown)
}
