//! Finding where things are in the text: skipping whitespace and comments,
//! and finding where a token (number, symbol, keyword) ends.
//!
//! Positions are byte offsets that always sit on a character boundary.

/// Whether `b`, an ASCII byte, ends a token. These are whitespace, the comma
/// and Clojure's terminating macro characters. `#`, `'` and `%` do not end a
/// token, so `x#` and `a'b` are single symbols.
fn ends_token(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | 0x0b
            | 0x0c
            | b','
            | b'"'
            | b';'
            | b'@'
            | b'^'
            | b'`'
            | b'~'
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'\\'
    )
}

/// The character starting at byte `pos`, if any.
pub fn char_at(text: &str, pos: usize) -> Option<char> {
    text.get(pos..).and_then(|rest| rest.chars().next())
}

/// The offset just past the end of the line containing `pos`.
fn line_end(bytes: &[u8], pos: usize) -> usize {
    match bytes
        .get(pos..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
    {
        Some(i) => pos + i + 1,
        None => bytes.len(),
    }
}

/// Skips whitespace, commas, `;` comments and `#!` comments (so a script may
/// start with a `#!` line), returning the offset of the next meaningful
/// character or the end of the text.
pub fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(pos) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b',' => pos += 1,
            b';' => pos = line_end(bytes, pos),
            b'#' if bytes.get(pos + 1) == Some(&b'!') => pos = line_end(bytes, pos),
            b if b.is_ascii() => return pos,
            _ => match char_at(text, pos) {
                // A byte order mark is not whitespace to Unicode, but an
                // editor may put one at the start of a file.
                Some(c) if c.is_whitespace() || c == '\u{feff}' => pos += c.len_utf8(),
                _ => return pos,
            },
        }
    }
    pos
}

/// The end of the token starting at `start`. The first character always
/// belongs to the token, so the result is past `start` unless the text ends
/// there.
pub fn token_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut pos = start;
    while let Some(&b) = bytes.get(pos) {
        if b.is_ascii() {
            if pos > start && ends_token(b) {
                break;
            }
            pos += 1;
        } else {
            let Some(c) = char_at(text, pos) else { break };
            if pos > start && c.is_whitespace() {
                break;
            }
            pos += c.len_utf8();
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivia_and_tokens() {
        assert_eq!(skip_trivia(" ,\t; hi\n  x", 0), 10);
        assert_eq!(skip_trivia("#!/bin/calf\nx", 0), 12);
        assert_eq!(skip_trivia("\u{a0}x", 0), 2);
        assert_eq!(skip_trivia("\u{feff}(", 0), 3);
        assert_eq!(skip_trivia("  ", 0), 2);
        assert_eq!(token_end("foo#(bar)", 0), 4);
        assert_eq!(token_end("a'b c", 0), 3);
        assert_eq!(token_end("héllo\u{2003}x", 0), 6);
        assert_eq!(token_end("x@y", 0), 1);
    }
}
