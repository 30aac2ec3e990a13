//! `format`: printf-style directives rendered into a new string.

use super::helpers::{
    illegal, str_arg,
};
use crate::error::RuntimeError;
use crate::value::print::write_value;
use crate::value::{StrBuf, Text, Value};

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
                crate::value::lazy::clear_unrealized();
                write_value(&mut text, arg, false);
                super::strings::realized_text(())?;
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
                    Value::Char(c) => Some(*c),
                    Value::Int(n) => u32::try_from(*n).ok().and_then(char::from_u32),
                    Value::Str(s) if s.chars().count() == 1 => s.chars().next(),
                    _ => None,
                };
                let c = c.ok_or_else(|| wrong("a character, a character code or a one-character string"))?;
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

natives! {
    pure "format" "1.." format_native,
        "Formats the values by a printf-style string: %s %d %f %e %x %o %b %c %% %n with flags, width and precision.";
}
