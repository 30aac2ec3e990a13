//! Maps and sets, and the associative side of vectors: building, updating
//! and looking up by key.

use super::helpers::take_arg;
use triomphe::Arc;

use super::helpers::{
    entry, illegal, items, list_of, out_of_bounds,
    type_error,
};
use crate::error::RuntimeError;
use crate::value::lazy::realized_key;
use crate::value::{Hasher, Map, Parts, Value};

/// Asks for the lazy seqs the keys hold realized before any is hashed
/// (see [`realized_key`]).
pub(super) fn keys_realized<'a>(keys: impl IntoIterator<Item = &'a Value>) -> Result<(), RuntimeError> {
    keys.into_iter().try_for_each(realized_key)
}

fn hash_map(args: &[Value]) -> Result<Value, RuntimeError> {
    if !args.len().is_multiple_of(2) {
        return Err(illegal(
            "hash-map",
            "expects an even number of keys and values",
        ));
    }
    keys_realized(args.iter().step_by(2))?;
    let map: Map = args
        .chunks_exact(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect();
    Ok(Value::Map(Arc::new(map)))
}

fn hash_set(args: &[Value]) -> Result<Value, RuntimeError> {
    keys_realized(args)?;
    Ok(Value::Set(Arc::new(args.iter().cloned().collect())))
}

/// `(assoc coll k v)` for one key, `coll` being argument `pos` of `fname`.
/// A collection held only here is updated in place.
fn assoc1(fname: &str, pos: usize, coll: Value, k: Value, v: Value) -> Result<Value, RuntimeError> {
    match coll.into_parts() {
        Parts::Other(Value::Nil) => {
            let mut map = Map::default();
            map.insert(k, v);
            Ok(Value::Map(Arc::new(map)))
        }
        Parts::Map(mut m) => {
            Arc::make_mut(&mut m).insert(k, v);
            Ok(Value::Map(m))
        }
        Parts::Sorted(mut s) if !s.set => {
            super::sorted::insert(fname, Arc::make_mut(&mut s), k, v)?;
            Ok(Value::Sorted(s))
        }
        Parts::Vector(mut items) => {
            let Value::Int(index) = k else {
                return Err(RuntimeError::wrong_type(
                    fname,
                    pos + 1,
                    "an integer index",
                    &k,
                ));
            };
            let len = items.len();
            match usize::try_from(index) {
                Ok(i) if i < len => {
                    Arc::make_mut(&mut items).set(i, v);
                    Ok(Value::Vector(items))
                }
                Ok(i) if i == len => {
                    Arc::make_mut(&mut items).push_back(v);
                    Ok(Value::Vector(items))
                }
                _ => Err(out_of_bounds(fname, index, len)),
            }
        }
        other => Err(RuntimeError::wrong_type(
            fname,
            pos,
            "a map, a vector or nil",
            &other.into_value(),
        )),
    }
}

fn assoc(args: &mut [Value]) -> Result<Value, RuntimeError> {
    if args.len().is_multiple_of(2) {
        return Err(illegal("assoc", "expects a value for every key"));
    }
    // An index loop: the loops that build maps call assoc with one key,
    // and an iterator here cost a dozen instructions a call.
    let mut key = 1;
    while key < args.len() {
        realized_key(&args[key])?;
        key += 2;
    }
    let (coll, pairs) = args
        .split_first_mut()
        .expect("assoc takes 3 or more arguments");
    let mut coll = take_arg(coll);
    for kv in pairs.chunks_exact_mut(2) {
        coll = assoc1("assoc", 1, coll, take_arg(&mut kv[0]), take_arg(&mut kv[1]))?;
    }
    Ok(coll)
}

fn dissoc(args: &mut [Value]) -> Result<Value, RuntimeError> {
    keys_realized(&args[1..])?;
    match take_arg(&mut args[0]).into_parts() {
        Parts::Other(Value::Nil) => Ok(Value::Nil),
        Parts::Map(mut m) => {
            for k in &args[1..] {
                if m.contains_key(k) {
                    Arc::make_mut(&mut m).remove(k);
                }
            }
            Ok(Value::Map(m))
        }
        Parts::Sorted(mut s) if !s.set => {
            for k in &args[1..] {
                super::sorted::remove(Arc::make_mut(&mut s), k);
            }
            Ok(Value::Sorted(s))
        }
        other => {
            args[0] = other.into_value();
            Err(type_error("dissoc", args, 0, "a map or nil"))
        }
    }
}

fn disj(args: &mut [Value]) -> Result<Value, RuntimeError> {
    keys_realized(&args[1..])?;
    match take_arg(&mut args[0]).into_parts() {
        Parts::Other(Value::Nil) => Ok(Value::Nil),
        Parts::Set(mut set) => {
            for k in &args[1..] {
                if set.contains(k) {
                    Arc::make_mut(&mut set).remove(k);
                }
            }
            Ok(Value::Set(set))
        }
        Parts::Sorted(mut s) if s.set => {
            for k in &args[1..] {
                super::sorted::remove(Arc::make_mut(&mut s), k);
            }
            Ok(Value::Sorted(s))
        }
        other => {
            args[0] = other.into_value();
            Err(type_error("disj", args, 0, "a set or nil"))
        }
    }
}

/// What `get` finds: `None` when the key is absent (so a default applies)
/// or the collection does not support lookup.
pub fn lookup(coll: &Value, k: &Value) -> Option<Value> {
    match coll {
        Value::Map(m) => m.get(k).cloned(),
        Value::Vector(items) => match k {
            Value::Int(i) => usize::try_from(*i).ok().and_then(|i| items.get(i)).cloned(),
            _ => None,
        },
        Value::Set(s) => s.contains(k).then(|| k.clone()),
        Value::Sorted(s) if s.set => s.get_key(k).cloned(),
        Value::Sorted(s) => s.get(k).cloned(),
        Value::Str(text) => match k {
            Value::Int(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| text.chars().nth(i))
                .map(Value::Char),
            _ => None,
        },
        _ => None,
    }
}

fn get(args: &[Value]) -> Result<Value, RuntimeError> {
    realized_key(&args[1])?;
    Ok(lookup(&args[0], &args[1]).unwrap_or_else(|| args.get(2).cloned().unwrap_or(Value::Nil)))
}

fn get_in(args: &[Value]) -> Result<Value, RuntimeError> {
    keys_realized(items("get-in", args, 1)?.collect::<Vec<_>>().iter())?;
    let mut cur = args[0].clone();
    for k in items("get-in", args, 1)? {
        match lookup(&cur, &k) {
            Some(v) => cur = v,
            None => return Ok(args.get(2).cloned().unwrap_or(Value::Nil)),
        }
    }
    Ok(cur)
}

fn assoc_in(args: &[Value]) -> Result<Value, RuntimeError> {
    let mut keys: Vec<Value> = items("assoc-in", args, 1)?.collect();
    keys_realized(&keys)?;
    // As in Clojure, an empty path means the key nil.
    let last = keys.pop().unwrap_or(Value::Nil);
    let mut containers = Vec::with_capacity(keys.len());
    let mut cur = args[0].clone();
    for k in &keys {
        let next = lookup(&cur, k).unwrap_or(Value::Nil);
        containers.push(cur);
        cur = next;
    }
    let mut value = assoc1("assoc-in", 1, cur, last, args[2].clone())?;
    for (container, k) in containers.into_iter().zip(keys).rev() {
        value = assoc1("assoc-in", 1, container, k, value)?;
    }
    Ok(value)
}

fn contains(args: &[Value]) -> Result<Value, RuntimeError> {
    let k = &args[1];
    realized_key(k)?;
    let found = match &args[0] {
        Value::Nil => false,
        Value::Map(m) => m.contains_key(k),
        Value::Set(s) => s.contains(k),
        Value::Sorted(s) => s.get_key(k).is_some(),
        Value::Vector(v) => {
            matches!(k, Value::Int(i) if usize::try_from(*i).is_ok_and(|i| i < v.len()))
        }
        Value::Str(s) => {
            matches!(k, Value::Int(i) if usize::try_from(*i).is_ok_and(|i| i < s.chars().count()))
        }
        _ => {
            return Err(type_error(
                "contains?",
                args,
                0,
                "a map, a set, a vector, a string or nil",
            ))
        }
    };
    Ok(Value::Bool(found))
}

fn find(args: &[Value]) -> Result<Value, RuntimeError> {
    realized_key(&args[1])?;
    match &args[0] {
        Value::Nil => Ok(Value::Nil),
        Value::Map(m) => Ok(m
            .get_key_value(&args[1])
            .map_or(Value::Nil, |(k, v)| entry(k, v))),
        Value::Sorted(s) if !s.set => Ok(s
            .get_key(&args[1])
            .zip(s.get(&args[1]))
            .map_or(Value::Nil, |(k, v)| entry(k, v))),
        Value::Vector(_) => {
            Ok(lookup(&args[0], &args[1]).map_or(Value::Nil, |v| entry(&args[1], &v)))
        }
        _ => Err(type_error("find", args, 0, "a map, a vector or nil")),
    }
}

fn map_part(fname: &str, args: &[Value], keys: bool) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Nil => Ok(Value::Nil),
        Value::Map(m) if m.is_empty() => Ok(Value::Nil),
        Value::Sorted(s) if !s.set && s.is_empty() => Ok(Value::Nil),
        Value::Sorted(s) if !s.set => Ok(list_of(
            s.iter()
                .map(|(k, v)| if keys { k.clone() } else { v.clone() })
                .collect(),
        )),
        Value::Map(m) => Ok(list_of(if keys {
            m.keys().cloned().collect()
        } else {
            m.values().cloned().collect()
        })),
        _ => Err(type_error(fname, args, 0, "a map or nil")),
    }
}

fn keys(args: &[Value]) -> Result<Value, RuntimeError> {
    map_part("keys", args, true)
}

fn vals(args: &[Value]) -> Result<Value, RuntimeError> {
    map_part("vals", args, false)
}

fn key(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Vector(kv) if kv.len() == 2 => Ok(kv[0].clone()),
        _ => Err(type_error("key", args, 0, "a map entry")),
    }
}

fn val(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Vector(kv) if kv.len() == 2 => Ok(kv[1].clone()),
        _ => Err(type_error("val", args, 0, "a map entry")),
    }
}

/// `merge` onto a sorted map: a sorted map, as in Clojure.
fn merge_sorted(args: &[Value], start: usize, first: &crate::value::Sorted) -> Result<Value, RuntimeError> {
    let mut sorted = first.clone();
    for (i, m) in args.iter().enumerate().skip(start + 1) {
        match m {
            Value::Nil => {}
            Value::Map(_) | Value::Sorted(_) => {
                super::sorted::conj1("merge", i + 1, &mut sorted, m.clone())?;
            }
            _ => return Err(type_error("merge", args, i, "a map or nil")),
        }
    }
    Ok(Value::Sorted(Arc::new(sorted)))
}

fn merge(args: &[Value]) -> Result<Value, RuntimeError> {
    let Some(start) = args.iter().position(|m| !matches!(m, Value::Nil)) else {
        return Ok(Value::Nil);
    };
    let mut map = match &args[start] {
        Value::Map(m) => (**m).clone(),
        Value::Sorted(s) if !s.set => return merge_sorted(args, start, s),
        _ => return Err(type_error("merge", args, start, "a map or nil")),
    };
    for (i, m) in args.iter().enumerate().skip(start + 1) {
        match m {
            Value::Nil => {}
            Value::Map(other) => {
                if map.is_empty() {
                    map = (**other).clone();
                } else {
                    for (k, v) in other.iter() {
                        map.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Vector(kv) if kv.len() == 2 => {
                map.insert(kv[0].clone(), kv[1].clone());
            }
            _ => return Err(type_error("merge", args, i, "a map or nil")),
        }
    }
    Ok(Value::Map(Arc::new(map)))
}

fn select_keys(args: &[Value]) -> Result<Value, RuntimeError> {
    keys_realized(items("select-keys", args, 1)?.collect::<Vec<_>>().iter())?;
    let mut out = Map::default();
    match &args[0] {
        Value::Nil => {}
        Value::Map(m) => {
            for k in items("select-keys", args, 1)? {
                if let Some(v) = m.get(&k) {
                    let v = v.clone();
                    out.insert(k, v);
                }
            }
        }
        Value::Sorted(m) if !m.set => {
            for k in items("select-keys", args, 1)? {
                if let Some(v) = m.get(&k) {
                    let v = v.clone();
                    out.insert(k, v);
                }
            }
        }
        _ => return Err(type_error("select-keys", args, 0, "a map or nil")),
    }
    Ok(Value::Map(Arc::new(out)))
}

fn zipmap(args: &[Value]) -> Result<Value, RuntimeError> {
    keys_realized(items("zipmap", args, 0)?.collect::<Vec<_>>().iter())?;
    let keys = items("zipmap", args, 0)?;
    let vals = items("zipmap", args, 1)?;
    let map: Map = keys.zip(vals).collect();
    Ok(Value::Map(Arc::new(map)))
}

#[allow(clippy::mutable_key_type)]
fn frequencies(args: &[Value]) -> Result<Value, RuntimeError> {
    keys_realized(items("frequencies", args, 0)?.collect::<Vec<_>>().iter())?;
    let mut counts: std::collections::HashMap<Value, i64, Hasher> = Default::default();
    for x in items("frequencies", args, 0)? {
        *counts.entry(x).or_insert(0) += 1;
    }
    let map: Map = counts
        .into_iter()
        .map(|(k, n)| (k, Value::Int(n)))
        .collect();
    Ok(Value::Map(Arc::new(map)))
}

fn set(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match &args[0] {
        Value::Set(_) => args[0].clone(),
        _ => {
            let members: Vec<Value> = items("set", args, 0)?.collect();
            keys_realized(&members)?;
            Value::Set(Arc::new(members.into_iter().collect()))
        }
    })
}

natives! {
    pure "hash-map" "0.." hash_map,
        "Returns a map of the alternating keys and values.";
    pure "hash-set" "0.." hash_set,
        "Returns a set of the arguments.";
    consuming "assoc" "3.." assoc,
        "Returns the map (or vector, by index) with each key set to its value; nil gives a map.";
    consuming "dissoc" "1.." dissoc,
        "Returns the map without the given keys.";
    consuming "disj" "1.." disj,
        "Returns the set without the given items.";
    pure "get" "2..=3" get,
        "Returns the value at a key of a map, an index of a vector or string, or a member of a set, else the default or nil.";
    pure "get-in" "2..=3" get_in,
        "Follows a sequence of keys into nested collections, returning the default or nil where one is missing.";
    pure "assoc-in" "3" assoc_in,
        "Sets the value at a sequence of keys in nested collections, making maps where levels are missing.";
    pure "contains?" "2" contains,
        "True if the map has the key, the set the member, or the vector or string the index.";
    pure "find" "2" find,
        "Returns the [key value] entry for the key, or nil.";
    pure "keys" "1" keys,
        "Returns a list of the map's keys, or nil if it is empty.";
    pure "vals" "1" vals,
        "Returns a list of the map's values, or nil if it is empty.";
    pure "key" "1" key,
        "Returns the key of a [key value] map entry.";
    pure "val" "1" val,
        "Returns the value of a [key value] map entry.";
    pure "merge" "0.." merge,
        "Returns a map of all the maps' entries, later ones winning; nil if all are nil.";
    pure "select-keys" "2" select_keys,
        "Returns a map of only those entries whose key is in the sequence.";
    pure "zipmap" "2" zipmap,
        "Returns a map of the keys paired with the values, as far as both go.";
    pure "frequencies" "1" frequencies,
        "Returns a map from each distinct item to the number of times it occurs.";
    pure "set" "1" set,
        "Returns a set of the items.";
}
