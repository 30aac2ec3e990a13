//! Syntax-quote: `` `(a ~b ~@c) `` becomes code that builds the form.
//!
//! Symbols stay as written (they are not qualified with a namespace), and
//! `name#` becomes one generated name per syntax-quote form, as in Clojure.

use rustc_hash::FxHashMap;

use crate::value::{next_gensym_id, Sym, Value};

/// The code that builds `form` at run time.
pub(super) fn expand(form: &Value) -> Result<Value, String> {
    let mut gensyms = FxHashMap::default();
    quote(form, &mut gensyms)
}

fn core(name: &str) -> Value {
    Value::symbol(&format!("calf.core/{name}"))
}

fn quoted(v: Value) -> Value {
    Value::list([Value::symbol("quote"), v])
}

/// `(op x)` when `form` is a list headed by `op`.
fn unwrap<'a>(form: &'a Value, op: &str) -> Option<&'a Value> {
    match form {
        Value::List(items) if items.len() == 2 && items[0].is_symbol(op) => Some(&items[1]),
        _ => None,
    }
}

fn quote(form: &Value, gensyms: &mut FxHashMap<Sym, Sym>) -> Result<Value, String> {
    if let Some(inner) = unwrap(form, "unquote") {
        return Ok(inner.clone());
    }
    if unwrap(form, "unquote-splicing").is_some() {
        return Err("~@ (unquote-splicing) must be inside a list, vector, map or set".into());
    }
    Ok(match form {
        Value::Symbol(s) => {
            let name = s.name();
            if name.len() > 1 && name.ends_with('#') && s.namespace().is_none() {
                let generated = *gensyms.entry(*s).or_insert_with(|| {
                    Sym::new(&format!(
                        "{}__{}__auto__",
                        &name[..name.len() - 1],
                        next_gensym_id()
                    ))
                });
                quoted(Value::Symbol(generated))
            } else {
                quoted(form.clone())
            }
        }
        Value::List(items) if items.is_empty() => quoted(form.clone()),
        Value::List(items) => concat(items.iter(), gensyms)?,
        Value::Vector(items) => Value::list([core("vec"), concat(items.iter(), gensyms)?]),
        Value::Set(items) => Value::list([core("set"), concat(items.iter(), gensyms)?]),
        Value::Map(entries) => {
            let flat: Vec<Value> = entries
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect();
            Value::list([
                core("apply"),
                core("hash-map"),
                concat(flat.iter(), gensyms)?,
            ])
        }
        _ => form.clone(),
    })
}

/// `(concat part...)` where each item is a one-item list or a spliced seq.
fn concat<'a>(
    items: impl Iterator<Item = &'a Value>,
    gensyms: &mut FxHashMap<Sym, Sym>,
) -> Result<Value, String> {
    let mut parts = vec![core("concat")];
    for item in items {
        match unwrap(item, "unquote-splicing") {
            Some(spliced) => parts.push(spliced.clone()),
            None => parts.push(Value::list([core("list"), quote(item, gensyms)?])),
        }
    }
    Ok(Value::list(parts))
}
