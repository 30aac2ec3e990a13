//! The one reader of MessagePack bodies: it yields a body's items in
//! order, and every rule of docs/protocol.md about what a body may hold
//! is checked here, with the words both codecs report.
//!
//! [`Reader`] pulls one [`Item`] at a time, with no recursion: a
//! collection is a header ([`Item::Array`], [`Item::Map`], [`Item::Set`])
//! followed by its items and then [`Item::End`]. It refuses
//!
//! - a body nested deeper than [`MAX_DEPTH`] (arrays, maps and sets
//!   together, a set counting once with the array it holds);
//! - a body that ends inside a value, and a length longer than what is
//!   left of the body, at the length itself and before anything is
//!   allocated for it (a collection's items each take at least a byte, so
//!   its length is bounded by the bytes left: a codec may reserve room
//!   for them);
//! - the byte `0xc1`, which MessagePack never writes;
//! - a str (or the name of a keyword or a symbol) that is not UTF-8;
//! - malformed data in an ext type Calf defines (a keyword's and a
//!   symbol's name is UTF-8; a set's data is exactly one array; a pid's
//!   and a ref's are 8 bytes);
//! - anything after the body's one value.
//!
//! Its time is linear in the bytes and its memory in the depth. An empty
//! body is nil. What a codec does with an item is the codec's: the caller
//! reads a bin as text and refuses ints above `i64::MAX` and the ext types
//! Calf does not define (reserved or not, [`unknown_ext`]); a worker keeps
//! them, as docs/protocol.md asks of it, so that a value passes through it
//! unchanged.

use std::fmt;

use crate::{ext, MAX_DEPTH};

/// One item of a body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Item<'a> {
    Nil,
    Bool(bool),
    /// An int in the signed 64-bit range, whichever way it was written.
    Int(i64),
    /// A uint 64 above `i64::MAX`, which Calf cannot hold
    /// ([`int_out_of_range`]).
    Uint(u64),
    /// A float; a float 32 is widened.
    Float(f64),
    Str(&'a str),
    Bin(&'a [u8]),
    /// An array of this many items, which follow, then [`Item::End`].
    Array(usize),
    /// A map of this many entries, whose keys and values follow in turn,
    /// then [`Item::End`].
    Map(usize),
    /// Ext 1: the keyword's name, without the colon.
    Keyword(&'a str),
    /// Ext 2: the symbol's name.
    Symbol(&'a str),
    /// Ext 3: a set of this many items, which follow, then [`Item::End`].
    Set(usize),
    /// Ext 4.
    Pid(u64),
    /// Ext 5.
    Ref(u64),
    /// An ext type Calf does not define, with its data: an application's,
    /// or one reserved for Calf ([`ext::RESERVED`]) that a later version
    /// may define. A worker passes it on unchanged; the caller refuses it
    /// ([`unknown_ext`]).
    Ext(i8, &'a [u8]),
    /// The end of the innermost open array, map or set.
    End,
}

/// Why a body cannot be read. Its text is what a codec reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.0
    }
}

/// The refusal of a value nested deeper than [`MAX_DEPTH`], in the words
/// of a Calf program (it is read by one, as a bad reply or a worker's
/// `400`); the caller's encoder says it too.
pub fn too_deep() -> String {
    format!(
        "the value nests deeper than {MAX_DEPTH} levels (vectors, lists, maps and sets together), the most the wire carries: send it flatter"
    )
}

/// The refusal of an int Calf cannot hold, for a codec that reads
/// [`Item::Uint`] into a signed 64-bit int.
pub fn int_out_of_range(n: u64) -> String {
    format!("integer {n} is out of range for a 64-bit signed int")
}

/// The refusal of an ext type Calf does not define ([`Item::Ext`]), by a
/// codec that reads only Calf's kinds.
pub fn unknown_ext(tag: i8) -> String {
    if ext::RESERVED.contains(&tag) {
        format!(
            "unknown MessagePack ext type {tag}: types {} to {} are reserved for Calf, and this version defines no such kind",
            ext::RESERVED.start(),
            ext::RESERVED.end()
        )
    } else {
        format!("unknown MessagePack ext type {tag}")
    }
}

/// The name held by an ext 1 or 2.
pub fn ext_name(tag: i8, data: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(data)
        .map_err(|_| Error::new(format!("ext {tag} ({}): the name is not UTF-8", kind(tag))))
}

/// The id held by an ext 4 or 5: 8 bytes, big-endian.
pub fn ext_id(tag: i8, data: &[u8]) -> Result<u64, Error> {
    let bytes: [u8; 8] = data.try_into().map_err(|_| {
        Error::new(format!(
            "ext {tag} ({}): expected 8 bytes, got {}",
            kind(tag),
            data.len()
        ))
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// The kind of a Calf ext type, as docs/protocol.md names it.
fn kind(tag: i8) -> &'static str {
    ext::ALL
        .iter()
        .find(|&&(t, _)| t == tag)
        .map_or("not a Calf kind", |&(_, name)| name)
}

/// A collection being read.
#[derive(Clone, Copy, Debug, Default)]
struct Open {
    /// Items still to come (a map's keys and values both count).
    left: usize,
    /// For a set, where its ext data ends; else `usize::MAX`.
    set_end: usize,
    /// The limit in force around this collection, restored at its end.
    outer_limit: usize,
}

/// The open collections, innermost last: the first few in place, so that
/// a shallow body costs no allocation, the others on the heap.
#[derive(Debug, Default)]
struct Stack {
    shallow: [Open; SHALLOW],
    len: usize,
    deep: Vec<Open>,
}

/// How many open collections a [`Stack`] holds in place.
const SHALLOW: usize = 8;

impl Stack {
    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn last_mut(&mut self) -> Option<&mut Open> {
        match self.len {
            0 => None,
            n if n <= SHALLOW => Some(&mut self.shallow[n - 1]),
            _ => self.deep.last_mut(),
        }
    }

    #[inline]
    fn push(&mut self, open: Open) {
        if self.len < SHALLOW {
            self.shallow[self.len] = open;
        } else {
            self.deep.push(open);
        }
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) -> Option<Open> {
        let open = match self.len {
            0 => return None,
            n if n <= SHALLOW => self.shallow[n - 1],
            _ => self.deep.pop()?,
        };
        self.len -= 1;
        Some(open)
    }

    fn iter(&self) -> impl Iterator<Item = &Open> {
        self.shallow[..self.len.min(SHALLOW)]
            .iter()
            .chain(&self.deep)
    }
}

/// Pulls the items of one body; see the module's documentation.
///
/// ```
/// use calf_protocol::msgpack::{Item, Reader};
///
/// let mut reader = Reader::new(&[0x92, 0x01, 0xd4, 0x01, b'a']);
/// let mut items = Vec::new();
/// while let Some(item) = reader.next().unwrap() {
///     items.push(item);
/// }
/// assert_eq!(
///     items,
///     [Item::Array(2), Item::Int(1), Item::Keyword("a"), Item::End]
/// );
/// ```
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where the innermost open set's data ends (reading stops there), or
    /// the body's length.
    limit: usize,
    open: Stack,
    started: bool,
    /// Whether a set is being opened: its array's header read within its
    /// data.
    set_header: bool,
}

impl<'a> Reader<'a> {
    /// A reader of `body`, which holds one value (none: nil).
    #[inline]
    pub fn new(body: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes: body,
            at: 0,
            limit: body.len(),
            open: Stack::default(),
            started: false,
            set_header: false,
        }
    }

    /// How many collections are open around the next item.
    #[inline]
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The next item, or `None` after the body's value, once the body is
    /// known to hold nothing more. After an error, the reader is of no
    /// further use.
    #[allow(clippy::should_implement_trait)] // An error is not an item.
    #[inline]
    pub fn next(&mut self) -> Result<Option<Item<'a>>, Error> {
        if let Some(open) = self.open.last_mut() {
            if open.left == 0 {
                return self.close().map(Some);
            }
            open.left -= 1;
        } else if self.started {
            return match self.bytes.len() - self.at {
                0 => Ok(None),
                after => Err(Error::new(format!(
                    "{after} bytes after the MessagePack value"
                ))),
            };
        } else {
            self.started = true;
            if self.bytes.is_empty() {
                return Ok(Some(Item::Nil));
            }
        }
        self.item().map(Some)
    }

    /// Ends the innermost collection, whose items are all read.
    fn close(&mut self) -> Result<Item<'a>, Error> {
        let open = self.open.pop().expect("a collection is open");
        if open.set_end != usize::MAX && self.at < open.set_end {
            return Err(Error::new(format!(
                "ext {} (set): {} bytes after its array",
                ext::SET,
                open.set_end - self.at
            )));
        }
        self.limit = open.outer_limit;
        Ok(Item::End)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let left = self.limit - self.at;
        if n > left {
            return Err(self.ends_inside(format!("{n} bytes wanted at byte {}", self.at)));
        }
        let taken = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(taken)
    }

    /// The refusal of a body (or a set's data) that ends before `wanted`.
    fn ends_inside(&self, wanted: String) -> Error {
        let left = self.limit - self.at;
        let in_set = self.set_header || self.open.iter().any(|o| o.set_end != usize::MAX);
        let whole = if in_set {
            format!("ext {} (set): the data", ext::SET)
        } else {
            "not MessagePack: the body".to_string()
        };
        Error::new(format!(
            "{whole} ends inside a value ({wanted}, {left} left)"
        ))
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    fn be<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    /// A big-endian length of `n` bytes (1, 2 or 4).
    #[inline]
    fn len(&mut self, n: usize) -> Result<usize, Error> {
        Ok(match n {
            1 => self.byte()? as usize,
            2 => u16::from_be_bytes(self.be()?) as usize,
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    /// Opens a collection of `items` values (each at least one byte)
    /// that started at byte `at`, ending a set's data at `set_end`.
    #[inline]
    fn open(&mut self, items: usize, at: usize, set_end: usize) -> Result<(), Error> {
        if self.open.len() >= MAX_DEPTH {
            return Err(Error::new(too_deep()));
        }
        let outer_limit = self.limit;
        if set_end != usize::MAX {
            self.limit = set_end;
        }
        if items > self.limit - self.at {
            let why = self.ends_inside(format!("{items} items from byte {at}"));
            self.limit = outer_limit;
            return Err(why);
        }
        self.open.push(Open {
            left: items,
            set_end,
            outer_limit,
        });
        Ok(())
    }

    #[inline]
    fn item(&mut self) -> Result<Item<'a>, Error> {
        let at = self.at;
        let marker = self.byte()?;
        Ok(match marker {
            0x00..=0x7f => Item::Int(marker as i64),
            0xe0..=0xff => Item::Int(marker as i8 as i64),
            0x80..=0x8f => self.map((marker & 0x0f) as usize, at)?,
            0x90..=0x9f => self.array((marker & 0x0f) as usize, at)?,
            0xa0..=0xbf => self.str((marker & 0x1f) as usize, at)?,
            0xc0 => Item::Nil,
            0xc1 => {
                return Err(Error::new(format!(
                    "not MessagePack: byte {at} is 0xc1, which MessagePack never uses"
                )))
            }
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (marker - 0xc4))?;
                Item::Bin(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (marker - 0xc7))?;
                self.ext(n, at)?
            }
            0xca => Item::Float(f32::from_be_bytes(self.be()?) as f64),
            0xcb => Item::Float(f64::from_be_bytes(self.be()?)),
            0xcc => Item::Int(self.byte()? as i64),
            0xcd => Item::Int(u16::from_be_bytes(self.be()?) as i64),
            0xce => Item::Int(u32::from_be_bytes(self.be()?) as i64),
            0xcf => {
                let n = u64::from_be_bytes(self.be()?);
                i64::try_from(n).map_or(Item::Uint(n), Item::Int)
            }
            0xd0 => Item::Int(i8::from_be_bytes(self.be()?) as i64),
            0xd1 => Item::Int(i16::from_be_bytes(self.be()?) as i64),
            0xd2 => Item::Int(i32::from_be_bytes(self.be()?) as i64),
            0xd3 => Item::Int(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => self.ext(1 << (marker - 0xd4), at)?,
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                self.str(n, at)?
            }
            0xdc | 0xdd => {
                let n = self.len(2 << (marker - 0xdc))?;
                self.array(n, at)?
            }
            0xde | 0xdf => {
                let n = self.len(2 << (marker - 0xde))?;
                self.map(n, at)?
            }
        })
    }

    #[inline]
    fn str(&mut self, n: usize, at: usize) -> Result<Item<'a>, Error> {
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes)
            .map(Item::Str)
            .map_err(|_| Error::new(format!("the str at byte {at} is not UTF-8")))
    }

    #[inline]
    fn array(&mut self, n: usize, at: usize) -> Result<Item<'a>, Error> {
        self.open(n, at, usize::MAX)?;
        Ok(Item::Array(n))
    }

    #[inline]
    fn map(&mut self, n: usize, at: usize) -> Result<Item<'a>, Error> {
        self.open(n.saturating_mul(2), at, usize::MAX)?;
        Ok(Item::Map(n))
    }

    /// An ext of `n` data bytes that started at byte `at`, after its
    /// length.
    fn ext(&mut self, n: usize, at: usize) -> Result<Item<'a>, Error> {
        let tag = self.byte()? as i8;
        if tag == ext::SET {
            return self.set(n, at);
        }
        let data = self.take(n)?;
        Ok(match tag {
            ext::KEYWORD => Item::Keyword(ext_name(tag, data)?),
            ext::SYMBOL => Item::Symbol(ext_name(tag, data)?),
            ext::PID => Item::Pid(ext_id(tag, data)?),
            ext::REF => Item::Ref(ext_id(tag, data)?),
            tag => Item::Ext(tag, data),
        })
    }

    /// An ext 3 of `n` data bytes: exactly one array, read in place, its
    /// items the set's.
    fn set(&mut self, n: usize, at: usize) -> Result<Item<'a>, Error> {
        if n > self.limit - self.at {
            return Err(self.ends_inside(format!("{n} bytes wanted at byte {}", self.at)));
        }
        let end = self.at + n;
        let not_an_array =
            || Error::new(format!("ext {} (set): the data is not an array", ext::SET));
        let marker = *self.bytes[..end].get(self.at).ok_or_else(not_an_array)?;
        // The array's header is read within the set's data.
        let outer = std::mem::replace(&mut self.limit, end);
        self.set_header = true;
        self.at += 1;
        let items = match marker {
            0x90..=0x9f => Ok((marker & 0x0f) as usize),
            0xdc => self.len(2),
            0xdd => self.len(4),
            _ => Err(not_an_array()),
        };
        self.limit = outer;
        let opened = items.and_then(|items| self.open(items, at, end).map(|()| items));
        self.set_header = false;
        Ok(Item::Set(opened?))
    }
}

/// Reads all of `body`, keeping nothing: whether it is a body at all.
pub fn check(body: &[u8]) -> Result<(), Error> {
    let mut reader = Reader::new(body);
    while reader.next()?.is_some() {}
    Ok(())
}
