//! The language at run time: `read-string`, which reads text as data, and
//! `eval`, `load-string` and `macroexpand`, which ask the process's host to
//! compile and run code as `load-file` does (the compiler reads no file and
//! runs no process).

use super::helpers::{str_arg, type_error};
use crate::error::RuntimeError;
use crate::value::Value;
use crate::vm::Effect;

/// The first form of `text`, or `nil` for text that holds none. What it
/// reads is data: no span points into the text afterwards.
fn read_string(args: &[Value]) -> Result<Value, RuntimeError> {
    let text = str_arg("read-string", args, 0)?;
    match crate::reader::read_data("<read-string>", text) {
        Ok(forms) => Ok(forms.forms.into_iter().next().unwrap_or(Value::Nil)),
        Err(error) => Err(RuntimeError::new(
            "calf/syntax-error",
            format!("read-string: {}", error.message),
        )
        .with("text", Value::str(text))),
    }
}

/// `(calf.edn/read-string s)`, `(calf.edn/read-string opts s)`: the first
/// form of `s` read as EDN, data only; the opts map's `:eof` is the
/// answer for a string that holds no form (else `nil`).
fn read_edn(args: &[Value]) -> Result<Value, RuntimeError> {
    const NAME: &str = "clojure.edn/read-string";
    let (eof, text) = match args {
        [text] => (Value::Nil, text),
        [Value::Map(opts), text] => (
            opts.get(&Value::keyword("eof")).cloned().unwrap_or(Value::Nil),
            text,
        ),
        [Value::Nil, text] => (Value::Nil, text),
        _ => return Err(type_error(NAME, args, 0, "a map of options, as {:eof nil}")),
    };
    let text = match text {
        Value::Str(s) => s.as_str(),
        // As Clojure's: nothing to read.
        Value::Nil => return Ok(eof),
        _ => return Err(type_error(NAME, args, args.len() - 1, "a string")),
    };
    match crate::reader::read_edn("<edn>", text) {
        Ok(forms) => Ok(forms.forms.into_iter().next().unwrap_or(eof)),
        Err(error) => {
            let (line, column) = line_col(text, error.span.start as usize);
            let mut message = format!("{NAME}, line {line} column {column}: {}", error.message);
            if let Some(hint) = &error.hint {
                message.push_str(&format!(" ({hint})"));
            }
            Err(RuntimeError::new("calf/syntax-error", message)
                .with("line", Value::Int(line as i64))
                .with("column", Value::Int(column as i64)))
        }
    }
}

/// The 1-based line and column (in characters) of byte `at` of `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn eval(args: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Eval(args[0].clone()))
}

fn load_string(args: &[Value]) -> Result<Effect, RuntimeError> {
    let text = str_arg("load-string", args, 0)?;
    Ok(Effect::LoadString(text.to_string()))
}

fn macroexpand_1(args: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Macroexpand {
        form: args[0].clone(),
        all: false,
    })
}

fn macroexpand(args: &[Value]) -> Result<Effect, RuntimeError> {
    Ok(Effect::Macroexpand {
        form: args[0].clone(),
        all: true,
    })
}

fn special_symbol(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Symbol(sym) => Ok(Value::Bool(
            crate::compiler::SPECIAL_FORMS.contains(&sym.name()),
        )),
        _ => Ok(Value::Bool(false)),
    }
}

natives! {
    pure "read-string" "1" read_string,
        "The first form of the string, as data: (read-string \"[1 :a]\") is [1 :a]; nil for a string that holds no form. A string that does not read throws :calf/syntax-error.";
    pure "calf.edn/read-string" "1..=2" read_edn,
        "The first form of the string read as EDN, data only (no code: no quote, #(...), regex or var; #uuid and #inst read as strings); nil, or the :eof of an opts map, when it holds none: (clojure.edn/read-string {:eof :done} \"\"). Malformed text throws :calf/syntax-error naming the line and column.";
    effect "eval" "1" eval,
        "Compiles and runs the form in the current namespace, as a top-level form of a file: (eval '(+ 1 2)) is 3; (eval '(def x 1)) defines x.";
    effect "load-string" "1" load_string,
        "Evaluates every form of the string in the current namespace, as load-file does a file's, and returns the value of the last.";
    effect "macroexpand-1" "1" macroexpand_1,
        "The form expanded once if it is a call of a macro, else the form: (macroexpand-1 '(when a b)) is (if a (do b) nil).";
    effect "macroexpand" "1" macroexpand,
        "The form expanded again and again until it is no longer a call of a macro (its subforms are left as they are).";
    pure "special-symbol?" "1" special_symbol,
        "True if the symbol names a special form (if, let*, fn*, quote ...).";
}
