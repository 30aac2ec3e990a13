//! Regular expressions: `re-pattern`, `re-find`, `re-matches`, `re-seq`,
//! and what `string/replace` and `string/split` do with a pattern.
//!
//! A match is what Clojure's `re-groups` makes of it: the matched text when
//! the pattern has no groups, else the vector `[whole g1 g2 ...]` with nil
//! for a group that took no part. Calf has no matcher objects (they are
//! mutable), so there is no `re-matcher` and no `re-groups` of one.
//! Searching costs the text's length, owed to the budget like any text.

use triomphe::Arc;

use super::helpers::{illegal, list_of, str_arg, type_error, vector_of};
use super::strings::charge_text;
use crate::error::RuntimeError;
use crate::value::{Regex, StrBuf, Text, Value, Vector};

/// The pattern of argument `i`: a regex, or a string compiled now.
pub(super) fn regex_arg(fname: &str, args: &[Value], i: usize) -> Result<Arc<Regex>, RuntimeError> {
    match &args[i] {
        Value::Regex(r) => Ok(r.clone()),
        Value::Str(s) => compile(fname, s),
        _ => Err(type_error(fname, args, i, "a regex")),
    }
}

fn compile(fname: &str, source: &str) -> Result<Arc<Regex>, RuntimeError> {
    charge_text(0, source.len());
    Regex::new(source).map(Arc::new).map_err(|why| {
        illegal(fname, format!("invalid regular expression: {why}"))
            .with("pattern", Value::str(source))
    })
}

/// A match as `re-groups` shapes it.
pub(super) fn groups(caps: &regex::Captures) -> Value {
    if caps.len() == 1 {
        return Value::str(caps.get(0).map_or("", |m| m.as_str()));
    }
    vector_of(
        caps.iter()
            .map(|m| m.map_or(Value::Nil, |m| Value::str(m.as_str())))
            .collect(),
    )
}

fn re_pattern(args: &[Value]) -> Result<Value, RuntimeError> {
    match &args[0] {
        Value::Regex(_) => Ok(args[0].clone()),
        Value::Str(s) => Ok(Value::Regex(compile("re-pattern", s)?)),
        _ => Err(type_error("re-pattern", args, 0, "a string or a regex")),
    }
}

fn re_find(args: &[Value]) -> Result<Value, RuntimeError> {
    let re = regex_arg("re-find", args, 0)?;
    let s = str_arg("re-find", args, 1)?;
    charge_text(0, s.len());
    Ok(re.find().captures(s).map_or(Value::Nil, |caps| groups(&caps)))
}

fn re_matches(args: &[Value]) -> Result<Value, RuntimeError> {
    let re = regex_arg("re-matches", args, 0)?;
    let s = str_arg("re-matches", args, 1)?;
    let whole = re
        .whole()
        .map_err(|why| illegal("re-matches", format!("invalid regular expression: {why}")))?;
    charge_text(0, s.len());
    Ok(whole.captures(s).map_or(Value::Nil, |caps| groups(&caps)))
}

natives! {
    pure "re-pattern" "1" re_pattern,
        "Returns the regex the string spells (a regex is returned as it is); an invalid pattern is an illegal-argument error.";
    pure "re-find" "2" re_find,
        "Returns the first match of the regex in the string, or nil: the matched text, or [whole group1 ...] when the regex has groups.";
    pure "re-matches" "2" re_matches,
        "Returns the match of the regex against the whole string, or nil: the text, or [whole group1 ...] when the regex has groups.";
    pure "re-seq" "2" re_seq,
        "Returns a list of the successive matches of the regex in the string, each as re-find returns it, or nil if there are none.";
    pure "-re-parts" "2..=3" re_parts,
        "Returns the text around the matches of the regex in the string and the matches, alternating, at most limit matches; string/replace uses it.";
}

fn re_seq(args: &[Value]) -> Result<Value, RuntimeError> {
    let re = regex_arg("re-seq", args, 0)?;
    let s = str_arg("re-seq", args, 1)?;
    let found: Vector = re.find().captures_iter(s).map(|caps| groups(&caps)).collect();
    charge_text(found.len(), s.len());
    // As Clojure's lazy `re-seq`: nil, not an empty list, when nothing matches.
    Ok(if found.is_empty() {
        Value::Nil
    } else {
        list_of(found)
    })
}

/// The text around the first `limit` matches and the matches themselves,
/// alternating: `[before m1 between m2 ... after]`. `string/replace` with
/// a function builds its answer from it in Calf, since a native cannot
/// call the function.
fn re_parts(args: &[Value]) -> Result<Value, RuntimeError> {
    let re = regex_arg("-re-parts", args, 0)?;
    let s = str_arg("-re-parts", args, 1)?;
    let limit = match args.get(2) {
        // A negative limit, or none, is no limit.
        Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let mut parts = Vector::new();
    let mut last = 0;
    for caps in re.find().captures_iter(s).take(limit) {
        let whole = caps.get(0).expect("group 0 is the match");
        parts.push_back(Value::str(&s[last..whole.start()]));
        parts.push_back(groups(&caps));
        last = whole.end();
    }
    parts.push_back(Value::str(&s[last..]));
    charge_text(parts.len(), s.len());
    Ok(vector_of(parts))
}

/// `s` with its first `limit` matches replaced as Java's
/// `Matcher.replaceAll` does (which Clojure's `string/replace` uses):
/// `$1` or `${name}` is a group (nothing if it took no part), `\x` is `x`.
pub(super) fn replace_matches(
    fname: &str,
    re: &Regex,
    s: &str,
    replacement: &str,
    limit: usize,
) -> Result<Value, RuntimeError> {
    let mut out = StrBuf::with_capacity(s.len());
    let mut last = 0;
    for caps in re.find().captures_iter(s).take(limit) {
        let whole = caps.get(0).expect("group 0 is the match");
        out.push_str(&s[last..whole.start()]);
        expand(re.find(), &caps, replacement, &mut out).map_err(|why| {
            illegal(fname, why).with("replacement", Value::str(replacement))
        })?;
        last = whole.end();
    }
    out.push_str(&s[last..]);
    charge_text(0, s.len() + out.len());
    Ok(Value::str(out))
}

/// Appends `replacement` with its group references filled in from `caps`.
fn expand(
    re: &regex::Regex,
    caps: &regex::Captures,
    replacement: &str,
    out: &mut StrBuf,
) -> Result<(), String> {
    let mut chars = replacement.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => return Err("the replacement ends with a lone `\\`; write `\\\\` for a backslash".into()),
            },
            '$' => {
                let group = match chars.peek() {
                    Some(&(_, '{')) => {
                        chars.next();
                        let name: String = chars
                            .by_ref()
                            .map(|(_, c)| c)
                            .take_while(|&c| c != '}')
                            .collect();
                        if !re.capture_names().any(|n| n == Some(name.as_str())) {
                            return Err(format!("the pattern has no group named {name:?}"));
                        }
                        caps.name(&name).map_or("", |m| m.as_str())
                    }
                    Some(&(_, d)) if d.is_ascii_digit() => {
                        // Java reads digits while the number stays a group.
                        chars.next();
                        let mut n = d as usize - '0' as usize;
                        if n >= caps.len() {
                            return Err(format!("the pattern has no group {n} (it has {})", caps.len() - 1));
                        }
                        while let Some(&(_, d)) = chars.peek() {
                            let next = match d.to_digit(10) {
                                Some(digit) => n * 10 + digit as usize,
                                None => break,
                            };
                            if next >= caps.len() {
                                break;
                            }
                            n = next;
                            chars.next();
                        }
                        caps.get(n).map_or("", |m| m.as_str())
                    }
                    _ => return Err("`$` in a replacement must be followed by a group number or {name}; write `\\$` for a dollar sign".into()),
                };
                out.push_str(group);
            }
            c => out.push(c),
        }
    }
    Ok(())
}
