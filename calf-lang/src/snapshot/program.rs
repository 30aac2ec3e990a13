//! A durable main process's program: the top-level forms it has still to
//! run, with the spans that errors and code compiled later point into; and
//! the files a job was submitted with, which every process of it keeps.
//!
//! Spans are kept by form identity in a [`SpanTable`]; an image numbers
//! the collections of each form depth first instead, and the same walk
//! over the restored form puts each span back on its collection.

use std::collections::BTreeMap;

use super::decode::Blobs;
use super::format::{FormImage, Hash, Kind, ProgramImage, SourceImage, SpanImage};
use super::{read_image, write_image, Decoder, Encoder, SnapshotError, MAX_NESTING};
use crate::span::{FileId, Span, SpanTable};
use crate::value::{Sym, Value};

/// The forms a main process has still to run: the namespace the next one
/// compiles in, each form with its span, and their spans table.
pub struct ProgramForms {
    pub ns: Sym,
    pub forms: Vec<(Value, Span)>,
    pub spans: SpanTable,
}

/// Calls `visit` with each collection of `form` and its number, depth
/// first from 0 (the form itself): the one order both directions use.
fn each_collection(form: &Value, next: &mut u32, depth: usize, visit: &mut dyn FnMut(u32, &Value)) {
    if depth > MAX_NESTING {
        return;
    }
    let walk_items = |items: &mut dyn Iterator<Item = &Value>,
                      next: &mut u32,
                      visit: &mut dyn FnMut(u32, &Value)| {
        for item in items {
            each_collection(item, next, depth + 1, visit);
        }
    };
    match form {
        Value::List(items) | Value::Vector(items) => {
            visit(*next, form);
            *next += 1;
            walk_items(&mut items.iter(), next, visit);
        }
        Value::Set(items) => {
            visit(*next, form);
            *next += 1;
            walk_items(&mut items.iter(), next, visit);
        }
        Value::Map(map) => {
            visit(*next, form);
            *next += 1;
            walk_items(&mut map.iter().flat_map(|(k, v)| [k, v]), next, visit);
        }
        _ => {}
    }
}

impl Encoder<'_> {
    /// The image of a main process's program: `forms` still to run in
    /// `ns`, and their spans from `table`.
    pub fn program(
        &mut self,
        ns: Sym,
        forms: &mut dyn Iterator<Item = &(Value, Span)>,
        table: &SpanTable,
    ) -> Result<ProgramImage, SnapshotError> {
        let mut sources: Vec<Hash> = Vec::new();
        let mut images = Vec::new();
        for (form, span) in forms {
            let mut spans = Vec::new();
            let mut failed = None;
            each_collection(form, &mut 0, 0, &mut |n, collection| {
                let Some(found) = table.get(collection) else {
                    return;
                };
                let mut one = |span: Span| match self.span_image(span, &mut sources) {
                    Ok(image) => Some(image),
                    Err(e) => {
                        failed = Some(e);
                        None
                    }
                };
                let (Some(whole), Some(items)) = (
                    one(found.span),
                    found
                        .items
                        .iter()
                        .map(|s| one(*s))
                        .collect::<Option<Vec<_>>>(),
                ) else {
                    return;
                };
                spans.push((n, whole, items));
            });
            if let Some(e) = failed {
                return Err(e);
            }
            images.push(FormImage {
                form: self.value(form)?,
                span: self.span_image(*span, &mut sources)?,
                spans,
            });
        }
        Ok(ProgramImage {
            ns: ns.name().to_string(),
            forms: images,
            sources,
        })
    }

    /// The images of a job's submitted files, `relative path -> text`.
    pub fn files(
        &mut self,
        files: &BTreeMap<String, String>,
    ) -> Result<Vec<(String, Hash)>, SnapshotError> {
        files
            .iter()
            .map(|(path, text)| Ok((path.clone(), self.file(path, text)?)))
            .collect()
    }

    fn span_image(
        &mut self,
        span: Span,
        sources: &mut Vec<Hash>,
    ) -> Result<SpanImage, SnapshotError> {
        let (hash, start, end) = self.span(span)?;
        let source = match sources.iter().position(|h| *h == hash) {
            Some(i) => i,
            None => {
                sources.push(hash);
                sources.len() - 1
            }
        };
        Ok(SpanImage {
            source: source as u32,
            start,
            end,
        })
    }

    /// A submitted file as a source image, made once per path.
    fn file(&mut self, path: &str, text: &str) -> Result<Hash, SnapshotError> {
        if let Some(hash) = self.cached_file(path) {
            return Ok(hash);
        }
        let image = SourceImage {
            name: path.to_string(),
            text: text.to_string(),
        };
        let bytes = write_image(Kind::Source, &image)?;
        let hash = Hash::of(&bytes);
        self.cache_file(path, hash, bytes);
        Ok(hash)
    }
}

impl Decoder {
    /// A main process's program back from its image.
    pub fn program(
        &mut self,
        image: &ProgramImage,
        blobs: &dyn Blobs,
    ) -> Result<ProgramForms, SnapshotError> {
        let files: Vec<FileId> = image
            .sources
            .iter()
            .map(|hash| self.source_file(hash, blobs))
            .collect::<Result<_, _>>()?;
        let span = |s: &SpanImage| -> Result<Span, SnapshotError> {
            let file = files.get(s.source as usize).ok_or_else(|| {
                SnapshotError::Invalid(format!(
                    "a form's span names source {} of {}",
                    s.source,
                    files.len()
                ))
            })?;
            Ok(Span::new(*file, s.start as usize, s.end as usize))
        };
        let mut table = SpanTable::new();
        let mut forms = Vec::with_capacity(image.forms.len());
        for form_image in &image.forms {
            let form = self.value(&form_image.form, blobs)?;
            let mut wanted = form_image.spans.iter().peekable();
            let mut failed = None;
            each_collection(&form, &mut 0, 0, &mut |n, collection| {
                let Some((_, whole, items)) = wanted.next_if(|(at, _, _)| *at == n) else {
                    return;
                };
                match (
                    span(whole),
                    items.iter().map(&span).collect::<Result<Vec<_>, _>>(),
                ) {
                    (Ok(whole), Ok(items)) => table.insert(collection, whole, items),
                    (Err(e), _) | (_, Err(e)) => failed = Some(e),
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
            forms.push((form, span(&form_image.span)?));
        }
        Ok(ProgramForms {
            ns: Sym::new(&image.ns),
            forms,
            spans: table,
        })
    }

    /// A job's submitted files back from their images.
    pub fn files(
        files: &[(String, Hash)],
        blobs: &dyn Blobs,
    ) -> Result<BTreeMap<String, String>, SnapshotError> {
        files
            .iter()
            .map(|(path, hash)| {
                let bytes = blobs
                    .blob(hash)
                    .ok_or(SnapshotError::MissingSource(*hash))?;
                let source: SourceImage = read_image(Kind::Source, &bytes)?;
                Ok((path.clone(), source.text))
            })
            .collect()
    }
}
