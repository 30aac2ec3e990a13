//! Auto-resolved keywords: `::name` is `:current.ns/name`, and
//! `::alias/name` is `:aliased.ns/name`. The reader cannot resolve them (it
//! reads a whole file before any `ns` form in it runs), so it keeps them as
//! keywords whose name starts with `:`, and the compiler resolves them
//! where it makes a constant, in the namespace the form is compiled in.

use super::{Compiler, Result};
use crate::value::{Sym, Value};

/// Whether `keyword` is one the reader left to resolve.
fn is_auto(keyword: Sym) -> bool {
    keyword.name().starts_with(':')
}

/// Whether `value` holds an auto-resolved keyword anywhere.
fn holds_auto(value: &Value) -> bool {
    match value {
        Value::Keyword(k) => is_auto(*k),
        Value::List(items) | Value::Vector(items) => items.iter().any(holds_auto),
        Value::Set(items) => items.iter().any(holds_auto),
        Value::Map(map) => map.iter().any(|(k, v)| holds_auto(k) || holds_auto(v)),
        _ => false,
    }
}

impl Compiler<'_> {
    /// `value` with its auto-resolved keywords resolved: unchanged (the
    /// same collections) when it has none.
    pub(super) fn resolve_keywords(&self, value: Value) -> Result<Value> {
        if !holds_auto(&value) {
            return Ok(value);
        }
        self.resolved(&value)
    }

    fn resolved(&self, value: &Value) -> Result<Value> {
        let each = |items: &mut dyn Iterator<Item = &Value>| -> Result<Vec<Value>> {
            items.map(|item| self.resolved(item)).collect()
        };
        Ok(match value {
            Value::Keyword(k) if is_auto(*k) => Value::Keyword(self.resolve_keyword(*k)?),
            Value::List(items) => Value::list(each(&mut items.iter())?),
            Value::Vector(items) => Value::vector(each(&mut items.iter())?),
            Value::Set(items) => Value::set(each(&mut items.iter())?),
            Value::Map(map) if map.record_type().is_none() => Value::map(
                map.iter()
                    .map(|(k, v)| Ok((self.resolved(k)?, self.resolved(v)?)))
                    .collect::<Result<Vec<_>>>()?,
            ),
            other => other.clone(),
        })
    }

    fn resolve_keyword(&self, keyword: Sym) -> Result<Sym> {
        let written = &keyword.name()[1..];
        let (ns, name) = match written.split_once('/') {
            None => (self.ns, written),
            Some((alias, name)) => {
                let ns = self.globals.namespace(self.ns).alias(Sym::new(alias));
                let Some(ns) = ns else {
                    return Err(self
                        .error_here(format!(
                            "`::{written}`: no namespace is aliased `{alias}` in {}",
                            self.ns.name()
                        ))
                        .with_hint(format!(
                            "require it with an alias, as in (require '[some.ns :as {alias}]), \
                             or write the keyword with its namespace, :some.ns/{name}"
                        )));
                };
                (ns, name)
            }
        };
        Ok(Sym::keyword(&format!("{}/{name}", ns.name())))
    }
}
