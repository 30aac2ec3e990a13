//! The rules of a MessagePack body, each held against calf-protocol's one
//! reader (both codecs read through it).

use calf_protocol::msgpack::{check, too_deep, unknown_ext, Item, Reader};
use calf_protocol::{ext, MAX_DEPTH};

/// Every item of `body`, or the reader's error.
fn items(body: &[u8]) -> Result<Vec<Item<'_>>, String> {
    let mut reader = Reader::new(body);
    let mut out = Vec::new();
    while let Some(item) = reader.next().map_err(String::from)? {
        out.push(item);
    }
    Ok(out)
}

fn refused(body: &[u8]) -> String {
    match items(body) {
        Ok(items) => panic!("{body:02x?} read as {items:?}"),
        Err(why) => why,
    }
}

/// A body with one of everything, sets in sets and maps in arrays.
fn sample() -> Vec<u8> {
    let mut out = vec![0xdc, 0x00, 0x11]; // an array 16 of 17
    out.extend([0xc0, 0xc3, 0x05, 0xe0, 0xd1, 0xff, 0x00]); // nil true 5 -32 -256
    out.extend([0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // u64::MAX
    out.extend([0xca, 0x3f, 0xc0, 0, 0]); // 1.5 as float 32
    out.extend([0xa2, 0xc3, 0xa9, 0xc4, 0x01, 0xff]); // "é", bin ff
    out.extend([0x82, 0xa1, b'a', 0x90, 0x01, 0x80]); // {"a" [], 1 {}}
    out.extend([0xd5, 0x01, b'n', b's', 0xd4, 0x02, b'x']); // :ns x
    out.extend([0xc7, 0x05, 0x03, 0x92, 0xd4, 0x03, 0x90, 0x07]); // #{#{} 7}
    out.extend([0xd7, 0x04, 0, 0, 0, 0, 0, 0, 1, 2]); // pid 258
    out.extend([0xd7, 0x05, 0, 0, 0, 0, 0, 0, 0, 7]); // ref 7
    out.extend([0xd6, 0xff, 0, 0, 0, 1]); // a timestamp, ext -1
    out.extend([0xdc, 0x00, 0x01, 0xd9, 0x01, b'z']); // an array 16 of one str 8
    out
}

#[test]
fn a_body_reads_as_its_items_in_order() {
    assert_eq!(
        items(&sample()).unwrap(),
        [
            Item::Array(17),
            Item::Nil,
            Item::Bool(true),
            Item::Int(5),
            Item::Int(-32),
            Item::Int(-256),
            Item::Uint(u64::MAX),
            Item::Float(1.5),
            Item::Str("é"),
            Item::Bin(&[0xff]),
            Item::Map(2),
            Item::Str("a"),
            Item::Array(0),
            Item::End,
            Item::Int(1),
            Item::Map(0),
            Item::End,
            Item::End,
            Item::Keyword("ns"),
            Item::Symbol("x"),
            Item::Set(2),
            Item::Set(0),
            Item::End,
            Item::Int(7),
            Item::End,
            Item::Pid(258),
            Item::Ref(7),
            Item::Ext(-1, &[0, 0, 0, 1]),
            Item::Array(1),
            Item::Str("z"),
            Item::End,
            Item::End,
        ]
    );
}

#[test]
fn an_empty_body_is_nil_and_nothing_may_follow_the_value() {
    assert_eq!(items(&[]).unwrap(), [Item::Nil]);
    assert_eq!(
        refused(&[0x01, 0x02]),
        "1 bytes after the MessagePack value"
    );
    assert_eq!(
        refused(&[0x90, 0xc0, 0xc0]),
        "2 bytes after the MessagePack value"
    );
}

#[test]
fn ints_keep_their_value_whatever_their_width() {
    let cases: [(&[u8], Item); 8] = [
        (&[0xcc, 0xff], Item::Int(255)),
        (&[0xcd, 0x01, 0x00], Item::Int(256)),
        (&[0xce, 0xff, 0xff, 0xff, 0xff], Item::Int(u32::MAX as i64)),
        (
            &[0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            Item::Int(i64::MAX),
        ),
        (&[0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0], Item::Uint(1 << 63)),
        (&[0xd0, 0x80], Item::Int(-128)),
        (&[0xd2, 0x80, 0, 0, 0], Item::Int(i32::MIN as i64)),
        (&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], Item::Int(i64::MIN)),
    ];
    for (bytes, item) in cases {
        assert_eq!(items(bytes).unwrap(), [item], "{bytes:02x?}");
    }
}

fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut out = vec![0x91; depth - 1];
    out.push(0x90);
    out
}

fn nested_maps(depth: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 1..depth {
        out.extend([0x81, 0x01]);
    }
    out.push(0x80);
    out
}

/// Sets nested `depth` deep, each holding the next (ext 32 around an
/// array of one); the innermost is the empty set, `d4 03 90`. Written
/// from the outside in, so that building them is linear too.
fn nested_sets(depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(7 * depth);
    for k in (1..depth).rev() {
        // The data: an array header, then `k` sets, the innermost 3 bytes.
        let data = 1 + 7 * (k - 1) + 3;
        out.push(0xc9);
        out.extend((data as u32).to_be_bytes());
        out.extend([ext::SET as u8, 0x91]);
    }
    out.extend([0xd4, 0x03, 0x90]);
    out
}

#[test]
fn the_depth_limit_is_exactly_max_depth_for_arrays_maps_and_sets_together() {
    for nested in [nested_arrays, nested_maps, nested_sets] {
        let at_limit = nested(MAX_DEPTH);
        assert_eq!(check(&at_limit), Ok(()));
        let mut reader = Reader::new(&at_limit);
        let mut deepest = 0;
        while reader.next().unwrap().is_some() {
            deepest = deepest.max(reader.depth());
        }
        assert_eq!(deepest, MAX_DEPTH);
        assert_eq!(refused(&nested(MAX_DEPTH + 1)), too_deep());
    }
    // Arrays around maps around sets, to the limit and one past.
    for (extra, ok) in [(0, true), (1, false)] {
        let mut body = vec![0x91; 300 + extra];
        for _ in 0..300 {
            body.extend([0x81, 0xc0]);
        }
        body.extend(nested_sets(MAX_DEPTH - 600));
        assert_eq!(check(&body).is_ok(), ok, "{extra} past the limit");
    }
    assert!(too_deep().contains("1024 levels"));
}

#[test]
fn a_deep_body_is_refused_in_time_linear_in_its_bytes() {
    let body = nested_sets(100_000);
    let start = std::time::Instant::now();
    assert_eq!(check(&body).map_err(String::from), Err(too_deep()));
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    // Deeper than a thread's stack would take, were the reader recursive.
    let body = nested_arrays(10_000_000);
    assert_eq!(check(&body).map_err(String::from), Err(too_deep()));
}

#[test]
fn a_body_cut_short_anywhere_is_refused() {
    let sample = sample();
    for end in 1..sample.len() {
        let why = refused(&sample[..end]);
        assert!(why.contains("ends inside a value"), "{end} bytes: {why}");
    }
    assert_eq!(
        refused(&[0x92, 0x01]),
        "not MessagePack: the body ends inside a value (2 items from byte 0, 1 left)"
    );
    assert_eq!(
        refused(&[0xcd, 0x01]),
        "not MessagePack: the body ends inside a value (2 bytes wanted at byte 1, 1 left)"
    );
}

#[test]
fn a_set_holds_exactly_one_array_within_its_data() {
    // Its array's items run past its data, into the body after it.
    let why = refused(&[0x92, 0xd5, 0x03, 0x92, 0x01, 0x02]);
    assert!(
        why.starts_with("ext 3 (set): the data ends inside a value"),
        "{why}"
    );
    assert_eq!(
        refused(&[0xd6, 0x03, 0x91, 0x01, 0x02, 0x03]),
        "ext 3 (set): 2 bytes after its array"
    );
    for data in [
        &[0xd4, 0x03, 0x01][..],
        &[0xc7, 0x00, 0x03],
        &[0xd5, 0x03, 0x80, 0x01],
    ] {
        assert_eq!(refused(data), "ext 3 (set): the data is not an array");
    }
    assert!(refused(&[0xd4, 0x03, 0xdc]).starts_with("ext 3 (set): the data ends inside"));
}

#[test]
fn the_reserved_byte_is_no_value_anywhere() {
    for (bytes, at) in [
        (&[0xc1][..], 0),
        (&[0x91, 0xc1], 1),
        (&[0x81, 0xc1, 0x01], 1),
        (&[0x81, 0x01, 0xc1], 2),
        (&[0xd5, 0x03, 0x91, 0xc1], 3),
    ] {
        assert_eq!(
            refused(bytes),
            format!("not MessagePack: byte {at} is 0xc1, which MessagePack never uses")
        );
    }
}

#[test]
fn a_length_longer_than_the_body_is_refused_at_the_length() {
    for bytes in [
        &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
        &[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02],
        &[0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02],
        &[0xdf, 0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x03],
        &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        &[0xc6, 0xff, 0xff, 0xff, 0xff, b'a'],
        &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x2a, 0x00],
        &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x03, 0x90],
        &[0xd6, 0x03, 0xdd, 0xff, 0xff, 0xff],
        &[0xc7, 0x05, 0x03, 0xdd, 0xff, 0xff, 0xff, 0xff],
        &[0xd4, 0x03, 0x91],
    ] {
        let why = refused(bytes);
        assert!(why.contains("ends inside a value"), "{bytes:02x?}: {why}");
    }
}

#[test]
fn an_ext_type_calf_does_not_define_is_an_item_the_caller_refuses_by_name() {
    // Reserved for Calf but not defined (a later version may define it),
    // or an application's: a worker passes it on, so the reader yields it.
    for tag in [0i8, 6, 17, 31, 32, 127, -1, -128] {
        assert_eq!(
            items(&[0x91, 0xd4, tag as u8, 0x07]).unwrap()[1],
            Item::Ext(tag, &[7])
        );
    }
    for tag in (0..=31).filter(|tag| ext::ALL.iter().all(|(t, _)| t != tag)) {
        assert_eq!(
            unknown_ext(tag),
            format!("unknown MessagePack ext type {tag}: types 0 to 31 are reserved for Calf, and this version defines no such kind")
        );
    }
    assert_eq!(unknown_ext(-1), "unknown MessagePack ext type -1");
    assert_eq!(unknown_ext(32), "unknown MessagePack ext type 32");
}

#[test]
fn text_is_utf8_in_a_str_and_in_a_name() {
    assert_eq!(refused(&[0xa1, 0xff]), "the str at byte 0 is not UTF-8");
    assert_eq!(
        refused(&[0x91, 0xd9, 0x01, 0xc3]),
        "the str at byte 1 is not UTF-8"
    );
    assert_eq!(
        refused(&[0xd4, 0x01, 0xff]),
        "ext 1 (keyword): the name is not UTF-8"
    );
    assert_eq!(
        refused(&[0xd5, 0x02, b'a', 0x80]),
        "ext 2 (symbol): the name is not UTF-8"
    );
    // A bin is bytes: whether it is text is the codec's question.
    assert_eq!(items(&[0xc4, 0x01, 0xff]).unwrap(), [Item::Bin(&[0xff])]);
}

#[test]
fn a_pid_and_a_ref_are_eight_bytes() {
    assert_eq!(
        refused(&[0xd5, 0x04, 0, 1]),
        "ext 4 (pid): expected 8 bytes, got 2"
    );
    assert_eq!(
        refused(&[0xd8, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        "ext 5 (ref): expected 8 bytes, got 16"
    );
}
