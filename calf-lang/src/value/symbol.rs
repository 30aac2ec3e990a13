//! Interned names for symbols and keywords.
//!
//! A [`Sym`] is a 4-byte index into one process-wide table, so comparing two
//! symbols is comparing two integers. The table only grows: names are few and
//! live as long as the program.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{OnceLock, RwLock};

use rustc_hash::FxHashMap;

/// An interned name: `foo`, `ns/foo`, or the name part of a keyword `:foo`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sym(u32);

struct Interner {
    ids: FxHashMap<&'static str, Sym>,
    names: Vec<(&'static str, u64)>,
}

/// The names the reader has read as keywords, for the REPL's completion.
/// Kept apart from the interner: a symbol and a keyword share their name.
fn keyword_names() -> &'static RwLock<rustc_hash::FxHashSet<Sym>> {
    static KEYWORDS: OnceLock<RwLock<rustc_hash::FxHashSet<Sym>>> = OnceLock::new();
    KEYWORDS.get_or_init(RwLock::default)
}

fn interner() -> &'static RwLock<Interner> {
    static INTERNER: OnceLock<RwLock<Interner>> = OnceLock::new();
    INTERNER.get_or_init(|| {
        RwLock::new(Interner {
            ids: FxHashMap::default(),
            names: Vec::new(),
        })
    })
}

/// Hashes a name by its text, so that hashes (and so the print order of maps)
/// do not depend on the order in which names were interned.
fn name_hash(name: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    name.hash(&mut h);
    h.finish()
}

impl Sym {
    /// Interns `name` and returns its symbol.
    pub fn new(name: &str) -> Sym {
        if let Some(sym) = interner()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .ids
            .get(name)
        {
            return *sym;
        }
        let mut table = interner().write().unwrap_or_else(|e| e.into_inner());
        if let Some(sym) = table.ids.get(name) {
            return *sym;
        }
        // Names live for the whole program; leaking gives `&'static str`
        // lookups without a lock held by the caller.
        let text: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let sym = Sym(table.names.len() as u32);
        table.names.push((text, name_hash(text)));
        table.ids.insert(text, sym);
        sym
    }

    /// The full text of the name, `ns/foo` included.
    pub fn name(self) -> &'static str {
        interner().read().unwrap_or_else(|e| e.into_inner()).names[self.0 as usize].0
    }

    /// A hash of the text, stable across runs.
    pub fn stable_hash(self) -> u64 {
        interner().read().unwrap_or_else(|e| e.into_inner()).names[self.0 as usize].1
    }

    /// The namespace part of `ns/foo`, if any. `/` alone has none.
    pub fn namespace(self) -> Option<&'static str> {
        let name = self.name();
        match name.find('/') {
            Some(i) if i > 0 && name.len() > 1 => Some(&name[..i]),
            _ => None,
        }
    }

    /// The name without its namespace.
    pub fn local_name(self) -> &'static str {
        let name = self.name();
        match self.namespace() {
            Some(ns) => &name[ns.len() + 1..],
            None => name,
        }
    }

    pub fn id(self) -> u32 {
        self.0
    }

    /// Interns `name` as the name of a keyword read from source, so that
    /// [`Sym::read_keywords`] lists it.
    pub fn keyword(name: &str) -> Sym {
        let sym = Sym::new(name);
        let known = keyword_names()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&sym);
        if !known {
            keyword_names()
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(sym);
        }
        sym
    }

    /// The names of every keyword read so far, sorted.
    pub fn read_keywords() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = keyword_names()
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|sym| sym.name())
            .collect();
        names.sort_unstable();
        names
    }
}

impl Hash for Sym {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.stable_hash());
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fresh number for generated names; shared by `gensym` and the compiler
/// so that no two generated names collide.
pub fn next_gensym_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_splits_namespaces() {
        let a = Sym::new("app.core/run");
        assert_eq!(a, Sym::new("app.core/run"));
        assert_eq!(a.namespace(), Some("app.core"));
        assert_eq!(a.local_name(), "run");
        assert_eq!(Sym::new("/").namespace(), None);
        assert_ne!(Sym::new("x"), Sym::new("y"));
    }

    #[test]
    fn keywords_read_are_listed_and_plain_names_are_not() {
        let read = Sym::keyword("symbol-test/read-kw");
        Sym::new("symbol-test/plain-name");
        let listed = Sym::read_keywords();
        assert!(listed.contains(&read.name()));
        assert!(!listed.contains(&"symbol-test/plain-name"));
    }
}
