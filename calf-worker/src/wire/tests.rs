use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::*;

/// Encodes `value`, checks the exact bytes, and decodes them back.
fn check<T>(value: T, bytes: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
{
    let encoded = encode(&value).unwrap();
    assert_eq!(encoded, bytes, "encoding of {value:?}");
    assert_eq!(
        decode::<T>(&encoded).unwrap(),
        value,
        "round trip of {value:?}"
    );
}

#[test]
fn ext_types_have_the_documented_numbers_and_layouts() {
    check(Keyword::new("a"), &[0xd4, 0x01, b'a']);
    check(
        Keyword::new("ns/ab"),
        &[0xc7, 5, 0x01, b'n', b's', b'/', b'a', b'b'],
    );
    check(Symbol::new("xy"), &[0xd5, 0x02, b'x', b'y']);
    check(Set(vec![1i64, 2]), &[0xc7, 3, 0x03, 0x92, 1, 2]);
    check(Pid(258), &[0xd7, 0x04, 0, 0, 0, 0, 0, 0, 1, 2]);
    check(
        Ref(u64::MAX),
        &[0xd7, 0x05, 255, 255, 255, 255, 255, 255, 255, 255],
    );
    check(
        Ext {
            tag: 42,
            data: vec![7],
        },
        &[0xd4, 42, 7],
    );
}

#[test]
fn scalars_use_the_smallest_encoding_and_floats_are_64_bit() {
    check(Value::Nil, &[0xc0]);
    check(Value::Bool(true), &[0xc3]);
    check(Value::Int(5), &[0x05]);
    check(Value::Int(-1), &[0xff]);
    check(Value::Int(300), &[0xcd, 0x01, 0x2c]);
    check(Value::Int(i64::MIN), &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    check(Value::Float(1.5), &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    check(Value::str("hi"), &[0xa2, b'h', b'i']);
    check(Value::Bin(vec![0xff]), &[0xc4, 1, 0xff]);
}

#[test]
fn every_kind_of_value_round_trips() {
    let value = Value::map([
        (Value::str("n"), Value::Int(i64::MAX)),
        (Value::Int(1), Value::Float(-0.25)),
        (
            Value::keyword("k"),
            Value::Array(vec![Value::Nil, Value::Bool(false)]),
        ),
        (
            Value::str("calf"),
            Value::Array(vec![
                Value::keyword("app/ok"),
                Value::symbol("sym"),
                Value::Set(vec![Value::keyword("a"), Value::Set(vec![Value::Int(1)])]),
                Value::Pid(7),
                Value::Ref(9),
                Value::Ext(-1, vec![0, 0, 0, 1]),
            ]),
        ),
        (Value::Array(vec![Value::Int(1)]), Value::map([])),
    ]);
    let bytes = encode(&value).unwrap();
    assert_eq!(decode::<Value>(&bytes).unwrap(), value);
}

#[test]
fn structs_are_maps_keyed_by_field_name() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Charge {
        amount: i64,
        currency: Keyword,
    }
    let charge = Charge {
        amount: 5,
        currency: Keyword::new("eur"),
    };
    let as_value: Value = decode(&encode(&charge).unwrap()).unwrap();
    assert_eq!(
        as_value,
        Value::map([
            (Value::str("amount"), Value::Int(5)),
            (Value::str("currency"), Value::keyword("eur")),
        ])
    );
    assert_eq!(
        decode::<Charge>(&encode(&as_value).unwrap()).unwrap(),
        charge
    );
}

#[test]
fn keyword_keys_read_from_strings() {
    // {:a 1} from Calf: the key travels as the string "a".
    let body = encode(&Value::map([(Value::str("a"), Value::Int(1))])).unwrap();
    let map: HashMap<Keyword, i64> = decode(&body).unwrap();
    assert_eq!(map.get(&Keyword::new("a")), Some(&1));
    // A symbol does not read from a string.
    assert!(decode::<Symbol>(&encode("a").unwrap()).is_err());
}

#[test]
fn an_empty_body_is_nil_and_trailing_bytes_are_an_error() {
    assert_eq!(decode::<Value>(&[]).unwrap(), Value::Nil);
    assert_eq!(decode::<Option<i64>>(&[]).unwrap(), None);
    let err = decode::<Value>(&[0x01, 0x02]).unwrap_err();
    assert_eq!(err.to_string(), "1 bytes after the MessagePack value");
    assert!(decode::<Value>(&[0x92, 0x01]).is_err(), "truncated array");
}

#[test]
fn values_calf_cannot_hold_are_rejected() {
    let big = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert!(decode::<Value>(&big)
        .unwrap_err()
        .to_string()
        .contains("out of range"));
    assert!(decode::<Value>(&[0xd5, 0x04, 0, 1])
        .unwrap_err()
        .to_string()
        .contains("8 bytes"));
    assert!(decode::<Value>(&[0xd4, 0x01, 0xff])
        .unwrap_err()
        .to_string()
        .contains("UTF-8"));
    assert!(decode::<Pid>(&[0xd4, 0x01, b'a'])
        .unwrap_err()
        .to_string()
        .contains("got ext 1"));
}

#[test]
fn float_32_widens() {
    assert_eq!(
        decode::<Value>(&[0xca, 0x3f, 0xc0, 0, 0]).unwrap(),
        Value::Float(1.5)
    );
}

#[test]
fn what_python_msgpack_sends_decodes() {
    // msgpack.packb({"a": [1, ExtType(1, b"ok")], "b": b"hi"})
    let body = [
        0x82, 0xa1, b'a', 0x92, 0x01, 0xd5, 0x01, b'o', b'k', 0xa1, b'b', 0xc4, 0x02, b'h', b'i',
    ];
    assert_eq!(
        decode::<Value>(&body).unwrap(),
        Value::map([
            (
                Value::str("a"),
                Value::Array(vec![Value::Int(1), Value::keyword("ok")])
            ),
            (Value::str("b"), Value::Bin(b"hi".to_vec())),
        ])
    );
}

#[test]
fn the_retry_rule() {
    let cases: &[(Option<&str>, Option<&str>, bool)] = &[
        (None, None, true),
        (Some("500"), None, true),
        (Some("503"), None, true),
        (Some("400"), None, false),
        (Some("499"), None, false),
        (Some(" 404 "), None, false),
        (Some("4xx"), None, true),
        (Some("+400"), None, true),
        (Some("card-declined"), None, true),
        (Some(""), None, true),
        (Some("card-declined"), Some("false"), false),
        (Some("400"), Some("TRUE"), true),
        (Some("500"), Some("False"), false),
        (Some("400"), Some("maybe"), false),
        (Some("500"), Some(""), true),
    ];
    for &(code, header, expected) in cases {
        assert_eq!(
            is_retryable(code, header),
            expected,
            "code {code:?}, header {header:?}"
        );
    }
}

/// Sets nested `depth` deep, each holding the next (ext 3 around an array
/// of one), written from the outside in so that building them is linear.
fn nested_sets(depth: usize) -> Vec<u8> {
    // The ext header, as MessagePack writes it for `len` bytes of data.
    fn header(len: usize) -> Vec<u8> {
        let fixed = [(1, 0xd4), (2, 0xd5), (4, 0xd6), (8, 0xd7), (16, 0xd8)];
        let mut out = match fixed.iter().find(|(n, _)| *n == len) {
            Some((_, marker)) => vec![*marker],
            None if len < 256 => vec![0xc7, len as u8],
            None if len < 65536 => [&[0xc8][..], &(len as u16).to_be_bytes()].concat(),
            None => [&[0xc9][..], &(len as u32).to_be_bytes()].concat(),
        };
        out.push(EXT_SET as u8);
        out
    }
    // The bytes of the set `k` levels from the inside; the innermost is
    // the empty set, `d4 03 90`.
    let mut sizes = vec![3usize];
    for k in 1..depth {
        let data = 1 + sizes[k - 1];
        sizes.push(header(data).len() + data);
    }
    let mut out = Vec::with_capacity(sizes[depth - 1]);
    for k in (1..depth).rev() {
        out.extend(header(1 + sizes[k - 1]));
        out.push(0x91);
    }
    out.extend([0xd4, 0x03, 0x90]);
    out
}

#[test]
fn sets_nested_in_sets_stop_at_the_depth_limit() {
    let at_limit = decode::<Value>(&nested_sets(MAX_DEPTH)).unwrap();
    assert_eq!(
        decode::<Value>(&encode(&at_limit).unwrap()).unwrap(),
        at_limit
    );
    let why = decode::<Value>(&nested_sets(MAX_DEPTH + 1)).unwrap_err();
    assert!(why.to_string().contains("1024 levels"), "{why}");
    // As a request reported it: 674 KB, 100,000 levels.
    let body = nested_sets(100_000);
    let start = std::time::Instant::now();
    assert!(decode::<Value>(&body).is_err());
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn arrays_and_sets_count_together_toward_the_depth() {
    let arrays = |n: usize| {
        let mut out = vec![0x91; n];
        out.pop();
        out
    };
    let mut mixed = arrays(513);
    mixed.extend(nested_sets(MAX_DEPTH - 512));
    assert!(decode::<Value>(&mixed).is_ok());
    let mut mixed = arrays(514);
    mixed.extend(nested_sets(MAX_DEPTH - 512));
    assert!(decode::<Value>(&mixed).is_err());
    // The same limit for a caller's own types.
    let mut mixed = arrays(514);
    mixed.extend(nested_sets(MAX_DEPTH - 512));
    assert!(decode::<Vec<Set<Value>>>(&mixed).is_err());
}

#[test]
fn the_reserved_byte_is_not_a_value() {
    for bytes in [&[0xc1][..], &[0x91, 0xc1], &[0x81, 0xc1, 0x01]] {
        let why = decode::<Value>(bytes).unwrap_err();
        assert!(why.to_string().contains("0xc1"), "{why}");
    }
    assert!(decode::<Option<i64>>(&[0xc1]).is_err());
}

/// The examples of docs/protocol.md: each value Calf writes passes through
/// this codec byte for byte, and each body a worker in another language
/// may send decodes.
#[test]
fn the_documents_examples() {
    use calf_protocol::doc::{hex, table, PROTOCOL_MD};
    for row in table(PROTOCOL_MD, &["Calf value", "MessagePack (hex)"]) {
        let bytes = hex(&row.cells[1]).unwrap();
        let value = decode::<Value>(&bytes)
            .unwrap_or_else(|e| panic!("line {}: {}: {e}", row.line, row.cells[0]));
        assert_eq!(
            encode(&value).unwrap(),
            bytes,
            "line {}: {value:?}",
            row.line
        );
    }
    for row in table(PROTOCOL_MD, &["MessagePack (hex)", "Calf reads"]) {
        if row.cells[1] == "bad reply" {
            continue; // The caller's rules: a worker passes bin and other ext types on.
        }
        let bytes = hex(&row.cells[0]).unwrap();
        if let Err(e) = decode::<Value>(&bytes) {
            panic!("line {}: {}: {e}", row.line, row.cells[0]);
        }
    }
}
