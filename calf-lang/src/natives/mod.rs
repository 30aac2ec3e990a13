//! The core library's functions written in Rust.
//!
//! Every native here is first-order: it computes from its arguments and never
//! calls back into the VM. Higher-order functions (`map`, `reduce`, `sort-by`,
//! `apply`, ...) are written in Calf on top of these.
//!
//! Natives are grouped by family, one module each; a family declares each
//! of its natives once, as an entry of its `natives!` table, and [`install`]
//! defines every family's table. Pure natives return a value or a
//! [`RuntimeError`] (thrown as an ex-info whose data has `:type`); effect
//! natives (output, `sleep`, `exit-program`, `now-ms`, `require`) return an
//! [`crate::vm::Effect`] for the host to carry out.

/// Declares a family's natives and is its table: the module's `NATIVES`,
/// which [`install`] defines. A native is declared once, as an entry
///
/// ```text
/// kind "name" "arity" function,
///     "Doc.";
/// ```
///
/// where the kind is `pure` (a [`crate::value::NativeFn`]), `consuming` (a
/// [`crate::value::ConsumingFn`]), `effect` (returns an [`crate::vm::Effect`])
/// or `predicate` (a `fn(&Value) -> bool` on the one argument), and the
/// arity is `"n"`, `"min..=max"` or `"min.."` (see [`arity`]). A name
/// `ns/local` is defined as `local` in namespace `ns`.
macro_rules! natives {
    (@kind pure $f:expr) => { $crate::value::NativeKind::Pure($f) };
    (@kind consuming $f:expr) => { $crate::value::NativeKind::Consuming($f) };
    (@kind effect $f:expr) => { $crate::value::NativeKind::Effect($f) };
    (@kind predicate $test:expr) => {
        $crate::value::NativeKind::Pure(|args| {
            let test: fn(&$crate::value::Value) -> bool = $test;
            Ok($crate::value::Value::Bool(test(&args[0])))
        })
    };
    ($($kind:ident $name:literal $arity:literal $f:expr, $doc:literal;)*) => {
        /// This family's natives, each declared once.
        pub static NATIVES: &[$crate::value::Native] = &[$(
            $crate::value::Native {
                name: $name,
                arity: $crate::natives::arity($arity),
                kind: natives!(@kind $kind $f),
                doc: $doc,
            },
        )*];
    };
}

/// Declares the families: each is a module whose `natives!` table
/// [`install`] walks, so that a family, like a native, cannot exist without
/// being installed.
macro_rules! families {
    ($($family:ident),+ $(,)?) => {
        $(pub mod $family;)+

        /// Every native, family by family.
        pub fn all() -> impl Iterator<Item = &'static Native> {
            [$($family::NATIVES),+].into_iter().flatten()
        }
    };
}

families!(
    numbers,
    math,
    conversions,
    predicates,
    values,
    sequences,
    maps,
    strings,
    format,
    string_namespace,
    regex,
    sorted,
    errors,
    random,
    output,
    process,
    calls,
    namespaces,
    metadata,
    evaluation,
    reducing,
    lazy,
    records,
    dynamic,
);

pub mod helpers;

#[cfg(test)]
mod testing;

use crate::namespace::{Globals, Namespace};
use crate::value::{Arity, Native, Sym, Value};

/// The arity an entry of `natives!` spells: `"n"`, `"min..=max"` or
/// `"min.."`. Evaluated as the table is built, so a misspelt arity fails
/// the build.
pub const fn arity(spec: &str) -> Arity {
    const fn number(digits: &[u8], mut at: usize) -> (u8, usize) {
        let start = at;
        let mut n: u8 = 0;
        while at < digits.len() && digits[at].is_ascii_digit() {
            n = n * 10 + (digits[at] - b'0');
            at += 1;
        }
        assert!(at > start, "an arity starts with a number");
        (n, at)
    }
    let bytes = spec.as_bytes();
    let (min, at) = number(bytes, 0);
    match bytes.len() - at {
        0 => Arity::exactly(min),
        2 if bytes[at] == b'.' && bytes[at + 1] == b'.' => Arity::at_least(min),
        _ => {
            assert!(
                bytes.len() > at + 3
                    && bytes[at] == b'.'
                    && bytes[at + 1] == b'.'
                    && bytes[at + 2] == b'=',
                "an arity is n, min..=max or min.."
            );
            let (max, end) = number(bytes, at + 3);
            assert!(
                end == bytes.len() && max >= min,
                "an arity is n, min..=max or min.."
            );
            Arity::between(min, max)
        }
    }
}

/// Every native of the core namespace: those whose names have no namespace.
pub fn core_natives() -> impl Iterator<Item = &'static Native> {
    all().filter(|native| qualified(native.name).is_none())
}

/// The namespace and local name of `ns/local`; `/` alone is a core name.
fn qualified(name: &'static str) -> Option<(&'static str, &'static str)> {
    name.split_once('/').filter(|(ns, _)| !ns.is_empty())
}

/// Defines every native, each var with the native's doc: `ns/local` as
/// `local` in namespace `ns`, any other name in the core namespace.
pub fn install(globals: &Globals) {
    for native in all() {
        match qualified(native.name) {
            Some((ns, local)) => define(&globals.namespace(Sym::new(ns)), local, native),
            None => define(globals.core(), native.name, native),
        }
    }
}

/// The native named `name` (as its table declares it: `conj`,
/// `string/join`): how a snapshot names the natives it holds.
pub fn by_name(name: &str) -> Option<&'static Native> {
    use std::sync::OnceLock;
    static BY_NAME: OnceLock<rustc_hash::FxHashMap<&'static str, &'static Native>> =
        OnceLock::new();
    BY_NAME
        .get_or_init(|| all().map(|n| (n.name, n)).collect())
        .get(name)
        .copied()
}

/// Whether every runtime makes namespace `name` itself: a native's.
pub fn defines_namespace(name: &str) -> bool {
    all().any(|n| qualified(n.name).is_some_and(|(ns, _)| ns == name))
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
    fn install_binds_every_declared_native_with_its_doc() {
        let globals = Globals::new();
        install(&globals);
        for native in all() {
            let var = globals
                .resolve(Sym::new("user"), Sym::new(native.name))
                .unwrap_or_else(|| panic!("{} is not bound", native.name));
            assert!(
                matches!(var.get(), Some(Value::Native(n)) if std::ptr::eq(n, native)),
                "{} is bound to {:?}, not its native",
                native.name,
                var.get()
            );
            assert_eq!(var.meta().doc.as_deref(), Some(native.doc));
        }
    }

    #[test]
    fn every_declared_native_is_bound_in_a_fresh_runtime() {
        // The core library may wrap a native under its own name (as `sort`
        // does to take a comparator), but never leaves a name unbound.
        let globals = crate::prelude::new_globals();
        for native in all() {
            let var = globals.resolve(Sym::new("user"), Sym::new(native.name));
            assert!(
                var.is_some_and(|var| var.is_bound()),
                "{} is not bound",
                native.name
            );
        }
    }

    #[test]
    fn qualified_names_go_to_their_namespace_and_slash_is_core() {
        assert_eq!(qualified("string/join"), Some(("string", "join")));
        assert_eq!(qualified("/"), None);
        assert!(core_natives().any(|n| n.name == "/"));
        assert!(core_natives().all(|n| !n.name.starts_with("string/")));
    }

    #[test]
    fn arities_are_spelt_as_ranges() {
        let spelt = |spec| {
            let a = arity(spec);
            (0..5).filter(|&n| a.accepts(n)).collect::<Vec<_>>()
        };
        assert_eq!(spelt("1"), [1]);
        assert_eq!(spelt("1..=3"), [1, 2, 3]);
        assert_eq!(spelt("2.."), [2, 3, 4]);
        assert_eq!(arity("12").describe(), "12");
    }

    #[test]
    fn names_are_unique_and_docs_are_one_sentence() {
        let mut seen = HashSet::new();
        for native in all() {
            assert!(seen.insert(native.name), "duplicate native {}", native.name);
            assert!(
                native.doc.ends_with('.') && !native.doc.is_empty(),
                "doc of {} should be a sentence",
                native.name
            );
        }
    }
}
