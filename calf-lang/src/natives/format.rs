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

natives! {
    pure "format" "1.." format_native,
        "Formats the values by a printf-style string: %s %d %f %e %x %o %b %c %% %n with flags, width and precision.";
}

#[cfg(test)]
mod tests {
    use super::super::helpers::{ILLEGAL_ARGUMENT, TYPE_ERROR};
    use super::super::testing::*;

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
}
