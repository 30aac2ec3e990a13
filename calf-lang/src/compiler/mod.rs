//! The compiler: forms to bytecode.
//!
//! Works one top-level form at a time, expanding macros as it meets them
//! (a macro is a Calf function run on a fresh VM at compile time). Locals
//! are resolved to frame slots here, so the VM never looks a local up by
//! name; a closure captures the values it uses when it is made.

mod builder;
mod destructure;
mod keywords;
mod liveness;
mod ns;
mod pattern;
mod special;
mod syntax_quote;
mod vars;

use std::sync::Arc;

use builder::{Access, CodeBuilder};
pub use special::SPECIAL_FORMS;

use crate::bytecode::{Capture, Code, Op};
use crate::error::{message_of, SourceError};
use crate::namespace::{Globals, Var, CORE};
use crate::span::{Span, SpanTable};
use crate::value::{Sym, Value};
use crate::vm::{Outcome, Vm};

/// How deeply forms may nest (after macro expansion) before compiling stops
/// with an error instead of exhausting the Rust stack.
const MAX_NESTING: usize = 400;

/// What a top-level form turned into.
pub enum TopLevel {
    /// A `do` at top level: its forms, to be compiled and run one by one
    /// (so that a macro defined by one is usable by the next).
    Forms(Vec<Value>),
    /// Code to run.
    Code(Arc<Code>),
}

/// Compiles forms in one namespace of one runtime.
pub struct Compiler<'a> {
    globals: &'a Arc<Globals>,
    /// The namespace code is compiled in; `ns` and `in-ns` change it.
    pub ns: Sym,
    spans: &'a SpanTable,
    /// Used for forms that carry no span of their own.
    fallback: Span,
    levels: Vec<Level>,
    depth: usize,
    /// Instructions one macro expansion may run; `None`: no limit.
    macro_fuel: Option<u64>,
}

/// A local name and its slot.
#[derive(Clone, Copy)]
struct Local {
    name: Sym,
    slot: u16,
}

/// Where `recur` jumps, and which slots it rebinds.
#[derive(Clone)]
struct RecurTarget {
    start: usize,
    slots: Vec<u16>,
}

/// One body being compiled: a top-level form or one arity of a `fn`.
struct Level {
    code: CodeBuilder,
    locals: Vec<Local>,
    next_slot: u16,
    max_slots: u16,
    captures: Vec<(Sym, Capture)>,
    self_name: Option<Sym>,
    recur: Option<RecurTarget>,
}

impl Level {
    fn new(self_name: Option<Sym>, captures: Vec<(Sym, Capture)>) -> Level {
        Level {
            code: CodeBuilder::default(),
            locals: Vec::new(),
            next_slot: 0,
            max_slots: 0,
            captures,
            self_name,
            recur: None,
        }
    }
}

type Result<T> = std::result::Result<T, SourceError>;

/// Whether a form's value is the result of something enclosing it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tail {
    /// Not in tail position: `recur` is an error here.
    No,
    /// The tail of a `loop` that is not itself in tail position: `recur` is
    /// fine, but a call here must return to this frame.
    Loop,
    /// The tail of the function: `recur` is fine and calls are tail calls.
    Fn,
}

impl Tail {
    fn allows_recur(self) -> bool {
        self != Tail::No
    }
}

impl<'a> Compiler<'a> {
    pub fn new(
        globals: &'a Arc<Globals>,
        ns: Sym,
        spans: &'a SpanTable,
        fallback: Span,
    ) -> Compiler<'a> {
        Compiler {
            globals,
            ns,
            spans,
            fallback,
            levels: Vec::new(),
            depth: 0,
            macro_fuel: None,
        }
    }

    /// Limits how many instructions one macro expansion may run, so that a
    /// macro that never returns fails instead of hanging the compiler.
    pub fn with_macro_fuel(mut self, instructions: u64) -> Self {
        self.macro_fuel = Some(instructions);
        self
    }

    /// Expands macros at the head of a top-level form; a `do` is split so its
    /// forms run one at a time.
    pub fn expand_toplevel(&mut self, form: &Value) -> Result<TopLevel> {
        // A form of a top-level `do` has a span of its own: its expansion,
        // which has none, is reported (and a `def` in it recorded) there.
        if let Some(span) = self.spans.span_of(form) {
            self.fallback = span;
        }
        let mut form = form.clone();
        for _ in 0..MAX_NESTING {
            if let Some(items) = list_items(&form) {
                if items.front().is_some_and(|h| h.is_symbol("do")) {
                    return Ok(TopLevel::Forms(items.iter().skip(1).cloned().collect()));
                }
            }
            match self.macroexpand_1(&form)? {
                Some(expanded) => form = expanded,
                None => return self.compile_toplevel(&form).map(TopLevel::Code),
            }
        }
        Err(self.error_at(&form, "macro expansion does not terminate"))
    }

    /// Compiles one form into a body of no parameters.
    pub fn compile_toplevel(&mut self, form: &Value) -> Result<Arc<Code>> {
        self.levels.push(Level::new(None, Vec::new()));
        let span = self.spans.span_of(form).unwrap_or(self.fallback);
        self.level().code.set_span(Some(span));
        let result = self.compile(form, None, Tail::Fn);
        let level = self.levels.pop().expect("level pushed above");
        result?;
        let mut code = level.code;
        code.emit(Op::Return);
        Ok(Arc::new(code.finish(None, 0, false, level.max_slots)))
    }

    /// Expands `form` once if it is a call of a macro.
    pub fn macroexpand_1(&mut self, form: &Value) -> Result<Option<Value>> {
        let Some(items) = list_items(form) else {
            return Ok(None);
        };
        let Some(Value::Symbol(head)) = items.front() else {
            return Ok(None);
        };
        let head = *head;
        if self.is_special(head) || self.resolve_local(head).is_some() {
            return Ok(None);
        }
        let Some(var) = self.globals.resolve(self.ns, head) else {
            return Ok(None);
        };
        if !var.is_macro() {
            return Ok(None);
        }
        self.check_access(&var)?;
        let Some(macro_fn) = var.get() else {
            return Ok(None);
        };
        let args: Vec<Value> = items.iter().skip(1).cloned().collect();
        let mut vm = Vm::call(macro_fn, args);
        let mut fuel = self.macro_fuel;
        loop {
            let slice = fuel.map_or(u32::MAX, |f| f.min(u32::MAX as u64) as u32);
            match vm.run(slice) {
                Outcome::Done(v) => return Ok(Some(v)),
                Outcome::Yield => {
                    fuel = fuel.map(|f| f.saturating_sub(slice as u64));
                    if fuel == Some(0) {
                        return Err(self.error_at(form, format!("macro {} ran out of its instruction budget while expanding", var.name)));
                    }
                }
                Outcome::Error(thrown) => {
                    return Err(self.error_at(
                        form,
                        format!("error while expanding macro {}: {}", var.name, message_of(&thrown.value)),
                    ))
                }
                Outcome::Effect(effect, _) => {
                    return Err(self.error_at(
                        form,
                        format!("macro {} tried to perform an effect ({effect:?}) while expanding", var.name),
                    )
                    .with_hint("macros run at compile time and must be pure: move the effect into the code they return"))
                }
                Outcome::Receive { .. } => {
                    return Err(self.error_at(
                        form,
                        format!("macro {} tried to receive a message while expanding", var.name),
                    )
                    .with_hint("macros run at compile time and must be pure: move the receive into the code they return"))
                }
            }
        }
    }

    fn level(&mut self) -> &mut Level {
        self.levels.last_mut().expect("compiling inside a level")
    }

    fn code(&mut self) -> &mut CodeBuilder {
        &mut self.level().code
    }

    fn emit(&mut self, op: Op) -> usize {
        self.code().emit(op)
    }

    /// The best span for `form`: its own, else the hint, else the enclosing one.
    fn span_for(&self, form: &Value, hint: Option<Span>) -> Option<Span> {
        self.spans.span_of(form).or(hint)
    }

    fn current_span(&self) -> Span {
        self.levels
            .last()
            .and_then(|l| l.code.span())
            .unwrap_or(self.fallback)
    }

    fn error_at(&self, form: &Value, message: impl Into<String>) -> SourceError {
        SourceError::new(
            message,
            self.spans
                .span_of(form)
                .unwrap_or_else(|| self.current_span()),
        )
    }

    fn error_here(&self, message: impl Into<String>) -> SourceError {
        SourceError::new(message, self.current_span())
    }

    /// Compiles `form`, leaving its value on the stack. `tail`: its value is
    /// the body's result, so a call there may be a tail call.
    fn compile(&mut self, form: &Value, hint: Option<Span>, tail: Tail) -> Result<()> {
        let span = self.span_for(form, hint);
        let saved = self.code().set_span(span);
        self.depth += 1;
        let result = if self.depth > MAX_NESTING {
            Err(self.error_here(format!("forms nest more than {MAX_NESTING} deep")))
        } else {
            self.compile_inner(form, tail)
        };
        self.depth -= 1;
        self.code().restore_span(saved);
        result
    }

    fn compile_inner(&mut self, form: &Value, tail: Tail) -> Result<()> {
        match form {
            Value::Symbol(sym) => self.compile_symbol(*sym),
            Value::List(items) if items.is_empty() => {
                let c = self.code().constant(form.clone());
                self.emit(Op::Const(c));
                Ok(())
            }
            Value::List(_) => self.compile_list(form, tail),
            Value::Vector(items) => {
                self.compile_collection(form, items.iter().cloned().collect(), Op::MakeVector)
            }
            Value::Set(items) => {
                if let (Some(meta), false) = (items.meta(), is_constant(form)) {
                    let mut bare = (**items).clone();
                    bare.set_meta(None);
                    return self.compile_with_meta(form, Value::from(bare), meta.clone(), tail);
                }
                self.compile_collection(form, items.iter().cloned().collect(), Op::MakeSet)
            }
            Value::Map(entries) => {
                if is_constant(form) {
                    return self.compile_constant(form.clone());
                }
                if let Some(meta) = entries.meta() {
                    let mut bare = (**entries).clone();
                    bare.set_meta(None);
                    return self.compile_with_meta(form, Value::from(bare), meta.clone(), tail);
                }
                for (k, v) in entries.iter() {
                    self.compile(k, None, Tail::No)?;
                    self.compile(v, None, Tail::No)?;
                }
                self.emit(Op::MakeMap(entries.len() as u32));
                Ok(())
            }
            _ => self.compile_constant(form.clone()),
        }
    }

    /// A map or set literal with metadata (`^{:k v} {:a x}`) whose items are
    /// computed: built bare, then given its metadata.
    fn compile_with_meta(
        &mut self,
        form: &Value,
        bare: Value,
        meta: Value,
        tail: Tail,
    ) -> Result<()> {
        let call = Value::list([
            Value::symbol("calf.core/with-meta"),
            bare,
            Value::list([Value::symbol("quote"), meta]),
        ]);
        self.compile(&call, self.spans.span_of(form), tail)
    }

    fn compile_constant(&mut self, value: Value) -> Result<()> {
        match self.resolve_keywords(value)? {
            Value::Nil => self.emit(Op::Nil),
            Value::Bool(true) => self.emit(Op::True),
            Value::Bool(false) => self.emit(Op::False),
            Value::Int(n) if i32::try_from(n).is_ok() => self.emit(Op::Int(n as i32)),
            other => {
                let c = self.code().constant(other);
                self.emit(Op::Const(c))
            }
        };
        Ok(())
    }

    fn compile_collection(
        &mut self,
        form: &Value,
        items: Vec<Value>,
        make: fn(u32) -> Op,
    ) -> Result<()> {
        if is_constant(form) {
            return self.compile_constant(form.clone());
        }
        for (i, item) in items.iter().enumerate() {
            let hint = self.spans.item_span(form, i);
            self.compile(item, hint, Tail::No)?;
        }
        self.emit(make(items.len() as u32));
        Ok(())
    }

    fn compile_symbol(&mut self, sym: Sym) -> Result<()> {
        if let Some(access) = self.resolve_local(sym) {
            self.emit(match access {
                Access::Local(slot) => Op::Local(slot),
                Access::Capture(i) => Op::Capture(i),
                Access::SelfFn => Op::SelfFn,
            });
            return Ok(());
        }
        let var = self.resolve_global(sym)?;
        self.check_access(&var)?;
        if var.is_macro() {
            return Err(self
                .error_here(format!("can't take the value of a macro: {}", var.name))
                .with_hint("a macro can only be called: write it at the head of a list"));
        }
        if var.is_dynamic() {
            return self.compile_dynamic_read(var);
        }
        let i = self.code().var(var);
        self.emit(Op::Global(i));
        Ok(())
    }

    /// A read of a dynamic var: `(dynamic-value 'ns/name root)`, which
    /// answers the process's binding of it, else the root value.
    fn compile_dynamic_read(&mut self, var: Arc<Var>) -> Result<()> {
        let read = self
            .globals
            .core()
            .lookup(Sym::new("dynamic-value"))
            .expect("the core library has dynamic-value");
        let read = self.code().var(read);
        self.emit(Op::Global(read));
        self.compile_constant(Value::Symbol(var.name))?;
        let root = self.code().var(var);
        self.emit(Op::Global(root));
        self.emit(Op::Call(2));
        Ok(())
    }

    fn resolve_global(&self, sym: Sym) -> Result<Arc<Var>> {
        if let Some(var) = self.globals.resolve(self.ns, sym) {
            return Ok(var);
        }
        if self.is_special(sym) {
            return Err(self
                .error_here(format!("{sym} is a special form, not a value"))
                .with_hint(format!("call it: ({sym} ...)")));
        }
        let hint = match sym.namespace() {
            Some(_) => self.unresolved_qualified_hint(sym),
            None => "define it with def or defn before this form, or (declare it) for a forward reference".to_string(),
        };
        Err(self
            .error_here(format!("unable to resolve symbol: {sym} in this context"))
            .with_hint(hint))
    }

    /// Finds `sym` among the locals of the current body or, capturing it,
    /// of enclosing bodies.
    fn resolve_local(&mut self, sym: Sym) -> Option<Access> {
        let depth = self.levels.len();
        if depth == 0 {
            return None;
        }
        self.resolve_in(depth - 1, sym)
    }

    fn resolve_in(&mut self, level: usize, sym: Sym) -> Option<Access> {
        let l = &self.levels[level];
        if let Some(local) = l.locals.iter().rev().find(|l| l.name == sym) {
            return Some(Access::Local(local.slot));
        }
        if l.self_name == Some(sym) {
            return Some(Access::SelfFn);
        }
        if let Some(i) = l.captures.iter().position(|(name, _)| *name == sym) {
            return Some(Access::Capture(i as u16));
        }
        if level == 0 {
            return None;
        }
        let outer = self.resolve_in(level - 1, sym)?;
        let l = &mut self.levels[level];
        l.captures.push((sym, outer.as_capture()));
        Some(Access::Capture(l.captures.len() as u16 - 1))
    }

    /// Binds `name` to a fresh slot in the current body.
    fn bind_local(&mut self, name: Sym) -> Result<u16> {
        let level = self.level();
        let slot = level.next_slot;
        let Some(next) = slot.checked_add(1) else {
            return Err(self
                .error_here("too many locals in one function (at most 65535)")
                .with_hint("split the function or the let into smaller ones"));
        };
        level.next_slot = next;
        level.max_slots = level.max_slots.max(next);
        level.locals.push(Local { name, slot });
        Ok(slot)
    }

    /// Marks where a scope starts, to end it with `end_scope`.
    fn begin_scope(&mut self) -> (usize, u16) {
        let level = self.level();
        (level.locals.len(), level.next_slot)
    }

    fn end_scope(&mut self, (locals, next_slot): (usize, u16)) {
        let level = self.level();
        level.locals.truncate(locals);
        level.next_slot = next_slot;
    }

    fn compile_list(&mut self, form: &Value, tail: Tail) -> Result<()> {
        let items: Vec<Value> = list_items(form).expect("a list").iter().cloned().collect();
        if let Value::Symbol(head) = &items[0] {
            let head = *head;
            if self.resolve_local(head).is_none() {
                if let Some(result) = self.compile_special(head, form, &items, tail) {
                    return result;
                }
                if let Some(expanded) = self.macroexpand_1(form)? {
                    return self.compile(&expanded, None, tail);
                }
                if let Some(result) = self.compile_inline(head, form, &items) {
                    return result;
                }
            }
        }
        self.compile_call(form, &items, tail)
    }

    fn compile_call(&mut self, form: &Value, items: &[Value], tail: Tail) -> Result<()> {
        if items.len() > u16::MAX as usize {
            return Err(self.error_at(form, "too many arguments in one call"));
        }
        // A named fn calling itself needs no function value on the stack.
        let calls_itself = matches!(
            &items[0],
            Value::Symbol(head) if matches!(self.resolve_local(*head), Some(Access::SelfFn))
        );
        for (i, item) in items.iter().enumerate() {
            if i == 0 && calls_itself {
                self.emit(Op::Nil);
                continue;
            }
            let hint = self.spans.item_span(form, i);
            self.compile(item, hint, Tail::No)?;
        }
        let argc = (items.len() - 1) as u16;
        // Errors inside the call point at the whole call form.
        let span = self.spans.span_of(form);
        let saved = self.code().set_span(span);
        match (tail == Tail::Fn, calls_itself) {
            (true, false) => {
                self.emit(Op::TailCall(argc));
                self.emit(Op::Return);
            }
            (true, true) => {
                self.emit(Op::TailCallSelf(argc));
                self.emit(Op::Return);
            }
            (false, false) => {
                self.emit(Op::Call(argc));
            }
            (false, true) => {
                self.emit(Op::CallSelf(argc));
            }
        }
        self.code().restore_span(saved);
        Ok(())
    }

    /// Core arithmetic, comparison, `not` and `send` become single
    /// instructions when their names mean the core functions.
    fn compile_inline(&mut self, head: Sym, form: &Value, items: &[Value]) -> Option<Result<()>> {
        let name = head.local_name();
        let op = match (name, items.len() - 1) {
            ("+", n) if n >= 2 => Op::Add,
            ("*", n) if n >= 2 => Op::Mul,
            ("-", n) if n >= 2 => Op::Sub,
            ("/", 2) => Op::Div,
            ("<", 2) => Op::Lt,
            ("<=", 2) => Op::Le,
            (">", 2) => Op::Gt,
            (">=", 2) => Op::Ge,
            ("==", 2) => Op::NumEq,
            ("=", 2) => Op::Eq,
            ("inc", 1) => Op::Inc,
            ("dec", 1) => Op::Dec,
            ("not", 1) => Op::Not,
            ("send", 2) => Op::Send,
            ("apply", n) if n >= 2 => Op::Apply(u16::try_from(n).ok()?),
            _ => return None,
        };
        let var = self.globals.resolve(self.ns, head)?;
        if var.name.namespace() != Some(CORE) {
            return None;
        }
        Some((|| {
            for (i, item) in items.iter().enumerate().skip(1) {
                if i >= 2 {
                    if let Some(fused) = with_immediate(op, item) {
                        let span = self.spans.span_of(form);
                        let saved = self.code().set_span(span);
                        self.emit(fused);
                        self.code().restore_span(saved);
                        continue;
                    }
                }
                let hint = self.spans.item_span(form, i);
                self.compile(item, hint, Tail::No)?;
                if i >= 2 && !matches!(op, Op::Apply(_)) {
                    let span = self.spans.span_of(form);
                    let saved = self.code().set_span(span);
                    self.emit(op);
                    self.code().restore_span(saved);
                }
            }
            if items.len() == 2 || matches!(op, Op::Apply(_)) {
                let span = self.spans.span_of(form);
                let saved = self.code().set_span(span);
                self.emit(op);
                self.code().restore_span(saved);
            }
            Ok(())
        })())
    }

    /// Compiles the forms of a body (an implicit `do`).
    fn compile_body(
        &mut self,
        forms: &[Value],
        parent: &Value,
        first_index: usize,
        tail: Tail,
    ) -> Result<()> {
        if forms.is_empty() {
            self.emit(Op::Nil);
            return Ok(());
        }
        for (i, form) in forms.iter().enumerate() {
            let last = i + 1 == forms.len();
            let hint = self.spans.item_span(parent, first_index + i);
            self.compile(form, hint, if last { tail } else { Tail::No })?;
            if !last {
                self.emit(Op::Pop);
            }
        }
        Ok(())
    }
}

/// The items of a non-empty list.
fn list_items(form: &Value) -> Option<&crate::value::Vector> {
    match form {
        Value::List(items) if !items.is_empty() => Some(items),
        _ => None,
    }
}

/// A literal with no symbol or list inside evaluates to itself.
fn is_constant(form: &Value) -> bool {
    match form {
        Value::Symbol(_) => false,
        Value::List(items) => items.is_empty(),
        Value::Vector(items) => items.iter().all(is_constant),
        Value::Set(items) => items.iter().all(is_constant),
        Value::Map(entries) => entries
            .iter()
            .all(|(k, v)| is_constant(k) && is_constant(v)),
        _ => true,
    }
}

/// `(+ x 1)`, `(< n 2)`: an operator whose right operand is a small integer
/// literal becomes one instruction carrying it, one push and pop fewer in
/// the loops and recursions where such forms live.
fn with_immediate(op: Op, operand: &Value) -> Option<Op> {
    let Value::Int(n) = operand else { return None };
    let n = i32::try_from(*n).ok()?;
    Some(match op {
        Op::Add => Op::AddInt(n),
        Op::Sub => Op::SubInt(n),
        Op::Lt => Op::LtInt(n),
        Op::Le => Op::LeInt(n),
        Op::Gt => Op::GtInt(n),
        Op::Ge => Op::GeInt(n),
        Op::NumEq => Op::NumEqInt(n),
        Op::Eq => Op::EqInt(n),
        _ => return None,
    })
}
