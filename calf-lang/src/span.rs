//! Where code came from: source files, spans, and the table that maps each
//! collection form read from source to its span.
//!
//! Forms are plain values, so a span cannot live inside them. The reader
//! records the span of every list, vector, map and set it builds, keyed by
//! the identity of its `Arc`, together with the spans of its items. The table
//! holds a clone of each form, so an identity is never reused while it is
//! in the table.

use std::sync::{Arc, OnceLock, RwLock};

use rustc_hash::FxHashMap;

use crate::value::Value;

/// Which source file a span points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }

    /// `file:line:col` of the start.
    pub fn location(self) -> String {
        let file = source(self.file);
        let (line, col) = file.line_col(self.start as usize);
        format!("{}:{}:{}", file.name, line, col)
    }

    /// The source text the span covers, as it would stand at the start of
    /// a line: when only indentation comes before it on its first line,
    /// that much indentation is taken off its other lines too.
    pub fn text(self) -> String {
        let file = source(self.file);
        let (start, end) = (self.start as usize, self.end as usize);
        let Some(text) = file.text.get(start..end) else {
            return String::new();
        };
        let line_start = file.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let indent = &file.text[line_start..start];
        if indent.is_empty() || !indent.chars().all(|c| c == ' ' || c == '\t') {
            return text.to_string();
        }
        let mut lines = text.split('\n');
        let mut out = lines.next().unwrap_or_default().to_string();
        for line in lines {
            out.push('\n');
            out.push_str(line.strip_prefix(indent).unwrap_or(line));
        }
        out
    }
}

/// A source text with its name (a path, `<eval>`, `<repl>`).
#[derive(Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let end = offset.min(self.text.len());
        let col = self
            .text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |e| e - 1);
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

fn registry() -> &'static RwLock<Vec<Arc<SourceFile>>> {
    static SOURCES: OnceLock<RwLock<Vec<Arc<SourceFile>>>> = OnceLock::new();
    SOURCES.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers a source text so that spans into it can be rendered later.
pub fn add_source(name: impl Into<String>, text: impl Into<String>) -> FileId {
    let text = text.into();
    let mut line_starts = vec![0];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let file = SourceFile {
        name: name.into(),
        text,
        line_starts,
    };
    let mut sources = registry().write().unwrap_or_else(|e| e.into_inner());
    sources.push(Arc::new(file));
    FileId(sources.len() as u32 - 1)
}

/// Frees the text of source `id`, which nothing will render again (the
/// data a request carried, the files of a job that has ended): a
/// long-running scheduler registers sources without end. Spans into it
/// then render as an empty file; the id stays taken.
pub fn forget_source(id: FileId) {
    static FORGOTTEN: OnceLock<Arc<SourceFile>> = OnceLock::new();
    let empty = FORGOTTEN.get_or_init(|| {
        Arc::new(SourceFile {
            name: "<forgotten>".to_string(),
            text: String::new(),
            line_starts: vec![0],
        })
    });
    let mut sources = registry().write().unwrap_or_else(|e| e.into_inner());
    if let Some(slot) = sources.get_mut(id.0 as usize) {
        *slot = empty.clone();
    }
}

/// The source registered under `id`.
pub fn source(id: FileId) -> Arc<SourceFile> {
    registry().read().unwrap_or_else(|e| e.into_inner())[id.0 as usize].clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_of_an_indented_form_loses_its_indentation() {
        let text = "(do\n  (defn f []\n    1))\n";
        let file = add_source("span-test.calf", text);
        let start = text.find("(defn").expect("in the text");
        let end = text.rfind(')').expect("in the text");
        assert_eq!(Span::new(file, start, end).text(), "(defn f []\n  1)");
        assert_eq!(Span::new(file, 0, text.len() - 1).text(), text.trim_end());
    }
}

/// The span of a collection form and of each of its items.
#[derive(Clone, Debug)]
pub struct FormSpans {
    pub span: Span,
    /// For lists and vectors: one span per item, in order. Empty for maps and
    /// sets.
    pub items: Box<[Span]>,
}

/// Spans of the collection forms read from source.
#[derive(Default)]
pub struct SpanTable {
    spans: FxHashMap<usize, FormSpans>,
    keep_alive: Vec<Value>,
}

impl SpanTable {
    pub fn new() -> SpanTable {
        SpanTable::default()
    }

    /// Records the spans of `form`, a list, vector, map or set.
    pub fn insert(&mut self, form: &Value, span: Span, items: Vec<Span>) {
        if let Some(id) = form.identity() {
            self.keep_alive.push(form.clone());
            self.spans.insert(
                id,
                FormSpans {
                    span,
                    items: items.into_boxed_slice(),
                },
            );
        }
    }

    pub fn get(&self, form: &Value) -> Option<&FormSpans> {
        self.spans.get(&form.identity()?)
    }

    pub fn span_of(&self, form: &Value) -> Option<Span> {
        self.get(form).map(|s| s.span)
    }

    /// The span of item `index` of the list or vector `form`.
    pub fn item_span(&self, form: &Value, index: usize) -> Option<Span> {
        self.get(form)?.items.get(index).copied()
    }

    /// Takes in the spans of another table (forms read from another file).
    pub fn extend(&mut self, other: SpanTable) {
        self.spans.extend(other.spans);
        self.keep_alive.extend(other.keep_alive);
    }
}

#[cfg(test)]
mod forgetting {
    use super::*;

    #[test]
    fn a_forgotten_source_keeps_its_id_and_frees_its_text() {
        let big = "x".repeat(1 << 20);
        let file = add_source("<big>", big);
        let other = add_source("<kept>", "kept");
        forget_source(file);
        assert_eq!(source(file).text, "");
        assert_eq!(source(other).text, "kept");
        assert_eq!(Span::new(file, 0, 0).location(), "<forgotten>:1:1");
    }

    #[test]
    fn data_read_from_outside_leaves_no_source_behind() {
        let forms = crate::reader::read_data("<message>", "[:stop 1]").unwrap();
        assert_eq!(forms.forms.len(), 1);
        assert_eq!(source(forms.form_spans[0].file).text, "");
    }
}
