//! The core library's functions written in Rust.
//!
//! Every native here is first-order: it computes from its arguments and never
//! calls back into the VM. Higher-order functions (`map`, `reduce`, `sort-by`,
//! `apply`, ...) are written in Calf on top of these.
//!
//! Natives are `static` [`Native`] items grouped by family; [`install`]
//! defines them all. Pure natives return a value or a [`RuntimeError`]
//! (thrown as an ex-info whose data has `:type`); effect natives (output,
//! `sleep`, `exit-program`, `now-ms`, `require`) return an [`crate::vm::Effect`] for the
//! host to carry out.

/// Defines a `static` pure native: `pure!(ID, "name", arity, f, "Doc.")`.
macro_rules! pure {
    ($id:ident, $name:literal, $arity:expr, $f:expr, $doc:literal) => {
        pub static $id: $crate::value::Native = $crate::value::Native {
            name: $name,
            arity: $arity,
            kind: $crate::value::NativeKind::Pure($f),
            doc: $doc,
        };
    };
}

/// Defines a `static` pure native that may take its arguments (see
/// [`crate::value::ConsumingFn`]), as [`pure!`] does a borrowing one.
macro_rules! consuming {
    ($id:ident, $name:literal, $arity:expr, $f:expr, $doc:literal) => {
        pub static $id: $crate::value::Native = $crate::value::Native {
            name: $name,
            arity: $arity,
            kind: $crate::value::NativeKind::Consuming($f),
            doc: $doc,
        };
    };
}

/// Defines a `static` effect native, as [`pure!`] does a pure one.
macro_rules! effect {
    ($id:ident, $name:literal, $arity:expr, $f:expr, $doc:literal) => {
        pub static $id: $crate::value::Native = $crate::value::Native {
            name: $name,
            arity: $arity,
            kind: $crate::value::NativeKind::Effect($f),
            doc: $doc,
        };
    };
}

pub mod calls;
pub mod collections;
pub mod helpers;
pub mod misc;
pub mod namespaces;
pub mod numbers;
pub mod output;
pub mod predicates;
pub mod process;
pub mod reducing;
pub mod strings;

#[cfg(test)]
mod testing;

use crate::namespace::{Globals, Namespace};
use crate::value::{Native, Sym, Value};

/// The namespace of the `string/...` functions.
pub const STRING_NS: &str = "string";

/// Every native of the core namespace, by family.
pub fn core_natives() -> impl Iterator<Item = &'static Native> {
    [
        numbers::NATIVES,
        predicates::NATIVES,
        collections::NATIVES,
        strings::NATIVES,
        output::NATIVES,
        process::NATIVES,
        calls::NATIVES,
        misc::NATIVES,
        namespaces::NATIVES,
        reducing::NATIVES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The natives of the `string` namespace; their names are `string/...`.
pub fn string_natives() -> impl Iterator<Item = &'static Native> {
    strings::STRING_NATIVES.iter().copied()
}

/// Defines every native: the core ones in the core namespace, the
/// `string/...` ones in the `string` namespace. Each var's doc is the
/// native's doc.
pub fn install(globals: &Globals) {
    for native in core_natives() {
        define(globals.core(), native.name, native);
    }
    let string_ns = globals.namespace(Sym::new(STRING_NS));
    for native in string_natives() {
        let local = native.name.strip_prefix("string/").unwrap_or(native.name);
        define(&string_ns, local, native);
    }
}

fn define(ns: &Namespace, name: &str, native: &'static Native) {
    let var = ns.intern(Sym::new(name));
    var.set(Value::Native(native));
    var.update_meta(|meta| meta.doc = Some(native.doc.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn install_defines_every_native_with_its_doc() {
        let globals = Globals::new();
        install(&globals);
        let plus = globals.core().lookup(Sym::new("+")).expect("+ defined");
        assert!(matches!(plus.get(), Some(Value::Native(n)) if n.name == "+"));
        assert!(plus.meta().doc.is_some_and(|d| !d.is_empty()));
        let join = globals
            .resolve(Sym::new("user"), Sym::new("string/join"))
            .expect("string/join resolves");
        assert!(matches!(join.get(), Some(Value::Native(n)) if n.name == "string/join"));
    }

    #[test]
    fn names_are_unique_and_docs_are_one_sentence() {
        let mut seen = HashSet::new();
        for native in core_natives().chain(string_natives()) {
            assert!(seen.insert(native.name), "duplicate native {}", native.name);
            assert!(
                native.doc.ends_with('.') && !native.doc.is_empty(),
                "doc of {} should be a sentence",
                native.name
            );
            if native.name.starts_with("string/") {
                assert!(strings::STRING_NATIVES
                    .iter()
                    .any(|n| std::ptr::eq(*n, native)));
            }
        }
    }
}
