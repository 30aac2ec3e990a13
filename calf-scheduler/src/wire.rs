//! The MessagePack encoding of Calf values on the bus, as docs/protocol.md
//! writes it down: natural values for workers (a Python worker sees dicts,
//! lists, ints, floats, strings), ext types for what only Calf has.

use calf_lang::natives::helpers::vector_of;
use calf_lang::value::{Map, Pid, Set, Sym};
use calf_lang::Value;

pub use calf_protocol::ext::{
    KEYWORD as EXT_KEYWORD, PID as EXT_PID, REF as EXT_REF, SET as EXT_SET, SYMBOL as EXT_SYMBOL,
};
/// How deep a value may nest on the wire (calf-protocol's limit, which
/// calf-worker's codec keeps too). Deeper values are refused both ways: a
/// payload before it is sent, a reply or a request as it is read.
pub use calf_protocol::MAX_DEPTH;

/// Encodes `value`; fails for what cannot cross the bus (functions, a map
/// whose keys would collide on the wire, a value nested deeper than
/// [`MAX_DEPTH`]).
pub fn encode(value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(16);
    write(&mut out, value, false, 0)?;
    Ok(out)
}

/// Decodes one MessagePack value; an empty body is `nil`. The bytes are
/// read by calf-protocol's reader, which holds the rules of a body (time
/// and memory linear in the bytes, at most [`MAX_DEPTH`] levels, ext 3
/// included, no `0xc1`, the ext types); what is Calf's alone is here: a
/// str map key is a keyword, a bin is text, an int fits in 64 signed bits,
/// and no ext type but Calf's is a value.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let mut reader = msgpack::Reader::new(bytes);
    // The collections being built, innermost last; a map's pending key
    // with it.
    let mut open: Vec<Building> = Vec::new();
    let mut done = None;
    while let Some(item) = reader.next()? {
        let as_key = matches!(open.last(), Some(Building::Map(_, None)));
        let value = match item {
            Item::Nil => Value::Nil,
            Item::Bool(b) => Value::Bool(b),
            Item::Int(n) => Value::Int(n),
            Item::Uint(n) => return Err(msgpack::int_out_of_range(n)),
            Item::Float(x) => Value::Float(x),
            Item::Str(text) => text_value(text, as_key),
            Item::Bin(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => text_value(text, as_key),
                Err(_) => {
                    return Err(
                        "binary data that is not UTF-8 text (Calf has no bytes type)".to_string(),
                    )
                }
            },
            Item::Keyword(name) => Value::Keyword(Sym::new(name)),
            Item::Symbol(name) => Value::Symbol(Sym::new(name)),
            Item::Pid(n) => Value::Pid(Pid(n)),
            Item::Ref(n) => Value::Ref(n),
            Item::Ext(tag, _) => return Err(msgpack::unknown_ext(tag)),
            Item::Array(_) => {
                open.push(Building::Vector(calf_lang::value::Vector::new()));
                continue;
            }
            Item::Map(_) => {
                open.push(Building::Map(Map::default(), None));
                continue;
            }
            Item::Set(_) => {
                open.push(Building::Set(Set::default()));
                continue;
            }
            Item::End => match open.pop().expect("the reader ends what it opened") {
                Building::Vector(items) => vector_of(items),
                Building::Map(map, _) => Value::from(map),
                Building::Set(items) => Value::from(items),
            },
        };
        match open.last_mut() {
            None => done = Some(value),
            Some(Building::Vector(items)) => items.push_back(value),
            Some(Building::Set(items)) => drop(items.insert(value)),
            Some(Building::Map(_, key @ None)) => *key = Some(value),
            Some(Building::Map(map, key)) => {
                let key = key.take().expect("a key is pending");
                map.insert(key, value);
            }
        }
    }
    Ok(done.expect("a body holds a value"))
}

/// A collection being decoded.
enum Building {
    Vector(calf_lang::value::Vector),
    /// The map, and the key read before its value.
    Map(Map, Option<Value>),
    Set(Set),
}

/// A str (or a bin that is UTF-8): a keyword as a map key.
fn text_value(text: &str, as_key: bool) -> Value {
    if as_key {
        Value::Keyword(Sym::new(text))
    } else {
        Value::str(text)
    }
}

use calf_protocol::msgpack::{self, too_deep, Item};

/// Writes `value` straight into `out` (building `rmpv` values first cost
/// an allocation per collection, then a second walk). `depth` is the
/// number of collections around `value`.
fn write(out: &mut Vec<u8>, value: &Value, as_key: bool, depth: usize) -> Result<(), String> {
    use rmp::encode as mp;
    if depth >= MAX_DEPTH
        && matches!(
            value,
            Value::List(_) | Value::Vector(_) | Value::Set(_) | Value::Map(_)
        )
    {
        return Err(too_deep());
    }
    match value {
        Value::Nil => mp::write_nil(out).map_err(failed)?,
        Value::Bool(b) => mp::write_bool(out, *b).map_err(failed)?,
        // The most compact form, as rmpv writes an integer.
        Value::Int(n) if *n >= 0 => drop(mp::write_uint(out, *n as u64).map_err(failed)?),
        Value::Int(n) => drop(mp::write_sint(out, *n).map_err(failed)?),
        Value::Float(x) => mp::write_f64(out, *x).map_err(failed)?,
        Value::Str(s) => mp::write_str(out, s.as_str()).map_err(failed)?,
        // MessagePack has no character: a one-character str, which comes
        // back as a string (docs/protocol.md).
        Value::Char(c) => mp::write_str(out, c.encode_utf8(&mut [0; 4])).map_err(failed)?,
        Value::Keyword(k) if as_key => mp::write_str(out, k.name()).map_err(failed)?,
        Value::Keyword(k) => write_ext(out, EXT_KEYWORD, k.name().as_bytes())?,
        Value::Symbol(s) => write_ext(out, EXT_SYMBOL, s.name().as_bytes())?,
        Value::List(items) | Value::Vector(items) => {
            mp::write_array_len(out, items.len() as u32).map_err(failed)?;
            for item in items.iter() {
                write(out, item, false, depth + 1)?;
            }
        }
        Value::Set(items) => {
            // The items go straight after room for the longest ext header,
            // which is then written in place, the data moved up to it if
            // it is shorter: writing them to a buffer of their own copied
            // a set's bytes once per set around it.
            let start = out.len();
            out.extend_from_slice(&[0; EXT_HEADER_MAX]);
            mp::write_array_len(out, items.len() as u32).map_err(failed)?;
            for item in items.iter() {
                write(out, item, false, depth + 1)?;
            }
            let data_len = out.len() - start - EXT_HEADER_MAX;
            let mut header = Vec::with_capacity(EXT_HEADER_MAX);
            rmp::encode::write_ext_meta(&mut header, data_len as u32, EXT_SET).map_err(failed)?;
            let data_start = start + header.len();
            out.copy_within(start + EXT_HEADER_MAX.., data_start);
            out[start..data_start].copy_from_slice(&header);
            out.truncate(data_start + data_len);
        }
        // Sorted or not, a map is a map on the wire (its order is lost).
        Value::Sorted(sorted) => write(out, &sorted.to_unsorted(), as_key, depth)?,
        Value::Map(entries) => {
            mp::write_map_len(out, entries.len() as u32).map_err(failed)?;
            let mut names = std::collections::HashSet::new();
            for (k, v) in entries.iter() {
                let text = match k {
                    Value::Keyword(name) => Some(std::borrow::Cow::Borrowed(name.name())),
                    Value::Str(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
                    Value::Char(c) => Some(std::borrow::Cow::Owned(c.to_string())),
                    _ => None,
                };
                if let Some(text) = text {
                    if names.contains(&text) {
                        return Err(format!(
                            "the map has two of :{text}, \"{text}\" and \\{text} as keys, which are the same key on the wire"
                        ));
                    }
                    names.insert(text);
                }
                write(out, k, true, depth + 1)?;
                write(out, v, false, depth + 1)?;
            }
        }
        // A lazy seq realized to its end is a list; the bus cannot run
        // the rest of one.
        Value::Lazy(_) if calf_lang::value::lazy::first_unrealized(value).is_none() => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            let items: Vec<&Value> = calf_lang::value::lazy::Items::new(value).collect();
            mp::write_array_len(out, items.len() as u32).map_err(failed)?;
            for item in items {
                write(out, item, false, depth + 1)?;
            }
        }
        Value::Lazy(_) => {
            return Err(
                "a lazy seq not computed to its end cannot be sent: send (vec s), or (doall s)"
                    .to_string(),
            )
        }
        Value::Pid(pid) => write_ext(out, EXT_PID, &pid.0.to_be_bytes())?,
        Value::Ref(r) => write_ext(out, EXT_REF, &r.to_be_bytes())?,
        Value::Fn(_) | Value::Native(_) => {
            return Err(format!(
                "{} cannot be sent: functions do not cross the bus",
                calf_lang::value::print::pr_str(value)
            ))
        }
        Value::Var(var) => {
            return Err(format!(
                "{} cannot be sent: vars do not cross the bus; send its name, '{}, or its value",
                calf_lang::value::print::pr_str(value),
                var.name
            ))
        }
        Value::Regex(r) => {
            return Err(format!(
                "{} cannot be sent: regexes do not cross the bus; send the pattern as a string, (str re), and compile it at the other end",
                calf_lang::value::print::pr_str(value)
            )
            .replace("(str re)", &format!("{:?}", r.source())))
        }
    }
    Ok(())
}

/// The longest ext header: marker, 32-bit length, type.
const EXT_HEADER_MAX: usize = 6;

fn write_ext(out: &mut Vec<u8>, kind: i8, data: &[u8]) -> Result<(), String> {
    rmp::encode::write_ext_meta(out, data.len() as u32, kind).map_err(failed)?;
    out.extend_from_slice(data);
    Ok(())
}

fn failed(e: impl std::fmt::Display) -> String {
    format!("cannot write MessagePack: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value as Mp;

    fn round_trip(text: &str) {
        let forms = calf_lang::reader::read_str("<wire>", text).expect("reads");
        for value in forms.forms {
            let back = decode(&encode(&value).expect("encodes")).expect("decodes");
            assert_eq!(back, value, "{text}");
        }
    }

    #[test]
    fn values_round_trip() {
        round_trip(
            r#"nil true false 0 -1 9223372036854775807 -9223372036854775808 1.5 "" "héllo" :k :ns/k x ns/y"#,
        );
        round_trip(r#"[1 [2 "x"] {:a 1}] {:a {:b [nil]}} #{1 :two "three"} {1 2, [1 2] 3}"#);
    }

    #[test]
    fn values_are_written_as_rmpv_writes_them() {
        let forms = calf_lang::reader::read_str(
            "<wire>",
            r#"[0 1 -1 127 128 -32 -33 255 256 -129 65536 -40000 4294967296 -9223372036854775808 1.5 "é" :k x] {"a" [nil true]} #{1}"#,
        )
        .expect("reads");
        for value in forms.forms {
            let bytes = encode(&value).expect("encodes");
            let mp = rmpv::decode::read_value(&mut bytes.as_slice()).expect("msgpack");
            let mut again = Vec::new();
            rmpv::encode::write_value(&mut again, &mp).expect("writes");
            assert_eq!(bytes, again, "{value}");
        }
        assert_eq!(encode(&Value::Int(1)).expect("encodes"), [0x01]);
        assert_eq!(encode(&Value::Int(-1)).expect("encodes"), [0xff]);
        assert_eq!(encode(&Value::Int(200)).expect("encodes"), [0xcc, 200]);
    }

    /// A value as the examples of docs/protocol.md write it: Calf source,
    /// or a pid or a ref as Calf prints them.
    fn example_value(text: &str) -> Value {
        let id = |prefix: &str| {
            let digits = text.strip_prefix(prefix)?.strip_suffix('>')?;
            digits.parse::<u64>().ok()
        };
        if let Some(n) = id("#pid<") {
            return Value::Pid(Pid(n));
        }
        if let Some(n) = id("#ref<") {
            return Value::Ref(n);
        }
        let mut forms = calf_lang::reader::read_str("<protocol.md>", text)
            .unwrap_or_else(|e| panic!("{text}: {e:?}"))
            .forms;
        assert_eq!(forms.len(), 1, "{text} is one value");
        forms.remove(0)
    }

    #[test]
    fn the_documents_examples() {
        use calf_protocol::doc::{hex, table, PROTOCOL_MD};
        for row in table(PROTOCOL_MD, &["Calf value", "MessagePack (hex)"]) {
            let (value, bytes) = (example_value(&row.cells[0]), hex(&row.cells[1]).unwrap());
            assert_eq!(
                encode(&value),
                Ok(bytes.clone()),
                "line {}: {value}",
                row.line
            );
            assert_eq!(decode(&bytes), Ok(value), "line {}", row.line);
        }
        for row in table(PROTOCOL_MD, &["MessagePack (hex)", "Calf reads"]) {
            let read = decode(&hex(&row.cells[0]).unwrap());
            match row.cells[1].as_str() {
                "bad reply" => assert!(read.is_err(), "line {}: {read:?}", row.line),
                value => assert_eq!(read, Ok(example_value(value)), "line {}", row.line),
            }
        }
    }

    #[test]
    fn characters_are_one_character_strings_on_the_wire() {
        assert_eq!(encode(&Value::Char('a')), Ok(vec![0xa1, 0x61]));
        assert_eq!(encode(&Value::Char('é')), Ok(vec![0xa2, 0xc3, 0xa9]));
        assert_eq!(decode(&[0xa1, 0x61]), Ok(Value::str("a")));
        let clash = Value::map([
            (Value::Char('a'), Value::Int(1)),
            (Value::keyword("a"), Value::Int(2)),
        ]);
        assert!(encode(&clash).is_err_and(|e| e.contains("same key on the wire")));
    }

    #[test]
    fn keyword_keys_are_strings_on_the_wire_and_come_back_keywords() {
        let bytes = encode(&Value::map([(Value::keyword("a"), Value::Int(1))])).expect("encodes");
        let mp = rmpv::decode::read_value(&mut bytes.as_slice()).expect("msgpack");
        assert_eq!(mp, Mp::Map(vec![(Mp::from("a"), Mp::from(1))]));
        let string_key = encode(&Value::map([(Value::str("a"), Value::Int(1))])).expect("encodes");
        assert_eq!(
            decode(&string_key).expect("decodes"),
            Value::map([(Value::keyword("a"), Value::Int(1))])
        );
    }

    #[test]
    fn what_cannot_cross_is_refused() {
        let both = Value::map([
            (Value::keyword("a"), Value::Int(1)),
            (Value::str("a"), Value::Int(2)),
        ]);
        assert!(encode(&both).is_err());
        let regex = calf_lang::reader::read_str("<test>", "[#\"a+\"]")
            .expect("reads")
            .forms
            .remove(0);
        let refused = encode(&regex).expect_err("a regex stays home");
        assert!(
            refused.contains("#\"a+\"") && refused.contains("as a string"),
            "{refused}"
        );
        assert!(decode(&[0x92, 0x01]).is_err());
        assert!(decode(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0xc4, 0x01, 0xff]).is_err());
        assert!(decode(&[0x01, 0x02]).is_err());
    }

    /// Sets nested `depth` deep, each holding the next (ext 3 around an
    /// array of one), written from the outside in so that building them
    /// is linear too.
    fn nested_sets(depth: usize) -> Vec<u8> {
        // The bytes of the set `k` levels from the inside; the innermost
        // is the empty set, `d4 03 90`.
        let mut sizes = vec![3usize];
        for k in 1..depth {
            let data = 1 + sizes[k - 1];
            sizes.push(ext_header(data).len() + data);
        }
        let mut out = Vec::with_capacity(sizes[depth - 1]);
        for k in (1..depth).rev() {
            out.extend(ext_header(1 + sizes[k - 1]));
            out.push(0x91);
        }
        out.extend([0xd4, 0x03, 0x90]);
        out
    }

    fn ext_header(len: usize) -> Vec<u8> {
        let mut header = Vec::new();
        rmp::encode::write_ext_meta(&mut header, len as u32, EXT_SET).expect("writes");
        header
    }

    fn nested_arrays(depth: usize) -> Vec<u8> {
        let mut out = vec![0x91; depth - 1];
        out.push(0x90);
        out
    }

    fn nested_vectors(depth: usize) -> Value {
        let mut value = Value::vector([]);
        for _ in 1..depth {
            value = Value::vector([value]);
        }
        value
    }

    #[test]
    fn sets_nested_in_sets_stop_at_the_depth_limit() {
        let at_limit = decode(&nested_sets(MAX_DEPTH)).expect("decodes at the limit");
        assert_eq!(decode(&encode(&at_limit).expect("encodes")), Ok(at_limit));
        let why = decode(&nested_sets(MAX_DEPTH + 1)).expect_err("one level too deep");
        assert!(why.contains("1024 levels"), "{why}");
        // As a reply reported it: 674 KB, 100,000 levels.
        let body = nested_sets(100_000);
        assert!(body.len() > 600_000);
        let start = std::time::Instant::now();
        assert!(decode(&body).is_err());
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn every_kind_of_nesting_counts_toward_the_depth() {
        assert!(decode(&nested_arrays(MAX_DEPTH)).is_ok());
        assert!(decode(&nested_arrays(MAX_DEPTH + 1)).is_err());
        // A map of one entry whose value is the next map.
        let mut maps = Vec::new();
        for _ in 0..=MAX_DEPTH {
            maps.extend([0x81, 0x01]);
        }
        maps.push(0xc0);
        assert!(decode(&maps).is_err(), "{} maps", MAX_DEPTH + 1);
        maps.drain(..2);
        assert!(decode(&maps).is_ok(), "{MAX_DEPTH} maps");
        // Arrays around sets: 512 arrays, then sets to the limit and one
        // more.
        let mut mixed = nested_arrays(513);
        mixed.pop();
        mixed.extend(nested_sets(MAX_DEPTH - 512));
        assert!(decode(&mixed).is_ok());
        let mut mixed = nested_arrays(514);
        mixed.pop();
        mixed.extend(nested_sets(MAX_DEPTH - 512));
        assert!(decode(&mixed).is_err());
    }

    #[test]
    fn an_ext_type_calf_does_not_define_is_refused() {
        let why = decode(&[0x91, 0xd4, 0x06, 0x00]).expect_err("ext 6 is no Calf kind");
        assert!(why.contains("reserved for Calf"), "{why}");
        let why = decode(&[0xd6, 0xff, 0, 0, 0, 0]).expect_err("a timestamp");
        assert_eq!(why, "unknown MessagePack ext type -1");
    }

    #[test]
    fn the_reserved_byte_is_not_nil() {
        for bytes in [&[0xc1][..], &[0x91, 0xc1], &[0x81, 0xc1, 0x01]] {
            let why = decode(bytes).expect_err("0xc1 is no value");
            assert!(why.contains("0xc1"), "{why}");
        }
    }

    #[test]
    fn a_header_longer_than_the_body_is_refused_without_allocating_it() {
        for bytes in [
            &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
            &[0xdf, 0xff, 0xff, 0xff, 0xff],
            &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
            &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x03, 0x90],
            &[0xd4, 0x03, 0x91],
        ] {
            assert!(decode(bytes).is_err(), "{bytes:x?}");
        }
    }

    #[test]
    fn a_value_too_deep_to_send_is_refused_naming_the_limit() {
        assert!(encode(&nested_vectors(MAX_DEPTH)).is_ok());
        let why = encode(&nested_vectors(MAX_DEPTH + 1)).expect_err("too deep");
        assert!(why.contains("1024 levels"), "{why}");
        // Deep enough to overflow a thread's stack if written recursively.
        let deep = nested_vectors(200_000);
        assert!(encode(&deep).is_err());
        // Not dropped here: how a value this deep is freed is the value
        // module's concern, not the wire's.
        std::mem::forget(deep);
    }
}
