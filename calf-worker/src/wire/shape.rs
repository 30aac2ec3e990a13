//! The check every body passes before serde reads it: one MessagePack
//! value, every length inside the body, no reserved byte, and no deeper
//! than [`MAX_DEPTH`] counting arrays, maps and sets together, the array
//! inside each ext 3 walked where it lies. Linear in the bytes: serde then
//! reads a set's data as a slice of the body and never checks it again.

use super::{CodecError, EXT_SET, MAX_DEPTH};

/// Checks that `body` holds one well-formed value and nothing after it.
pub fn check(body: &[u8]) -> Result<(), CodecError> {
    let mut walk = Walk { bytes: body, at: 0 };
    walk.value(0).map_err(CodecError)?;
    if walk.at < body.len() {
        return Err(CodecError(format!(
            "{} bytes after the MessagePack value",
            body.len() - walk.at
        )));
    }
    Ok(())
}

fn too_deep() -> String {
    format!("the value nests deeper than {MAX_DEPTH} levels (arrays, maps and sets together)")
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Walk<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "the body ends inside a value ({n} bytes wanted at byte {}, {} left)",
                self.at,
                self.bytes.len() - self.at
            ));
        };
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// A big-endian length of `n` bytes (1, 2 or 4).
    fn len(&mut self, n: usize) -> Result<usize, String> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0usize, |len, &b| (len << 8) | b as usize))
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        let at = self.at;
        let marker = self.take(1)?[0];
        match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => {}
            0xc1 => return Err(format!("byte {at} is 0xc1, which MessagePack never uses")),
            0x80..=0x8f => self.items(2 * (marker & 0x0f) as usize, depth)?,
            0x90..=0x9f => self.items((marker & 0x0f) as usize, depth)?,
            0xa0..=0xbf => drop(self.take((marker & 0x1f) as usize)?),
            0xc4..=0xc6 => {
                let n = self.len(1 << (marker - 0xc4))?;
                self.take(n)?;
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                self.take(n)?;
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (marker - 0xc7))?;
                self.ext(n, depth)?;
            }
            0xca | 0xce | 0xd2 => drop(self.take(4)?),
            0xcb | 0xcf | 0xd3 => drop(self.take(8)?),
            0xcc | 0xd0 => drop(self.take(1)?),
            0xcd | 0xd1 => drop(self.take(2)?),
            0xd4..=0xd8 => self.ext(1 << (marker - 0xd4), depth)?,
            0xdc | 0xdd => {
                let n = self.len(2 << (marker - 0xdc))?;
                self.items(n, depth)?;
            }
            0xde | 0xdf => {
                let n = self.len(2 << (marker - 0xde))?;
                self.items(n.saturating_mul(2), depth)?;
            }
        }
        Ok(())
    }

    /// The `n` values of a collection opened inside `depth` others.
    fn items(&mut self, n: usize, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(too_deep());
        }
        for _ in 0..n {
            self.value(depth + 1)?;
        }
        Ok(())
    }

    /// An ext of `n` data bytes, after its length: a set's data is one
    /// array, walked in place; other ext data is opaque.
    fn ext(&mut self, n: usize, depth: usize) -> Result<(), String> {
        let kind = self.take(1)?[0] as i8;
        let data = self.take(n)?;
        if kind != EXT_SET {
            return Ok(());
        }
        let mut inner = Walk { bytes: data, at: 0 };
        let count = match inner.take(1)?[0] {
            marker @ 0x90..=0x9f => (marker & 0x0f) as usize,
            0xdc => inner.len(2)?,
            0xdd => inner.len(4)?,
            _ => return Err(format!("ext {EXT_SET}: the data is not an array")),
        };
        inner.items(count, depth)?;
        if inner.at < data.len() {
            return Err(format!(
                "ext {EXT_SET}: {} bytes after its array",
                data.len() - inner.at
            ));
        }
        Ok(())
    }
}
