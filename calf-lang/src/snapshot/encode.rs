//! Values, code and VMs to their images.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::format::{
    CaptureImage, ClosureImage, CodeImage, Data, Hash, Kind, ProtoImage, SourceImage, SpanImage,
    TraceImage, VmImage,
};
use super::ops::op_image;
use super::{write_image, SnapshotError, MAX_NESTING};
use crate::bytecode::{Capture, Code};
use crate::span::{FileId, Span};
use crate::value::{FnProto, Value};
use crate::vm::{Thrown, Vm};

/// One body's image, kept while its program lives so that the next save
/// of any of its processes does not encode it again.
struct CachedCode {
    /// Keeps the code alive, so that its address, the cache's key, is
    /// not reused by another body.
    _code: Arc<Code>,
    hash: Hash,
    /// Every image this one names, through its fns and spans, transitively.
    needs: Arc<[Hash]>,
}

/// The images of one program's code and sources made so far, by hash.
/// Bodies are immutable, so a body's image is made once.
#[derive(Default)]
pub struct ImageCache {
    codes: FxHashMap<usize, CachedCode>,
    sources: FxHashMap<u32, Hash>,
    /// The files a job was submitted with, by path.
    files: FxHashMap<String, Hash>,
    /// Every image made, for the store to have them all before a process
    /// that names them.
    blobs: FxHashMap<Hash, Arc<[u8]>>,
}

impl ImageCache {
    /// The bytes of image `hash`, if this cache made it.
    pub fn blob(&self, hash: &Hash) -> Option<Arc<[u8]>> {
        self.blobs.get(hash).cloned()
    }

    /// How many bodies it holds.
    pub fn codes(&self) -> usize {
        self.codes.len()
    }
}

/// Makes the images of one save, adding new code to an [`ImageCache`] and
/// noting every image the save names.
pub struct Encoder<'a> {
    cache: &'a mut ImageCache,
    /// Every image the save names, transitively.
    needs: BTreeSet<Hash>,
    /// The images the body being encoded names (one set per body being
    /// encoded, innermost last).
    body_needs: Vec<BTreeSet<Hash>>,
    /// While a VM is encoded: the lazy seqs written so far, so that one
    /// held in several places is written once (see [`Data::SharedLazy`]).
    lazies: Option<LazyCells>,
}

/// The cells of the lazy seqs a VM's image holds, each by its address:
/// which lazy seq written (in the order they were started) it is in, and
/// how many cells after that one's first. The values are alive while the
/// VM is encoded, so an address names one cell.
#[derive(Default)]
struct LazyCells {
    cells: FxHashMap<usize, (u32, u32)>,
    written: u32,
}

impl<'a> Encoder<'a> {
    pub fn new(cache: &'a mut ImageCache) -> Encoder<'a> {
        Encoder {
            cache,
            needs: BTreeSet::new(),
            body_needs: Vec::new(),
            lazies: None,
        }
    }

    /// Every image the values encoded so far name, transitively.
    pub fn needs(&self) -> &BTreeSet<Hash> {
        &self.needs
    }

    pub fn into_needs(self) -> BTreeSet<Hash> {
        self.needs
    }

    fn uses(&mut self, hash: Hash, transitively: &[Hash]) {
        self.needs.insert(hash);
        self.needs.extend(transitively.iter().copied());
        if let Some(body) = self.body_needs.last_mut() {
            body.insert(hash);
            body.extend(transitively.iter().copied());
        }
    }

    /// A value's image.
    pub fn value(&mut self, value: &Value) -> Result<Data, SnapshotError> {
        self.data(value, 0)
    }

    fn data(&mut self, value: &Value, nesting: usize) -> Result<Data, SnapshotError> {
        if nesting > MAX_NESTING {
            return Err(SnapshotError::TooDeep);
        }
        let meta = match value {
            Value::Map(m) => m.meta(),
            Value::Set(s) => s.meta(),
            _ => None,
        };
        if let Some(meta) = meta {
            return Ok(Data::WithMeta {
                value: Box::new(self.data_of(value, nesting)?),
                meta: Box::new(self.data(meta, nesting + 1)?),
            });
        }
        self.data_of(value, nesting)
    }

    /// A value's image, without its metadata.
    fn data_of(&mut self, value: &Value, nesting: usize) -> Result<Data, SnapshotError> {
        let inner = nesting + 2;
        Ok(match value {
            Value::Nil => Data::Nil,
            Value::Bool(b) => Data::Bool(*b),
            Value::Int(n) => Data::Int(*n),
            Value::Float(x) => Data::Float(*x),
            Value::Str(s) => Data::Str(s.as_str().to_string()),
            Value::Symbol(s) => Data::Symbol(s.name().to_string()),
            Value::Keyword(k) => Data::Keyword(k.name().to_string()),
            Value::List(items) => Data::List(self.items(items.iter(), inner)?),
            Value::Vector(items) => Data::Vector(self.items(items.iter(), inner)?),
            Value::Set(items) => Data::Set(self.items(items.iter(), inner)?),
            Value::Map(map) => {
                let entries = map
                    .iter()
                    .map(|(k, v)| Ok((self.data(k, inner + 1)?, self.data(v, inner + 1)?)))
                    .collect::<Result<_, SnapshotError>>()?;
                match map.record_type() {
                    None => Data::Map(entries),
                    Some(record) => Data::Record {
                        name: record.name.name().to_string(),
                        fields: self.items(record.fields.iter(), inner)?,
                        entries,
                    },
                }
            }
            Value::Fn(closure) => Data::Fn(Box::new(ClosureImage {
                proto: self.proto(&closure.proto)?,
                captures: self.items(closure.captures.iter(), nesting + 3)?,
            })),
            Value::Native(native) => Data::Native(native.name.to_string()),
            Value::Pid(pid) => Data::Pid(pid.0),
            Value::Ref(r) => Data::Ref(*r),
            Value::Char(c) => Data::Char(*c),
            Value::Regex(r) => Data::Regex(r.source().to_string()),
            Value::Var(var) => Data::Var(var.name.name().to_string()),
            Value::Sorted(sorted) if sorted.set => Data::SortedSet {
                items: self.items(sorted.iter().map(|(k, _)| k), inner)?,
                descending: sorted.descending,
            },
            Value::Lazy(_) => self.lazy(value, inner)?,
            Value::Sorted(sorted) => Data::SortedMap {
                entries: sorted
                    .iter()
                    .map(|(k, v)| Ok((self.data(k, inner + 1)?, self.data(v, inner + 1)?)))
                    .collect::<Result<_, SnapshotError>>()?,
                descending: sorted.descending,
            },
        })
    }

    /// A lazy seq's image: its realized cells are walked in a loop, so a
    /// chain of any length is one list. Inside a VM's image, a seq (or a
    /// cell of one) written before is named instead of written again.
    fn lazy(&mut self, value: &Value, nesting: usize) -> Result<Data, SnapshotError> {
        if let Some(shared) = self.written_before(value) {
            return Ok(shared);
        }
        let id = self.lazies.as_mut().map(|l| {
            l.written += 1;
            l.written - 1
        });
        let mut cells = Vec::new();
        let mut items = Vec::new();
        let mut at = value;
        let image = loop {
            let Value::Lazy(cell) = at else {
                break Data::Lazy {
                    items,
                    rest: Box::new(self.data(at, nesting)?),
                    thunk: None,
                };
            };
            if !cells.is_empty() {
                if let Some(shared) = self.written_before(at) {
                    break Data::Lazy {
                        items,
                        rest: Box::new(shared),
                        thunk: None,
                    };
                }
            }
            cells.push(triomphe::Arc::as_ptr(cell) as usize);
            match cell.step() {
                Some(crate::value::Step::Cons(first, rest)) => {
                    items.push(self.data(first, nesting)?);
                    at = rest;
                }
                Some(crate::value::Step::Empty) => {
                    break Data::Lazy {
                        items,
                        rest: Box::new(Data::Nil),
                        thunk: None,
                    }
                }
                None => {
                    break Data::Lazy {
                        items,
                        rest: Box::new(Data::Nil),
                        thunk: Some(Box::new(self.data(&cell.thunk(), nesting)?)),
                    }
                }
            }
        };
        // Named only once written whole: a reader meets the name after
        // the seq it names is built.
        if let (Some(lazies), Some(id)) = (self.lazies.as_mut(), id) {
            for (after, cell) in cells.into_iter().enumerate() {
                lazies.cells.entry(cell).or_insert((id, after as u32));
            }
        }
        Ok(image)
    }

    /// The name of a lazy cell this VM's image has written already.
    fn written_before(&self, value: &Value) -> Option<Data> {
        let Value::Lazy(cell) = value else {
            return None;
        };
        let cells = &self.lazies.as_ref()?.cells;
        let &(seq, after) = cells.get(&(triomphe::Arc::as_ptr(cell) as usize))?;
        Some(Data::SharedLazy { seq, after })
    }

    fn items<'v>(
        &mut self,
        items: impl Iterator<Item = &'v Value>,
        nesting: usize,
    ) -> Result<Vec<Data>, SnapshotError> {
        items.map(|item| self.data(item, nesting)).collect()
    }

    fn proto(&mut self, proto: &FnProto) -> Result<ProtoImage, SnapshotError> {
        Ok(ProtoImage {
            name: proto.name.map(|n| n.name().to_string()),
            fixed: proto
                .fixed
                .iter()
                .map(|body| self.code(body))
                .collect::<Result<_, _>>()?,
            variadic: proto.variadic.as_ref().map(|b| self.code(b)).transpose()?,
            captures: proto
                .captures
                .iter()
                .map(|c| match *c {
                    Capture::Local(i) => CaptureImage::Local(i),
                    Capture::Capture(i) => CaptureImage::Capture(i),
                    Capture::SelfFn => CaptureImage::SelfFn,
                })
                .collect(),
        })
    }

    /// The hash of a body, making its image on first sight.
    pub fn code(&mut self, code: &Arc<Code>) -> Result<Hash, SnapshotError> {
        let key = Arc::as_ptr(code) as usize;
        if let Some(cached) = self.cache.codes.get(&key) {
            let (hash, needs) = (cached.hash, cached.needs.clone());
            self.uses(hash, &needs);
            return Ok(hash);
        }
        self.body_needs.push(BTreeSet::new());
        let image = self.code_image(code);
        let needs = self.body_needs.pop().unwrap_or_default();
        let bytes = write_image(Kind::Code, &image?)?;
        let hash = Hash::of(&bytes);
        let needs: Arc<[Hash]> = needs.into_iter().collect();
        self.cache.blobs.insert(hash, bytes.into());
        self.cache.codes.insert(
            key,
            CachedCode {
                _code: code.clone(),
                hash,
                needs: needs.clone(),
            },
        );
        self.uses(hash, &needs);
        Ok(hash)
    }

    /// The hash of the body a frame runs: one of its closure's, which
    /// encoding the stack put in the cache.
    fn frame_code(&mut self, code: &Code) -> Result<Hash, SnapshotError> {
        let key = code as *const Code as usize;
        match self.cache.codes.get(&key) {
            Some(cached) => Ok(cached.hash),
            None => Err(SnapshotError::Invalid(format!(
                "a frame runs {}, which no closure on the stack holds",
                code.name()
                    .map_or("a top-level form".to_string(), |n| n.to_string())
            ))),
        }
    }

    fn code_image(&mut self, code: &Code) -> Result<CodeImage, SnapshotError> {
        let mut sources: Vec<Hash> = Vec::new();
        let mut spans = Vec::with_capacity(code.spans().len());
        for &(pc, span) in code.spans() {
            let hash = self.source(span.file)?;
            let index = match sources.iter().position(|h| *h == hash) {
                Some(i) => i,
                None => {
                    sources.push(hash);
                    sources.len() - 1
                }
            };
            spans.push((
                pc,
                SpanImage {
                    source: index as u32,
                    start: span.start,
                    end: span.end,
                },
            ));
        }
        Ok(CodeImage {
            name: code.name().map(|n| n.name().to_string()),
            params: code.params(),
            variadic: code.variadic(),
            locals: code.locals(),
            ops: code.ops().iter().map(|op| op_image(*op)).collect(),
            consts: {
                // A body's image is shared by every save: it names no lazy
                // seq of one VM's image.
                let shared = self.lazies.take();
                let consts = self.items(code.consts().iter(), 0);
                self.lazies = shared;
                consts?
            },
            vars: code
                .vars()
                .iter()
                .map(|v| v.name.name().to_string())
                .collect(),
            protos: code
                .protos()
                .iter()
                .map(|p| self.proto(p))
                .collect::<Result<_, _>>()?,
            sources,
            spans,
        })
    }

    fn source(&mut self, file: FileId) -> Result<Hash, SnapshotError> {
        if let Some(hash) = self.cache.sources.get(&file.0) {
            let hash = *hash;
            self.uses(hash, &[]);
            return Ok(hash);
        }
        let source = crate::span::source(file);
        let image = SourceImage {
            name: source.name.clone(),
            text: source.text.clone(),
        };
        let bytes = write_image(Kind::Source, &image)?;
        let hash = Hash::of(&bytes);
        self.cache.blobs.insert(hash, bytes.into());
        self.cache.sources.insert(file.0, hash);
        self.uses(hash, &[]);
        Ok(hash)
    }

    pub(super) fn span(&mut self, span: Span) -> Result<(Hash, u32, u32), SnapshotError> {
        Ok((self.source(span.file)?, span.start, span.end))
    }

    /// The image of the submitted file `path`, if this cache made it.
    pub(super) fn cached_file(&mut self, path: &str) -> Option<Hash> {
        let hash = *self.cache.files.get(path)?;
        self.uses(hash, &[]);
        Some(hash)
    }

    pub(super) fn cache_file(&mut self, path: &str, hash: Hash, bytes: Vec<u8>) {
        self.cache.blobs.insert(hash, bytes.into());
        self.cache.files.insert(path.to_string(), hash);
        self.uses(hash, &[]);
    }

    /// A VM's image.
    pub fn vm(&mut self, vm: &Vm) -> Result<VmImage, SnapshotError> {
        self.lazies = Some(LazyCells::default());
        let image = self.vm_parts(vm);
        self.lazies = None;
        image
    }

    fn vm_parts(&mut self, vm: &Vm) -> Result<VmImage, SnapshotError> {
        let parts = vm.parts().map_err(SnapshotError::Invalid)?;
        // The stack first: it holds the closures whose bodies the frames run.
        let stack = self.items(parts.stack.iter(), 0)?;
        let mut frames = Vec::with_capacity(parts.frames.len());
        for frame in parts.frames {
            let code = match frame.code {
                crate::vm::PartCode::Body(code) => {
                    super::format::FrameCode::Body(self.frame_code(code)?)
                }
                crate::vm::PartCode::Call(argc) => super::format::FrameCode::Call(argc),
                crate::vm::PartCode::Realize => super::format::FrameCode::Realize,
            };
            frames.push(super::format::FrameImage {
                code,
                closure: frame.closure,
                pc: frame.pc,
                base: frame.base,
            });
        }
        let caught = match parts.caught {
            Some(thrown) => Some(self.thrown(thrown)?),
            None => None,
        };
        Ok(VmImage {
            stack,
            frames,
            handlers: parts.handlers,
            caught,
            max_depth: parts.max_depth as u64,
            bindings: self.items(parts.bindings.iter(), 0)?,
            captures: parts.captures.to_vec(),
        })
    }

    fn thrown(&mut self, thrown: &Thrown) -> Result<super::format::ThrownImage, SnapshotError> {
        let mut trace = Vec::with_capacity(thrown.trace.len());
        for entry in &thrown.trace {
            trace.push(TraceImage {
                function: entry.function.map(|f| f.name().to_string()),
                span: entry.span.map(|s| self.span(s)).transpose()?,
                times: entry.times as u64,
            });
        }
        Ok(super::format::ThrownImage {
            value: self.value(&thrown.value)?,
            trace,
        })
    }
}
