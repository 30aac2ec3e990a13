//! Bencode, nREPL's wire format: integers `i42e`, byte strings `5:hello`,
//! lists `l...e` and dictionaries `d...e` (keys are byte strings, written
//! sorted).
//!
//! Messages arrive on a stream, so [`decode`] says when the bytes so far
//! are the start of a message and how many it needs at least. It refuses
//! what no client sends: a message longer than [`MAX_MESSAGE`], nested
//! deeper than [`MAX_DEPTH`], or malformed; the connection then closes,
//! since the rest of its stream can no longer be framed.

use std::collections::BTreeMap;
use std::fmt;

/// The longest message taken: a `load-file` of a large source file fits.
pub const MAX_MESSAGE: usize = 16 << 20;

/// How deep lists and dictionaries nest. nREPL messages are a dictionary
/// of scalars and short lists; the limit keeps the decoder's recursion
/// small.
pub const MAX_DEPTH: usize = 32;

/// A bencoded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bencode {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Bencode>),
    Dict(BTreeMap<Vec<u8>, Bencode>),
}

impl Bencode {
    pub fn str(text: impl Into<String>) -> Bencode {
        Bencode::Bytes(text.into().into_bytes())
    }

    pub fn strs<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Bencode {
        Bencode::List(items.into_iter().map(Bencode::str).collect())
    }

    /// The text of a byte string (invalid UTF-8 replaced).
    pub fn as_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Bencode::Bytes(bytes) => Some(String::from_utf8_lossy(bytes)),
            _ => None,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Bencode::Int(n) => out.extend_from_slice(format!("i{n}e").as_bytes()),
            Bencode::Bytes(bytes) => {
                out.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
            }
            Bencode::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            Bencode::Dict(entries) => {
                out.push(b'd');
                for (key, value) in entries {
                    Bencode::Bytes(key.clone()).encode_into(out);
                    value.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }
}

/// What the bytes received so far hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole value, and the bytes it took.
    Value(Bencode, usize),
    /// The start of a value: at least this many bytes in all are needed
    /// before it is worth decoding again.
    Incomplete(usize),
}

/// Why bytes are not bencode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The offset of the byte at fault.
    pub at: usize,
    pub why: String,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed bencode at byte {}: {}", self.at, self.why)
    }
}

/// Decodes the value at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Decoded, Malformed> {
    let mut reader = Reader { bytes, at: 0 };
    match reader.value(0) {
        Ok(value) => Ok(Decoded::Value(value, reader.at)),
        Err(Stop::Incomplete(needed)) if needed > MAX_MESSAGE => Err(Malformed {
            at: 0,
            why: format!("the message is longer than the limit of {MAX_MESSAGE} bytes"),
        }),
        Err(Stop::Incomplete(needed)) => Ok(Decoded::Incomplete(needed)),
        Err(Stop::Malformed(malformed)) => Err(malformed),
    }
}

enum Stop {
    Incomplete(usize),
    Malformed(Malformed),
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn malformed(&self, why: impl Into<String>) -> Stop {
        Stop::Malformed(Malformed {
            at: self.at,
            why: why.into(),
        })
    }

    fn peek(&self) -> Result<u8, Stop> {
        self.bytes
            .get(self.at)
            .copied()
            .ok_or(Stop::Incomplete(self.at + 1))
    }

    fn value(&mut self, depth: usize) -> Result<Bencode, Stop> {
        match self.peek()? {
            b'i' => {
                self.at += 1;
                let n = self.number(b'e')?;
                Ok(Bencode::Int(n))
            }
            b'0'..=b'9' => self.bytes().map(Bencode::Bytes),
            open @ (b'l' | b'd') => {
                if depth >= MAX_DEPTH {
                    return Err(self.malformed(format!("nested deeper than {MAX_DEPTH} levels")));
                }
                self.at += 1;
                if open == b'l' {
                    let mut items = Vec::new();
                    while self.peek()? != b'e' {
                        items.push(self.value(depth + 1)?);
                    }
                    self.at += 1;
                    Ok(Bencode::List(items))
                } else {
                    let mut entries = BTreeMap::new();
                    while self.peek()? != b'e' {
                        if !self.peek()?.is_ascii_digit() {
                            return Err(self.malformed("a dictionary key must be a byte string"));
                        }
                        let key = self.bytes()?;
                        let value = self.value(depth + 1)?;
                        entries.insert(key, value);
                    }
                    self.at += 1;
                    Ok(Bencode::Dict(entries))
                }
            }
            other => Err(self.malformed(format!(
                "expected i, l, d or a digit, found {:?}",
                char::from(other)
            ))),
        }
    }

    /// A byte string: its length, `:`, its bytes.
    fn bytes(&mut self) -> Result<Vec<u8>, Stop> {
        let len = self.number(b':')?;
        let len = usize::try_from(len).map_err(|_| self.malformed("a negative string length"))?;
        if len > MAX_MESSAGE {
            return Err(self.malformed(format!(
                "a string of {len} bytes is longer than the limit of {MAX_MESSAGE}"
            )));
        }
        let end = self.at + len;
        if end > self.bytes.len() {
            return Err(Stop::Incomplete(end));
        }
        let bytes = self.bytes[self.at..end].to_vec();
        self.at = end;
        Ok(bytes)
    }

    /// Decimal digits (an optional `-`) up to `end`, which is consumed.
    fn number(&mut self, end: u8) -> Result<i64, Stop> {
        let start = self.at;
        loop {
            let byte = self.peek()?;
            if byte == end {
                break;
            }
            let sign = byte == b'-' && self.at == start;
            if !byte.is_ascii_digit() && !sign {
                return Err(self.malformed(format!(
                    "expected a digit or {:?}, found {:?}",
                    char::from(end),
                    char::from(byte)
                )));
            }
            // Twenty characters hold any i64; more is no number of ours.
            if self.at - start >= 20 {
                return Err(self.malformed("a number too long"));
            }
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        let n = text
            .parse::<i64>()
            .map_err(|_| self.malformed(format!("{text:?} is not a number")))?;
        self.at += 1;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match decode(input.as_bytes()) {
            Ok(Decoded::Value(value, used)) => {
                let again = String::from_utf8_lossy(&value.encode()).into_owned();
                format!("{again} ({used} bytes)")
            }
            Ok(Decoded::Incomplete(needed)) => format!("incomplete, needs {needed}"),
            Err(malformed) => malformed.to_string(),
        };
        assert_eq!(got, expect, "decoding {input:?}");
    }

    #[test]
    fn values_decode_and_encode_back() {
        check("i42e", "i42e (4 bytes)");
        check("i-7e", "i-7e (4 bytes)");
        check("4:spam", "4:spam (6 bytes)");
        check("0:", "0: (2 bytes)");
        check("l4:spami1ee", "l4:spami1ee (11 bytes)");
        check(
            "d2:op4:eval4:code7:(+ 1 2)e",
            "d4:code7:(+ 1 2)2:op4:evale (27 bytes)",
        );
        check("i1ei2e", "i1e (3 bytes)");
    }

    #[test]
    fn a_value_cut_short_says_what_it_needs() {
        check("", "incomplete, needs 1");
        check("d2:op", "incomplete, needs 6");
        check("10:abc", "incomplete, needs 13");
        check("l", "incomplete, needs 2");
        check("i12", "incomplete, needs 4");
    }

    #[test]
    fn malformed_input_is_refused_with_where() {
        check(
            "x",
            "malformed bencode at byte 0: expected i, l, d or a digit, found 'x'",
        );
        check(
            "i1x",
            "malformed bencode at byte 2: expected a digit or 'e', found 'x'",
        );
        check(
            "di1ei2ee",
            "malformed bencode at byte 1: a dictionary key must be a byte string",
        );
        check("i-e", "malformed bencode at byte 2: \"-\" is not a number");
        check(
            "99999999999:",
            "malformed bencode at byte 12: a string of 99999999999 bytes is longer than the limit of 16777216",
        );
        check(
            "i123456789012345678901234e",
            "malformed bencode at byte 21: a number too long",
        );
    }

    #[test]
    fn nesting_is_limited() {
        let deep = "l".repeat(MAX_DEPTH + 1);
        check(
            &deep,
            "malformed bencode at byte 32: nested deeper than 32 levels",
        );
        let ok = format!("{}{}", "l".repeat(MAX_DEPTH), "e".repeat(MAX_DEPTH));
        assert!(matches!(decode(ok.as_bytes()), Ok(Decoded::Value(..))));
    }
}
