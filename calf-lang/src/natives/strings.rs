//! Strings and names: `str`, `subs`, printing to strings, `keyword`,
//! `symbol`, `gensym`, ...
//!
//! Indexes into strings count characters (Unicode scalar values), not bytes.

use super::helpers::{
    char_to_byte, int_arg, out_of_bounds, str_arg, type_error,
};
use crate::error::RuntimeError;
use crate::value::print::write_value;
use crate::value::{StrBuf, Sym, Text, Value};
use crate::vm::work;

/// Owes the work of handling `parts` values and `bytes` bytes of text.
pub(super) fn charge_text(parts: usize, bytes: usize) {
    work::charge_items(parts + bytes / super::helpers::BYTES_PER_ITEM);
}

/// Appends `value` as `str` renders it: nil as nothing, strings raw.
pub(super) fn write_str(out: &mut impl Text, value: &Value) {
    match value {
        Value::Nil => {}
        Value::Str(s) => out.push_str(s),
        // As Clojure's `str` of a pattern: the pattern as written.
        Value::Regex(r) => out.push_str(r.source()),
        _ => write_value(out, value, false),
    }
}

fn str_native(args: &[Value]) -> Result<Value, RuntimeError> {
    if let [Value::Str(_)] = args {
        return Ok(args[0].clone());
    }
    // Sized up front: growing a string by doubling reallocates it once or
    // twice per call. Text that turns out to fit inline needs no
    // allocation at all.
    let room: usize = args
        .iter()
        .map(|v| match v {
            Value::Str(s) => s.len(),
            Value::Nil => 0,
            _ => 20,
        })
        .sum();
    let mut out = StrBuf::with_capacity(room);
    let collections = may_hold_lazy(args);
    if collections {
        crate::value::lazy::clear_unrealized();
    }
    for v in args {
        write_str(&mut out, v);
    }
    charge_text(args.len(), out.len());
    if collections {
        realized_text(Value::str(out))
    } else {
        Ok(Value::str(out))
    }
}

fn subs(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("subs", args, 0)?;
    let start = int_arg("subs", args, 1)?;
    let count = || s.chars().count();
    let start_byte = usize::try_from(start)
        .ok()
        .and_then(|i| char_to_byte(s, i))
        .ok_or_else(|| out_of_bounds("subs", start, count()))?;
    let end_byte = match args.get(2) {
        None => s.len(),
        Some(_) => {
            let end = int_arg("subs", args, 2)?;
            match usize::try_from(end).ok().and_then(|i| char_to_byte(s, i)) {
                Some(b) if b >= start_byte => b,
                _ => return Err(out_of_bounds("subs", end, count())),
            }
        }
    };
    Ok(Value::str(&s[start_byte..end_byte]))
}

fn name(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Str(_) => Ok(args[0].clone()),
        Value::Keyword(k) | Value::Symbol(k) => Ok(Value::str(k.local_name())),
        _ => Err(type_error(
            "name",
            args,
            0,
            "a string, a keyword or a symbol",
        )),
    }
}

fn namespace(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Keyword(k) | Value::Symbol(k) => Ok(k.namespace().map_or(Value::Nil, Value::str)),
        _ => Err(type_error("namespace", args, 0, "a keyword or a symbol")),
    }
}

/// The interned name for `keyword` and `symbol`: from one argument
/// (string, keyword or symbol) or from a namespace (or nil) and a name.
fn make_name(fname: &str, args: &[Value]) -> Result<Option<Sym>, RuntimeError> {
    if args.len() == 2 {
        let local = str_arg(fname, args, 1)?;
        return Ok(Some(match &args[0] {
            Value::Nil => Sym::new(local),
            Value::Str(ns) => Sym::new(&format!("{ns}/{local}")),
            _ => return Err(type_error(fname, args, 0, "a string or nil")),
        }));
    }
    match &args[0] {
        Value::Nil => Ok(None),
        Value::Str(s) => Ok(Some(Sym::new(s))),
        Value::Keyword(k) | Value::Symbol(k) => Ok(Some(*k)),
        _ => Err(type_error(
            fname,
            args,
            0,
            "a string, a keyword or a symbol",
        )),
    }
}

fn keyword(args: &[Value]) -> Result<Value, RuntimeError> {
    // As in Clojure, one argument that cannot name a keyword gives nil.
    if let [Value::Int(_)
    | Value::Float(_)
    | Value::Bool(_)
    | Value::List(_)
    | Value::Vector(_)
    | Value::Map(_)
    | Value::Set(_)
    | Value::Fn(_)
    | Value::Native(_)
    | Value::Pid(_)
    | Value::Ref(_)
    | Value::Char(_)] = args
    {
        return Ok(Value::Nil);
    }
    Ok(make_name("keyword", args)?.map_or(Value::Nil, Value::Keyword))
}

fn symbol(args: &[Value]) -> Result<Value, RuntimeError> {
    match make_name("symbol", args)? {
        Some(sym) => Ok(Value::Symbol(sym)),
        None => Err(type_error(
            "symbol",
            args,
            0,
            "a string, a keyword or a symbol",
        )),
    }
}

fn gensym(args: &[Value]) -> Result<Value, RuntimeError> {
    let prefix = match args.first() {
        None => "G__",
        Some(Value::Str(s)) => s.as_str(),
        Some(Value::Symbol(s)) => s.name(),
        Some(_) => return Err(type_error("gensym", args, 0, "a string")),
    };
    Ok(Value::Symbol(Sym::new(&format!(
        "{prefix}{}",
        crate::value::next_gensym_id()
    ))))
}

/// Renders the values separated by spaces, readably or not; asks for any
/// lazy seq among them that is not realized yet (see `value/lazy.rs`).
pub fn join_printed(
    args: &[Value],
    readable: bool,
    newline: bool,
) -> Result<String, RuntimeError> {
    let mut out = String::new();
    crate::value::lazy::clear_unrealized();
    write_joined(&mut out, args, readable, newline);
    realized_text(out)
}

/// Whether printing `args` may meet a lazy seq: only collections hold one
/// (the common `(str "item-" i)` need not ask).
fn may_hold_lazy(args: &[Value]) -> bool {
    args.iter().any(|v| {
        matches!(
            v,
            Value::List(_)
                | Value::Vector(_)
                | Value::Map(_)
                | Value::Set(_)
                | Value::Sorted(_)
                | Value::Lazy(_)
        )
    })
}

/// `text`, unless printing it met a lazy seq that is not realized: then
/// the request that the VM realize it, after which the native prints again.
pub(super) fn realized_text<T>(text: T) -> Result<T, RuntimeError> {
    match crate::value::lazy::unrealized_met() {
        Some(request) => Err(request),
        None => Ok(text),
    }
}

fn write_joined(out: &mut impl Text, args: &[Value], readable: bool, newline: bool) {
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, v, readable);
    }
    if newline {
        out.push('\n');
    }
}

/// The values rendered into a new string value.
fn printed(args: &[Value], readable: bool, newline: bool) -> Result<Value, RuntimeError> {
    let mut out = StrBuf::new();
    crate::value::lazy::clear_unrealized();
    write_joined(&mut out, args, readable, newline);
    charge_text(args.len(), out.len());
    realized_text(Value::str(out))
}

fn pr_str_native(args: &[Value]) -> Result<Value, RuntimeError> {
    printed(args, true, false)
}

fn prn_str(args: &[Value]) -> Result<Value, RuntimeError> {
    printed(args, true, true)
}

fn print_str(args: &[Value]) -> Result<Value, RuntimeError> {
    printed(args, false, false)
}

fn println_str(args: &[Value]) -> Result<Value, RuntimeError> {
    printed(args, false, true)
}

natives! {
    pure "str" "0.." str_native,
        "Concatenates the printed forms of the values, strings as their text and nil as nothing.";
    pure "subs" "2..=3" subs,
        "Returns the part of the string from start up to but not including end (its length), counting characters.";
    pure "name" "1" name,
        "Returns the name of a keyword or symbol without its namespace, or a string itself.";
    pure "namespace" "1" namespace,
        "Returns the namespace of a keyword or symbol, or nil if it has none.";
    pure "keyword" "1..=2" keyword,
        "Returns a keyword from a string, symbol or keyword, or from a namespace and a name.";
    pure "symbol" "1..=2" symbol,
        "Returns a symbol from a string, symbol or keyword, or from a namespace and a name.";
    pure "gensym" "0..=1" gensym,
        "Returns a new symbol, unique in this program, whose name starts with the prefix (G__).";
    pure "pr-str" "0.." pr_str_native,
        "Returns the values printed readably, separated by spaces.";
    pure "prn-str" "0.." prn_str,
        "Returns the values printed readably, separated by spaces, with a newline.";
    pure "print-str" "0.." print_str,
        "Returns the values printed for humans, separated by spaces.";
    pure "println-str" "0.." println_str,
        "Returns the values printed for humans, separated by spaces, with a newline.";
}
