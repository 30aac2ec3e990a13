//! Global definitions: vars grouped in namespaces.
//!
//! A var is the one mutable cell of the language: `def` sets it, and every
//! process sees the newest value. Compiled code holds the `Arc<Var>` itself,
//! so reading a global is no hash lookup.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rustc_hash::FxHashMap;

use crate::span::Span;
use crate::value::{Native, Sym, Value};

/// The namespace of the core library.
pub const CORE: &str = "calf.core";
/// The namespace code runs in until it says `ns`.
pub const USER: &str = "user";

/// How many times any namespace of any runtime changed (a var set, made,
/// marked, documented; an alias or refer added). A copy of namespaces
/// made at one count is still exact while the count stays: a durable
/// process's save reuses its program's image of them.
static CHANGES: AtomicU64 = AtomicU64::new(0);

/// The count of changes to namespaces so far (see [`CHANGES`]).
pub fn changes() -> u64 {
    CHANGES.load(Ordering::Acquire)
}

fn changed() {
    CHANGES.fetch_add(1, Ordering::AcqRel);
}

/// Documentation and other facts about a var.
#[derive(Clone, Debug, Default)]
pub struct VarMeta {
    pub doc: Option<String>,
    pub private: bool,
    /// Where it was defined, for `source` and error messages.
    pub defined_at: Option<Span>,
    /// The parameter vectors of a function, for `doc`.
    pub arglists: Option<Value>,
    /// The attribute map of its definition (and the metadata on its name,
    /// `^:private`, `^String`), as written: its other keys are in `meta`.
    pub attrs: Option<Value>,
}

/// A named global cell.
#[derive(Debug)]
pub struct Var {
    /// The qualified name, `ns/name`.
    pub name: Sym,
    value: RwLock<Option<Value>>,
    /// The value again when it is a native (null otherwise), readable
    /// without the lock: most globals a loop reads are `conj`, `str`,
    /// `+` ..., and a read lock costs two atomic read-modify-writes.
    native: AtomicPtr<Native>,
    is_macro: AtomicBool,
    /// Whether `binding` may give it a value of a process's own: code
    /// compiled after it is marked reads the process's bindings first.
    /// Outside `meta`: the compiler asks at every reference to a global.
    dynamic: AtomicBool,
    meta: RwLock<VarMeta>,
}

impl Var {
    fn new(name: Sym) -> Var {
        Var {
            name,
            value: RwLock::new(None),
            native: AtomicPtr::new(std::ptr::null_mut()),
            is_macro: AtomicBool::new(false),
            dynamic: AtomicBool::new(false),
            meta: RwLock::new(VarMeta::default()),
        }
    }

    /// The current value, or `None` if the var was declared but never set.
    #[inline]
    pub fn get(&self) -> Option<Value> {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Calls `f` with the current value, if any, without copying it out
    /// first (the VM clones it straight onto its stack); false if unset.
    #[inline]
    pub fn with_value(&self, f: impl FnOnce(&Value)) -> bool {
        match &*self.value.read().unwrap_or_else(|e| e.into_inner()) {
            Some(value) => {
                f(value);
                true
            }
            None => false,
        }
    }

    /// The current value when it is a native, without taking the lock.
    #[inline]
    pub fn get_native(&self) -> Option<&'static Native> {
        let native = self.native.load(Ordering::Acquire);
        // SAFETY: the pointer is null or came from a `&'static Native` in
        // `set`.
        unsafe { native.cast_const().as_ref() }
    }

    pub fn set(&self, value: Value) {
        let native = match value {
            Value::Native(n) => std::ptr::from_ref(n).cast_mut(),
            _ => std::ptr::null_mut(),
        };
        let mut slot = self.value.write().unwrap_or_else(|e| e.into_inner());
        *slot = Some(value);
        // Under the lock: two `set`s cannot leave the two copies disagreeing.
        self.native.store(native, Ordering::Release);
        changed();
    }

    /// Back to declared but never set.
    fn unbind(&self) {
        let mut slot = self.value.write().unwrap_or_else(|e| e.into_inner());
        let value = slot.take();
        self.native.store(std::ptr::null_mut(), Ordering::Release);
        drop(slot);
        changed();
        // Dropped outside the lock: the value may hold the last count of
        // code that names this very var.
        drop(value);
    }

    pub fn is_bound(&self) -> bool {
        self.value
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    pub fn is_macro(&self) -> bool {
        self.is_macro.load(Ordering::Acquire)
    }

    pub fn set_macro(&self, yes: bool) {
        self.is_macro.store(yes, Ordering::Release);
        changed();
    }

    pub fn is_dynamic(&self) -> bool {
        self.dynamic.load(Ordering::Relaxed)
    }

    pub fn set_dynamic(&self, yes: bool) {
        if self.dynamic.swap(yes, Ordering::Relaxed) != yes {
            changed();
        }
    }

    pub fn meta(&self) -> VarMeta {
        self.meta.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn update_meta(&self, f: impl FnOnce(&mut VarMeta)) {
        f(&mut self.meta.write().unwrap_or_else(|e| e.into_inner()));
        changed();
    }

    /// Whether the var is meant for its own namespace only (`defn-`).
    pub fn is_private(&self) -> bool {
        self.meta.read().unwrap_or_else(|e| e.into_inner()).private
    }

    /// The namespace the var belongs to.
    pub fn namespace(&self) -> &'static str {
        self.name.namespace().unwrap_or_default()
    }

    /// The metadata of this var as a map, as `var-meta` and `meta` give it:
    /// `:name` (qualified), `:ns`, `:doc`, `:arglists`, `:macro` and
    /// `:private`, where it was defined (`:file`, `:line`, `:column`) and the
    /// text of its definition (`:source`), and `:native` for a function
    /// written in Rust.
    pub fn meta_map(&self) -> Value {
        let kw = Value::keyword;
        let meta = self.meta();
        let mut entries = vec![
            (kw("name"), Value::Symbol(self.name)),
            (kw("ns"), Value::symbol(self.namespace())),
            (kw("macro"), Value::Bool(self.is_macro())),
            (kw("private"), Value::Bool(meta.private)),
        ];
        if self.is_dynamic() {
            entries.push((kw("dynamic"), Value::Bool(true)));
        }
        if let Some(doc) = meta.doc {
            entries.push((kw("doc"), Value::str(doc)));
        }
        if let Some(arglists) = meta.arglists {
            entries.push((kw("arglists"), arglists));
        }
        if let Some(span) = meta.defined_at {
            let file = crate::span::source(span.file);
            let (line, column) = file.line_col(span.start as usize);
            entries.push((kw("file"), Value::str(file.name.as_str())));
            entries.push((kw("line"), Value::Int(line as i64)));
            entries.push((kw("column"), Value::Int(column as i64)));
            entries.push((kw("source"), Value::str(span.text())));
        }
        if matches!(self.get(), Some(Value::Native(_))) {
            entries.push((kw("native"), Value::Bool(true)));
        }
        let mut map: crate::value::Map = entries.into_iter().collect();
        if let Some(Value::Map(attrs)) = &meta.attrs {
            for (k, v) in attrs.iter() {
                if !map.contains_key(k) {
                    map.insert(k.clone(), v.clone());
                }
            }
        }
        Value::from(map)
    }
}

/// A namespace: its own vars, the aliases and referred vars it may use.
#[derive(Debug)]
pub struct Namespace {
    pub name: Sym,
    vars: RwLock<FxHashMap<Sym, Arc<Var>>>,
    aliases: RwLock<FxHashMap<Sym, Sym>>,
    refers: RwLock<FxHashMap<Sym, Arc<Var>>>,
}

impl Namespace {
    fn new(name: Sym) -> Namespace {
        Namespace {
            name,
            vars: RwLock::default(),
            aliases: RwLock::default(),
            refers: RwLock::default(),
        }
    }

    /// The var `name` of this namespace, made if it does not exist yet.
    pub fn intern(&self, name: Sym) -> Arc<Var> {
        if let Some(var) = self.lookup(name) {
            return var;
        }
        let mut vars = self.vars.write().unwrap_or_else(|e| e.into_inner());
        changed();
        vars.entry(name)
            .or_insert_with(|| Arc::new(Var::new(Sym::new(&format!("{}/{}", self.name, name)))))
            .clone()
    }

    /// The var `name` defined in this namespace.
    pub fn lookup(&self, name: Sym) -> Option<Arc<Var>> {
        self.vars
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .cloned()
    }

    pub fn add_alias(&self, alias: Sym, target: Sym) {
        self.aliases
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alias, target);
        changed();
    }

    pub fn alias(&self, alias: Sym) -> Option<Sym> {
        self.aliases
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&alias)
            .copied()
    }

    /// Every alias of this namespace, with the namespace it names.
    pub fn aliases(&self) -> Vec<(Sym, Sym)> {
        self.aliases
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(alias, target)| (*alias, *target))
            .collect()
    }

    /// The names under which vars of other namespaces are referred here.
    pub fn referred_names(&self) -> Vec<Sym> {
        self.refers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect()
    }

    /// Every var referred here, with the name it is referred under.
    pub fn refers(&self) -> Vec<(Sym, Arc<Var>)> {
        let refers = self.refers.read().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<(Sym, Arc<Var>)> = refers.iter().map(|(n, v)| (*n, v.clone())).collect();
        all.sort_by(|a, b| a.0.name().cmp(b.0.name()));
        all
    }

    pub fn refer(&self, name: Sym, var: Arc<Var>) {
        self.refers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, var);
        changed();
    }

    /// Every var defined here, sorted by name.
    pub fn vars(&self) -> Vec<Arc<Var>> {
        let mut vars: Vec<Arc<Var>> = self
            .vars
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        vars.sort_by(|a, b| a.name.name().cmp(b.name.name()));
        vars
    }

    fn referred(&self, name: Sym) -> Option<Arc<Var>> {
        self.refers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .cloned()
    }
}

impl Drop for Globals {
    fn drop(&mut self) {
        for var in self.every_var() {
            var.unbind();
        }
    }
}

/// All namespaces of one runtime (or of one job of a hosted runtime).
///
/// Dropped, it unbinds every var: a var's value is often a function whose
/// code holds the vars it names, two mutually recursive functions are a
/// cycle of counts, and `calf serve` makes fresh globals for every job it
/// runs. A function that escaped (sent to a process of another job) and
/// is called after its globals are gone finds its vars unbound.
#[derive(Debug)]
pub struct Globals {
    namespaces: RwLock<FxHashMap<Sym, Arc<Namespace>>>,
    core: Arc<Namespace>,
}

impl Globals {
    /// Empty namespaces `calf.core` and `user`; the caller installs the
    /// core library.
    pub fn new() -> Arc<Globals> {
        let core = Arc::new(Namespace::new(Sym::new(CORE)));
        let globals = Globals {
            namespaces: RwLock::default(),
            core: core.clone(),
        };
        globals
            .namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(core.name, core);
        globals.namespace(Sym::new(USER));
        Arc::new(globals)
    }

    pub fn core(&self) -> &Arc<Namespace> {
        &self.core
    }

    /// Every var of every namespace.
    fn every_var(&self) -> Vec<Arc<Var>> {
        let namespaces = self.namespaces.read().unwrap_or_else(|e| e.into_inner());
        namespaces.values().flat_map(|ns| ns.vars()).collect()
    }

    /// The namespace `name`, made if needed.
    pub fn namespace(&self, name: Sym) -> Arc<Namespace> {
        if let Some(ns) = self.find_namespace(name) {
            return ns;
        }
        changed();
        self.namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_insert_with(|| Arc::new(Namespace::new(name)))
            .clone()
    }

    pub fn find_namespace(&self, name: Sym) -> Option<Arc<Namespace>> {
        self.namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&name)
            .cloned()
    }

    /// Makes `alias` a second name of the namespace `target`, for every
    /// namespace at once (a namespace's own aliases are for it alone): a
    /// bundled namespace keeps its former name this way.
    pub fn add_namespace_alias(&self, alias: Sym, target: Sym) {
        let target = self.namespace(target);
        self.namespaces
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alias, target);
        changed();
    }

    pub fn namespace_names(&self) -> Vec<Sym> {
        let mut names: Vec<Sym> = self
            .namespaces
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        names.sort_by(|a, b| a.name().cmp(b.name()));
        names
    }

    /// What `sym` names when read in namespace `current`: a qualified
    /// `alias/name` or `ns/name`, else the current namespace's own or
    /// referred var, else the core library's.
    pub fn resolve(&self, current: Sym, sym: Sym) -> Option<Arc<Var>> {
        let ns = self.namespace(current);
        if let Some(prefix) = sym.namespace() {
            let prefix = Sym::new(prefix);
            let target = ns.alias(prefix).unwrap_or(prefix);
            return self
                .find_namespace(target)?
                .lookup(Sym::new(sym.local_name()));
        }
        ns.lookup(sym)
            .or_else(|| ns.referred(sym))
            .or_else(|| self.core.lookup(sym))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two functions that call each other hold each other's vars through
    /// their code: without the unbinding on drop, neither would be freed.
    #[test]
    fn dropped_globals_free_their_mutually_recursive_functions() {
        let globals = crate::prelude::new_globals();
        let source = "(declare pong)
                      (defn ping [n] (if (zero? n) :done (pong (dec n))))
                      (defn pong [n] (ping n))";
        crate::prelude::load_pure(&globals, "<test>", source, Sym::new(USER)).unwrap();
        let user = globals.namespace(Sym::new(USER));
        let ping = Arc::downgrade(&user.lookup(Sym::new("ping")).unwrap());
        drop(user);
        assert!(ping.upgrade().is_some_and(|var| var.is_bound()));
        drop(globals);
        assert!(ping.upgrade().is_none(), "the var outlived its globals");
    }
}
