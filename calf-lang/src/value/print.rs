//! Printing values: readable (`pr`, `prn`, the REPL) and human (`print`).

use super::deep::deeper;
use super::{Text, Value};

/// Renders `value` as `pr-str` does: strings quoted, readable back.
pub fn pr_str(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, true);
    out
}

/// Renders `value` as `str` and `print` do: strings as their raw text.
pub fn print_str(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, false);
    out
}

/// Appends the decimal digits of `n`: `str` of a number is common enough
/// that going through `fmt` (a formatter and padding checks) shows. Two
/// digits at a time, from a table, as `fmt` itself does.
fn write_int(out: &mut impl Text, n: i64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    while rest >= 10 {
        let pair = (rest % 100) as usize * 2;
        rest /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    // The last digit if one is left, and the only one of zero.
    if rest > 0 || at == digits.len() {
        at -= 1;
        digits[at] = b'0' + rest as u8;
    }
    if n < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    // SAFETY: ASCII digits and a minus sign.
    out.push_str(unsafe { std::str::from_utf8_unchecked(&digits[at..]) });
}

/// Appends the rendering of `value` to `out`.
pub fn write_value(out: &mut impl Text, value: &Value, readable: bool) {
    match value {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => write_int(out, *n),
        Value::Float(x) => write_float(out, *x),
        Value::Str(s) if readable => write_quoted(out, s),
        Value::Str(s) => out.push_str(s),
        Value::Symbol(s) => out.push_str(s.name()),
        Value::Keyword(k) => {
            out.push(':');
            out.push_str(k.name());
        }
        // Values nest deeper than the stack: see `deep.rs`.
        Value::List(items) => deeper(|| write_items(out, "(", items.iter(), ")", readable)),
        Value::Vector(items) => deeper(|| write_items(out, "[", items.iter(), "]", readable)),
        Value::Set(items) => deeper(|| write_items(out, "#{", items.iter(), "}", readable)),
        Value::Map(entries) => match entries.record_type() {
            Some(record) => deeper(|| write_record(out, record, entries, readable)),
            None => deeper(|| write_entries(out, entries.iter(), readable)),
        },
        Value::Fn(closure) => match closure.proto.name {
            Some(name) => {
                let _ = write!(out, "#fn[{name}]");
            }
            None => out.push_str("#fn[anonymous]"),
        },
        Value::Native(native) => {
            let _ = write!(out, "#fn[{}]", native.name);
        }
        Value::Pid(pid) => {
            let _ = write!(out, "{pid}");
        }
        Value::Ref(r) => {
            let _ = write!(out, "#ref<{r}>");
        }
        Value::Char(c) if readable => write_char_literal(out, *c),
        Value::Char(c) => out.push(*c),
        Value::Regex(r) => write_regex(out, r.source()),
        Value::Var(var) => {
            out.push_str("#'");
            out.push_str(var.name.name());
        }
        Value::Sorted(s) if s.set => {
            deeper(|| write_items(out, "#{", s.iter().map(|(k, _)| k), "}", readable))
        }
        Value::Sorted(s) => deeper(|| write_entries(out, s.iter(), readable)),
        // What is not realized prints as `...` and is noted for the native
        // printing it, which has the VM realize it and prints again.
        Value::Lazy(_) => deeper(|| {
            write_items(out, "(", super::lazy::Items::new(value), "", readable);
            if let Some(cell) = super::lazy::first_unrealized(value) {
                super::lazy::note_unrealized(cell);
                out.push_str(if super::lazy::Items::new(value).next().is_some() {
                    " ..."
                } else {
                    "..."
                });
            }
            out.push(')');
        }),
    }
}

/// A map's entries, in braces: `{k v, k v}`.
fn write_entries<'a>(
    out: &mut impl Text,
    entries: impl Iterator<Item = (&'a Value, &'a Value)>,
    readable: bool,
) {
    out.push('{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_value(out, k, readable);
        out.push(' ');
        write_value(out, v, readable);
    }
    out.push('}');
}

/// A record as Clojure prints one, `#user.Point{:x 1, :y 2}`: its fields
/// in the order `defrecord` gave them, then any other keys.
fn write_record(
    out: &mut impl Text,
    record: &super::RecordType,
    entries: &super::Map,
    readable: bool,
) {
    out.push('#');
    out.push_str(record.name.name());
    let fields = record
        .fields
        .iter()
        .filter_map(|k| entries.get_key_value(k));
    let rest = entries.iter().filter(|(k, _)| !record.fields.contains(k));
    write_entries(out, fields.chain(rest), readable);
}

/// `#"..."` around the pattern as written, a bare `"` escaped (which
/// means the same to the pattern) so that it reads back.
fn write_regex(out: &mut impl Text, source: &str) {
    out.push_str("#\"");
    let mut escaped = false;
    for c in source.chars() {
        if c == '"' && !escaped {
            out.push('\\');
        }
        out.push(c);
        escaped = c == '\\' && !escaped;
    }
    out.push('"');
}

/// The characters that have a name in a literal, as the reader spells
/// them: `\newline` is the newline character.
pub const CHAR_NAMES: [(&str, char); 6] = [
    ("newline", '\n'),
    ("space", ' '),
    ("tab", '\t'),
    ("return", '\r'),
    ("backspace", '\u{8}'),
    ("formfeed", '\u{c}'),
];

/// `\a`, `\newline`, or `\uXXXX` for the other characters that would be
/// invisible (controls), so that what is printed reads back.
fn write_char_literal(out: &mut impl Text, c: char) {
    out.push('\\');
    if let Some((name, _)) = CHAR_NAMES.iter().find(|(_, named)| *named == c) {
        out.push_str(name);
    } else if c.is_control() {
        let _ = write!(out, "u{:04x}", c as u32);
    } else {
        out.push(c);
    }
}

fn write_items<'a>(
    out: &mut impl Text,
    open: &str,
    items: impl Iterator<Item = &'a Value>,
    close: &str,
    readable: bool,
) {
    out.push_str(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(out, item, readable);
    }
    out.push_str(close);
}

fn write_float(out: &mut impl Text, x: f64) {
    if x.is_nan() {
        out.push_str("##NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "##Inf" } else { "##-Inf" });
    } else {
        // Debug keeps a `.0` on integral floats and uses exponents for the
        // very large and very small, like Clojure.
        let _ = write!(out, "{x:?}");
    }
}

fn write_quoted(out: &mut impl Text, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_print_as_rust_prints_them() {
        for n in [
            0,
            7,
            -7,
            9,
            10,
            -10,
            99,
            100,
            101,
            1000,
            12_345,
            123_456,
            -100,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = String::new();
            write_int(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        let powers = (0..19).flat_map(|e| {
            let p = 10i64.pow(e);
            [p - 1, p, p + 1, -p]
        });
        for n in (-1000..1000).chain(powers) {
            let mut out = String::new();
            write_int(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
