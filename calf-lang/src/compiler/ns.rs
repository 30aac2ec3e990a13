//! `ns` and `in-ns`: which namespace later forms compile in, and the
//! namespaces an `ns` form requires.
//!
//! The compiler reads no files: an `ns` form's `:require` libs compile to
//! calls of `require`, whose effect the host carries out (loading what is
//! missing) before it compiles the next top-level form.

use super::{list_items, Compiler, Result, Tail};
use crate::bytecode::Op;
use crate::require::parse_libspec;
use crate::value::{Sym, Value};

/// Clojure `ns` clauses Calf does not have, for a clear error.
const UNSUPPORTED_CLAUSES: &[&str] = &[
    "use",
    "import",
    "refer-clojure",
    "refer",
    "load",
    "gen-class",
];

impl Compiler<'_> {
    /// `(ns name "doc"? {attrs}? (:require lib...)...)`: later forms compile
    /// in namespace `name`, after the libs are loaded and usable.
    pub(super) fn compile_ns(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        let name = match items.get(1) {
            Some(Value::Symbol(name)) if name.namespace().is_none() => *name,
            _ => {
                return Err(self
                    .error_at(form, "ns needs a namespace name")
                    .with_hint("write it as (ns app.core (:require [app.util :as u]))"))
            }
        };
        // Each lib with the form that holds it, for its span.
        let mut libs: Vec<(Value, Value, usize)> = Vec::new();
        for clause in &items[2..] {
            match clause {
                Value::Str(_) | Value::Map(_) => {}
                _ => match list_items(clause).and_then(|parts| match parts.front() {
                    Some(Value::Keyword(k)) => Some(k.name()),
                    _ => None,
                }) {
                    Some("require") => {
                        let parts = list_items(clause).expect("a clause");
                        for (i, lib) in parts.iter().enumerate().skip(1) {
                            parse_libspec(lib).map_err(|message| {
                                self.error_at(lib, message).with_hint(
                                    "write it as (:require app.util [app.text :as t] [app.io :refer [read-all]])",
                                )
                            })?;
                            libs.push((lib.clone(), clause.clone(), i));
                        }
                    }
                    Some(other) if UNSUPPORTED_CLAUSES.contains(&other) => {
                        return Err(self
                            .error_at(clause, format!("ns clause :{other} is not supported by Calf"))
                            .with_hint("use (:require [lib :as alias :refer [names]]); calf.core is always available"))
                    }
                    _ => {
                        return Err(self
                            .error_at(clause, "an ns clause must be a list like (:require ...)")
                            .with_hint("write it as (ns app.core (:require [app.util :as u]))"))
                    }
                },
            }
        }
        self.ns = name;
        self.globals.namespace(name);
        if libs.is_empty() {
            self.emit(Op::Nil);
            return Ok(());
        }
        // One call per lib, so an error points at the lib it is about.
        for (i, (lib, clause, index)) in libs.iter().enumerate() {
            if i > 0 {
                self.emit(Op::Pop);
            }
            let call = Value::list([
                Value::symbol("calf.core/require"),
                Value::list([Value::symbol("quote"), lib.clone()]),
            ]);
            let hint = self.spans.item_span(clause, *index);
            self.compile(&call, hint, Tail::No)?;
        }
        Ok(())
    }

    /// `(in-ns 'name)`.
    pub(super) fn compile_in_ns(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        self.expect_args(form, items, 1, 1, "(in-ns 'name)")?;
        let name = match &items[1] {
            Value::Symbol(s) => Some(*s),
            quoted => list_items(quoted)
                .filter(|p| p[0].is_symbol("quote") && p.len() == 2)
                .and_then(|p| p[1].as_symbol()),
        };
        let Some(name) = name.filter(|n| n.namespace().is_none()) else {
            return Err(self
                .error_at(form, "in-ns needs a quoted namespace name")
                .with_hint("(in-ns 'app.core)"));
        };
        self.ns = name;
        self.globals.namespace(name);
        self.emit(Op::Nil);
        Ok(())
    }

    /// The namespace a qualified symbol's prefix names here: an alias or a
    /// namespace name.
    pub(super) fn namespace_of_prefix(&self, prefix: &str) -> Sym {
        let prefix = Sym::new(prefix);
        self.globals
            .find_namespace(self.ns)
            .and_then(|ns| ns.alias(prefix))
            .unwrap_or(prefix)
    }
}
