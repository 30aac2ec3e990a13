//! The protocol document and a reader of its tables, for the tests (of
//! this crate and of both codecs) that check the code against the
//! document's examples. Not an API.

/// `docs/protocol.md`, as the tests read it.
pub const PROTOCOL_MD: &str = include_str!("../../docs/protocol.md");

/// One row of a table: its cells, trimmed, code spans unwrapped, and the
/// line it is on (counting from 1) for failure messages.
#[derive(Clone, Debug)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// The rows of every markdown table of `markdown` whose header row has
/// exactly the cells `header` (compared as written, code spans included).
/// Panics when there is no such table, so that a renamed column fails the
/// test that reads it instead of leaving it with nothing to check.
pub fn table(markdown: &str, header: &[&str]) -> Vec<Row> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut rows = Vec::new();
    let mut found = false;
    let mut i = 0;
    while i < lines.len() {
        let is_header = cells(lines[i]).is_some_and(|c| c == header)
            && lines.get(i + 1).and_then(|l| cells(l)).is_some_and(|c| {
                c.iter()
                    .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'))
            });
        if !is_header {
            i += 1;
            continue;
        }
        found = true;
        i += 2;
        while let Some(row) = lines.get(i).and_then(|l| cells(l)) {
            rows.push(Row {
                line: i + 1,
                cells: row.iter().map(|c| unquote(c).to_string()).collect(),
            });
            i += 1;
        }
    }
    assert!(found, "docs/protocol.md has no table headed {header:?}");
    rows
}

/// The cells of a table line, as written, or `None` for another line.
fn cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// A cell without the backticks of a code span around all of it.
fn unquote(cell: &str) -> &str {
    cell.strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or(cell)
}

/// Bytes written as hex pairs separated by spaces (`92 01 02`).
pub fn hex(text: &str) -> Result<Vec<u8>, String> {
    text.split_whitespace()
        .map(|pair| {
            u8::from_str_radix(pair, 16)
                .ok()
                .filter(|_| pair.len() == 2)
                .ok_or_else(|| format!("{pair:?} is not a byte in hex"))
        })
        .collect()
}
