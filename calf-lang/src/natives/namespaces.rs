//! Natives about namespaces, vars and files: `require` and `load-file`,
//! which ask the host to load code, and `doc-text` and `source-text`, which
//! render what the `doc` and `source` macros print.

use super::helpers::{str_arg, type_error};
use crate::error::RuntimeError;
use crate::require::parse_require;
use crate::value::print::pr_str;
use crate::value::Value;
use crate::vm::Effect;

fn require(args: &[Value]) -> Result<Effect, RuntimeError> {
    parse_require(args).map(Effect::Require)
}

/// The text `doc` prints for a var's metadata (as the `var-meta` special
/// form makes it): a rule, the qualified name, the arglists, whether it is
/// a macro or a special form, and the docstring, as Clojure's `doc` prints.
fn doc_text(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Map(meta) = &args[0] else {
        return Err(type_error("doc-text", args, 0, "a map of var metadata"));
    };
    let get = |key: &str| meta.get(&Value::keyword(key)).filter(|v| v.is_truthy());
    let mut out = String::from("-------------------------\n");
    if let Some(name) = get("name") {
        out.push_str(&match name {
            Value::Str(s) => s.to_string(),
            other => pr_str(other),
        });
        out.push('\n');
    }
    if let Some(arglists) = get("arglists") {
        out.push_str(&pr_str(arglists));
        out.push('\n');
    }
    if get("special-form").is_some() {
        out.push_str("Special Form\n");
    } else if get("macro").is_some() {
        out.push_str("Macro\n");
    }
    if let Some(doc) = get("doc") {
        out.push_str("  ");
        out.push_str(&match doc {
            Value::Str(s) => s.to_string(),
            other => pr_str(other),
        });
        out.push('\n');
    }
    Ok(Value::str(out))
}

/// The text `source` prints for a var's metadata: the text of its
/// definition, or why there is none.
fn source_text(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Map(meta) = &args[0] else {
        return Err(type_error("source-text", args, 0, "a map of var metadata"));
    };
    let get = |key: &str| meta.get(&Value::keyword(key)).filter(|v| v.is_truthy());
    if let Some(Value::Str(source)) = get("source") {
        return Ok(Value::str(format!("{source}\n")));
    }
    let name = get("name").map_or_else(|| "it".to_string(), pr_str);
    let text = if get("special-form").is_some() {
        format!("{name} is a special form: it has no Calf source\n")
    } else if get("native").is_some() {
        format!("{name} is a native function, written in Rust: it has no Calf source\n")
    } else {
        format!("no Calf source is recorded for {name}\n")
    };
    Ok(Value::str(text))
}

fn load_file(args: &[Value]) -> Result<Effect, RuntimeError> {
    let path = str_arg("load-file", args, 0)?;
    Ok(Effect::LoadFile {
        path: path.to_string(),
    })
}

natives! {
    effect "require" "0.." require,
        "Loads each namespace not loaded yet and makes it usable here: (require 'app.util), (require '[app.util :as u :refer [f g]]); :reload loads again.";
    pure "doc-text" "1" doc_text,
        "The text doc prints for a map of var metadata, as (var-meta name) makes it.";
    pure "source-text" "1" source_text,
        "The text source prints for a map of var metadata, as (var-meta name) makes it: the definition as written, or why there is none.";
    effect "load-file" "1" load_file,
        "Evaluates the forms of the file at path in the current namespace and returns the value of the last: (load-file \"scratch.calf\"). A relative path starts from the script's directory (the current directory at the REPL and for -e).";
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, call_effect};
    use super::*;

    #[test]
    fn require_returns_its_effect() {
        let effect = call_effect("require", &[Value::symbol("app.util")]);
        let Ok(Effect::Require(req)) = effect else {
            panic!("expected a require effect, got {effect:?}");
        };
        assert_eq!(req.libs[0].ns.name(), "app.util");
        assert!(!req.reload);
        assert!(call_effect("require", &[Value::Int(3)]).is_err());
    }

    #[test]
    fn doc_text_reads_like_clojure() {
        let meta = Value::map([
            (Value::keyword("name"), Value::symbol("app.util/greet")),
            (
                Value::keyword("arglists"),
                Value::list([Value::vector([Value::symbol("name")])]),
            ),
            (Value::keyword("doc"), Value::str("Greets.")),
        ]);
        let text = call("doc-text", &[meta]).expect("text");
        assert_eq!(
            text,
            Value::str("-------------------------\napp.util/greet\n([name])\n  Greets.\n")
        );
        assert!(call("doc-text", &[Value::Int(1)]).is_err());
    }

    #[test]
    fn source_text_is_the_definition_or_why_there_is_none() {
        let meta = |entries: Vec<(&str, Value)>| {
            Value::map(
                entries
                    .into_iter()
                    .map(|(key, value)| (Value::keyword(key), value)),
            )
        };
        let defined = meta(vec![
            ("name", Value::symbol("user/f")),
            ("source", Value::str("(defn f [] 1)")),
        ]);
        assert_eq!(
            call("source-text", &[defined]).expect("text"),
            Value::str("(defn f [] 1)\n")
        );
        let native = meta(vec![
            ("name", Value::symbol("calf.core/count")),
            ("native", Value::Bool(true)),
        ]);
        assert_eq!(
            call("source-text", &[native]).expect("text"),
            Value::str(
                "calf.core/count is a native function, written in Rust: it has no Calf source\n"
            )
        );
        assert!(call("source-text", &[Value::Nil]).is_err());
    }

    #[test]
    fn load_file_returns_its_effect() {
        let effect = call_effect("load-file", &[Value::str("x.calf")]);
        let Ok(Effect::LoadFile { path }) = effect else {
            panic!("expected a load-file effect, got {effect:?}");
        };
        assert_eq!(path, "x.calf");
        assert!(call_effect("load-file", &[Value::Int(3)]).is_err());
    }
}
