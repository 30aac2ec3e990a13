//! The bundled core library written in Calf, and running pure code to
//! completion (loading it needs no host: it performs no effects).

use std::sync::Arc;

use crate::compiler::{Compiler, TopLevel};
use crate::error::{message_of, SourceError};
use crate::namespace::{Globals, CORE};
use crate::reader;
use crate::span::Span;
use crate::value::{Sym, Value};
use crate::vm::{Outcome, Vm};

/// The Calf source of the core library, shipped inside the binary.
pub const CORE_SOURCE: &str = include_str!("../../stdlib/core.calf");

/// The other files of the bundled `stdlib/` directory, as (path relative
/// to it, text), sorted by path: the last place the host looks for a
/// namespace's file. Built from the directory when the crate compiles.
pub static BUNDLED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The text of bundled file `path` (relative to `stdlib/`, `/`-separated).
pub fn bundled_source(path: &str) -> Option<&'static str> {
    BUNDLED
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, text)| *text)
}

/// A fresh runtime's globals: natives and the Calf-written core library.
pub fn new_globals() -> Arc<Globals> {
    let globals = Globals::new();
    crate::natives::install(&globals);
    if let Err(e) = load_pure(&globals, "stdlib/core.calf", CORE_SOURCE, Sym::new(CORE)) {
        // The bundled library is part of the binary; failing to load it is a
        // bug in Calf itself, caught by every test.
        panic!("the bundled core library failed to load: {e}");
    }
    load_supervisor(&globals);
    // Clojure's name for the EDN reader, so that code written for Clojure
    // finds it: `(require '[clojure.edn :as edn])`.
    globals.add_namespace_alias(Sym::new("clojure.edn"), Sym::new("calf.edn"));
    define_math_constants(&globals);
    globals.add_namespace_alias(Sym::new("clojure.math"), Sym::new("calf.math"));
    globals
}

/// `calf.math/PI` and `calf.math/E`, beside the functions of `calf.math`.
fn define_math_constants(globals: &Globals) {
    let math = globals.namespace(Sym::new("calf.math"));
    for (name, value, doc) in [
        (
            "PI",
            std::f64::consts::PI,
            "The ratio of a circle's circumference to its diameter.",
        ),
        (
            "E",
            std::f64::consts::E,
            "The base of the natural logarithms.",
        ),
    ] {
        let var = math.intern(Sym::new(name));
        var.set(Value::Float(value));
        var.update_meta(|meta| meta.doc = Some(doc.to_string()));
    }
}

/// Whether every runtime makes namespace `name` the same way, from what
/// this binary bundles (`calf.core`, `calf.supervisor`, the natives'): a
/// snapshot names their vars and does not save them.
pub fn is_builtin_namespace(name: &str) -> bool {
    name == CORE || name == SUPERVISOR || crate::natives::defines_namespace(name)
}

const SUPERVISOR: &str = "calf.supervisor";

/// Loads `calf.supervisor`, which every runtime has without a `require`,
/// and gives it its former name too: `supervisor/start-link` was written
/// before the bundled namespaces moved under `calf.`.
fn load_supervisor(globals: &Arc<Globals>) {
    const PATH: &str = "calf/supervisor.calf";
    let text = bundled_source(PATH).expect("build.rs bundles every stdlib file");
    let name = Sym::new(SUPERVISOR);
    if let Err(e) = load_pure(globals, &format!("stdlib/{PATH}"), text, name) {
        panic!("the bundled supervisor library failed to load: {e}");
    }
    globals.add_namespace_alias(Sym::new("supervisor"), name);
}

/// Reads, compiles and runs every form of `text` in namespace `ns`; the
/// code must not perform effects.
pub fn load_pure(globals: &Arc<Globals>, name: &str, text: &str, ns: Sym) -> Result<(), String> {
    let forms = reader::read_str(name, text).map_err(|e| e.to_string())?;
    let mut queue: std::collections::VecDeque<(Value, Span)> =
        forms.forms.into_iter().zip(forms.form_spans).collect();
    while let Some((form, span)) = queue.pop_front() {
        let mut compiler = Compiler::new(globals, ns, &forms.spans, span);
        match compiler
            .expand_toplevel(&form)
            .map_err(|e: SourceError| e.to_string())?
        {
            TopLevel::Forms(inner) => {
                for f in inner.into_iter().rev() {
                    queue.push_front((f, span));
                }
            }
            TopLevel::Code(code) => {
                run_pure(Vm::new(code)).map_err(|e| format!("{}: {e}", span.location()))?;
            }
        }
    }
    Ok(())
}

/// Runs a VM that must finish without effects.
pub fn run_pure(mut vm: Vm) -> Result<Value, String> {
    loop {
        match vm.run(u32::MAX) {
            Outcome::Done(v) => return Ok(v),
            Outcome::Yield => {}
            Outcome::Error(thrown) => return Err(message_of(&thrown.value)),
            Outcome::Effect(effect, _) => return Err(format!("unexpected effect {effect:?}")),
            Outcome::Receive { .. } => return Err("unexpected receive".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every public function and macro of the core library has a docstring
    /// (`doc` shows it). Natives get theirs from Rust; the ones written in
    /// Calf must say `(defn name "doc" ...)`.
    #[test]
    fn every_core_function_and_macro_has_a_docstring() {
        let globals = new_globals();
        let undocumented: Vec<String> = globals
            .core()
            .vars()
            .iter()
            .filter(|var| {
                let is_fn = matches!(var.get(), Some(Value::Fn(_) | Value::Native(_)));
                (is_fn || var.is_macro()) && !var.is_private()
            })
            .filter(|var| var.meta().doc.is_none_or(|doc| doc.trim().is_empty()))
            .map(|var| var.name.to_string())
            .collect();
        assert!(
            undocumented.is_empty(),
            "these calf.core functions and macros have no docstring: {}",
            undocumented.join(", ")
        );
    }

    #[test]
    fn the_supervisor_namespace_answers_to_both_its_names() {
        let globals = new_globals();
        let start = |ns: &str| {
            globals
                .resolve(Sym::new("user"), Sym::new(&format!("{ns}/start-link")))
                .map(|var| var.name.to_string())
        };
        assert_eq!(
            start("calf.supervisor").as_deref(),
            Some("calf.supervisor/start-link")
        );
        assert_eq!(start("supervisor"), start("calf.supervisor"));
    }

    #[test]
    fn the_bundled_table_holds_the_stdlib_but_core() {
        assert!(bundled_source("core.calf").is_none());
        assert!(bundled_source("calf/set.calf").is_some_and(|t| t.contains("(ns calf.set")));
        let names: Vec<&str> = BUNDLED.iter().map(|(name, _)| *name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
