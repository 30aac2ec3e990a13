//! The `string/...` functions: joining, splitting, case, trimming, tests
//! and search.
//!
//! Indexes into strings count characters (Unicode scalar values), not bytes.
//! `string/split`, `string/replace` and `string/replace-first` take a
//! literal string or a regex; a function as the replacement is handled in
//! Calf (`core.calf`), which calls it.

use super::strings::{charge_text, write_str};
use super::helpers::{
    byte_to_char, char_to_byte, int_arg, items, str_arg, type_error,
    vector_of,
};
use crate::error::RuntimeError;
use crate::value::{StrBuf, Text, Value};

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

/// Splits as Java's `String.split` does: an empty `s` is one empty part,
/// a positive limit caps the number of parts, zero drops trailing empty
/// parts, a negative limit keeps them. `split_at` splits a non-empty `s`
/// into at most the parts it is given.
fn java_split<'a>(
    s: &'a str,
    limit: i64,
    split_at: impl FnOnce(usize) -> Vec<&'a str>,
) -> Vec<&'a str> {
    if s.is_empty() {
        return vec![""];
    }
    let max_parts = if limit > 0 {
        usize::try_from(limit).unwrap_or(usize::MAX)
    } else {
        usize::MAX
    };
    let mut parts = split_at(max_parts);
    if limit == 0 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

/// Splits `s` (not empty) at each `sep`, into at most `max_parts` parts.
fn split_literal<'a>(s: &'a str, sep: &str, max_parts: usize) -> Vec<&'a str> {
    if !sep.is_empty() {
        return s.splitn(max_parts, sep).collect();
    }
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
}

fn strings_vector<'a>(parts: impl IntoIterator<Item = &'a str>) -> Value {
    vector_of(parts.into_iter().map(Value::str).collect())
}

/// Splits `s` (not empty) at each match of `re`, into at most
/// `max_parts` parts; as Java's, a match of nothing at the very start
/// makes no empty first part.
fn split_regex<'a>(s: &'a str, re: &regex::Regex, max_parts: usize) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if parts.len() + 1 >= max_parts {
            break;
        }
        if m.end() == 0 {
            continue;
        }
        parts.push(&s[last..m.start()]);
        last = m.end();
    }
    parts.push(&s[last..]);
    parts
}

fn split(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/split", args, 0)?;
    let limit = match args.get(2) {
        Some(_) => int_arg("string/split", args, 2)?,
        None => 0,
    };
    let parts = match &args[1] {
        Value::Regex(re) => java_split(s, limit, |max| split_regex(s, re.find(), max)),
        Value::Str(sep) => java_split(s, limit, |max| split_literal(s, sep, max)),
        _ => return Err(type_error("string/split", args, 1, "a regex or a string")),
    };
    charge_text(parts.len(), s.len());
    Ok(strings_vector(parts))
}

fn split_lines(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/split-lines", args, 0)?;
    let parts = java_split(s, 0, |max| split_literal(s, "\n", max));
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

/// Whitespace as Clojure's string functions see it (Java's
/// `Character.isWhitespace`): Unicode's white space but the non-breaking
/// spaces and U+0085, plus the four separators U+001C to U+001F.
fn is_space(c: char) -> bool {
    matches!(c, '\u{1c}'..='\u{1f}')
        || (c.is_whitespace() && !matches!(c, '\u{85}' | '\u{a0}' | '\u{2007}' | '\u{202f}'))
}

fn trim(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/trim", args, |s| s.trim_matches(is_space))
}

fn triml(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/triml", args, |s| s.trim_start_matches(is_space))
}

fn trimr(args: &[Value]) -> Result<Value, RuntimeError> {
    cut_str("string/trimr", args, |s| s.trim_end_matches(is_space))
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
    replace_some("string/replace", args, usize::MAX)
}

/// Argument `i`, a string or a character, as text.
fn text_arg<'a>(
    fname: &str,
    args: &'a [Value],
    i: usize,
    buf: &'a mut [u8; 4],
    expected: &str,
) -> Result<&'a str, RuntimeError> {
    match &args[i] {
        Value::Str(s) => Ok(s.as_str()),
        Value::Char(c) => Ok(c.encode_utf8(buf)),
        _ => Err(type_error(fname, args, i, expected)),
    }
}

/// `string/replace` and `string/replace-first`, but with a function as
/// the replacement, which `core.calf` handles before calling this.
fn replace_some(fname: &str, args: &[Value], limit: usize) -> Result<Value, RuntimeError> {
    let s = str_arg(fname, args, 0)?;
    let (mut from_buf, mut to_buf) = ([0; 4], [0; 4]);
    if let Value::Regex(re) = &args[1] {
        let to = text_arg(fname, args, 2, &mut to_buf, "a string or a function")?;
        return super::regex::replace_matches(fname, re, s, to, limit);
    }
    let from = text_arg(fname, args, 1, &mut from_buf, "a string, a character or a regex")?;
    let to = text_arg(fname, args, 2, &mut to_buf, "a string or a character")?;
    Ok(replaced(s, from, to, limit))
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
    replace_some("string/replace-first", args, 1)
}

fn blank(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Nil => Ok(Value::Bool(true)),
        Value::Str(s) => Ok(Value::Bool(s.chars().all(is_space))),
        _ => Err(type_error("string/blank?", args, 0, "a string or nil")),
    }
}

fn index_of(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/index-of", args, 0)?;
    let mut buf = [0; 4];
    let needle = text_arg("string/index-of", args, 1, &mut buf, "a string or a character")?;
    let from = match args.get(2) {
        Some(_) => int_arg("string/index-of", args, 2)?.max(0),
        None => 0,
    };
    let Some(start) = usize::try_from(from).ok().and_then(|i| char_to_byte(s, i)) else {
        // Past the end only the empty string is found, at the end.
        return Ok(if needle.is_empty() {
            Value::Int(s.chars().count() as i64)
        } else {
            Value::Nil
        });
    };
    Ok(s[start..].find(needle).map_or(
        Value::Nil,
        |b| Value::Int(byte_to_char(s, start + b) as i64),
    ))
}

fn last_index_of(args: &[Value]) -> Result<Value, RuntimeError> {
    let s = str_arg("string/last-index-of", args, 0)?;
    let mut buf = [0; 4];
    let needle = text_arg("string/last-index-of", args, 1, &mut buf, "a string or a character")?;
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

natives! {
    pure "string/join" "1..=2" join,
        "Returns the items as strings, joined by the separator if one is given.";
    pure "string/split" "2..=3" split,
        "Returns a vector of the parts of the string between matches of a regex (or occurrences of a literal string), without trailing empty parts unless a limit says otherwise.";
    pure "string/split-lines" "1" split_lines,
        "Returns a vector of the lines of the string.";
    pure "string/upper-case" "1" upper_case,
        "Returns the string in upper case.";
    pure "string/lower-case" "1" lower_case,
        "Returns the string in lower case.";
    pure "string/capitalize" "1" capitalize,
        "Returns the string with its first character in upper case and the rest in lower case.";
    pure "string/reverse" "1" reverse,
        "Returns the characters of the string in reverse order.";
    pure "string/trim" "1" trim,
        "Returns the string without whitespace at either end.";
    pure "string/triml" "1" triml,
        "Returns the string without whitespace at its start.";
    pure "string/trimr" "1" trimr,
        "Returns the string without whitespace at its end.";
    pure "string/trim-newline" "1" trim_newline,
        "Returns the string without newline and return characters at its end.";
    pure "string/includes?" "2" includes,
        "True if the string contains the other string.";
    pure "string/starts-with?" "2" starts_with,
        "True if the string starts with the other string.";
    pure "string/ends-with?" "2" ends_with,
        "True if the string ends with the other string.";
    pure "string/replace" "3" replace,
        "Replaces every match of a regex (or occurrence of a string or character) with a string ($1 names a group of a regex) or the result of a function of the match.";
    pure "string/replace-first" "3" replace_first,
        "Replaces the first match of a regex (or occurrence of a string or character) with a string ($1 names a group of a regex) or the result of a function of the match.";
    pure "string/blank?" "1" blank,
        "True if the string is nil, empty or only whitespace.";
    pure "string/index-of" "2..=3" index_of,
        "Returns the character index of the first occurrence of the other string or character (from an index), or nil.";
    pure "string/last-index-of" "2..=3" last_index_of,
        "Returns the character index of the last occurrence of the other string or character (starting at or before an index), or nil.";
}
