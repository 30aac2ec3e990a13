//! String literals: `"..."` with the escapes `\n \t \r \" \\` and `\uXXXX`
//! (a surrogate pair of two `\u` escapes makes one character). A string may
//! span lines.

use crate::error::SourceError;
use crate::span::{FileId, Span};

use super::scan::char_at;

const ESCAPES: &str =
    "valid escapes are \\n \\t \\r \\\" \\\\ and \\uXXXX; write \\\\ for a backslash";

/// Reads the string literal whose opening `"` is at `open`. Returns its text
/// and the offset just past the closing `"`.
pub fn read_string(text: &str, file: FileId, open: usize) -> Result<(String, usize), SourceError> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut pos = open + 1;
    loop {
        let Some(offset) = bytes
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'))
        else {
            return Err(unterminated(file, open));
        };
        let at = pos + offset;
        // `"` and `\` are ASCII, so both ends are character boundaries.
        out.push_str(text.get(pos..at).unwrap_or(""));
        if bytes.get(at) == Some(&b'"') {
            return Ok((out, at + 1));
        }
        let Some(c) = char_at(text, at + 1) else {
            return Err(unterminated(file, open));
        };
        pos = at + 1 + c.len_utf8();
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'u' => {
                let (c, end) = unicode_escape(text, file, at)?;
                out.push(c);
                pos = end;
            }
            c => {
                let shown = if c.is_control() || c.is_whitespace() {
                    format!("a backslash followed by {c:?}")
                } else {
                    format!("`\\{c}`")
                };
                return Err(SourceError::new(
                    format!("unknown escape {shown} in string"),
                    Span::new(file, at, pos),
                )
                .with_hint(ESCAPES));
            }
        }
    }
}

fn unterminated(file: FileId, open: usize) -> SourceError {
    let mut error = SourceError::new("unterminated string", Span::new(file, open, open + 1))
        .with_hint("the string starting here has no closing `\"`");
    error.incomplete = true;
    error
}

/// The four hex digits after a `\u` at `at`, as a number.
fn hex4(text: &str, file: FileId, at: usize) -> Result<u32, SourceError> {
    let digits = text.get(at + 2..).map_or(0, |rest| {
        rest.bytes()
            .take(4)
            .take_while(u8::is_ascii_hexdigit)
            .count()
    });
    match text.get(at + 2..at + 2 + digits) {
        Some(hex) if digits == 4 => {
            u32::from_str_radix(hex, 16).map_err(|_| bad_unicode(file, at, digits))
        }
        _ => Err(bad_unicode(file, at, digits)),
    }
}

fn bad_unicode(file: FileId, at: usize, digits: usize) -> SourceError {
    SourceError::new(
        "`\\u` must be followed by four hex digits",
        Span::new(file, at, at + 2 + digits),
    )
    .with_hint("write a character as \\u00e9, or put the character itself in the string")
}

/// The character written by the `\u` escape at `at`, joining a surrogate pair,
/// and the offset after the escape.
fn unicode_escape(text: &str, file: FileId, at: usize) -> Result<(char, usize), SourceError> {
    let unit = hex4(text, file, at)?;
    let end = at + 6;
    let unpaired = |end: usize| {
        SourceError::new(
            format!("`\\u{unit:04X}` is half of a surrogate pair"),
            Span::new(file, at, end),
        )
        .with_hint("follow a \\uD800-\\uDBFF escape with a \\uDC00-\\uDFFF one, or write the character itself")
    };
    match unit {
        0xD800..=0xDBFF => {
            if text.get(end..end + 2) != Some("\\u") {
                return Err(unpaired(end));
            }
            let low = hex4(text, file, end)?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(unpaired(end));
            }
            let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(c)
                .map(|c| (c, end + 6))
                .ok_or_else(|| unpaired(end + 6))
        }
        _ => char::from_u32(unit)
            .map(|c| (c, end))
            .ok_or_else(|| unpaired(end)),
    }
}
