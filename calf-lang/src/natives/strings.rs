//! Strings, names and printing to strings: `str`, `subs`, `format`,
//! `keyword`, `gensym`, ..., and the `string/...` functions.
//!
//! Indexes into strings count characters (Unicode scalar values), not bytes.
//! `string/split` and `string/replace` take literal strings: there are no
//! regular expressions.

use super::helpers::{
    byte_to_char, char_to_byte, illegal, int_arg, items, out_of_bounds, str_arg, type_error,
    vector_of,
};
use crate::error::RuntimeError;
use crate::value::print::write_value;
use crate::value::{Arity, Native, StrBuf, Sym, Text, Value};
use crate::vm::work;

/// Owes the work of handling `parts` values and `bytes` bytes of text.
fn charge_text(parts: usize, bytes: usize) {
    work::charge_items(parts + bytes / super::helpers::BYTES_PER_ITEM);
}

/// Appends `value` as `str` renders it: nil as nothing, strings raw.
fn write_str(out: &mut impl Text, value: &Value) {
    match value {
        Value::Nil => {}
        Value::Str(s) => out.push_str(s),
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
    for v in args {
        write_str(&mut out, v);
    }
    charge_text(args.len(), out.len());
    Ok(Value::str(out))
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
    | Value::Ref(_)] = args
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

/// Renders the values separated by spaces, readably or not.
pub fn join_printed(args: &[Value], readable: bool, newline: bool) -> String {
    let mut out = String::new();
    write_joined(&mut out, args, readable, newline);
    out
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
fn printed(args: &[Value], readable: bool, newline: bool) -> Value {
    let mut out = StrBuf::new();
    write_joined(&mut out, args, readable, newline);
    charge_text(args.len(), out.len());
    Value::str(out)
}

fn pr_str_native(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(printed(args, true, false))
}

fn prn_str(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(printed(args, true, true))
}

fn print_str(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(printed(args, false, false))
}

fn println_str(args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(printed(args, false, true))
}

/// One `%...` directive of a format string.
#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    group: bool,
    width: usize,
    precision: Option<usize>,
}

impl Spec {
    /// Pads `body` (whose sign or `0x` prefix is `prefix`) to the width.
    fn pad(&self, out: &mut impl Text, prefix: &str, body: &str, numeric: bool) {
        let len = prefix.chars().count() + body.chars().count();
        let fill = self.width.saturating_sub(len);
        let repeat = |out: &mut _, c| (0..fill).for_each(|_| Text::push(out, c));
        if self.left {
            out.push_str(prefix);
            out.push_str(body);
            repeat(out, ' ');
        } else if self.zero && numeric {
            out.push_str(prefix);
            repeat(out, '0');
            out.push_str(body);
        } else {
            repeat(out, ' ');
            out.push_str(prefix);
            out.push_str(body);
        }
    }

    fn sign(&self, negative: bool) -> &'static str {
        if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        }
    }
}

/// Inserts thousands separators into a run of digits.
fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn float_of(v: &Value) -> Option<f64> {
    match v {
        Value::Float(x) => Some(*x),
        Value::Int(n) => Some(*n as f64),
        _ => None,
    }
}

/// `1.234560e+01`, as Java and C print `%e`.
fn scientific(x: f64, precision: usize, upper: bool) -> String {
    let raw = format!("{:.*e}", precision, x.abs());
    let (mantissa, exp) = raw.split_once('e').unwrap_or((&raw, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exp.abs())
}

fn format_native(args: &[Value]) -> Result<Value, RuntimeError> {
    let fmt = str_arg("format", args, 0)?;
    let mut out = StrBuf::with_capacity(fmt.len() + 16);
    let mut next_arg = 1;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&flag) = chars.peek() {
            match flag {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                ',' => spec.group = true,
                _ => break,
            }
            chars.next();
        }
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            spec.width = spec.width.saturating_mul(10).saturating_add(d as usize);
            chars.next();
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = 0usize;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize);
                chars.next();
            }
            spec.precision = Some(p.min(1000));
        }
        spec.width = spec.width.min(10_000);
        let Some(conv) = chars.next() else {
            return Err(illegal(
                "format",
                "the format string ends inside a % directive",
            ));
        };
        match conv {
            '%' => {
                spec.pad(&mut out, "", "%", false);
                continue;
            }
            'n' => {
                out.push('\n');
                continue;
            }
            _ => {}
        }
        if !"sSdxXofeEbBc".contains(conv) {
            return Err(illegal("format", format!("unknown directive %{conv}")));
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(illegal(
                "format",
                format!(
                    "no argument left for directive %{conv} (argument {})",
                    next_arg + 1
                ),
            ));
        };
        let pos = next_arg + 1;
        next_arg += 1;
        let wrong = |expected: &str| {
            RuntimeError::wrong_type("format", pos, &format!("{expected} for %{conv}"), arg)
        };
        match conv {
            's' | 'S' => {
                let mut text = String::new();
                write_value(&mut text, arg, false);
                if let Some(p) = spec.precision {
                    if let Some((b, _)) = text.char_indices().nth(p) {
                        text.truncate(b);
                    }
                }
                if conv == 'S' {
                    text = text.to_uppercase();
                }
                spec.pad(&mut out, "", &text, false);
            }
            'b' | 'B' => {
                let text = if arg.is_truthy() { "true" } else { "false" };
                let text = if conv == 'B' {
                    text.to_uppercase()
                } else {
                    text.to_string()
                };
                spec.pad(&mut out, "", &text, false);
            }
            'c' => {
                let c = match arg {
                    Value::Int(n) => u32::try_from(*n).ok().and_then(char::from_u32),
                    Value::Str(s) if s.chars().count() == 1 => s.chars().next(),
                    _ => None,
                };
                let c = c.ok_or_else(|| wrong("a character code or a one-character string"))?;
                spec.pad(&mut out, "", c.encode_utf8(&mut [0; 4]), false);
            }
            'd' => {
                let Value::Int(n) = arg else {
                    return Err(wrong("an integer"));
                };
                let digits = n.unsigned_abs().to_string();
                let digits = if spec.group {
                    group_digits(&digits)
                } else {
                    digits
                };
                spec.pad(&mut out, spec.sign(*n < 0), &digits, true);
            }
            'x' | 'X' | 'o' => {
                let Value::Int(n) = arg else {
                    return Err(wrong("an integer"));
                };
                // Negative numbers print as their two's complement, as in Java.
                let bits = *n as u64;
                let (body, prefix) = match conv {
                    'x' => (format!("{bits:x}"), "0x"),
                    'X' => (format!("{bits:X}"), "0X"),
                    _ => (format!("{bits:o}"), "0"),
                };
                spec.pad(&mut out, if spec.alt { prefix } else { "" }, &body, true);
            }
            'f' | 'e' | 'E' => {
                let x = float_of(arg).ok_or_else(|| wrong("a number"))?;
                if x.is_nan() || x.is_infinite() {
                    let text = if x.is_nan() { "NaN" } else { "Infinity" };
                    let sign = if x.is_nan() { "" } else { spec.sign(x < 0.0) };
                    spec.pad(&mut out, sign, text, false);
                    continue;
                }
                let precision = spec.precision.unwrap_or(6);
                let body = if conv == 'f' {
                    let text = format!("{:.*}", precision, x.abs());
                    if spec.group {
                        let (int, frac) = text.split_at(text.find('.').unwrap_or(text.len()));
                        format!("{}{frac}", group_digits(int))
                    } else {
                        text
                    }
                } else {
                    scientific(x, precision, conv == 'E')
                };
                let negative = x < 0.0 || (x == 0.0 && x.is_sign_negative());
                spec.pad(&mut out, spec.sign(negative), &body, true);
            }
            _ => unreachable!("checked above"),
        }
    }
    Ok(Value::str(out))
}

// ---- the string namespace ----

fn join(args: &[Value]) -> Result<Value, RuntimeError> {
    let (sep, coll) = if args.len() == 1 {
        (None, 0)
    } else {
        (Some(&args[0]), 1)
    };
    let mut sep_text = String::new();
    if let Some(sep) = sep {
        write_str(&mut sep_text, sep);
    }
    // A list or vector is read in place and the result sized up front:
    // no reference counting per item, no copying as the string grows.
    if let Value::List(parts) | Value::Vector(parts) = &args[coll] {
        let room: usize = parts
            .iter()
            .map(|v| match v {
                Value::Str(s) => s.len() + sep_text.len(),
                _ => 20 + sep_text.len(),
            })
            .sum();
        let mut out = StrBuf::with_capacity(room);
        for (i, v) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(&sep_text);
            }
            write_str(&mut out, v);
        }
        charge_text(parts.len(), out.len());
        return Ok(Value::str(out));
    }
    let mut out = StrBuf::new();
    for (i, v) in items("string/join", args, coll)?.enumerate() {
        if i > 0 {
            out.push_str(&sep_text);
        }
        write_str(&mut out, &v);
    }
    charge_text(0, out.len());
    Ok(Value::str(out))
}

/// Splits like Java's `String.split` with a literal separator: a positive
/// limit caps the number of parts, zero drops trailing empty parts, a
/// negative limit keeps them.
fn split_literal<'a>(s: &'a str, sep: &str, limit: i64) -> Vec<&'a str> {
    if s.is_empty() {
        return vec![""];
    }
    let max_parts = if limit > 0 {
        usize::try_from(limit).unwrap_or(usize::MAX)
    } else {
        usize::MAX
    };
    let mut parts: Vec<&str> = if sep.is_empty() {
        let mut parts = Vec::new();
        let mut rest = s;
        while parts.len() + 1 < max_parts {
            let mut it = rest.char_indices();
            it.next();
            match it.next() {
                Some((b, _)) => {
                    parts.push(&rest[..b]);
                    rest = &rest[b..];
                }
                None => break,
            }
        }
        parts.push(rest);
        parts
    } else {
        s.splitn(max_parts, sep).collect()
    };
    if limit == 0 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

fn strings_vector<'a>(parts: impl IntoIterator<Item = &'a str>) -> Value {
    vector_of(parts.into_iter().map(Value::str).collect())
}

fn split(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/split", args, 0)?;
    let sep = str_arg("string/split", args, 1)?;
    let limit = match args.get(2) {
        Some(_) => int_arg("string/split", args, 2)?,
        None => 0,
    };
    let parts = split_literal(s, sep, limit);
    charge_text(parts.len(), s.len());
    Ok(strings_vector(parts))
}

fn split_lines(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/split-lines", args, 0)?;
    let parts = split_literal(s, "\n", 0);
    charge_text(parts.len(), s.len());
    Ok(strings_vector(
        parts.into_iter().map(|p| p.strip_suffix('\r').unwrap_or(p)),
    ))
}

/// A string-to-string function of the string namespace.
fn map_str(fname: &str, args: &[Value], f: fn(&str) -> String) -> Result<Value, RuntimeError> {
    let s = str_arg(fname, args, 0)?;
    charge_text(0, s.len());
    Ok(Value::str(f(s)))
}

/// A string-to-string function that writes the new text straight into the
/// string value.
fn build_str(fname: &str, args: &[Value], f: fn(&str, &mut StrBuf)) -> Result<Value, RuntimeError> {
    let s = str_arg(fname, args, 0)?;
    let mut out = StrBuf::with_capacity(s.len());
    f(s, &mut out);
    charge_text(0, s.len());
    Ok(Value::str(out))
}

/// A string-to-substring function: returns the argument itself when
/// nothing is cut.
fn cut_str(fname: &str, args: &[Value], f: fn(&str) -> &str) -> Result<Value, RuntimeError> {
    let s = str_arg(fname, args, 0)?;
    let cut = f(s);
    Ok(if cut.len() == s.len() {
        args[0].clone()
    } else {
        Value::str(cut)
    })
}

fn upper_case(args: &[Value]) -> Result<Value, RuntimeError> {
    // Character by character, as `str::to_uppercase` does: upper case,
    // unlike lower case, does not depend on the characters around.
    build_str("string/upper-case", args, |s, out| {
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_uppercase());
            } else {
                c.to_uppercase().for_each(|u| out.push(u));
            }
        }
    })
}

fn lower_case(args: &[Value]) -> Result<Value, RuntimeError> {
    map_str("string/lower-case", args, str::to_lowercase)
}

fn capitalize(args: &[Value]) -> Result<Value, RuntimeError> {
    map_str("string/capitalize", args, |s| {
        let mut chars = s.chars();
        match chars.next() {
            Some(c) => c
                .to_uppercase()
                .chain(chars.as_str().to_lowercase().chars())
                .collect(),
            None => String::new(),
        }
    })
}

fn reverse(args: &[Value]) -> Result<Value, RuntimeError> {
    build_str("string/reverse", args, |s, out| {
        s.chars().rev().for_each(|c| out.push(c))
    })
}

fn trim(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/trim", args, str::trim)
}

fn triml(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/triml", args, str::trim_start)
}

fn trimr(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/trimr", args, str::trim_end)
}

fn trim_newline(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/trim-newline", args, |s| {
        s.trim_end_matches(['\n', '\r'])
    })
}

/// A test of a string against another string.
fn test_str(fname: &str, args: &[Value], f: fn(&str, &str) -> bool) -> Result<Value, RuntimeError> {
    let s = str_arg(fname, args, 0)?;
    let other = str_arg(fname, args, 1)?;
    Ok(Value::Bool(f(s, other)))
}

fn includes(args: &[Value]) -> Result<Value, RuntimeError> {
    test_str("string/includes?", args, |s, sub| s.contains(sub))
}

fn starts_with(args: &[Value]) -> Result<Value, RuntimeError> {
    test_str("string/starts-with?", args, |s, p| s.starts_with(p))
}

fn ends_with(args: &[Value]) -> Result<Value, RuntimeError> {
    test_str("string/ends-with?", args, |s, p| s.ends_with(p))
}

fn replace(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/replace", args, 0)?;
    let from = str_arg("string/replace", args, 1)?;
    let to = str_arg("string/replace", args, 2)?;
    Ok(replaced(s, from, to, usize::MAX))
}

/// `s` with its first `limit` occurrences of `from` replaced by `to`, as
/// `str::replacen` does.
fn replaced(s: &str, from: &str, to: &str, limit: usize) -> Value {
    let mut out = StrBuf::with_capacity(s.len());
    let mut last = 0;
    for (at, found) in s.match_indices(from).take(limit) {
        out.push_str(&s[last..at]);
        out.push_str(to);
        last = at + found.len();
    }
    out.push_str(&s[last..]);
    charge_text(0, s.len());
    Value::str(out)
}

fn replace_first(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/replace-first", args, 0)?;
    let from = str_arg("string/replace-first", args, 1)?;
    let to = str_arg("string/replace-first", args, 2)?;
    Ok(replaced(s, from, to, 1))
}

fn blank(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Nil => Ok(Value::Bool(true)),
        Value::Str(s) => Ok(Value::Bool(s.trim().is_empty())),
        _ => Err(type_error("string/blank?", args, 0, "a string or nil")),
    }
}

fn index_of(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/index-of", args, 0)?;
    let needle = str_arg("string/index-of", args, 1)?;
    let from = match args.get(2) {
        Some(_) => int_arg("string/index-of", args, 2)?.max(0),
        None => 0,
    };
    let Some(start) = usize::try_from(from).ok().and_then(|i| char_to_byte(s, i)) else {
        return Ok(Value::Nil);
    };
    Ok(s[start..].find(needle).map_or(
        Value::Nil,
        |b| Value::Int(byte_to_char(s, start + b) as i64),
    ))
}

fn last_index_of(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/last-index-of", args, 0)?;
    let needle = str_arg("string/last-index-of", args, 1)?;
    let end = match args.get(2) {
        Some(_) => {
            let from = int_arg("string/last-index-of", args, 2)?;
            if from < 0 {
                return Ok(Value::Nil);
            }
            // A match may start at `from`, so it may end past it.
            let start = usize::try_from(from)
                .ok()
                .and_then(|i| char_to_byte(s, i))
                .unwrap_or(s.len());
            start.saturating_add(needle.len()).min(s.len())
        }
        None => s.len(),
    };
    let mut end = end;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Ok(s[..end]
        .rfind(needle)
        .map_or(Value::Nil, |b| Value::Int(byte_to_char(s, b) as i64)))
}

pure!(
    STR,
    "str",
    Arity::at_least(0),
    str_native,
    "Concatenates the printed forms of the values, strings as their text and nil as nothing."
);
pure!(SUBS, "subs", Arity::between(2, 3), subs, "Returns the part of the string from start up to but not including end (its length), counting characters.");
pure!(
    NAME,
    "name",
    Arity::exactly(1),
    name,
    "Returns the name of a keyword or symbol without its namespace, or a string itself."
);
pure!(
    NAMESPACE,
    "namespace",
    Arity::exactly(1),
    namespace,
    "Returns the namespace of a keyword or symbol, or nil if it has none."
);
pure!(
    KEYWORD,
    "keyword",
    Arity::between(1, 2),
    keyword,
    "Returns a keyword from a string, symbol or keyword, or from a namespace and a name."
);
pure!(
    SYMBOL,
    "symbol",
    Arity::between(1, 2),
    symbol,
    "Returns a symbol from a string, symbol or keyword, or from a namespace and a name."
);
pure!(
    GENSYM,
    "gensym",
    Arity::between(0, 1),
    gensym,
    "Returns a new symbol, unique in this program, whose name starts with the prefix (G__)."
);
pure!(
    PR_STR,
    "pr-str",
    Arity::at_least(0),
    pr_str_native,
    "Returns the values printed readably, separated by spaces."
);
pure!(
    PRN_STR,
    "prn-str",
    Arity::at_least(0),
    prn_str,
    "Returns the values printed readably, separated by spaces, with a newline."
);
pure!(
    PRINT_STR,
    "print-str",
    Arity::at_least(0),
    print_str,
    "Returns the values printed for humans, separated by spaces."
);
pure!(
    PRINTLN_STR,
    "println-str",
    Arity::at_least(0),
    println_str,
    "Returns the values printed for humans, separated by spaces, with a newline."
);
pure!(FORMAT, "format", Arity::at_least(1), format_native, "Formats the values by a printf-style string: %s %d %f %e %x %o %b %c %% %n with flags, width and precision.");

pure!(
    JOIN,
    "string/join",
    Arity::between(1, 2),
    join,
    "Returns the items as strings, joined by the separator if one is given."
);
pure!(SPLIT, "string/split", Arity::between(2, 3), split, "Returns a vector of the parts of the string between occurrences of a literal separator, without trailing empty parts unless a limit says otherwise.");
pure!(
    SPLIT_LINES,
    "string/split-lines",
    Arity::exactly(1),
    split_lines,
    "Returns a vector of the lines of the string."
);
pure!(
    UPPER_CASE,
    "string/upper-case",
    Arity::exactly(1),
    upper_case,
    "Returns the string in upper case."
);
pure!(
    LOWER_CASE,
    "string/lower-case",
    Arity::exactly(1),
    lower_case,
    "Returns the string in lower case."
);
pure!(
    CAPITALIZE,
    "string/capitalize",
    Arity::exactly(1),
    capitalize,
    "Returns the string with its first character in upper case and the rest in lower case."
);
pure!(
    REVERSE,
    "string/reverse",
    Arity::exactly(1),
    reverse,
    "Returns the characters of the string in reverse order."
);
pure!(
    TRIM,
    "string/trim",
    Arity::exactly(1),
    trim,
    "Returns the string without whitespace at either end."
);
pure!(
    TRIML,
    "string/triml",
    Arity::exactly(1),
    triml,
    "Returns the string without whitespace at its start."
);
pure!(
    TRIMR,
    "string/trimr",
    Arity::exactly(1),
    trimr,
    "Returns the string without whitespace at its end."
);
pure!(
    TRIM_NEWLINE,
    "string/trim-newline",
    Arity::exactly(1),
    trim_newline,
    "Returns the string without newline and return characters at its end."
);
pure!(
    INCLUDES,
    "string/includes?",
    Arity::exactly(2),
    includes,
    "True if the string contains the other string."
);
pure!(
    STARTS_WITH,
    "string/starts-with?",
    Arity::exactly(2),
    starts_with,
    "True if the string starts with the other string."
);
pure!(
    ENDS_WITH,
    "string/ends-with?",
    Arity::exactly(2),
    ends_with,
    "True if the string ends with the other string."
);
pure!(
    REPLACE,
    "string/replace",
    Arity::exactly(3),
    replace,
    "Replaces every occurrence of a literal string with another."
);
pure!(
    REPLACE_FIRST,
    "string/replace-first",
    Arity::exactly(3),
    replace_first,
    "Replaces the first occurrence of a literal string with another."
);
pure!(
    BLANK,
    "string/blank?",
    Arity::exactly(1),
    blank,
    "True if the string is nil, empty or only whitespace."
);
pure!(INDEX_OF, "string/index-of", Arity::between(2, 3), index_of, "Returns the character index of the first occurrence of the other string (from an index), or nil.");
pure!(LAST_INDEX_OF, "string/last-index-of", Arity::between(2, 3), last_index_of, "Returns the character index of the last occurrence of the other string (starting at or before an index), or nil.");

pub static NATIVES: &[&Native] = &[
    &STR,
    &SUBS,
    &NAME,
    &NAMESPACE,
    &KEYWORD,
    &SYMBOL,
    &GENSYM,
    &PR_STR,
    &PRN_STR,
    &PRINT_STR,
    &PRINTLN_STR,
    &FORMAT,
];

/// The natives of the `string` namespace.
pub static STRING_NATIVES: &[&Native] = &[
    &JOIN,
    &SPLIT,
    &SPLIT_LINES,
    &UPPER_CASE,
    &LOWER_CASE,
    &CAPITALIZE,
    &REVERSE,
    &TRIM,
    &TRIML,
    &TRIMR,
    &TRIM_NEWLINE,
    &INCLUDES,
    &STARTS_WITH,
    &ENDS_WITH,
    &REPLACE,
    &REPLACE_FIRST,
    &BLANK,
    &INDEX_OF,
    &LAST_INDEX_OF,
];

#[cfg(test)]
mod tests {
    use super::super::helpers::{ILLEGAL_ARGUMENT, INDEX_OUT_OF_BOUNDS, TYPE_ERROR};
    use super::super::testing::*;

    fn strs(parts: &[&str]) -> crate::value::Value {
        v(&parts.iter().map(|p| s(p)).collect::<Vec<_>>())
    }

    #[test]
    fn str_concatenates_printed_forms() {
        check("str", &[], s(""));
        check("str", &[nil()], s(""));
        check("str", &[s("a"), i(1), nil(), kw("k"), f(1.5)], s("a1:k1.5"));
        check("str", &[v(&[s("x"), nil()])], s("[x nil]"));
        check("str", &[b(true)], s("true"));
        // Around the 14 bytes kept inline, whatever room was reserved.
        check("str", &[s("item-"), i(123_456_789)], s("item-123456789"));
        check("str", &[s("item-"), i(1_234_567_890)], s("item-1234567890"));
        check("str", &[s("item"), i(-123_456_789)], s("item-123456789"));
        check("str", &[s("x"), kw("k"), nil()], s("x:k"));
        check(
            "str",
            &[s("a long string, "), kw("and-a-keyword"), f(2.5)],
            s("a long string, :and-a-keyword2.5"),
        );
    }

    #[test]
    fn substrings_count_characters() {
        check("subs", &[s("hello"), i(1)], s("ello"));
        check("subs", &[s("hello"), i(1), i(3)], s("el"));
        check("subs", &[s("héllo"), i(1), i(2)], s("é"));
        check("subs", &[s("abc"), i(3)], s(""));
        check_err("subs", &[s("abc"), i(4)], INDEX_OUT_OF_BOUNDS);
        check_err("subs", &[s("abc"), i(2), i(1)], INDEX_OUT_OF_BOUNDS);
        check_err("subs", &[s("abc"), i(-1)], INDEX_OUT_OF_BOUNDS);
        check_err("subs", &[kw("abc"), i(0)], TYPE_ERROR);
    }

    #[test]
    fn names() {
        check("name", &[kw("a/b")], s("b"));
        check("name", &[sym("x")], s("x"));
        check("name", &[s("str")], s("str"));
        check_err("name", &[i(1)], TYPE_ERROR);
        check("namespace", &[kw("a/b")], s("a"));
        check("namespace", &[kw("b")], nil());
        check("keyword", &[s("a")], kw("a"));
        check("keyword", &[s("ns/a")], kw("ns/a"));
        check("keyword", &[sym("a")], kw("a"));
        check("keyword", &[kw("a")], kw("a"));
        check("keyword", &[nil()], nil());
        check("keyword", &[s("ns"), s("a")], kw("ns/a"));
        check("keyword", &[nil(), s("a")], kw("a"));
        check("keyword", &[i(1)], nil());
        check("symbol", &[s("a")], sym("a"));
        check("symbol", &[s("ns"), s("a")], sym("ns/a"));
        check("symbol", &[kw("k")], sym("k"));
        check_err("symbol", &[nil()], TYPE_ERROR);
    }

    #[test]
    fn gensyms_are_unique() {
        let a = call("gensym", &[]).unwrap();
        let b = call("gensym", &[]).unwrap();
        assert_ne!(a, b);
        assert!(a.as_symbol().unwrap().name().starts_with("G__"));
        let c = call("gensym", &[s("loop")]).unwrap();
        let name = c.as_symbol().unwrap().name();
        assert!(
            name.strip_prefix("loop").unwrap().parse::<u64>().is_ok(),
            "{name}"
        );
        check_err("gensym", &[i(1)], TYPE_ERROR);
    }

    #[test]
    fn printing_to_strings() {
        check("pr-str", &[s("a"), i(1), nil()], s("\"a\" 1 nil"));
        check("prn-str", &[s("a")], s("\"a\"\n"));
        check("print-str", &[s("a"), nil(), v(&[s("b")])], s("a nil [b]"));
        check("println-str", &[s("a"), i(2)], s("a 2\n"));
        check("pr-str", &[], s(""));
    }

    #[test]
    fn format_directives() {
        check(
            "format",
            &[s("%s + %s = %d"), i(1), s("x"), i(3)],
            s("1 + x = 3"),
        );
        check("format", &[s("%.2f"), f(1.23456)], s("1.23"));
        check("format", &[s("%f"), i(2)], s("2.000000"));
        check(
            "format",
            &[s("%5d|%-5d|%05d"), i(42), i(42), i(-42)],
            s("   42|42   |-0042"),
        );
        check(
            "format",
            &[s("%-5s|%5s"), s("ab"), s("cd")],
            s("ab   |   cd"),
        );
        check(
            "format",
            &[s("%x %X %o"), i(255), i(255), i(8)],
            s("ff FF 10"),
        );
        check("format", &[s("%#x"), i(255)], s("0xff"));
        check("format", &[s("%x"), i(-1)], s("ffffffffffffffff"));
        check("format", &[s("%e"), f(12.3456)], s("1.234560e+01"));
        check("format", &[s("%.2e"), f(0.000123)], s("1.23e-04"));
        check("format", &[s("%E"), i(0)], s("0.000000E+00"));
        check("format", &[s("100%%")], s("100%"));
        check("format", &[s("%+d %+d"), i(5), i(-5)], s("+5 -5"));
        check("format", &[s("%,d"), i(1234567)], s("1,234,567"));
        check("format", &[s("%,.1f"), f(-1234.56)], s("-1,234.6"));
        check("format", &[s("%s"), nil()], s("nil"));
        check("format", &[s("%s"), v(&[s("a")])], s("[a]"));
        check("format", &[s("%.3s"), s("abcdef")], s("abc"));
        check("format", &[s("%b %b"), nil(), i(0)], s("false true"));
        check("format", &[s("%c%c"), i(72), s("i")], s("Hi"));
        check("format", &[s("a%nb")], s("a\nb"));
        check("format", &[s("%08.3f"), f(-3.5)], s("-003.500"));
        check("format", &[s("%f"), f(f64::NAN)], s("NaN"));
        check("format", &[s("%s"), i(1), i(2)], s("1"));
        check_err("format", &[s("%d"), f(1.5)], TYPE_ERROR);
        check_err("format", &[s("%d"), s("1")], TYPE_ERROR);
        check_err("format", &[s("%f"), s("1")], TYPE_ERROR);
        check_err("format", &[s("%d %d"), i(1)], ILLEGAL_ARGUMENT);
        check_err("format", &[s("%q"), i(1)], ILLEGAL_ARGUMENT);
        check_err("format", &[s("50%")], ILLEGAL_ARGUMENT);
        check_err("format", &[i(1)], TYPE_ERROR);
        let e = call("format", &[s("%d"), f(1.5)]).unwrap_err();
        assert!(
            e.message.contains("argument 2") && e.message.contains("%d"),
            "{}",
            e.message
        );
    }

    #[test]
    fn join_and_split() {
        check("string/join", &[ints(&[1, 2, 3])], s("123"));
        check(
            "string/join",
            &[s(", "), v(&[s("a"), nil(), kw("b")])],
            s("a, , :b"),
        );
        check("string/join", &[s(","), nil()], s(""));
        check("string/join", &[s("-"), s("abc")], s("a-b-c"));
        check(
            "string/split",
            &[s("a,b,,c,,"), s(",")],
            strs(&["a", "b", "", "c"]),
        );
        check("string/split", &[s(",a"), s(",")], strs(&["", "a"]));
        check("string/split", &[s(""), s(",")], strs(&[""]));
        check("string/split", &[s(",,"), s(",")], strs(&[]));
        check("string/split", &[s("abc"), s(",")], strs(&["abc"]));
        check(
            "string/split",
            &[s("a::b::c"), s("::")],
            strs(&["a", "b", "c"]),
        );
        check("string/split", &[s("abc"), s("")], strs(&["a", "b", "c"]));
        check(
            "string/split",
            &[s("héllo"), s(""), i(2)],
            strs(&["h", "éllo"]),
        );
        check(
            "string/split",
            &[s("a,b,c"), s(","), i(2)],
            strs(&["a", "b,c"]),
        );
        check(
            "string/split",
            &[s("a,b,,"), s(","), i(-1)],
            strs(&["a", "b", "", ""]),
        );
        check_err("string/split", &[s("a"), nil()], TYPE_ERROR);
        check(
            "string/split-lines",
            &[s("a\r\nb\n\nc\n")],
            strs(&["a", "b", "", "c"]),
        );
    }

    #[test]
    fn case_trim_and_tests() {
        check("string/upper-case", &[s("abé")], s("ABÉ"));
        check("string/upper-case", &[s("straße")], s("STRASSE"));
        check(
            "string/upper-case",
            &[s("a longer string, ß and é")],
            s("A LONGER STRING, SS AND É"),
        );
        check("string/lower-case", &[s("ABC")], s("abc"));
        check("string/capitalize", &[s("hELLO")], s("Hello"));
        check("string/capitalize", &[s("")], s(""));
        check("string/reverse", &[s("abé")], s("éba"));
        check("string/trim", &[s("  a b \n")], s("a b"));
        check("string/triml", &[s("  a ")], s("a "));
        check("string/trimr", &[s("  a ")], s("  a"));
        check("string/trim-newline", &[s("a\r\n\n")], s("a"));
        check_err("string/trim", &[nil()], TYPE_ERROR);
        check("string/includes?", &[s("hello"), s("ell")], b(true));
        check("string/starts-with?", &[s("hello"), s("he")], b(true));
        check("string/ends-with?", &[s("hello"), s("he")], b(false));
        check_err("string/includes?", &[s("hello"), i(1)], TYPE_ERROR);
        check("string/blank?", &[nil()], b(true));
        check("string/blank?", &[s(" \t\n")], b(true));
        check("string/blank?", &[s(" x ")], b(false));
    }

    #[test]
    fn replace_and_search() {
        check("string/replace", &[s("a.b.c"), s("."), s("-")], s("a-b-c"));
        check("string/replace", &[s("aaa"), s("aa"), s("b")], s("ba"));
        check("string/replace", &[s("abc"), s(""), s("-")], s("-a-b-c-"));
        check(
            "string/replace",
            &[s("one fish two fish"), s("fish"), s("cats")],
            s("one cats two cats"),
        );
        check(
            "string/replace-first",
            &[s("abc"), s(""), s("-")],
            s("-abc"),
        );
        check(
            "string/replace-first",
            &[s("a.b.c"), s("."), s("-")],
            s("a-b.c"),
        );
        check("string/index-of", &[s("héllo"), s("l")], i(2));
        check("string/index-of", &[s("héllo"), s("l"), i(3)], i(3));
        check("string/index-of", &[s("hello"), s("z")], nil());
        check("string/index-of", &[s("hello"), s("l"), i(99)], nil());
        check("string/last-index-of", &[s("héllo"), s("l")], i(3));
        check("string/last-index-of", &[s("hello"), s("l"), i(2)], i(2));
        check("string/last-index-of", &[s("hello"), s("l"), i(1)], nil());
        check("string/last-index-of", &[s("hello"), s("z")], nil());
    }
}
