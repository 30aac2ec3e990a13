//! Images back to values, code and VMs, in the namespaces of the program
//! that runs them.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::format::{
    CaptureImage, ClosureImage, CodeImage, Data, FrameCode, Hash, JobImage, Kind, ProtoImage,
    SourceImage, ThrownImage, VmImage,
};
use super::ops::op_from_image;
use super::{read_image, SnapshotError};
use crate::bytecode::{Capture, Code, Unchecked};
use crate::namespace::{Globals, Var};
use crate::span::{FileId, Span};
use crate::value::{Closure, FnProto, Map, Pid, RecordType, Sym, Value};
use crate::vm::{
    Owed, Restored, RestoredCode, RestoredDynamic, RestoredFrame, Thrown, TraceEntry, Vm,
};

/// Where a restore finds the images a snapshot names.
pub trait Blobs {
    fn blob(&self, hash: &Hash) -> Option<Arc<[u8]>>;
}

impl Blobs for FxHashMap<Hash, Arc<[u8]>> {
    fn blob(&self, hash: &Hash) -> Option<Arc<[u8]>> {
        self.get(hash).cloned()
    }
}

impl Blobs for std::collections::BTreeMap<Hash, Arc<[u8]>> {
    fn blob(&self, hash: &Hash) -> Option<Arc<[u8]>> {
        self.get(hash).cloned()
    }
}

/// Restores the processes of one program: code read back once per hash is
/// shared by all of them, as it was when they ran.
pub struct Decoder {
    globals: Arc<Globals>,
    codes: FxHashMap<Hash, Arc<Code>>,
    sources: FxHashMap<Hash, FileId>,
    /// While a VM is restored: the lazy seqs built so far, in the order
    /// their images start, for [`Data::SharedLazy`] to name (`nil` while
    /// one is being built).
    lazies: Option<Vec<Value>>,
}

impl Decoder {
    /// A decoder restoring into `globals`, a fresh runtime's namespaces
    /// (the prelude loaded): the program's own come from its [`JobImage`].
    /// Whoever runs the restored processes keeps [`Decoder::globals`]
    /// alive: dropped, globals unbind their vars.
    pub fn new(globals: Arc<Globals>) -> Decoder {
        Decoder {
            globals,
            codes: FxHashMap::default(),
            sources: FxHashMap::default(),
            lazies: None,
        }
    }

    pub fn globals(&self) -> &Arc<Globals> {
        &self.globals
    }

    /// Defines the program's namespaces from their image.
    pub fn job(&mut self, image: &JobImage, blobs: &dyn Blobs) -> Result<(), SnapshotError> {
        for ns_image in &image.namespaces {
            let ns = self.globals.namespace(Sym::new(&ns_image.name));
            for var_image in &ns_image.vars {
                let var = ns.intern(Sym::new(&var_image.name));
                if let Some(value) = &var_image.value {
                    var.set(self.value(value, blobs)?);
                }
                var.set_macro(var_image.is_macro);
                var.set_dynamic(var_image.dynamic);
                let arglists = var_image
                    .arglists
                    .as_ref()
                    .map(|a| self.value(a, blobs))
                    .transpose()?;
                let attrs = var_image
                    .attrs
                    .as_ref()
                    .map(|a| self.value(a, blobs))
                    .transpose()?;
                var.update_meta(|meta| {
                    meta.doc = var_image.doc.clone();
                    meta.private = var_image.private;
                    meta.arglists = arglists;
                    meta.attrs = attrs;
                });
            }
            for (alias, target) in &ns_image.aliases {
                ns.add_alias(Sym::new(alias), Sym::new(target));
            }
            for (name, var) in &ns_image.refers {
                let var = self.var(var)?;
                ns.refer(Sym::new(name), var);
            }
        }
        Ok(())
    }

    /// A value from its image.
    pub fn value(&mut self, data: &Data, blobs: &dyn Blobs) -> Result<Value, SnapshotError> {
        Ok(match data {
            Data::Nil => Value::Nil,
            Data::Bool(b) => Value::Bool(*b),
            Data::Int(n) => Value::Int(*n),
            Data::Float(x) => Value::Float(*x),
            Data::Str(s) => Value::str(s.as_str()),
            Data::Symbol(s) => Value::Symbol(Sym::new(s)),
            Data::Keyword(k) => Value::Keyword(Sym::keyword(k)),
            Data::List(items) => Value::list(self.values(items, blobs)?),
            Data::Vector(items) => Value::vector(self.values(items, blobs)?),
            Data::Set(items) => Value::set(self.values(items, blobs)?),
            Data::Map(entries) => {
                let mut pairs = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    pairs.push((self.value(k, blobs)?, self.value(v, blobs)?));
                }
                Value::map(pairs)
            }
            Data::Record {
                name,
                fields,
                entries,
            } => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(self.value(k, blobs)?, self.value(v, blobs)?);
                }
                map.set_record_type(Some(std::sync::Arc::new(RecordType {
                    name: Sym::new(name),
                    fields: self.values(fields, blobs)?.into(),
                })));
                Value::Map(triomphe::Arc::new(map))
            }
            Data::Fn(closure) => self.closure(closure, blobs)?,
            Data::Native(name) => match crate::natives::by_name(name) {
                Some(native) => Value::Native(native),
                None => return Err(SnapshotError::MissingNative(name.clone())),
            },
            Data::Pid(p) => Value::Pid(Pid(*p)),
            Data::Ref(r) => Value::Ref(*r),
            Data::Char(c) => Value::Char(*c),
            Data::Var(name) => Value::Var(self.var(name)?),
            Data::Regex(pattern) => match crate::value::Regex::new(pattern) {
                Ok(regex) => Value::Regex(triomphe::Arc::new(regex)),
                Err(why) => {
                    return Err(SnapshotError::Invalid(format!(
                        "the regex #\"{pattern}\" does not compile here: {why}"
                    )))
                }
            },
            Data::SortedMap {
                entries,
                descending,
            } => {
                let mut pairs = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    pairs.push((self.value(k, blobs)?, self.value(v, blobs)?));
                }
                sorted(false, *descending, pairs)?
            }
            Data::SortedSet { items, descending } => {
                let keys = self.values(items, blobs)?;
                sorted(true, *descending, keys.into_iter().map(|k| (k, Value::Nil)))?
            }
            Data::Lazy { items, rest, thunk } => self.lazy(items, rest, thunk.as_deref(), blobs)?,
            Data::SharedLazy { seq, after } => self.shared_lazy(*seq, *after)?,
            Data::WithMeta { value, meta } => {
                let value = self.value(value, blobs)?;
                let meta = match self.value(meta, blobs)? {
                    meta @ Value::Map(_) => Some(meta),
                    other => {
                        return Err(SnapshotError::Invalid(format!(
                            "metadata is a {}, not a map",
                            other.type_name()
                        )))
                    }
                };
                value.with_meta(meta).ok_or_else(|| {
                    SnapshotError::Invalid(format!("a {} with metadata", value.type_name()))
                })?
            }
        })
    }

    /// A lazy seq: its items in order, then what follows them (read in
    /// the order they were written, which [`Data::SharedLazy`] relies on).
    fn lazy(
        &mut self,
        items: &[Data],
        rest_image: &Data,
        thunk: Option<&Data>,
        blobs: &dyn Blobs,
    ) -> Result<Value, SnapshotError> {
        use crate::value::{LazySeq, Step};
        use triomphe::Arc;
        let id = self.lazies.as_mut().map(|lazies| {
            lazies.push(Value::Nil);
            lazies.len() - 1
        });
        let items = self.values(items, blobs)?;
        let mut tail = match thunk {
            Some(thunk) => Value::Lazy(Arc::new(LazySeq::new(self.value(thunk, blobs)?))),
            None => match self.value(rest_image, blobs)? {
                Value::Nil => Value::Lazy(Arc::new(LazySeq::realized(Step::Empty))),
                rest @ (Value::List(_) | Value::Vector(_)) if !items.is_empty() => rest,
                // It goes on into a seq restored before.
                rest @ Value::Lazy(_)
                    if !items.is_empty() && matches!(rest_image, Data::SharedLazy { .. }) =>
                {
                    rest
                }
                other => {
                    return Err(SnapshotError::Invalid(format!(
                        "a lazy seq ends in a {}",
                        other.type_name()
                    )))
                }
            },
        };
        for first in items.into_iter().rev() {
            tail = Value::Lazy(Arc::new(LazySeq::realized(Step::Cons(first, tail))));
        }
        if let (Some(lazies), Some(id)) = (self.lazies.as_mut(), id) {
            lazies[id] = tail.clone();
        }
        Ok(tail)
    }

    /// The cell `after` cells into the `seq`-th lazy seq restored.
    fn shared_lazy(&self, seq: u32, after: u32) -> Result<Value, SnapshotError> {
        let invalid = || {
            SnapshotError::Invalid(format!(
                "a lazy seq names cell {after} of lazy seq {seq}, which is not restored before it"
            ))
        };
        let mut at = self
            .lazies
            .as_ref()
            .and_then(|lazies| lazies.get(seq as usize))
            .filter(|head| matches!(head, Value::Lazy(_)))
            .ok_or_else(invalid)?;
        for _ in 0..after {
            let Value::Lazy(cell) = at else {
                return Err(invalid());
            };
            match cell.step() {
                Some(crate::value::Step::Cons(_, rest)) => at = rest,
                _ => return Err(invalid()),
            }
        }
        match at {
            Value::Lazy(_) => Ok(at.clone()),
            _ => Err(invalid()),
        }
    }

    fn values(&mut self, items: &[Data], blobs: &dyn Blobs) -> Result<Vec<Value>, SnapshotError> {
        items.iter().map(|d| self.value(d, blobs)).collect()
    }

    fn closure(&mut self, image: &ClosureImage, blobs: &dyn Blobs) -> Result<Value, SnapshotError> {
        let proto = self.proto(&image.proto, blobs)?;
        if image.captures.len() != proto.captures.len() {
            return Err(SnapshotError::Invalid(format!(
                "a closure of {} holds {} captures where its fn makes {}",
                fn_name(&image.proto),
                image.captures.len(),
                proto.captures.len()
            )));
        }
        let captures = self.values(&image.captures, blobs)?;
        Ok(Value::Fn(triomphe::Arc::new(Closure {
            proto,
            captures: captures.into_boxed_slice(),
        })))
    }

    fn proto(
        &mut self,
        image: &ProtoImage,
        blobs: &dyn Blobs,
    ) -> Result<Arc<FnProto>, SnapshotError> {
        let name = fn_name(image);
        let body = |this: &mut Decoder, hash: &Hash| this.code(hash, &name, blobs);
        let fixed = image
            .fixed
            .iter()
            .map(|h| body(self, h))
            .collect::<Result<Vec<_>, _>>()?;
        let variadic = image.variadic.as_ref().map(|h| body(self, h)).transpose()?;
        let captures: Box<[Capture]> = image
            .captures
            .iter()
            .map(|c| match *c {
                CaptureImage::Local(i) => Capture::Local(i),
                CaptureImage::Capture(i) => Capture::Capture(i),
                CaptureImage::SelfFn => Capture::SelfFn,
            })
            .collect();
        // What the VM reads without a check: a body's captures are its fn's.
        for code in fixed.iter().chain(variadic.iter()) {
            for op in code.ops() {
                if let crate::bytecode::Op::Capture(i) = op {
                    if *i as usize >= captures.len() {
                        return Err(SnapshotError::Invalid(format!(
                            "{name} reads capture {i} of {}",
                            captures.len()
                        )));
                    }
                }
            }
        }
        Ok(Arc::new(FnProto {
            name: image.name.as_deref().map(Sym::new),
            fixed: fixed.into_boxed_slice(),
            variadic,
            captures,
        }))
    }

    /// The body named `hash`, read back once.
    fn code(
        &mut self,
        hash: &Hash,
        name: &str,
        blobs: &dyn Blobs,
    ) -> Result<Arc<Code>, SnapshotError> {
        if let Some(code) = self.codes.get(hash) {
            return Ok(code.clone());
        }
        let Some(bytes) = blobs.blob(hash) else {
            return Err(SnapshotError::MissingCode {
                hash: *hash,
                function: name.to_string(),
            });
        };
        if Hash::of(&bytes) != *hash {
            return Err(SnapshotError::Invalid(format!(
                "the stored code of {name} ({}) does not match its hash",
                hash.short()
            )));
        }
        let image: CodeImage = read_image(Kind::Code, &bytes)?;
        let code = Arc::new(self.build_code(&image, blobs)?);
        self.codes.insert(*hash, code.clone());
        Ok(code)
    }

    fn build_code(&mut self, image: &CodeImage, blobs: &dyn Blobs) -> Result<Code, SnapshotError> {
        // A body's image names no lazy seq of the VM being restored.
        let shared = self.lazies.take();
        let code = self.build_code_image(image, blobs);
        self.lazies = shared;
        code
    }

    fn build_code_image(
        &mut self,
        image: &CodeImage,
        blobs: &dyn Blobs,
    ) -> Result<Code, SnapshotError> {
        let ops = image
            .ops
            .iter()
            .map(|op| op_from_image(*op))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SnapshotError::Invalid)?;
        let files = image
            .sources
            .iter()
            .map(|h| self.source_file(h, blobs))
            .collect::<Result<Vec<_>, _>>()?;
        let mut spans = Vec::with_capacity(image.spans.len());
        for (pc, span) in &image.spans {
            let Some(file) = files.get(span.source as usize) else {
                return Err(SnapshotError::Invalid("a span names no source".to_string()));
            };
            spans.push((
                *pc,
                Span::new(*file, span.start as usize, span.end as usize),
            ));
        }
        let name = image
            .name
            .clone()
            .unwrap_or_else(|| "a top-level form".to_string());
        let unchecked = Unchecked {
            name: image.name.as_deref().map(Sym::new),
            params: image.params,
            variadic: image.variadic,
            locals: image.locals,
            ops: ops.into_boxed_slice(),
            consts: self.values(&image.consts, blobs)?.into_boxed_slice(),
            vars: image
                .vars
                .iter()
                .map(|v| self.var(v))
                .collect::<Result<Vec<_>, _>>()?
                .into_boxed_slice(),
            protos: image
                .protos
                .iter()
                .map(|p| self.proto(p, blobs))
                .collect::<Result<Vec<_>, _>>()?
                .into_boxed_slice(),
            spans: spans.into_boxed_slice(),
        };
        unchecked.try_check(0).map_err(|e| {
            SnapshotError::Invalid(format!("the code of {name} is unsafe to run: {e}"))
        })
    }

    pub(super) fn source_file(
        &mut self,
        hash: &Hash,
        blobs: &dyn Blobs,
    ) -> Result<FileId, SnapshotError> {
        if let Some(file) = self.sources.get(hash) {
            return Ok(*file);
        }
        let Some(bytes) = blobs.blob(hash) else {
            return Err(SnapshotError::MissingSource(*hash));
        };
        let image: SourceImage = read_image(Kind::Source, &bytes)?;
        let file = crate::span::add_source(image.name, image.text);
        self.sources.insert(*hash, file);
        Ok(file)
    }

    /// The var `ns/name`: one of the program's (made if its image did not
    /// bind it yet), or one every runtime has, which must still exist.
    pub(crate) fn var(&mut self, qualified: &str) -> Result<Arc<Var>, SnapshotError> {
        let Some((ns, name)) = qualified.rsplit_once('/').filter(|(ns, _)| !ns.is_empty()) else {
            return Err(SnapshotError::Invalid(format!(
                "var {qualified} has no namespace"
            )));
        };
        // `calf.core//` is the var `/`.
        let (ns, name) = match ns.strip_suffix('/') {
            Some(ns) if name.is_empty() => (ns, "/"),
            _ => (ns, name),
        };
        if crate::prelude::is_builtin_namespace(ns) {
            let var = self
                .globals
                .find_namespace(Sym::new(ns))
                .and_then(|n| n.lookup(Sym::new(name)));
            return match var {
                Some(var) if var.is_bound() => Ok(var),
                _ => Err(SnapshotError::MissingVar(qualified.to_string())),
            };
        }
        Ok(self.globals.namespace(Sym::new(ns)).intern(Sym::new(name)))
    }

    /// A VM from its image, owed `owed` (what it stopped for).
    pub fn vm(
        &mut self,
        image: &VmImage,
        owed: Owed,
        blobs: &dyn Blobs,
    ) -> Result<Restored, SnapshotError> {
        self.lazies = Some(Vec::new());
        let restored = self.vm_parts(image, owed, blobs);
        self.lazies = None;
        restored
    }

    fn vm_parts(
        &mut self,
        image: &VmImage,
        owed: Owed,
        blobs: &dyn Blobs,
    ) -> Result<Restored, SnapshotError> {
        let stack = self.values(&image.stack, blobs)?;
        let mut frames = Vec::with_capacity(image.frames.len());
        for frame in &image.frames {
            let code = match frame.code {
                FrameCode::Body(hash) => {
                    RestoredCode::Body(self.code(&hash, "a running function", blobs)?)
                }
                FrameCode::Call(argc) => RestoredCode::Call(argc),
                FrameCode::Realize => RestoredCode::Realize,
            };
            frames.push(RestoredFrame {
                code,
                closure: frame.closure,
                pc: frame.pc,
                base: frame.base,
            });
        }
        let caught = image
            .caught
            .as_ref()
            .map(|t| self.thrown(t, blobs))
            .transpose()?;
        let max_depth = usize::try_from(image.max_depth).unwrap_or(usize::MAX);
        let dynamic = RestoredDynamic {
            bindings: self.values(&image.bindings, blobs)?,
            captures: image.captures.clone(),
        };
        Vm::from_parts(
            stack,
            frames,
            &image.handlers,
            caught,
            max_depth,
            dynamic,
            owed,
        )
        .map_err(SnapshotError::Invalid)
    }

    fn thrown(&mut self, image: &ThrownImage, blobs: &dyn Blobs) -> Result<Thrown, SnapshotError> {
        let mut trace = Vec::with_capacity(image.trace.len());
        for entry in &image.trace {
            let span = match entry.span {
                Some((hash, start, end)) => Some(Span::new(
                    self.source_file(&hash, blobs)?,
                    start as usize,
                    end as usize,
                )),
                None => None,
            };
            trace.push(TraceEntry {
                function: entry.function.as_deref().map(Sym::new),
                span,
                times: entry.times as usize,
            });
        }
        Ok(Thrown {
            value: self.value(&image.value, blobs)?,
            trace,
        })
    }
}

/// A sorted collection of `entries`, whose keys must compare.
fn sorted(
    set: bool,
    descending: bool,
    entries: impl IntoIterator<Item = (Value, Value)>,
) -> Result<Value, SnapshotError> {
    use crate::value::sorted::{take_incomparable, SortKey};
    let mut sorted = crate::value::Sorted::new(set, descending);
    take_incomparable();
    for (k, v) in entries {
        sorted.tree.insert(SortKey(k), v);
    }
    if take_incomparable() {
        return Err(SnapshotError::Invalid(
            "a sorted collection holds keys that do not compare".to_string(),
        ));
    }
    Ok(Value::Sorted(triomphe::Arc::new(sorted)))
}

fn fn_name(proto: &ProtoImage) -> String {
    proto
        .name
        .clone()
        .unwrap_or_else(|| "an anonymous fn".to_string())
}
