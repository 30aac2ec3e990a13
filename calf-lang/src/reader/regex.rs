//! Regular expression literals: `#"..."`. As in Clojure, the text between
//! the quotes is the pattern as it is, its escapes the pattern's own
//! (`#"\d+"` is `\d+`, where a string would need `"\\d+"`); `\"` puts a
//! quote in the pattern. The pattern compiles when it is read, so a bad
//! one is a reader error pointing at it.

use crate::error::SourceError;
use crate::span::{FileId, Span};
use crate::value::Regex;

use super::scan::char_at;

/// Reads the literal whose `#` is at `start`: the regex and the offset
/// after its closing quote.
pub fn read_regex(text: &str, file: FileId, start: usize) -> Result<(Regex, usize), SourceError> {
    let bytes = text.as_bytes();
    let open = start + 2;
    let mut pos = open;
    loop {
        match bytes.get(pos) {
            None => {
                let mut error = SourceError::new(
                    "unterminated regular expression",
                    Span::new(file, start, open),
                )
                .with_hint("the pattern starting here has no closing `\"`");
                error.incomplete = true;
                return Err(error);
            }
            Some(b'"') => break,
            // The escaped character is the pattern's business: the reader
            // only steps over it, so that `\"` does not end the literal.
            Some(b'\\') => pos += 1 + char_at(text, pos + 1).map_or(0, char::len_utf8),
            // Other bytes one at a time: `"` and `\` are ASCII, so they
            // are never inside a character.
            Some(_) => pos += 1,
        }
    }
    let end = pos + 1;
    let source = &text[open..pos];
    match Regex::new(source) {
        Ok(regex) => Ok((regex, end)),
        Err(why) => Err(SourceError::new(
            format!("invalid regular expression: {why}"),
            Span::new(file, start, end),
        )
        .with_hint(
            "Calf's regexes are the `regex` crate's: no look-around or backreferences; escape a character the pattern would read as syntax",
        )),
    }
}
