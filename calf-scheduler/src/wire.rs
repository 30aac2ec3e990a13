//! The MessagePack encoding of Calf values on the bus, as docs/protocol.md
//! writes it down: natural values for workers (a Python worker sees dicts,
//! lists, ints, floats, strings), ext types for what only Calf has.

use calf_lang::natives::helpers::vector_of;
use calf_lang::value::{Map, Pid, Set, Sym};
use calf_lang::Value;
use rmpv::Value as Mp;

pub const EXT_KEYWORD: i8 = 1;
pub const EXT_SYMBOL: i8 = 2;
pub const EXT_SET: i8 = 3;
pub const EXT_PID: i8 = 4;
pub const EXT_REF: i8 = 5;

/// Encodes `value`; fails for what cannot cross the bus (functions, a map
/// whose keys would collide on the wire).
pub fn encode(value: &Value) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(16);
    write(&mut out, value, false)?;
    Ok(out)
}

/// Decodes one MessagePack value; an empty body is `nil`.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    if bytes.is_empty() {
        return Ok(Value::Nil);
    }
    let mut reader = bytes;
    let mp =
        rmpv::decode::read_value_ref(&mut reader).map_err(|e| format!("not MessagePack: {e}"))?;
    if !reader.is_empty() {
        return Err(format!(
            "{} bytes after the MessagePack value",
            reader.len()
        ));
    }
    from_mp(&rmpv::ValueRef::to_owned(&mp), false)
}

/// Writes `value` straight into `out` (building `rmpv` values first cost
/// an allocation per collection, then a second walk).
fn write(out: &mut Vec<u8>, value: &Value, as_key: bool) -> Result<(), String> {
    use rmp::encode as mp;
    match value {
        Value::Nil => mp::write_nil(out).map_err(failed)?,
        Value::Bool(b) => mp::write_bool(out, *b).map_err(failed)?,
        // The most compact form, as rmpv writes an integer.
        Value::Int(n) if *n >= 0 => drop(mp::write_uint(out, *n as u64).map_err(failed)?),
        Value::Int(n) => drop(mp::write_sint(out, *n).map_err(failed)?),
        Value::Float(x) => mp::write_f64(out, *x).map_err(failed)?,
        Value::Str(s) => mp::write_str(out, s.as_str()).map_err(failed)?,
        Value::Keyword(k) if as_key => mp::write_str(out, k.name()).map_err(failed)?,
        Value::Keyword(k) => write_ext(out, EXT_KEYWORD, k.name().as_bytes())?,
        Value::Symbol(s) => write_ext(out, EXT_SYMBOL, s.name().as_bytes())?,
        Value::List(items) | Value::Vector(items) => {
            mp::write_array_len(out, items.len() as u32).map_err(failed)?;
            for item in items.iter() {
                write(out, item, false)?;
            }
        }
        Value::Set(items) => {
            let mut data = Vec::new();
            mp::write_array_len(&mut data, items.len() as u32).map_err(failed)?;
            for item in items.iter() {
                write(&mut data, item, false)?;
            }
            write_ext(out, EXT_SET, &data)?;
        }
        Value::Map(entries) => {
            mp::write_map_len(out, entries.len() as u32).map_err(failed)?;
            let mut names = std::collections::HashSet::new();
            for (k, v) in entries.iter() {
                let text = match k {
                    Value::Keyword(name) => Some(name.name()),
                    Value::Str(s) => Some(s.as_str()),
                    _ => None,
                };
                if let Some(text) = text {
                    if !names.insert(text) {
                        return Err(format!(
                            "the map has both :{text} and \"{text}\" as keys, which are the same key on the wire"
                        ));
                    }
                }
                write(out, k, true)?;
                write(out, v, false)?;
            }
        }
        Value::Pid(pid) => write_ext(out, EXT_PID, &pid.0.to_be_bytes())?,
        Value::Ref(r) => write_ext(out, EXT_REF, &r.to_be_bytes())?,
        Value::Fn(_) | Value::Native(_) => {
            return Err(format!(
                "{} cannot be sent: functions do not cross the bus",
                calf_lang::value::print::pr_str(value)
            ))
        }
    }
    Ok(())
}

fn write_ext(out: &mut Vec<u8>, kind: i8, data: &[u8]) -> Result<(), String> {
    rmp::encode::write_ext_meta(out, data.len() as u32, kind).map_err(failed)?;
    out.extend_from_slice(data);
    Ok(())
}

fn failed(e: impl std::fmt::Display) -> String {
    format!("cannot write MessagePack: {e}")
}

fn from_mp(mp: &Mp, as_key: bool) -> Result<Value, String> {
    Ok(match mp {
        Mp::Nil => Value::Nil,
        Mp::Boolean(b) => Value::Bool(*b),
        Mp::Integer(n) => match n.as_i64() {
            Some(n) => Value::Int(n),
            None => return Err(format!("integer {n} does not fit in 64 signed bits")),
        },
        Mp::F32(x) => Value::Float(*x as f64),
        Mp::F64(x) => Value::Float(*x),
        Mp::String(s) => match s.as_str() {
            Some(text) if as_key => Value::Keyword(Sym::new(text)),
            Some(text) => Value::str(text),
            None => return Err("a string that is not UTF-8".to_string()),
        },
        Mp::Binary(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) if as_key => Value::Keyword(Sym::new(text)),
            Ok(text) => Value::str(text),
            Err(_) => {
                return Err(
                    "binary data that is not UTF-8 text (Calf has no bytes type)".to_string(),
                )
            }
        },
        Mp::Array(items) => vector_of(
            items
                .iter()
                .map(|i| from_mp(i, false))
                .collect::<Result<_, _>>()?,
        ),
        Mp::Map(pairs) => {
            let mut map = Map::default();
            for (k, v) in pairs {
                map.insert(from_mp(k, true)?, from_mp(v, false)?);
            }
            Value::from(map)
        }
        Mp::Ext(kind, data) => match *kind {
            EXT_KEYWORD => Value::Keyword(Sym::new(utf8(data)?)),
            EXT_SYMBOL => Value::Symbol(Sym::new(utf8(data)?)),
            EXT_SET => {
                let mut reader = data.as_slice();
                let array =
                    rmpv::decode::read_value(&mut reader).map_err(|e| format!("bad set: {e}"))?;
                let Mp::Array(items) = array else {
                    return Err("a set ext that does not hold an array".to_string());
                };
                let mut set = Set::default();
                for item in &items {
                    set.insert(from_mp(item, false)?);
                }
                Value::from(set)
            }
            EXT_PID => Value::Pid(Pid(u64::from_be_bytes(eight(data)?))),
            EXT_REF => Value::Ref(u64::from_be_bytes(eight(data)?)),
            other => return Err(format!("unknown MessagePack ext type {other}")),
        },
    })
}

fn utf8(data: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(data).map_err(|_| "an ext name that is not UTF-8".to_string())
}

fn eight(data: &[u8]) -> Result<[u8; 8], String> {
    data.try_into()
        .map_err(|_| format!("an id of {} bytes, not 8", data.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(decode(&[0x92, 0x01]).is_err());
        assert!(decode(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode(&[0xc4, 0x01, 0xff]).is_err());
        assert!(decode(&[0x01, 0x02]).is_err());
    }
}
