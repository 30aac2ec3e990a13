//! What the compiler knows about vars besides their values: the docstring,
//! attributes and arglists a `def` records, `var-meta`, which reads them,
//! and keeping private vars private.

use std::sync::Arc;

use super::{list_items, Compiler, Result, Tail};
use crate::bytecode::Op;
use crate::namespace::{Var, CORE};
use crate::span::Span;
use crate::value::{Sym, Value};

/// What a `def` or `defmacro` says about its var besides its value.
#[derive(Default)]
pub(super) struct DefMeta {
    doc: Option<String>,
    private: bool,
    dynamic: bool,
    arglists: Option<Value>,
    attrs: Option<Value>,
}

impl DefMeta {
    /// Splits an optional docstring and attribute map off the forms after a
    /// def's name: `(def name "doc"? {:private true}? value)`, and the same
    /// before a `defmacro`'s parameters. The attribute map, as in Clojure's
    /// `defn`, may hold `:doc`, `:private`, `:dynamic` and `:arglists`;
    /// other keys are ignored. Returns the meta and the forms left.
    pub(super) fn split(mut rest: &[Value], is_macro: bool) -> (DefMeta, &[Value]) {
        let mut meta = DefMeta::default();
        if let (Some(Value::Str(s)), true) = (rest.first(), rest.len() >= 2) {
            meta.doc = Some(s.to_string());
            rest = &rest[1..];
        }
        if let (Some(Value::Map(attrs)), true) = (rest.first(), rest.len() >= 2) {
            let get = |key: &str| attrs.get(&Value::keyword(key));
            if let Some(Value::Str(doc)) = get("doc") {
                meta.doc = Some(doc.to_string());
            }
            meta.private = get("private").is_some_and(Value::is_truthy);
            meta.dynamic = get("dynamic").is_some_and(Value::is_truthy);
            meta.arglists = get("arglists").map(unquote);
            meta.attrs = Some(rest[0].clone());
            rest = &rest[1..];
        }
        if meta.arglists.is_none() {
            meta.arglists = if is_macro {
                arglists(rest)
            } else {
                match rest {
                    [init] => fn_arglists(init),
                    _ => None,
                }
            };
        }
        (meta, rest)
    }

    /// Records this meta on `var`, defined by the form at `span`. A
    /// definition without a docstring keeps the one the var had.
    pub(super) fn record(self, var: &Var, span: Option<Span>) {
        var.set_dynamic(self.dynamic);
        var.update_meta(|m| {
            if self.doc.is_some() {
                m.doc = self.doc;
            }
            m.private = self.private;
            m.arglists = self.arglists;
            m.attrs = self.attrs;
            m.defined_at = span.or(m.defined_at);
        });
    }
}

/// `(quote x)` is `x`: an attribute map's `:arglists '([x])` is not evaluated.
fn unquote(form: &Value) -> Value {
    match list_items(form) {
        Some(parts) if parts.len() == 2 && parts[0].is_symbol("quote") => parts[1].clone(),
        _ => form.clone(),
    }
}

/// The parameter vectors of a `(fn name? ...)` form, if `init` is one.
fn fn_arglists(init: &Value) -> Option<Value> {
    let parts = list_items(init)?;
    if !parts[0].is_symbol("fn") && !parts[0].is_symbol("fn*") {
        return None;
    }
    let arities: Vec<Value> = parts.iter().skip(1).cloned().collect();
    match arities.first() {
        Some(Value::Symbol(_)) => arglists(&arities[1..]),
        _ => arglists(&arities),
    }
}

/// The parameter vectors of a fn's arities: `[params] body...` or
/// `([params] body...) ...`.
fn arglists(arities: &[Value]) -> Option<Value> {
    match arities.first() {
        Some(params @ Value::Vector(_)) => Some(Value::list([params.clone()])),
        Some(Value::List(_)) => Some(Value::list(arities.iter().filter_map(|arity| {
            list_items(arity)
                .and_then(|p| p.front().cloned())
                .filter(|p| matches!(p, Value::Vector(_)))
        }))),
        _ => None,
    }
}

impl Compiler<'_> {
    /// `(var-meta name)`: the metadata of the var `name` resolves to, as a
    /// map with `:name` (qualified), `:ns`, `:doc`, `:arglists`, `:macro`
    /// and `:private`, where it was defined (`:file`, `:line`, `:column`)
    /// and the text of its definition (`:source`), and `:native` for a
    /// function written in Rust; as it is when the form is compiled. For a
    /// special form, `{:name name :special-form true}`. The `doc` and
    /// `source` macros use it.
    /// `(alter-var-root name f args...)`: sets the var `name` resolves to
    /// to `(f value args...)` and returns its name, as `def` does. Unlike
    /// `def` it reaches a var of another namespace (`defmethod`, `derive`
    /// and `extend-type` are made of it), and the var must exist. The read
    /// and the write are two steps: two processes altering one var at once
    /// may lose one's change, which is why these are for definitions.
    pub(super) fn compile_alter_var_root(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        let usage = "(alter-var-root name f args...)";
        if items.len() < 3 {
            return Err(self
                .error_at(form, "alter-var-root needs a var's name and a function")
                .with_hint(format!("write it as {usage}")));
        }
        let Value::Symbol(sym) = items[1] else {
            return Err(self
                .error_at(form, "alter-var-root needs the name of a var")
                .with_hint(format!("write it as {usage}, the name without a quote")));
        };
        let var = self.resolve_global(sym)?;
        self.check_access(&var)?;
        if var.is_macro() {
            return Err(self.error_at(form, format!("can't alter the macro {}", var.name)));
        }
        let mut call = vec![items[2].clone(), items[1].clone()];
        call.extend(items[3..].iter().cloned());
        self.compile(&Value::list(call), self.spans.span_of(form), Tail::No)?;
        let index = self.code().var(var);
        self.emit(Op::Def(index));
        Ok(())
    }

    pub(super) fn compile_var_meta(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        self.expect_args(form, items, 1, 1, "(var-meta name)")?;
        let Value::Symbol(sym) = items[1] else {
            return Err(self
                .error_at(form, "var-meta needs the name of a var")
                .with_hint("write it as (var-meta map), without a quote"));
        };
        if self.is_special(sym) {
            let kw = Value::keyword;
            return self.compile_constant(Value::map([
                (kw("name"), Value::Symbol(sym)),
                (kw("special-form"), Value::Bool(true)),
            ]));
        }
        let var = self.resolve_global(sym)?;
        self.compile_constant(var.meta_map())
    }

    /// `(var name)`, which `#'name` reads as: the var itself, a value,
    /// resolved where the form is compiled as a reference to `name` is.
    /// A private var of another namespace is given too, as in Clojure:
    /// `#'ns/helper` is how a test reaches one.
    pub(super) fn compile_var(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        self.expect_args(form, items, 1, 1, "(var name)")?;
        let Value::Symbol(sym) = items[1] else {
            return Err(self
                .error_at(form, "var needs the name of a var")
                .with_hint("write it as (var name) or #'name, the name without a quote"));
        };
        let var = self.resolve_global(sym)?;
        self.compile_constant(Value::Var(var))
    }

    /// `(source-location)`: where the form being compiled was read, as
    /// `{:file f :line l :column c}`. A form a macro made has no place of
    /// its own, so in a macro's expansion it is the place of the macro's
    /// call: that is how `calf.test/is` tells which line failed.
    pub(super) fn compile_source_location(&mut self, form: &Value, items: &[Value]) -> Result<()> {
        self.expect_args(form, items, 0, 0, "(source-location)")?;
        let span = self.current_span();
        let file = crate::span::source(span.file);
        let (line, column) = file.line_col(span.start as usize);
        let kw = Value::keyword;
        self.compile_constant(Value::map([
            (kw("file"), Value::str(file.name.as_str())),
            (kw("line"), Value::Int(line as i64)),
            (kw("column"), Value::Int(column as i64)),
        ]))
    }

    /// `(if-macro name then else)`: compiles `then` when `name`, where the
    /// form is compiled, names a macro (not a local, not a special form),
    /// else `else`; the other branch is never compiled. A macro decides
    /// with it what its expansion does with a call it was given, as
    /// `calf.test/is` does: a function's arguments can be evaluated first
    /// and shown, a macro's cannot, since a macro needs them as forms.
    pub(super) fn compile_if_macro(
        &mut self,
        form: &Value,
        items: &[Value],
        tail: Tail,
    ) -> Result<()> {
        self.expect_args(form, items, 3, 3, "(if-macro name then else)")?;
        let Value::Symbol(sym) = items[1] else {
            return Err(self
                .error_at(form, "if-macro needs a name")
                .with_hint("write it as (if-macro name then else), the name without a quote"));
        };
        let is_macro = !self.is_special(sym)
            && self.resolve_local(sym).is_none()
            && self
                .globals
                .resolve(self.ns, sym)
                .is_some_and(|var| var.is_macro());
        let branch = if is_macro { 2 } else { 3 };
        self.compile(&items[branch], self.spans.item_span(form, branch), tail)
    }

    /// Refuses a private var of another namespace. The core library's are
    /// exempt: its macros expand to calls of them.
    pub(super) fn check_access(&self, var: &Arc<Var>) -> Result<()> {
        let owner = var.namespace();
        if !var.is_private() || owner == self.ns.name() || owner == CORE {
            return Ok(());
        }
        Err(self
            .error_here(format!(
                "{} is private to namespace {owner}",
                var.name
            ))
            .with_hint(format!(
                "only code in {owner} may use it; make it public there (defn instead of defn-) to use it from {}",
                self.ns
            )))
    }

    /// A hint for a qualified symbol that resolves to nothing.
    pub(super) fn unresolved_qualified_hint(&self, sym: Sym) -> String {
        let prefix = sym.namespace().unwrap_or_default();
        let target = self.namespace_of_prefix(prefix);
        if self.globals.find_namespace(target).is_some() {
            format!("namespace {target} does not define {}", sym.local_name())
        } else if target.name() == prefix {
            format!(
                "no namespace or alias {prefix} here: require it first, e.g. (ns {} (:require [{prefix}]))",
                self.ns
            )
        } else {
            format!("alias {prefix} names namespace {target}, which is not loaded")
        }
    }
}
