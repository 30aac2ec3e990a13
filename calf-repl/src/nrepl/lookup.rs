//! What an editor asks of names: completion candidates with their kind,
//! and a var's documentation and place (`info`, `lookup`, `eldoc`), read
//! from the namespaces the sessions compile in. Nothing is evaluated.

use calf_lang::compiler::SPECIAL_FORMS;
use calf_lang::namespace::{Globals, Var, CORE};
use calf_lang::value::print::pr_str;
use calf_lang::{Sym, Value};

/// A completion candidate, as CIDER's and Calva's middleware give it.
#[derive(Debug, PartialEq, Eq)]
pub struct Candidate {
    pub candidate: String,
    /// `function`, `macro`, `var`, `special-form`, `namespace` or
    /// `keyword`.
    pub kind: &'static str,
    /// The namespace of a var.
    pub ns: Option<String>,
}

/// The candidates for `prefix` typed in namespace `ns`.
pub fn completions(globals: &Globals, ns: Sym, prefix: &str) -> Vec<Candidate> {
    let (_, names) = calf_lang::completion::complete(globals, ns, prefix, prefix.len());
    names
        .into_iter()
        .map(|name| {
            let (kind, var_ns) = kind_of(globals, ns, &name);
            Candidate {
                candidate: name,
                kind,
                ns: var_ns,
            }
        })
        .collect()
}

fn kind_of(globals: &Globals, ns: Sym, name: &str) -> (&'static str, Option<String>) {
    if name.starts_with(':') {
        return ("keyword", None);
    }
    if SPECIAL_FORMS.contains(&name) {
        return ("special-form", Some(CORE.to_string()));
    }
    match globals.resolve(ns, Sym::new(name)) {
        Some(var) => (var_kind(&var), Some(var.namespace().to_string())),
        None => ("namespace", None),
    }
}

fn var_kind(var: &Var) -> &'static str {
    if var.is_macro() {
        "macro"
    } else if matches!(var.get(), Some(Value::Fn(_) | Value::Native(_))) {
        "function"
    } else {
        "var"
    }
}

/// What is known of a name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub ns: String,
    pub doc: Option<String>,
    /// Each arity's parameters, printed: `[x]`, `[x & more]`.
    pub arglists: Vec<Vec<String>>,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// `function`, `macro`, `var`, `special-form` or `namespace`.
    pub kind: &'static str,
}

impl Info {
    /// The arglists as Clojure prints them: `([x] [x y])`.
    pub fn arglists_str(&self) -> String {
        let lists: Vec<String> = self
            .arglists
            .iter()
            .map(|params| format!("[{}]", params.join(" ")))
            .collect();
        format!("({})", lists.join(" "))
    }
}

/// What `symbol`, read in namespace `ns`, names.
pub fn info(globals: &Globals, ns: Sym, symbol: &str) -> Option<Info> {
    if symbol.is_empty() || symbol.len() > 200 {
        return None;
    }
    if SPECIAL_FORMS.contains(&symbol) {
        return Some(Info {
            name: symbol.to_string(),
            ns: CORE.to_string(),
            kind: "special-form",
            ..Info::default()
        });
    }
    if let Some(var) = globals.resolve(ns, Sym::new(symbol)) {
        let meta = var.meta();
        let mut info = Info {
            name: var.name.local_name().to_string(),
            ns: var.namespace().to_string(),
            doc: meta.doc,
            arglists: meta.arglists.as_ref().map(arglists).unwrap_or_default(),
            kind: var_kind(&var),
            ..Info::default()
        };
        if let Some(span) = meta.defined_at {
            let file = calf_lang::span::source(span.file);
            let (line, column) = file.line_col(span.start as usize);
            info.file = Some(file.name.clone());
            info.line = Some(line);
            info.column = Some(column);
        }
        return Some(info);
    }
    let namespace = globals.find_namespace(Sym::new(symbol))?;
    Some(Info {
        name: namespace.name.to_string(),
        ns: namespace.name.to_string(),
        kind: "namespace",
        ..Info::default()
    })
}

fn arglists(value: &Value) -> Vec<Vec<String>> {
    let Some(lists) = value.as_seq() else {
        return Vec::new();
    };
    lists
        .iter()
        .map(|params| match params.as_seq() {
            Some(items) => items.iter().map(pr_str).collect(),
            None => vec![pr_str(params)],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calf_lang::namespace::USER;

    fn globals() -> std::sync::Arc<Globals> {
        let globals = calf_lang::prelude::new_globals();
        calf_lang::prelude::load_pure(
            &globals,
            "app.calf",
            "(defn twice \"Doubles x.\" [x] (* 2 x))\n(def twirl 3)\n(defmacro twist [x] x)",
            Sym::new(USER),
        )
        .expect("the test source loads");
        globals
    }

    #[test]
    fn candidates_say_what_they_are() {
        let globals = globals();
        let got: Vec<String> = completions(&globals, Sym::new(USER), "tw")
            .into_iter()
            .map(|c| format!("{} {} {:?}", c.candidate, c.kind, c.ns))
            .collect();
        assert_eq!(
            got,
            [
                "twice function Some(\"user\")",
                "twirl var Some(\"user\")",
                "twist macro Some(\"user\")"
            ]
        );
        let special = completions(&globals, Sym::new(USER), "recu");
        assert_eq!(special[0].kind, "special-form");
    }

    #[test]
    fn info_has_the_doc_arglists_and_place() {
        let globals = globals();
        let twice = info(&globals, Sym::new(USER), "twice").expect("twice is defined");
        assert_eq!(twice.doc.as_deref(), Some("Doubles x."));
        assert_eq!(twice.arglists_str(), "([x])");
        assert_eq!(twice.file.as_deref(), Some("app.calf"));
        assert_eq!((twice.line, twice.column), (Some(1), Some(1)));
        let map = info(&globals, Sym::new(USER), "calf.core/map").expect("map is core");
        assert_eq!((map.ns.as_str(), map.kind), (CORE, "function"));
        assert_eq!(info(&globals, Sym::new(USER), "no-such-name-here"), None);
    }
}
