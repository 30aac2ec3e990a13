//! Turning the text into forms.
//!
//! The parser is iterative: open collections and pending prefixes (`'`, `#_`
//! ...) live on an explicit stack, so nesting never grows the Rust stack.
//! Nesting is still capped at [`MAX_DEPTH`] because everything that later
//! walks a form (printing, equality, the compiler, dropping it) recurses.

use triomphe::Arc;

use crate::error::SourceError;
use crate::span::{FileId, SourceFile, Span, SpanTable};
use crate::value::{Map, Pid, Set, Value, Vector};

use super::anon_fn::AnonFn;
use super::character::read_char;
use super::regex::read_regex;
use super::scan::{char_at, skip_trivia, token_end};
use super::string::read_string;
use super::token::read_token;

/// How a pid literal starts.
const PID_PREFIX: &str = "#pid<";
use super::{Forms, MAX_DEPTH};

/// A collection being read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Coll {
    List,
    Vector,
    Map,
    Set,
    AnonFn,
}

impl Coll {
    fn opener(self) -> &'static str {
        match self {
            Coll::List => "(",
            Coll::Vector => "[",
            Coll::Map => "{",
            Coll::Set => "#{",
            Coll::AnonFn => "#(",
        }
    }

    fn closer(self) -> u8 {
        match self {
            Coll::List | Coll::AnonFn => b')',
            Coll::Vector => b']',
            Coll::Map | Coll::Set => b'}',
        }
    }
}

/// A prefix that wraps the next form in a list: `'x` is `(quote x)`.
#[derive(Clone, Copy)]
enum Wrap {
    Quote,
    SyntaxQuote,
    Unquote,
    UnquoteSplicing,
    Deref,
    Var,
}

impl Wrap {
    fn symbol(self) -> &'static str {
        match self {
            Wrap::Quote => "quote",
            Wrap::SyntaxQuote => "syntax-quote",
            Wrap::Unquote => "unquote",
            Wrap::UnquoteSplicing => "unquote-splicing",
            Wrap::Deref => "deref",
            Wrap::Var => "var",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Wrap::Quote => "'",
            Wrap::SyntaxQuote => "`",
            Wrap::Unquote => "~",
            Wrap::UnquoteSplicing => "~@",
            Wrap::Deref => "@",
            Wrap::Var => "#'",
        }
    }
}

enum Frame {
    /// An open collection: its kind, the span of its opening bracket, and
    /// the items read so far with their spans.
    Coll {
        kind: Coll,
        open: Span,
        items: Vec<Value>,
        spans: Vec<Span>,
        /// The metadata (`^...`) read on the name of a definition
        /// (`(defn ^:private f ...)`), with its span: it becomes the
        /// definition's attribute map when the list closes.
        name_meta: Option<(Value, Span)>,
    },
    /// A `^` waiting for its metadata form, then for the form it is on.
    Meta { prefix: Span, meta: Option<Value> },
    /// A prefix waiting for the form it wraps.
    Wrap { kind: Wrap, prefix: Span },
    /// A `#_` waiting for the form it discards.
    Discard { prefix: Span },
}

pub struct Parser<'a> {
    source: &'a SourceFile,
    text: &'a str,
    file: FileId,
    pos: usize,
    stack: Vec<Frame>,
    /// The `#()` being read, if any.
    anon_fn: Option<AnonFn>,
    forms: Vec<Value>,
    form_spans: Vec<Span>,
    spans: SpanTable,
    /// Emptied item buffers of closed collections, for reuse.
    spare: Vec<(Vec<Value>, Vec<Span>)>,
    /// Reading EDN (data only): no sugar that stands for code, and the
    /// tagged literals `#uuid` and `#inst`.
    edn: bool,
}

impl<'a> Parser<'a> {
    pub fn new(file: FileId, source: &'a SourceFile) -> Parser<'a> {
        Parser {
            source,
            text: &source.text,
            file,
            pos: 0,
            stack: Vec::new(),
            anon_fn: None,
            forms: Vec::new(),
            form_spans: Vec::new(),
            spans: SpanTable::new(),
            spare: Vec::new(),
            edn: false,
        }
    }

    /// A parser of EDN, data only: `clojure.edn/read-string`'s.
    pub fn edn(file: FileId, source: &'a SourceFile) -> Parser<'a> {
        Parser {
            edn: true,
            ..Parser::new(file, source)
        }
    }

    /// The error for Calf syntax that is code, not data, met in EDN.
    fn not_edn(&self, what: &str, start: usize, len: usize) -> SourceError {
        SourceError::new(
            format!("{what} is code, not EDN data"),
            self.span(start, (start + len).min(self.text.len())),
        )
        .with_hint("EDN holds data only: read code with read-string")
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// Reads every form of the text.
    pub fn read_all(mut self) -> Result<Forms, SourceError> {
        loop {
            self.pos = skip_trivia(self.text, self.pos);
            let start = self.pos;
            let Some(&b) = self.text.as_bytes().get(start) else {
                return self.finish();
            };
            let next = self.text.as_bytes().get(start + 1).copied();
            if self.edn {
                let sugar = match b {
                    b'\'' => Some("`'` (quote)"),
                    b'`' => Some("`` ` `` (syntax-quote)"),
                    b'~' => Some("`~` (unquote)"),
                    b'@' => Some("`@` (deref)"),
                    _ => None,
                };
                if let Some(what) = sugar {
                    return Err(self.not_edn(what, start, 1));
                }
            }
            match b {
                b'(' => self.open(Coll::List, start, 1)?,
                b'[' => self.open(Coll::Vector, start, 1)?,
                b'{' => self.open(Coll::Map, start, 1)?,
                b')' | b']' | b'}' => self.close(b, start)?,
                b'"' => {
                    let (text, end) = read_string(self.text, self.file, start)?;
                    self.pos = end;
                    self.deliver(Value::str(text), self.span(start, end))?;
                }
                b'\'' => self.wrap(Wrap::Quote, start, 1)?,
                b'`' => self.wrap(Wrap::SyntaxQuote, start, 1)?,
                b'~' if next == Some(b'@') => self.wrap(Wrap::UnquoteSplicing, start, 2)?,
                b'~' => self.wrap(Wrap::Unquote, start, 1)?,
                b'@' => self.wrap(Wrap::Deref, start, 1)?,
                b'^' => {
                    let prefix = self.span(start, start + 1);
                    self.pos = start + 1;
                    self.push(Frame::Meta { prefix, meta: None }, prefix)?;
                }
                b'\\' => {
                    let (c, end) = read_char(self.text, self.file, start)?;
                    self.pos = end;
                    self.deliver(Value::Char(c), self.span(start, end))?;
                }
                b'#' => self.dispatch(start, next)?,
                _ => self.token(start)?,
            }
        }
    }

    /// At the end of the text: the forms, or what is still open.
    fn finish(self) -> Result<Forms, SourceError> {
        let mut error = match self.stack.last() {
            None => {
                return Ok(Forms {
                    forms: self.forms,
                    spans: self.spans,
                    form_spans: self.form_spans,
                })
            }
            Some(Frame::Coll { kind, open, .. }) => {
                SourceError::new(format!("unclosed `{}` opened here", kind.opener()), *open)
                    .with_hint(format!(
                        "the input ends before the matching `{}`",
                        kind.closer() as char
                    ))
            }
            Some(Frame::Wrap { kind, prefix }) => missing_form(kind.prefix(), *prefix),
            Some(Frame::Discard { prefix }) => missing_form("#_", *prefix),
            Some(Frame::Meta { prefix, .. }) => missing_form("^", *prefix),
        };
        error.incomplete = true;
        Err(error)
    }

    fn push(&mut self, frame: Frame, span: Span) -> Result<(), SourceError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(SourceError::new(
                format!("forms are nested too deeply (more than {MAX_DEPTH} levels)"),
                span,
            )
            .with_hint("split this form into smaller pieces"));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn open(&mut self, kind: Coll, start: usize, len: usize) -> Result<(), SourceError> {
        let open = self.span(start, start + len);
        if kind == Coll::AnonFn {
            if self.anon_fn.is_some() {
                return Err(SourceError::new("nested `#()` are not allowed", open)
                    .with_hint("write one of the two functions as (fn [x] ...)"));
            }
            self.anon_fn = Some(AnonFn::new());
        }
        self.pos = start + len;
        let (items, spans) = self.spare.pop().unwrap_or_default();
        let frame = Frame::Coll {
            kind,
            open,
            items,
            spans,
            name_meta: None,
        };
        self.push(frame, open)
    }

    fn wrap(&mut self, kind: Wrap, start: usize, len: usize) -> Result<(), SourceError> {
        let prefix = self.span(start, start + len);
        self.pos = start + len;
        self.push(Frame::Wrap { kind, prefix }, prefix)
    }

    /// The closing bracket `b` at `start`.
    fn close(&mut self, b: u8, start: usize) -> Result<(), SourceError> {
        let here = self.span(start, start + 1);
        let closer = b as char;
        self.pos = start + 1;
        let (kind, open, mut items, mut spans) = match self.stack.pop() {
            Some(Frame::Coll {
                kind,
                open,
                mut items,
                mut spans,
                name_meta,
            }) => {
                if let Some((meta, at)) = name_meta {
                    attribute_map(&mut items, &mut spans, meta, at);
                }
                (kind, open, items, spans)
            }
            Some(Frame::Wrap { kind, prefix }) => return Err(missing_form(kind.prefix(), prefix)),
            Some(Frame::Meta { prefix, .. }) => return Err(missing_form("^", prefix)),
            Some(Frame::Discard { prefix }) => return Err(missing_form("#_", prefix)),
            None => {
                return Err(
                    SourceError::new(format!("unexpected `{closer}`"), here).with_hint(format!(
                        "nothing is open here for `{closer}` to close; remove it"
                    )),
                )
            }
        };
        if kind.closer() != b {
            let (line, col) = self.source.line_col(open.start as usize);
            return Err(SourceError::new(
                format!(
                    "mismatched `{closer}`: the `{}` opened at line {line}, column {col} is still open",
                    kind.opener()
                ),
                here,
            )
            .with_hint(format!(
                "close the `{}` with `{}` first, or remove this `{closer}`",
                kind.opener(),
                kind.closer() as char
            )));
        }
        let whole = self.span(open.start as usize, start + 1);
        let form = match kind {
            Coll::List => self.sequence(Value::List, &mut items, &spans, whole),
            Coll::Vector => self.sequence(Value::Vector, &mut items, &spans, whole),
            Coll::Map => self.map(&mut items, &spans, whole)?,
            Coll::Set => self.set(&mut items, &spans, whole)?,
            Coll::AnonFn => self.anon_fn(&mut items, &spans, open, whole),
        };
        spans.clear();
        self.spare.push((items, spans));
        self.deliver(form, whole)
    }

    /// A list or vector of `items` (which it empties), recorded with its
    /// spans.
    fn sequence(
        &mut self,
        make: fn(Arc<Vector>) -> Value,
        items: &mut Vec<Value>,
        spans: &[Span],
        whole: Span,
    ) -> Value {
        let form = make(Arc::new(items.drain(..).collect()));
        self.spans.insert(&form, whole, spans.to_vec());
        form
    }

    fn map(
        &mut self,
        items: &mut Vec<Value>,
        spans: &[Span],
        whole: Span,
    ) -> Result<Value, SourceError> {
        if !items.len().is_multiple_of(2) {
            return Err(SourceError::new(
                "map literal must contain an even number of forms",
                whole,
            )
            .with_hint(format!(
                "it has {} forms; every key needs a value",
                items.len()
            )));
        }
        let mut map = Map::default();
        let mut items = items.drain(..);
        let mut key_spans = spans.iter().step_by(2);
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            let key_span = key_spans.next().copied().unwrap_or(whole);
            if map.insert(key.clone(), value).is_some() {
                return Err(duplicate("key", "map", &key, key_span));
            }
        }
        let form = Value::Map(Arc::new(map));
        self.spans.insert(&form, whole, Vec::new());
        Ok(form)
    }

    fn set(
        &mut self,
        items: &mut Vec<Value>,
        spans: &[Span],
        whole: Span,
    ) -> Result<Value, SourceError> {
        let mut set = Set::default();
        for (item, span) in items.drain(..).zip(spans) {
            if !set.insert(item.clone()) {
                return Err(duplicate("item", "set", &item, *span));
            }
        }
        let form = Value::Set(Arc::new(set));
        self.spans.insert(&form, whole, Vec::new());
        Ok(form)
    }

    /// `#(body...)` as `(fn [params] (body...))`.
    fn anon_fn(
        &mut self,
        items: &mut Vec<Value>,
        spans: &[Span],
        open: Span,
        whole: Span,
    ) -> Value {
        let (params, param_spans) = self
            .anon_fn
            .take()
            .map(|f| f.params(open))
            .unwrap_or_default();
        let body_span = self.span(open.start as usize + 1, whole.end as usize);
        let body = self.sequence(Value::List, items, spans, body_span);
        let params = self.sequence(Value::Vector, &mut { params }, &param_spans, open);
        let mut items = vec![Value::symbol("fn"), params, body];
        self.sequence(Value::List, &mut items, &[open, open, body_span], whole)
    }

    /// Hands a complete form to whatever is waiting for it.
    fn deliver(&mut self, mut form: Value, mut span: Span) -> Result<(), SourceError> {
        loop {
            match self.stack.last_mut() {
                None => {
                    self.forms.push(form);
                    self.form_spans.push(span);
                    return Ok(());
                }
                Some(Frame::Coll { items, spans, .. }) => {
                    items.push(form);
                    spans.push(span);
                    return Ok(());
                }
                Some(Frame::Discard { .. }) => {
                    self.stack.pop();
                    return Ok(());
                }
                Some(Frame::Meta {
                    meta: meta @ None, ..
                }) => {
                    *meta = Some(metadata_map(form, span)?);
                    return Ok(());
                }
                Some(Frame::Meta { meta: Some(_), .. }) => {
                    let Some(Frame::Meta {
                        prefix,
                        meta: Some(meta),
                    }) = self.stack.pop()
                    else {
                        unreachable!("the frame just matched")
                    };
                    let whole = self.span(prefix.start as usize, span.end as usize);
                    form = self.with_meta(form, meta, span, prefix)?;
                    span = whole;
                }
                Some(&mut Frame::Wrap { kind, prefix }) => {
                    self.stack.pop();
                    let whole = self.span(prefix.start as usize, span.end as usize);
                    let mut items = vec![Value::symbol(kind.symbol()), form];
                    form = self.sequence(Value::List, &mut items, &[prefix, span], whole);
                    span = whole;
                }
            }
        }
    }

    /// What follows a `#`.
    fn dispatch(&mut self, start: usize, next: Option<u8>) -> Result<(), SourceError> {
        let two = self.span(start, (start + 2).min(self.text.len()));
        let not_supported = |what: &str, hint: &str| {
            SourceError::new(format!("{what} are not supported"), two).with_hint(hint.to_string())
        };
        // Data in either mode: a pid reads as it prints.
        if self.text[start..].starts_with(PID_PREFIX) {
            return self.pid(start);
        }
        if self.edn {
            match next {
                Some(b'(') => return Err(self.not_edn("`#(` (a function)", start, 2)),
                Some(b'"') => return Err(self.not_edn("`#\"` (a regex)", start, 2)),
                Some(b'\'') => return Err(self.not_edn("`#'` (a var)", start, 2)),
                _ => {}
            }
            if char_at(self.text, start + 1).is_some_and(char::is_alphabetic) {
                return self.tagged(start);
            }
        }
        match next {
            Some(b'{') => self.open(Coll::Set, start, 2),
            Some(b'(') => self.open(Coll::AnonFn, start, 2),
            Some(b'_') => {
                self.pos = start + 2;
                let prefix = self.span(start, start + 2);
                self.push(Frame::Discard { prefix }, prefix)
            }
            Some(b'#') => self.symbolic(start),
            Some(b'"') => {
                let (regex, end) = read_regex(self.text, self.file, start)?;
                self.pos = end;
                let form = Value::Regex(Arc::new(regex));
                self.deliver(form, self.span(start, end))
            }
            Some(b'\'') => self.wrap(Wrap::Var, start, 2),
            Some(b'?') => Err(not_supported(
                "reader conditionals (`#?`)",
                "write the form for Calf directly",
            )),
            Some(b':') => Err(not_supported(
                "namespaced maps (`#:ns{...}`)",
                "write each key with its namespace, like {:ns/a 1}",
            )),
            Some(b'^') | Some(b'=') | Some(b'<') => Err(not_supported(
                &format!("`#{}` forms", next.map_or('#', char::from)),
                "remove the `#` form",
            )),
            _ => match char_at(self.text, start + 1) {
                Some(c) if c.is_alphabetic() => {
                    let end = token_end(self.text, start + 1);
                    let tag = self.text.get(start..end).unwrap_or("#");
                    Err(SourceError::new(
                        format!("tagged literals like `{tag}` are not supported"),
                        self.span(start, end),
                    )
                    .with_hint("write the value with a function call instead"))
                }
                _ => Err(SourceError::new(
                    "`#` must be followed by `{`, `(`, `_` or `#`",
                    self.span(start, start + 1),
                )
                .with_hint("#{...} is a set, #(...) a function, #_ discards a form, ##Inf ##-Inf ##NaN are floats")),
            },
        }
    }

    /// `#pid<12>`, or `#pid<3.12>` for process 12 of node 3 of a cluster,
    /// at `start`: a pid as Calf prints it.
    fn pid(&mut self, start: usize) -> Result<(), SourceError> {
        let from = start + PID_PREFIX.len();
        // A pid is at most 27 characters: no need to look further.
        let window = &self.text.as_bytes()[from..(from + 28).min(self.text.len())];
        let Some(close) = window.iter().position(|b| *b == b'>') else {
            let mut error = SourceError::new(
                "a pid literal needs its closing `>`",
                self.span(start, from),
            )
            .with_hint("a pid reads as it prints: #pid<12>, or #pid<3.12> on node 3");
            error.incomplete = from + window.len() >= self.text.len();
            return Err(error);
        };
        let end = from + close + 1;
        let span = self.span(start, end);
        let pid: Pid = self.text[start..end].parse().map_err(|why: String| {
            SourceError::new(why, span)
                .with_hint("a pid reads as it prints: #pid<12>, or #pid<3.12> on node 3")
        })?;
        self.pos = end;
        self.deliver(Value::Pid(pid), span)
    }

    /// An EDN tagged literal at `start`: `#uuid "..."` is the UUID (a
    /// string in lower case, as `parse-uuid` gives), `#inst "..."` the
    /// timestamp's string (Calf has no instant type); other tags have no
    /// reader.
    fn tagged(&mut self, start: usize) -> Result<(), SourceError> {
        let end = token_end(self.text, start + 1);
        let tag = self.text.get(start..end).unwrap_or("#");
        let tag_span = self.span(start, end);
        if tag != "#uuid" && tag != "#inst" {
            return Err(
                SourceError::new(format!("no reader for the tag `{tag}`"), tag_span).with_hint(
                    "EDN here knows the tags #uuid and #inst; write the value without the tag",
                ),
            );
        }
        let at = skip_trivia(self.text, end);
        if self.text.as_bytes().get(at) != Some(&b'"') {
            let mut error =
                SourceError::new(format!("`{tag}` must be followed by a string"), tag_span)
                    .with_hint(format!("write it as {tag} \"...\""));
            error.incomplete = at >= self.text.len();
            return Err(error);
        }
        let (text, after) = read_string(self.text, self.file, at)?;
        let whole = self.span(start, after);
        let value = if tag == "#uuid" {
            if !crate::natives::predicates::is_uuid(&text) {
                return Err(SourceError::new(format!("`{text}` is not a UUID"), whole)
                    .with_hint("a UUID is 32 hex digits in groups of 8-4-4-4-12, as #uuid \"123e4567-e89b-12d3-a456-426614174000\""));
            }
            text.to_ascii_lowercase()
        } else {
            text
        };
        self.pos = after;
        self.deliver(Value::str(value), whole)
    }

    /// `##Inf`, `##-Inf` or `##NaN` at `start`.
    fn symbolic(&mut self, start: usize) -> Result<(), SourceError> {
        let end = match self.text.as_bytes().get(start + 2) {
            Some(_) => token_end(self.text, start + 2),
            None => start + 2,
        };
        let value = match self.text.get(start + 2..end) {
            Some("Inf") => f64::INFINITY,
            Some("-Inf") => f64::NEG_INFINITY,
            Some("NaN") => f64::NAN,
            _ => {
                let shown = self.text.get(start..end).unwrap_or("##");
                return Err(SourceError::new(
                    format!("unknown symbolic value `{shown}`"),
                    self.span(start, end),
                )
                .with_hint("the symbolic values are ##Inf, ##-Inf and ##NaN"));
            }
        };
        self.pos = end;
        self.deliver(Value::Float(value), self.span(start, end))
    }

    /// `form` (read at `span`) with the metadata `meta` read before it:
    /// a map or set literal carries it; on the name of a definition it
    /// becomes the definition's attribute map (see [`attribute_map`]);
    /// on any other form (a type hint on a parameter) it is dropped.
    fn with_meta(
        &mut self,
        form: Value,
        meta: Value,
        span: Span,
        prefix: Span,
    ) -> Result<Value, SourceError> {
        let merged = |old: Option<&Value>| match (old, &meta) {
            (Some(Value::Map(old)), Value::Map(new)) => {
                let mut all = (**old).clone();
                for (k, v) in new.iter() {
                    all.insert(k.clone(), v.clone());
                }
                Some(Value::Map(Arc::new(all)))
            }
            _ => Some(meta.clone()),
        };
        let carried = match &form {
            Value::Map(m) => {
                let mut m = (**m).clone();
                m.set_meta(merged(m.meta()));
                Value::Map(Arc::new(m))
            }
            Value::Set(s) => {
                let mut s = (**s).clone();
                s.set_meta(merged(s.meta()));
                Value::Set(Arc::new(s))
            }
            Value::Symbol(_) => {
                // Under the `^`s still waiting for this symbol
                // (`^:private ^String f`), the list it is in.
                let list = self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|frame| !matches!(frame, Frame::Meta { meta: Some(_), .. }));
                if let Some(Frame::Coll {
                    kind: Coll::List,
                    items,
                    name_meta,
                    ..
                }) = list
                {
                    let defines = matches!(items.as_slice(),
                        [Value::Symbol(head)] if DEFINERS.contains(&head.local_name()));
                    if defines {
                        *name_meta = Some((
                            merged(name_meta.as_ref().map(|(m, _)| m)).unwrap_or(Value::Nil),
                            prefix,
                        ));
                    }
                }
                return Ok(form);
            }
            _ => return Ok(form),
        };
        self.spans.insert(&carried, span, Vec::new());
        Ok(carried)
    }

    /// A number, symbol, keyword, `nil`, `true` or `false` at `start`.
    fn token(&mut self, start: usize) -> Result<(), SourceError> {
        let end = token_end(self.text, start);
        let span = self.span(start, end);
        if self.edn && self.text[start..end].starts_with("::") {
            return Err(SourceError::new(
                "an auto-resolved keyword (`::name`) is code, not EDN data",
                span,
            )
            .with_hint("write the keyword with its namespace, as :ns/name"));
        }
        let mut value = read_token(self.text.get(start..end).unwrap_or(""), span)?;
        if let (Some(anon_fn), Value::Symbol(symbol)) = (&mut self.anon_fn, &value) {
            if let Some(param) = anon_fn.param(*symbol, span)? {
                value = param;
            }
        }
        self.pos = end;
        self.deliver(value, span)
    }
}

/// The heads of the definitions whose name's metadata becomes their
/// attribute map.
const DEFINERS: &[&str] = &["def", "defn", "defn-", "defmacro"];

/// What follows a `^` as a metadata map: `^{:k v}` as it is, `^:k` is
/// `{:k true}`, `^Type` and `^"Type"` are `{:tag Type}`.
fn metadata_map(form: Value, span: Span) -> Result<Value, SourceError> {
    match form {
        Value::Map(_) => Ok(form),
        Value::Keyword(_) => Ok(Value::map([(form, Value::Bool(true))])),
        Value::Symbol(_) | Value::Str(_) => Ok(Value::map([(Value::keyword("tag"), form)])),
        _ => Err(SourceError::new(
            "metadata must be a map, a keyword, a symbol or a string",
            span,
        )
        .with_hint("write it as ^{:key value}, ^:flag or ^Type before the form it is on")),
    }
}

/// Puts the metadata read on a definition's name where the definition
/// takes an attribute map: after the name and its docstring, merged under
/// an attribute map written there. A definition with nothing after that
/// place (`(def ^:dynamic x)`) has no room for one and keeps none.
fn attribute_map(items: &mut Vec<Value>, spans: &mut Vec<Span>, meta: Value, at: Span) {
    let mut place = 2;
    if matches!(items.get(2), Some(Value::Str(_))) && items.len() > 3 {
        place = 3;
    }
    if items.len() <= place {
        return;
    }
    if let (Some(Value::Map(written)), true) = (items.get(place), items.len() > place + 1) {
        let Value::Map(meta) = &meta else { return };
        let mut all = (**meta).clone();
        for (k, v) in written.iter() {
            all.insert(k.clone(), v.clone());
        }
        items[place] = Value::Map(Arc::new(all));
        return;
    }
    items.insert(place, meta);
    spans.insert(place.min(spans.len()), at);
}

fn missing_form(prefix: &str, span: Span) -> SourceError {
    let what = if prefix == "#_" {
        "a form to discard"
    } else {
        "a form"
    };
    SourceError::new(format!("`{prefix}` must be followed by {what}"), span)
        .with_hint(format!("put the form right after `{prefix}`"))
}

fn duplicate(what: &str, coll: &str, item: &Value, span: Span) -> SourceError {
    let mut shown = crate::value::print::pr_str(item);
    if shown.chars().count() > 60 {
        shown = shown.chars().take(57).collect::<String>() + "...";
    }
    SourceError::new(
        format!("duplicate {what} `{shown}` in {coll} literal"),
        span,
    )
    .with_hint(format!("each {what} may appear only once in a {coll}"))
}
