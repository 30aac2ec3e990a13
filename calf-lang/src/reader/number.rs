//! Number literals.
//!
//! - Integers are 64-bit: `42`, `-7`, `+3`, and hexadecimal `0xff`, `-0x10`.
//!   A literal that does not fit in an `i64` is an error, never a wrap or a
//!   float. Leading zeros (`007`) are an error, because Clojure would read
//!   them as octal.
//! - Floats have a fraction, an exponent or both: `1.5`, `1.`, `-2e3`, `1e10`.
//!   A float that overflows to infinity (`1e999`) is an error; `##Inf` is the
//!   way to write infinity.
//! - Ratios (`1/2`), big numbers (`1N`, `1.5M`) and radix literals (`2r101`)
//!   are not supported and are errors with a hint.

use nom::bytes::complete::tag_no_case;
use nom::character::complete::{char, digit0, digit1, hex_digit1, one_of};
use nom::combinator::{all_consuming, opt, recognize};
use nom::{IResult, Parser};

use crate::error::SourceError;
use crate::span::Span;
use crate::value::Value;

/// `[+-]? digits (. digits*)? ([eE] [+-]? digits)?`: the sign, the integer
/// digits, and whether there is a fraction or an exponent.
fn decimal(input: &str) -> IResult<&str, (&str, bool)> {
    (
        opt(one_of("+-")),
        digit1,
        opt(recognize((char('.'), digit0))),
        opt(recognize((one_of("eE"), opt(one_of("+-")), digit1))),
    )
        .map(|(_, digits, frac, exp)| (digits, frac.is_some() || exp.is_some()))
        .parse(input)
}

/// `[+-]? 0x hexdigits`: whether it is negative, and the digits.
fn hexadecimal(input: &str) -> IResult<&str, (bool, &str)> {
    (opt(one_of("+-")), tag_no_case("0x"), hex_digit1)
        .map(|(sign, _, digits)| (sign == Some('-'), digits))
        .parse(input)
}

/// Whether a token starts like a number: a digit, or a sign then a digit.
pub fn starts_number(token: &str) -> bool {
    let b = token.as_bytes();
    match b.first() {
        Some(d) if d.is_ascii_digit() => true,
        Some(b'+' | b'-') => b.get(1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// Reads `token`, which starts like a number.
pub fn read_number(token: &str, span: Span) -> Result<Value, SourceError> {
    if let Ok((_, (negative, digits))) = all_consuming(hexadecimal).parse(token) {
        let digits = digits.trim_start_matches('0');
        let magnitude = match digits {
            "" => 0,
            _ => i128::from_str_radix(digits, 16).unwrap_or(i128::MAX),
        };
        let n = if negative { -magnitude } else { magnitude };
        return i64::try_from(n)
            .map(Value::Int)
            .map_err(|_| too_large(token, span));
    }
    match all_consuming(decimal).parse(token) {
        Ok((_, (digits, false))) => {
            if digits.len() > 1 && digits.starts_with('0') {
                let trimmed = digits.trim_start_matches('0');
                let suggestion = if trimmed.is_empty() { "0" } else { trimmed };
                return Err(SourceError::new(
                    format!("integer literal `{token}` has leading zeros"),
                    span,
                )
                .with_hint(format!(
                    "write {suggestion}; octal literals are not supported"
                )));
            }
            token
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| too_large(token, span))
        }
        Ok((_, (_, true))) => match token.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Float(x)),
            _ => Err(
                SourceError::new(format!("float literal `{token}` is out of range"), span)
                    .with_hint("the largest float is about 1.8e308; write ##Inf for infinity"),
            ),
        },
        Err(_) => Err(invalid_number(token, span)),
    }
}

fn too_large(token: &str, span: Span) -> SourceError {
    SourceError::new(
        format!("integer literal `{token}` does not fit in 64 bits"),
        span,
    )
    .with_hint(
        "integers range from -9223372036854775808 to 9223372036854775807; \
         add `.0` to write an approximate float instead",
    )
}

fn invalid_number(token: &str, span: Span) -> SourceError {
    let error = SourceError::new(format!("invalid number `{token}`"), span);
    let digits_then = |suffix: char| {
        token.ends_with(suffix)
            && token.len() > 1
            && starts_number(&token[..token.len() - 1])
            && all_consuming(decimal)
                .parse(&token[..token.len() - 1])
                .is_ok()
    };
    if token.contains('/') {
        error.with_hint("ratios are not supported; write a division like (/ 1 2) or a float")
    } else if digits_then('N') {
        error.with_hint("big integers are not supported; integers are 64-bit")
    } else if digits_then('M') {
        error.with_hint("big decimals are not supported; floats are 64-bit")
    } else if token.contains(['r', 'R']) {
        error.with_hint("radix literals are not supported; write decimal or 0x hexadecimal")
    } else {
        error.with_hint(
            "numbers look like 42, -7, 0xff, 1.5 or 2e3; \
             a symbol cannot start with a digit",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    fn num(token: &str) -> Result<Value, String> {
        read_number(token, Span::new(FileId(0), 0, token.len())).map_err(|e| e.message)
    }

    #[test]
    fn integers_and_floats() {
        assert_eq!(num("42"), Ok(Value::Int(42)));
        assert_eq!(num("+3"), Ok(Value::Int(3)));
        assert_eq!(num("-0"), Ok(Value::Int(0)));
        assert_eq!(num("0x1F"), Ok(Value::Int(31)));
        assert_eq!(
            num("0x00000000000000000000000000000000000000001"),
            Ok(Value::Int(1))
        );
        assert_eq!(num("0x0"), Ok(Value::Int(0)));
        assert_eq!(num("-0x8000000000000000"), Ok(Value::Int(i64::MIN)));
        assert_eq!(num("-9223372036854775808"), Ok(Value::Int(i64::MIN)));
        assert_eq!(num("9223372036854775807"), Ok(Value::Int(i64::MAX)));
        assert_eq!(num("1."), Ok(Value::Float(1.0)));
        assert_eq!(num("1E-2"), Ok(Value::Float(0.01)));
        assert_eq!(num("2.5e+2"), Ok(Value::Float(250.0)));
        assert_eq!(num("00.5"), Ok(Value::Float(0.5)));
    }

    #[test]
    fn bad_numbers() {
        assert!(num("9223372036854775808").unwrap_err().contains("64 bits"));
        assert!(num("0x8000000000000000").unwrap_err().contains("64 bits"));
        assert!(num("0x1234567890123456789012345678901234567890")
            .unwrap_err()
            .contains("64 bits"));
        assert!(num("1e999").unwrap_err().contains("out of range"));
        assert!(num("007").unwrap_err().contains("leading zeros"));
        for bad in ["1/2", "1N", "1.5M", "2r101", "1e", "1.2.3", "12abc", "0x"] {
            assert!(num(bad).unwrap_err().contains("invalid number"), "{bad}");
        }
    }
}
