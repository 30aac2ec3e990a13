//! Destructuring: a pattern and a value become plain `name value` bindings.
//!
//! `[a b & more :as all]` and `{:keys [x y] :or {y 0} :as m, z :z}` expand
//! into bindings that call the core `nth`, `nthnext` and `get`, exactly as
//! Clojure's `destructure` does.

use crate::value::{next_gensym_id, Sym, Value};

/// A fresh local name that no source can write.
pub(super) fn gensym(prefix: &str) -> Sym {
    Sym::new(&format!("{prefix}__{}#", next_gensym_id()))
}

fn core(name: &str) -> Value {
    Value::symbol(&format!("calf.core/{name}"))
}

fn call(name: &str, args: impl IntoIterator<Item = Value>) -> Value {
    let mut items = vec![core(name)];
    items.extend(args);
    Value::list(items)
}

/// Bindings that take `init` apart as `pattern` says, in order.
pub(super) fn expand(pattern: &Value, init: &Value) -> Result<Vec<(Sym, Value)>, String> {
    let mut out = Vec::new();
    bind(pattern, init.clone(), &mut out)?;
    Ok(out)
}

fn bind(pattern: &Value, init: Value, out: &mut Vec<(Sym, Value)>) -> Result<(), String> {
    match pattern {
        Value::Symbol(s) if s.namespace().is_none() && s.name() != "&" => {
            out.push((*s, init));
            Ok(())
        }
        Value::Vector(items) => {
            let whole = gensym("vec");
            out.push((whole, init));
            let mut i = 0;
            let mut position = 0i64;
            while i < items.len() {
                let item = &items[i];
                if item.is_symbol("&") {
                    let rest = items
                        .get(i + 1)
                        .ok_or("& in a pattern must be followed by a name or pattern")?;
                    bind(
                        rest,
                        call("nthnext", [Value::Symbol(whole), Value::Int(position)]),
                        out,
                    )?;
                    i += 2;
                } else if matches!(item, Value::Keyword(k) if k.name() == "as") {
                    match items.get(i + 1) {
                        Some(Value::Symbol(name)) => out.push((*name, Value::Symbol(whole))),
                        _ => return Err(":as in a pattern must be followed by a name".into()),
                    }
                    i += 2;
                } else {
                    bind(
                        item,
                        call(
                            "nth",
                            [Value::Symbol(whole), Value::Int(position), Value::Nil],
                        ),
                        out,
                    )?;
                    position += 1;
                    i += 1;
                }
            }
            Ok(())
        }
        Value::Map(entries) => {
            let whole = gensym("map");
            out.push((whole, init));
            let defaults = entries.get(&Value::keyword("or")).cloned();
            let default_for = |name: Sym| -> Option<Value> {
                match &defaults {
                    Some(Value::Map(d)) => d.get(&Value::Symbol(name)).cloned(),
                    _ => None,
                }
            };
            let lookup = |key: Value, name: Sym| -> Value {
                let mut args = vec![Value::Symbol(whole), key];
                if let Some(default) = default_for(name) {
                    args.push(default);
                }
                call("get", args)
            };
            if let Some(defaults) = &defaults {
                if !matches!(defaults, Value::Map(_)) {
                    return Err(":or in a map pattern must be a map of names to defaults".into());
                }
            }
            for (key, value) in entries.iter() {
                match key {
                    Value::Keyword(k) if k.name() == "as" => match value {
                        Value::Symbol(name) => out.push((*name, Value::Symbol(whole))),
                        _ => return Err(":as in a pattern must be followed by a name".into()),
                    },
                    Value::Keyword(k) if k.name() == "or" => {}
                    Value::Keyword(k) if matches!(k.name(), "keys" | "strs" | "syms") => {
                        let Some(names) = value.as_seq() else {
                            return Err(format!(
                                ":{} in a map pattern must be a vector of names",
                                k.name()
                            ));
                        };
                        for name in names.iter() {
                            let Value::Symbol(name) = name else {
                                return Err(format!(
                                    ":{} in a map pattern must be a vector of names",
                                    k.name()
                                ));
                            };
                            let local = Sym::new(name.local_name());
                            let key = match k.name() {
                                "keys" => Value::Keyword(*name),
                                "strs" => Value::str(name.name()),
                                _ => Value::list([Value::symbol("quote"), Value::Symbol(*name)]),
                            };
                            out.push((local, lookup(key, local)));
                        }
                    }
                    pattern => {
                        let default_name = pattern.as_symbol();
                        let get = match default_name {
                            Some(name) => lookup(value.clone(), name),
                            None => call("get", [Value::Symbol(whole), value.clone()]),
                        };
                        bind(pattern, get, out)?;
                    }
                }
            }
            Ok(())
        }
        other => Err(format!(
            "cannot bind to {}: expected a name, a vector pattern or a map pattern",
            crate::value::print::pr_str(other)
        )),
    }
}
