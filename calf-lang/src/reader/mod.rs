//! # The reader: source text to forms
//!
//! Reads Clojure's syntax into plain [`Value`]s and records where each
//! collection came from in a [`SpanTable`].
//!
//! - `;` comments to the end of the line, `#!` too (for script headers);
//!   `#_` discards the next form; commas are whitespace.
//! - `nil`, `true`, `false`; 64-bit integers and floats (see `number`),
//!   `##Inf`, `##-Inf`, `##NaN`; strings (see `string`); symbols and keywords
//!   (see `token`), characters (`\a`, see `character`), regexes
//!   (`#"..."`, see `regex`). `.5` is an error, not a symbol. Tagged
//!   literals and reader conditionals are errors. `^meta form` puts
//!   metadata on a map or set literal, becomes the attribute map of a
//!   definition when on its name (`(defn ^:private f ...)`), and is dropped
//!   elsewhere (type hints).
//! - `(...)`, `[...]`, `{...}` and `#{...}`. A map with an odd number of forms
//!   and duplicate map keys or set items are errors.
//! - Sugar reads as lists: `'x` is `(quote x)`, `` `x `` is
//!   `(syntax-quote x)`, `~x` is `(unquote x)`, `~@x` is
//!   `(unquote-splicing x)`, `@x` is `(deref x)`, `#'x` is `(var x)`, and `#(...)` is
//!   `(fn [%1 ...] (...))` (see `anon_fn`). The symbols are unqualified.
//!
//! Every list, vector, map and set built, including the lists made by sugar,
//! is in the span table. A sugar list spans its whole text (`'x`), its head
//! symbol gets the span of the prefix (`'`, or `#(` for `fn` and the
//! parameter vector of `#()`), and the body of `#()` spans from its `(`.
//!
//! Errors stop reading at the first problem. `incomplete` is set only when
//! more text could complete the input: an unclosed bracket, an unterminated
//! string, or a prefix (`'`, `#_` ...) at the very end.

mod anon_fn;
mod character;
mod number;
mod parser;
mod regex;
mod scan;
mod string;
mod token;

#[cfg(test)]
mod tests;

use crate::error::SourceError;
use crate::span::{add_source, source, FileId, Span, SpanTable};
use crate::value::Value;

pub use anon_fn::MAX_PARAMS as MAX_ANON_FN_PARAMS;

/// How deeply forms may nest. Every open bracket and every pending prefix
/// (`'`, `@`, `#_` ...) counts as one level. Reading itself does not recurse,
/// but printing, comparing, compiling and dropping a form do, and an
/// unoptimized build overflows a 2 MiB thread stack printing a form about
/// a thousand levels deep.
pub const MAX_DEPTH: usize = 512;

/// All forms of a registered source file, with the spans of every
/// collection form.
pub struct Forms {
    pub forms: Vec<Value>,
    pub spans: SpanTable,
    /// The span of each top-level form.
    pub form_spans: Vec<Span>,
}

impl std::fmt::Debug for Forms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forms")
            .field("forms", &self.forms)
            .field("form_spans", &self.form_spans)
            .finish_non_exhaustive()
    }
}

/// Reads every form of the registered source `file`.
pub fn read_file(file: FileId) -> Result<Forms, SourceError> {
    let source = source(file);
    parser::Parser::new(file, &source).read_all()
}

/// Registers `text` as a source named `name` (a path, `<repl>` ...), then
/// reads every form in it.
pub fn read_str(name: &str, text: &str) -> Result<Forms, SourceError> {
    read_file(add_source(name, text))
}

/// Reads `text` as EDN, data only (`clojure.edn/read-string`): Calf's
/// syntax for code (quote, syntax-quote, `#(...)`, regexes, vars,
/// `::name`) is an error, and `#uuid` and `#inst` are read. As for
/// [`read_data`], nothing points into the text afterwards.
pub fn read_edn(name: &str, text: &str) -> Result<Forms, SourceError> {
    let file = add_source(name, text);
    let source = source(file);
    let read = parser::Parser::edn(file, &source).read_all();
    crate::span::forget_source(file);
    read
}

/// Reads `text` as data that no span will point into once read (a
/// message sent from outside): its source is forgotten at once, so a
/// long-running host keeps none of it. An error's message and hint stay
/// whole; its span renders as an empty file.
pub fn read_data(name: &str, text: &str) -> Result<Forms, SourceError> {
    let file = add_source(name, text);
    let read = read_file(file);
    crate::span::forget_source(file);
    read
}
