//! The wire codec: MessagePack bodies and Calf's ext types, exactly as
//! `docs/protocol.md` states them, with the header names, the retry rule
//! and the depth limit of `calf-protocol`, which the caller uses too.
//!
//! Everything here works at the serde level, so a Rust worker reads and
//! writes its own types: [`Keyword`], [`Symbol`], [`Set`], [`Pid`] and
//! [`Ref`] carry the Calf kinds that MessagePack has no type for, and
//! [`Value`] holds any body whose shape is not known in advance.
//!
//! ```
//! use calf_worker::wire::{self, Keyword};
//!
//! let body = wire::encode(&(Keyword::new("ok"), 3)).unwrap();
//! let (status, n): (Keyword, i64) = wire::decode(&body).unwrap();
//! assert_eq!((status.name(), n), ("ok", 3));
//! ```

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use calf_protocol::msgpack;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// Ext type of a keyword; the data is its name in UTF-8 (`ns/name`, no colon).
pub const EXT_KEYWORD: i8 = calf_protocol::ext::KEYWORD;
/// Ext type of a symbol; the data is its name in UTF-8.
pub const EXT_SYMBOL: i8 = calf_protocol::ext::SYMBOL;
/// Ext type of a set; the data is one MessagePack array of its items.
pub const EXT_SET: i8 = calf_protocol::ext::SET;
/// Ext type of a pid; the data is a `u64`, big-endian.
pub const EXT_PID: i8 = calf_protocol::ext::PID;
/// Ext type of a ref; the data is a `u64`, big-endian.
pub const EXT_REF: i8 = calf_protocol::ext::REF;

// The protocol's rules, as the caller keeps them too.
pub use calf_protocol::header;
pub use calf_protocol::retry::{default_retryable, is_retryable};
pub use calf_protocol::MAX_DEPTH;

/// A body that could not be encoded or decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError(String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

/// Encodes a value as one MessagePack value. Structs become maps keyed by
/// field name, so Calf reads them as maps with keyword keys.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut buf = Vec::new();
    value
        .serialize(&mut rmp_serde::Serializer::new(&mut buf).with_struct_map())
        .map_err(|e| CodecError(e.to_string()))?;
    Ok(buf)
}

/// Decodes a body that holds exactly one MessagePack value. An empty body
/// is nil. The body first passes calf-protocol's reader, which the caller
/// reads with too, and which refuses what docs/protocol.md rules out: a
/// body nested deeper than [`MAX_DEPTH`] (arrays, maps and sets together),
/// the reserved byte `0xc1`, a length past the body's end, a str or an
/// ext name that is not UTF-8, malformed ext 3-5 data; the work done is
/// linear in the body's length. Ext types Calf does not define are kept
/// ([`Value::Ext`], [`Ext`]), so a value passes through unchanged.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    const NIL: &[u8] = &[0xc0];
    calf_protocol::msgpack::check(body).map_err(|e| CodecError(e.to_string()))?;
    let body = if body.is_empty() { NIL } else { body };
    let _checked = Checked::enter();
    decode_checked(body)
}

thread_local! {
    /// Whether this thread is inside a [`decode`] whose body passed
    /// calf-protocol's reader: the sets inside it need no check of their
    /// own.
    static CHECKED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the thread as inside a checked body until dropped.
struct Checked(bool);

impl Checked {
    fn enter() -> Checked {
        Checked(CHECKED.with(|c| c.replace(true)))
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        CHECKED.with(|c| c.set(self.0));
    }
}

/// Decodes a body that passed calf-protocol's reader, which also saw that
/// nothing follows its value. Reading from a slice, serde lends ext data out of
/// the body instead of copying it.
fn decode_checked<T: DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    let mut de = rmp_serde::Deserializer::from_read_ref(body);
    T::deserialize(&mut de).map_err(|e| CodecError(e.to_string()))
}

/// A keyword: `:ok` is `Keyword::new("ok")`.
///
/// Encodes as ext 1. Decodes from ext 1 and also from a string, since a
/// keyword map key travels as a string: a `HashMap<Keyword, T>` reads the
/// keys of a Calf map like `{:a 1}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Keyword(pub String);

impl Keyword {
    pub fn new(name: impl Into<String>) -> Keyword {
        Keyword(name.into())
    }

    /// The name, namespace included, without the colon.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A symbol. Encodes as ext 2.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(pub String);

impl Symbol {
    pub fn new(name: impl Into<String>) -> Symbol {
        Symbol(name.into())
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A Calf process id. Encodes as ext 4. A worker cannot use it except to
/// pass it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(pub u64);

/// A Calf reference (as `make-ref` or `monitor` make). Encodes as ext 5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ref(pub u64);

/// A set. Encodes as ext 3 around an array of the items; the order of the
/// items means nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Set<T>(pub Vec<T>);

/// Any ext value, as its type number and data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ext {
    pub tag: i8,
    pub data: Vec<u8>,
}

/// Any body, as the wire has it: Calf's ext types are decoded, and anything
/// else (`Bin`, an unknown `Ext`) is kept, so a value passes through a
/// worker unchanged. Map keys stay as they are on the wire: a Calf keyword
/// key is a `Str` here.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in wire order.
    Map(Vec<(Value, Value)>),
    Keyword(String),
    Symbol(String),
    Set(Vec<Value>),
    Pid(u64),
    Ref(u64),
    /// An ext type Calf does not define.
    Ext(i8, Vec<u8>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn keyword(name: impl Into<String>) -> Value {
        Value::Keyword(name.into())
    }

    pub fn symbol(name: impl Into<String>) -> Value {
        Value::Symbol(name.into())
    }

    pub fn map(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        Value::Map(entries.into_iter().collect())
    }

    /// The value under a string key of a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Value {
        Value::Float(x)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

// ---- Serialize ----------------------------------------------------------

/// Serializes `(tag, data)` the way rmp-serde writes an ext.
fn serialize_ext<S: Serializer>(serializer: S, tag: i8, data: &[u8]) -> Result<S::Ok, S::Error> {
    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }
    serializer.serialize_newtype_struct(rmp_serde::MSGPACK_EXT_STRUCT_NAME, &(tag, Bytes(data)))
}

fn serialize_set<S: Serializer, T: Serialize>(
    serializer: S,
    items: &[T],
) -> Result<S::Ok, S::Error> {
    let data = encode(items).map_err(serde::ser::Error::custom)?;
    serialize_ext(serializer, EXT_SET, &data)
}

impl Serialize for Keyword {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_ext(serializer, EXT_KEYWORD, self.0.as_bytes())
    }
}

impl Serialize for Symbol {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_ext(serializer, EXT_SYMBOL, self.0.as_bytes())
    }
}

impl Serialize for Pid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_ext(serializer, EXT_PID, &self.0.to_be_bytes())
    }
}

impl Serialize for Ref {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_ext(serializer, EXT_REF, &self.0.to_be_bytes())
    }
}

impl<T: Serialize> Serialize for Set<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_set(serializer, &self.0)
    }
}

impl Serialize for Ext {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_ext(serializer, self.tag, &self.data)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(n) => serializer.serialize_i64(*n),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Str(s) => serializer.serialize_str(s),
            Value::Bin(b) => serializer.serialize_bytes(b),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Value::Keyword(name) => serialize_ext(serializer, EXT_KEYWORD, name.as_bytes()),
            Value::Symbol(name) => serialize_ext(serializer, EXT_SYMBOL, name.as_bytes()),
            Value::Set(items) => serialize_set(serializer, items),
            Value::Pid(n) => serialize_ext(serializer, EXT_PID, &n.to_be_bytes()),
            Value::Ref(n) => serialize_ext(serializer, EXT_REF, &n.to_be_bytes()),
            Value::Ext(tag, data) => serialize_ext(serializer, *tag, data),
        }
    }
}

// ---- Deserialize --------------------------------------------------------

/// Bytes from whichever form a deserializer offers them in, borrowed
/// from the body when it lends them.
struct ByteBuf<'de>(Cow<'de, [u8]>);

impl<'de> Deserialize<'de> for ByteBuf<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ByteBuf<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ByteBuf<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<ByteBuf<'de>, E> {
                Ok(ByteBuf(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf<'de>, E> {
                Ok(ByteBuf(Cow::Owned(v.to_vec())))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf<'de>, E> {
                Ok(ByteBuf(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(ByteBuf(Cow::Owned(out)))
            }
        }
        deserializer.deserialize_bytes(V)
    }
}

/// Reads the `(tag, data)` pair inside an ext.
fn ext_parts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(i8, Cow<'de, [u8]>), D::Error> {
    let (tag, ByteBuf(data)) = <(i8, ByteBuf<'de>)>::deserialize(deserializer)?;
    Ok((tag, data))
}

fn utf8_name<E: de::Error>(tag: i8, data: Cow<[u8]>) -> Result<String, E> {
    msgpack::ext_name(tag, &data)
        .map(str::to_owned)
        .map_err(E::custom)
}

fn u64_be<E: de::Error>(tag: i8, data: &[u8]) -> Result<u64, E> {
    msgpack::ext_id(tag, data).map_err(E::custom)
}

/// A set's items, from its ext data: checked with the body around it
/// when there is one, else checked here.
fn decode_set<T: DeserializeOwned, E: de::Error>(data: &[u8]) -> Result<Vec<T>, E> {
    let decoded = if CHECKED.with(Cell::get) {
        decode_checked(data)
    } else {
        decode(data)
    };
    decoded.map_err(|e| E::custom(format!("ext {EXT_SET}: {e}")))
}

/// What one ext type is: how it decodes from its data.
trait FromExt: Sized {
    const TAG: i8;
    const WHAT: &'static str;
    fn from_ext<E: de::Error>(data: Cow<[u8]>) -> Result<Self, E>;
    /// Whether a plain string is also accepted.
    fn from_str<E: de::Error>(_s: &str) -> Option<Result<Self, E>> {
        None
    }
}

impl FromExt for Keyword {
    const TAG: i8 = EXT_KEYWORD;
    const WHAT: &'static str = "a keyword (ext 1) or a string";
    fn from_ext<E: de::Error>(data: Cow<[u8]>) -> Result<Self, E> {
        utf8_name(Self::TAG, data).map(Keyword)
    }
    fn from_str<E: de::Error>(s: &str) -> Option<Result<Self, E>> {
        Some(Ok(Keyword(s.to_owned())))
    }
}

impl FromExt for Symbol {
    const TAG: i8 = EXT_SYMBOL;
    const WHAT: &'static str = "a symbol (ext 2)";
    fn from_ext<E: de::Error>(data: Cow<[u8]>) -> Result<Self, E> {
        utf8_name(Self::TAG, data).map(Symbol)
    }
}

impl FromExt for Pid {
    const TAG: i8 = EXT_PID;
    const WHAT: &'static str = "a pid (ext 4)";
    fn from_ext<E: de::Error>(data: Cow<[u8]>) -> Result<Self, E> {
        u64_be(Self::TAG, &data).map(Pid)
    }
}

impl FromExt for Ref {
    const TAG: i8 = EXT_REF;
    const WHAT: &'static str = "a ref (ext 5)";
    fn from_ext<E: de::Error>(data: Cow<[u8]>) -> Result<Self, E> {
        u64_be(Self::TAG, &data).map(Ref)
    }
}

impl<T: DeserializeOwned> FromExt for Set<T> {
    const TAG: i8 = EXT_SET;
    const WHAT: &'static str = "a set (ext 3)";
    fn from_ext<E: de::Error>(data: Cow<[u8]>) -> Result<Self, E> {
        decode_set(&data).map(Set)
    }
}

struct ExtVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: FromExt> Visitor<'de> for ExtVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::WHAT)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        let (tag, data) = ext_parts(deserializer)?;
        if tag != T::TAG {
            return Err(de::Error::custom(format!(
                "expected {}, got ext {tag}",
                T::WHAT
            )));
        }
        T::from_ext(data)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        T::from_str(s).unwrap_or_else(|| Err(E::invalid_type(de::Unexpected::Str(s), &self)))
    }
}

macro_rules! deserialize_ext {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(ExtVisitor(std::marker::PhantomData))
            }
        }
    )*};
}

deserialize_ext!(Keyword, Symbol, Pid, Ref);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Set<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ExtVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Ext {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ext;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ext value")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Ext, D::Error> {
                let (tag, data) = ext_parts(d)?;
                Ok(Ext {
                    tag,
                    data: data.into_owned(),
                })
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a MessagePack value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        i64::try_from(n)
            .map(Value::Int)
            .map_err(|_| E::custom(msgpack::int_out_of_range(n)))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::Bin(b.to_vec()))
    }

    fn visit_byte_buf<E>(self, b: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bin(b))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let (tag, data) = ext_parts(d)?;
        Ok(match tag {
            EXT_KEYWORD => Value::Keyword(utf8_name(tag, data)?),
            EXT_SYMBOL => Value::Symbol(utf8_name(tag, data)?),
            EXT_SET => Value::Set(decode_set(&data)?),
            EXT_PID => Value::Pid(u64_be(tag, &data)?),
            EXT_REF => Value::Ref(u64_be(tag, &data)?),
            _ => Value::Ext(tag, data.into_owned()),
        })
    }
}

#[cfg(test)]
mod tests;
