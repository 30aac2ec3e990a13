//! Natives about namespaces and vars: `require`, which asks the host to
//! load namespaces, and `doc-text`, which renders a var's documentation for
//! the `doc` macro.

use super::helpers::type_error;
use crate::error::RuntimeError;
use crate::require::parse_require;
use crate::value::print::pr_str;
use crate::value::{Arity, Native, Value};
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

effect!(
    REQUIRE,
    "require",
    Arity::at_least(0),
    require,
    "Loads each namespace not loaded yet and makes it usable here: (require 'app.util), (require '[app.util :as u :refer [f g]]); :reload loads again."
);
pure!(
    DOC_TEXT,
    "doc-text",
    Arity::exactly(1),
    doc_text,
    "The text doc prints for a map of var metadata, as (var-meta name) makes it."
);

pub static NATIVES: &[&Native] = &[&REQUIRE, &DOC_TEXT];

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
}
