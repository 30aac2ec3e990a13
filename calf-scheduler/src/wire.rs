//! The MessagePack encoding of Calf values on the bus, as docs/protocol.md
//! writes it down: natural values for workers (a Python worker sees dicts,
//! lists, ints, floats, strings), ext types for what only Calf has.

use std::sync::Arc;

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
    let mp = to_mp(value, false)?;
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| e.to_string())?;
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

fn to_mp(value: &Value, as_key: bool) -> Result<Mp, String> {
    Ok(match value {
        Value::Nil => Mp::Nil,
        Value::Bool(b) => Mp::Boolean(*b),
        Value::Int(n) => Mp::from(*n),
        Value::Float(x) => Mp::F64(*x),
        Value::Str(s) => Mp::from(s.as_str()),
        Value::Keyword(k) if as_key => Mp::from(k.name()),
        Value::Keyword(k) => Mp::Ext(EXT_KEYWORD, k.name().as_bytes().to_vec()),
        Value::Symbol(s) => Mp::Ext(EXT_SYMBOL, s.name().as_bytes().to_vec()),
        Value::List(items) | Value::Vector(items) => Mp::Array(
            items
                .iter()
                .map(|v| to_mp(v, false))
                .collect::<Result<_, _>>()?,
        ),
        Value::Set(items) => {
            let array = Mp::Array(
                items
                    .iter()
                    .map(|v| to_mp(v, false))
                    .collect::<Result<_, _>>()?,
            );
            let mut data = Vec::new();
            rmpv::encode::write_value(&mut data, &array).map_err(|e| e.to_string())?;
            Mp::Ext(EXT_SET, data)
        }
        Value::Map(entries) => {
            let mut pairs = Vec::with_capacity(entries.len());
            let mut names = std::collections::HashSet::new();
            for (k, v) in entries.iter() {
                let text = match k {
                    Value::Keyword(name) => Some(name.name().to_string()),
                    Value::Str(s) => Some(s.to_string()),
                    _ => None,
                };
                if let Some(text) = text {
                    if !names.insert(text.clone()) {
                        return Err(format!(
                            "the map has both :{text} and \"{text}\" as keys, which are the same key on the wire"
                        ));
                    }
                }
                pairs.push((to_mp(k, true)?, to_mp(v, false)?));
            }
            Mp::Map(pairs)
        }
        Value::Pid(pid) => Mp::Ext(EXT_PID, pid.0.to_be_bytes().to_vec()),
        Value::Ref(r) => Mp::Ext(EXT_REF, r.to_be_bytes().to_vec()),
        Value::Fn(_) | Value::Native(_) => {
            return Err(format!(
                "{} cannot be sent: functions do not cross the bus",
                calf_lang::value::print::pr_str(value)
            ))
        }
    })
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
        Mp::Array(items) => Value::Vector(Arc::new(
            items
                .iter()
                .map(|i| from_mp(i, false))
                .collect::<Result<_, _>>()?,
        )),
        Mp::Map(pairs) => {
            let mut map = Map::default();
            for (k, v) in pairs {
                map.insert(from_mp(k, true)?, from_mp(v, false)?);
            }
            Value::Map(Arc::new(map))
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
                Value::Set(Arc::new(set))
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
