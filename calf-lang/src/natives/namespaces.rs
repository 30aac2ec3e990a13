//! Natives about namespaces, vars and files: `require` and `load-file`,
//! which ask the host to load code, `doc-text` and `source-text`, which
//! render what the `doc` and `source` macros print, var values (`deref`,
//! `var?`), and the questions about namespaces (`resolve`, `ns-publics`
//! ...) that the host answers (`reflection.rs`).

use super::helpers::{illegal, str_arg, type_error};
use crate::error::RuntimeError;
use crate::reflection::NamespaceOp;
use crate::require::parse_require;
use crate::value::print::pr_str;
use crate::value::{Sym, Value};
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

/// The value of a var, as `@v`, `(deref v)` and `(var-get v)` give it.
fn deref(args: &[Value]) -> Result<Value, RuntimeError> {
    let Value::Var(var) = &args[0] else {
        return Err(type_error("deref", args, 0, "a var"));
    };
    var.get().ok_or_else(|| {
        RuntimeError::new(
            "calf/unbound-var",
            format!("{} is declared but has no value: def it first", var.name),
        )
        .with("var", args[0].clone())
    })
}

/// A namespace argument: its name, as a symbol.
fn ns_arg(fname: &str, args: &[Value], i: usize) -> Result<Sym, RuntimeError> {
    match &args[i] {
        Value::Symbol(sym) => Ok(*sym),
        _ => Err(type_error(fname, args, i, "a namespace (its symbol)")),
    }
}

fn symbol_arg(fname: &str, args: &[Value], i: usize) -> Result<Sym, RuntimeError> {
    match &args[i] {
        Value::Symbol(sym) => Ok(*sym),
        _ => Err(type_error(fname, args, i, "a symbol")),
    }
}

fn namespace(op: NamespaceOp) -> Result<Effect, RuntimeError> {
    Ok(Effect::Namespace(op))
}

fn resolve(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::Resolve {
        ns: None,
        sym: symbol_arg("resolve", args, 0)?,
    })
}

fn ns_resolve(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::Resolve {
        ns: Some(ns_arg("ns-resolve", args, 0)?),
        sym: symbol_arg("ns-resolve", args, 1)?,
    })
}

fn find_var(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::FindVar(symbol_arg("find-var", args, 0)?))
}

fn intern(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::Intern {
        ns: ns_arg("intern", args, 0)?,
        name: symbol_arg("intern", args, 1)?,
        value: args.get(2).cloned(),
    })
}

fn the_ns(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::TheNs(ns_arg("the-ns", args, 0)?))
}

fn find_ns(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::FindNs(ns_arg("find-ns", args, 0)?))
}

fn ns_name(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::TheNs(ns_arg("ns-name", args, 0)?))
}

fn ns_publics(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::Publics(ns_arg("ns-publics", args, 0)?))
}

fn ns_interns(args: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::Interns(ns_arg("ns-interns", args, 0)?))
}

fn all_ns(_: &[Value]) -> Result<Effect, RuntimeError> {
    namespace(NamespaceOp::AllNs)
}

fn bound(args: &[Value]) -> Result<Value, RuntimeError> {
    for (i, arg) in args.iter().enumerate() {
        let Value::Var(var) = arg else {
            return Err(type_error("bound?", args, i, "a var"));
        };
        if !var.is_bound() {
            return Ok(Value::Bool(false));
        }
    }
    if args.is_empty() {
        return Err(illegal("bound?", "needs at least one var"));
    }
    Ok(Value::Bool(true))
}

natives! {
    pure "deref" "1" deref,
        "The value of a var: (deref #'inc) is inc; @v is (deref v).";
    pure "var-get" "1" deref,
        "The value of a var, as deref gives it: (var-get #'inc) is inc.";
    predicate "var?" "1" |v| matches!(v, Value::Var(_)),
        "True if x is a var, as (var name) and #'name give: (var? #'inc) is true.";
    pure "bound?" "1.." bound,
        "True if every var given has a value: (declare x) leaves #'x unbound.";
    effect "resolve" "1" resolve,
        "The var the symbol names in the current namespace, or nil: (resolve 'inc) is #'calf.core/inc.";
    effect "ns-resolve" "2" ns_resolve,
        "The var the symbol names in the namespace ns (its symbol), or nil: (ns-resolve 'calf.set 'union).";
    effect "find-var" "1" find_var,
        "The var a namespace-qualified symbol names, or nil: (find-var 'calf.core/map) is #'calf.core/map.";
    effect "intern" "2..=3" intern,
        "The var name of namespace ns (a symbol), made if it does not exist, and set to val if one is given: (intern 'user 'x 1) is #'user/x.";
    effect "the-ns" "1" the_ns,
        "The namespace named by the symbol, which must exist; a namespace is its symbol: (the-ns 'user) is user.";
    effect "find-ns" "1" find_ns,
        "The namespace named by the symbol, or nil if there is none: (find-ns 'calf.core) is calf.core.";
    effect "ns-name" "1" ns_name,
        "The name of a namespace, a symbol: (ns-name 'user) is user.";
    effect "ns-publics" "1" ns_publics,
        "A map from the names of the public vars of namespace ns to the vars: (get (ns-publics 'calf.set) 'union).";
    effect "ns-interns" "1" ns_interns,
        "A map from the names of all the vars of namespace ns, private ones too, to the vars.";
    effect "all-ns" "0" all_ns,
        "The names of every namespace, as symbols, sorted.";
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
