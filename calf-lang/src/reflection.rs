//! What a running program asks of its namespaces: `resolve`, `find-var`,
//! `intern`, `ns-publics` and their kin.
//!
//! Natives see only their arguments, so these are effects
//! ([`crate::vm::Effect::Namespace`]): the process that runs the program
//! answers them with [`answer`], from its namespaces and the namespace its
//! code is evaluated in. A namespace is named by its symbol: `the-ns`,
//! `find-ns` and `all-ns` give symbols, and every function that takes a
//! namespace takes its symbol.

use std::sync::Arc;

use crate::error::RuntimeError;
use crate::namespace::{Globals, Namespace};
use crate::value::{Sym, Value};

/// A question about the namespaces, with its arguments checked.
#[derive(Clone, Debug)]
pub enum NamespaceOp {
    /// `(resolve sym)` and `(ns-resolve ns sym)`: the var `sym` names
    /// there (the current namespace when `ns` is `None`), or `nil`.
    Resolve { ns: Option<Sym>, sym: Sym },
    /// `(find-var 'ns/name)`: that var, or `nil`.
    FindVar(Sym),
    /// `(intern ns name value?)`: the var `name` of `ns`, made if needed,
    /// set to `value` if one is given.
    Intern {
        ns: Sym,
        name: Sym,
        value: Option<Value>,
    },
    /// `(the-ns ns)`: the namespace, which must exist.
    TheNs(Sym),
    /// `(find-ns ns)`: the namespace, or `nil`.
    FindNs(Sym),
    /// `(ns-publics ns)`: its public vars, by name.
    Publics(Sym),
    /// `(ns-interns ns)`: all its vars, by name.
    Interns(Sym),
    /// `(all-ns)`: every namespace.
    AllNs,
}

/// The answer to `op` asked by code evaluated in namespace `current`.
pub fn answer(op: NamespaceOp, globals: &Globals, current: Sym) -> Result<Value, RuntimeError> {
    Ok(match op {
        NamespaceOp::Resolve { ns, sym } => {
            let ns = match ns {
                Some(ns) => the_ns(globals, ns, "ns-resolve")?.name,
                None => current,
            };
            var_or_nil(globals.resolve(ns, sym))
        }
        NamespaceOp::FindVar(sym) => {
            let Some(prefix) = sym.namespace() else {
                return Err(RuntimeError::new(
                    "calf/illegal-argument",
                    format!(
                        "find-var: {sym} names no namespace: write it as ns/name, e.g. 'user/{sym}"
                    ),
                ));
            };
            var_or_nil(
                globals
                    .find_namespace(Sym::new(prefix))
                    .and_then(|ns| ns.lookup(Sym::new(sym.local_name()))),
            )
        }
        NamespaceOp::Intern { ns, name, value } => {
            if name.namespace().is_some() {
                return Err(RuntimeError::new(
                    "calf/illegal-argument",
                    format!("intern: the name {name} must not be qualified: the namespace is the first argument"),
                ));
            }
            let var = the_ns(globals, ns, "intern")?.intern(name);
            if let Some(value) = value {
                var.set(value);
            }
            Value::Var(var)
        }
        NamespaceOp::TheNs(ns) => Value::Symbol(the_ns(globals, ns, "the-ns")?.name),
        NamespaceOp::FindNs(ns) => match globals.find_namespace(ns) {
            Some(found) => Value::Symbol(found.name),
            None => Value::Nil,
        },
        NamespaceOp::Publics(ns) => vars_by_name(&*the_ns(globals, ns, "ns-publics")?, false),
        NamespaceOp::Interns(ns) => vars_by_name(&*the_ns(globals, ns, "ns-interns")?, true),
        NamespaceOp::AllNs => Value::list(
            globals
                .namespace_names()
                .into_iter()
                // A second name of a bundled namespace (`supervisor`) is
                // not a namespace of its own.
                .filter(|name| {
                    globals
                        .find_namespace(*name)
                        .is_some_and(|ns| ns.name == *name)
                })
                .map(Value::Symbol),
        ),
    })
}

fn var_or_nil(var: Option<Arc<crate::namespace::Var>>) -> Value {
    var.map_or(Value::Nil, Value::Var)
}

fn the_ns(globals: &Globals, ns: Sym, function: &str) -> Result<Arc<Namespace>, RuntimeError> {
    globals.find_namespace(ns).ok_or_else(|| {
        RuntimeError::new(
            "calf/namespace-not-found",
            format!("{function}: no namespace {ns}: require it first, or check the name"),
        )
        .with("ns", Value::Symbol(ns))
    })
}

/// A map from each var's name to the var, the private ones only `with_private`.
fn vars_by_name(ns: &Namespace, with_private: bool) -> Value {
    Value::map(
        ns.vars()
            .into_iter()
            .filter(|var| with_private || !var.is_private())
            .map(|var| (Value::symbol(var.name.local_name()), Value::Var(var))),
    )
}
