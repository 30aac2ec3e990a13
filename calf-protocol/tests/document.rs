//! docs/protocol.md is the protocol: its tables are read here and held
//! against this crate's rules, so the two cannot drift apart. (The value
//! examples are checked against both codecs, in calf-scheduler's and
//! calf-worker's wire tests.)

use calf_protocol::doc::{hex, table, PROTOCOL_MD};
use calf_protocol::{ext, header, retry, MAX_DEPTH};

#[test]
fn the_request_headers_are_the_documented_ones() {
    let names: Vec<String> = table(PROTOCOL_MD, &["header", "value", "always sent"])
        .into_iter()
        .map(|row| row.cells[0].clone())
        .collect();
    assert_eq!(names, header::REQUEST);
}

#[test]
fn the_error_headers_are_the_documented_ones() {
    let names: Vec<String> = table(PROTOCOL_MD, &["header", "value"])
        .into_iter()
        .map(|row| row.cells[0].clone())
        .collect();
    assert_eq!(names, header::ERROR_REPLY);
}

#[test]
fn the_ext_types_are_the_documented_ones() {
    let documented: Vec<(i8, String)> = table(PROTOCOL_MD, &["type", "Calf kind", "ext data"])
        .into_iter()
        .map(|row| {
            let tag = row.cells[0].parse().unwrap_or_else(|_| {
                panic!("line {}: {:?} is not a type number", row.line, row.cells[0])
            });
            (tag, row.cells[1].clone())
        })
        .collect();
    let defined: Vec<(i8, String)> = ext::ALL
        .iter()
        .map(|&(tag, kind)| (tag, kind.to_string()))
        .collect();
    assert_eq!(documented, defined);
    assert!(ext::ALL.iter().all(|(tag, _)| ext::RESERVED.contains(tag)));
    assert!(PROTOCOL_MD.contains(&format!(
        "Types {} to {} are reserved for Calf",
        ext::RESERVED.start(),
        ext::RESERVED.end()
    )));
}

#[test]
fn the_ext_examples_use_the_documented_types() {
    // Each example of an ext kind starts with a fixext or ext 8 marker,
    // then the type: the one the Calf value's kind has.
    let kinds = [
        (":", ext::KEYWORD),
        ("#{", ext::SET),
        ("#pid<", ext::PID),
        ("#ref<", ext::REF),
    ];
    for row in table(PROTOCOL_MD, &["Calf value", "MessagePack (hex)"]) {
        let (value, bytes) = (&row.cells[0], hex(&row.cells[1]).expect("hex"));
        let tag = match bytes[0] {
            0xd4..=0xd8 => bytes[1] as i8,
            0xc7 => bytes[2] as i8,
            _ => continue,
        };
        let expected = kinds
            .iter()
            .find(|(start, _)| value.starts_with(start))
            .map_or(ext::SYMBOL, |&(_, tag)| tag);
        assert_eq!(tag, expected, "line {}: {value}", row.line);
    }
}

#[test]
fn the_depth_limit_is_the_documented_one() {
    assert!(
        PROTOCOL_MD.contains(&format!("nests at most **{MAX_DEPTH} levels** deep")),
        "docs/protocol.md states another depth limit than {MAX_DEPTH}"
    );
}

#[test]
fn the_retry_rule_is_the_documented_table() {
    let rows = table(
        PROTOCOL_MD,
        &["`Nats-Service-Error-Code`", "`Calf-Retryable`", "retried"],
    );
    assert!(rows.len() >= 10, "the table lost rows: {rows:?}");
    for row in rows {
        fn present(cell: &str) -> Option<&str> {
            (!cell.is_empty()).then_some(cell)
        }
        let (code, verdict) = (present(&row.cells[0]), present(&row.cells[1]));
        let retried = match row.cells[2].as_str() {
            "yes" => true,
            "no" => false,
            other => panic!("line {}: {other:?} is neither yes nor no", row.line),
        };
        assert_eq!(
            retry::is_retryable(code, verdict),
            retried,
            "line {}: code {code:?}, Calf-Retryable {verdict:?}",
            row.line
        );
    }
}
