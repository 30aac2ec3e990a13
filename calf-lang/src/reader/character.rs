//! Character literals, as Clojure writes them: `\a`, `\(`, the names
//! `\newline \space \tab \return \backspace \formfeed`, `\uXXXX` (four hex
//! digits) and `\oNNN` (octal, at most `\o377`).
//!
//! After the backslash the first character always belongs to the literal
//! (so `\(` and `\;` are characters); the literal then runs to the end of
//! the token, so `\ab` is an error, not `\a` followed by `b`.

use crate::error::SourceError;
use crate::span::{FileId, Span};
use crate::value::print::CHAR_NAMES;

use super::scan::{char_at, token_end};

const FORMS: &str = "a character is \\a, \\newline, \\space, \\tab, \\return, \\backspace, \\formfeed, \\uXXXX or \\oNNN";

/// Reads the literal whose backslash is at `start`: the character and the
/// offset after the literal.
pub fn read_char(text: &str, file: FileId, start: usize) -> Result<(char, usize), SourceError> {
    let Some(first) = char_at(text, start + 1) else {
        let mut error = SourceError::new(
            "`\\` must be followed by a character",
            Span::new(file, start, start + 1),
        )
        .with_hint(FORMS);
        error.incomplete = true;
        return Err(error);
    };
    let end = token_end(text, start + 1).max(start + 1 + first.len_utf8());
    let body = &text[start + 1..end];
    let error =
        |what: String| Err(SourceError::new(what, Span::new(file, start, end)).with_hint(FORMS));
    if body.chars().nth(1).is_none() {
        return Ok((first, end));
    }
    if let Some((_, c)) = CHAR_NAMES.iter().find(|(name, _)| *name == body) {
        return Ok((*c, end));
    }
    if let Some(hex) = body.strip_prefix('u') {
        let code = (hex.len() == 4)
            .then(|| u32::from_str_radix(hex, 16).ok())
            .flatten();
        return match code.map(char::from_u32) {
            Some(Some(c)) => Ok((c, end)),
            Some(None) => error(format!(
                "`\\{body}` is half of a surrogate pair, not a character"
            )),
            None => error(format!(
                "`\\{body}`: `\\u` must be followed by four hex digits"
            )),
        };
    }
    if let Some(octal) = body.strip_prefix('o') {
        let code = (1..=3)
            .contains(&octal.len())
            .then(|| u32::from_str_radix(octal, 8).ok())
            .flatten();
        return match code {
            Some(code) if code <= 0o377 => Ok((char::from_u32(code).unwrap_or('\0'), end)),
            _ => error(format!(
                "`\\{body}`: `\\o` must be followed by an octal number from 0 to 377"
            )),
        };
    }
    error(format!("unknown character literal `\\{body}`"))
}
