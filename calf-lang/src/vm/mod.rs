//! The virtual machine: runs bytecode for one process.
//!
//! Everything a running process has is in [`Vm`]: the operand stack, the
//! call frames and the exception handlers, all on the heap. `run(budget)`
//! executes at most `budget` instructions and then returns: done, failed, an
//! effect for the host, or out of budget. Nothing of a process is ever kept
//! on the Rust stack between two instructions, so a process can stop
//! anywhere and be resumed later, or by another thread.

mod arith;
mod call;
mod effect;
mod pattern;
mod unwind;

use std::sync::Arc;

use crate::bytecode::{Code, Op};
use crate::error::RuntimeError;
use crate::span::Span;
use crate::value::{Closure, FnProto, Sym, Value};

pub use effect::{Effect, ProcessOp};
pub use unwind::{Thrown, TraceEntry};

/// Default limit on nested (non-tail) calls before a stack-overflow error.
pub const DEFAULT_MAX_DEPTH: usize = 100_000;

/// Why `run` returned.
#[derive(Debug)]
pub enum Outcome {
    /// The process's function returned this value.
    Done(Value),
    /// An uncaught throw ended the process.
    Error(Thrown),
    /// The process asks its host for something; resume with the answer.
    Effect(Effect),
    /// The reduction budget ran out; run again to continue.
    Yield,
}

/// A top-level body that calls the value below its `argc` arguments and
/// returns the result: how a spawned process starts. Shared by all.
fn call_code(argc: usize) -> Arc<Code> {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<Vec<Arc<Code>>>> = OnceLock::new();
    let make = |argc: usize| {
        Arc::new(Code {
            name: None,
            params: 0,
            variadic: false,
            locals: 0,
            ops: vec![Op::TailCall(argc as u16), Op::Return].into_boxed_slice(),
            consts: Box::new([]),
            vars: Box::new([]),
            protos: Box::new([]),
            spans: Box::new([]),
        })
    };
    if argc >= 16 {
        return make(argc);
    }
    let mut cache = CACHE
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    while cache.len() <= argc {
        let n = cache.len();
        cache.push(make(n));
    }
    cache[argc].clone()
}

/// One active call.
#[derive(Debug)]
struct Frame {
    code: Arc<Code>,
    /// The next instruction to run.
    pc: u32,
    /// Stack index of local slot 0; the running function sits just below.
    base: u32,
}

/// An active `try`: where to go, and what to cut back to, when a throw
/// reaches it.
#[derive(Clone, Copy, Debug)]
struct Handler {
    frames: u32,
    stack: u32,
    catch_pc: u32,
}

/// A process's machine state.
pub struct Vm {
    stack: Vec<Value>,
    frames: Vec<Frame>,
    handlers: Vec<Handler>,
    /// The trace of the throw being handled, for `Rethrow`. Boxed: few
    /// processes catch anything, and every process carries a `Vm`.
    caught: Option<Box<Thrown>>,
    max_depth: usize,
}

impl Vm {
    /// A VM that will run `code`, a top-level body of no parameters.
    pub fn new(code: Arc<Code>) -> Vm {
        let mut vm = Vm::empty();
        vm.frames.reserve_exact(2);
        vm.stack.push(Value::Nil);
        vm.enter(code, 1);
        vm
    }

    /// A VM that will apply `function` to `args`, as a spawned process does.
    pub fn call(function: Value, args: Vec<Value>) -> Vm {
        let mut vm = Vm::empty();
        let argc = args.len();
        vm.stack.reserve_exact(argc + 4);
        // One frame: the first call is a tail call, which replaces it. A
        // process waiting in `receive` often never needs a second.
        vm.frames.reserve_exact(1);
        vm.stack.push(function);
        vm.stack.extend(args);
        vm.frames.push(Frame {
            code: call_code(argc),
            pc: 0,
            base: 1,
        });
        vm
    }

    fn empty() -> Vm {
        Vm {
            stack: Vec::new(),
            frames: Vec::new(),
            handlers: Vec::new(),
            caught: None,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Sets how many nested calls are allowed before a stack-overflow error.
    pub fn set_max_depth(&mut self, depth: usize) {
        self.max_depth = depth.max(1);
    }

    /// True once the process has returned or failed.
    pub fn is_finished(&self) -> bool {
        self.frames.is_empty()
    }

    /// Gives the answer to the effect the VM returned: the value its call
    /// evaluates to.
    pub fn resume(&mut self, answer: Value) {
        self.stack.push(answer);
    }

    /// Answers a `Receive` effect: the next message, or `None` when the
    /// timeout passed.
    pub fn resume_received(&mut self, message: Option<Value>) {
        let found = message.is_some();
        self.stack.push(message.unwrap_or(Value::Nil));
        self.stack.push(Value::Bool(found));
    }

    /// Makes the call that asked for an effect throw `error` instead.
    pub fn resume_throw(&mut self, error: Value) -> Option<Outcome> {
        let trace = self.trace();
        self.throw(error, trace).err()
    }

    /// Approximate heap bytes held by this process's machine state.
    pub fn footprint(&self) -> usize {
        self.stack.capacity() * std::mem::size_of::<Value>()
            + self.frames.capacity() * std::mem::size_of::<Frame>()
            + self.handlers.capacity() * std::mem::size_of::<Handler>()
    }

    fn enter(&mut self, code: Arc<Code>, base: usize) {
        let locals = code.locals as usize;
        self.stack.resize(base + locals, Value::Nil);
        self.frames.push(Frame {
            code,
            pc: 0,
            base: base as u32,
        });
    }

    /// Runs at most `budget` instructions.
    pub fn run(&mut self, budget: u32) -> Outcome {
        let mut budget = budget;
        'frames: loop {
            let Some(frame) = self.frames.last() else {
                return Outcome::Done(self.stack.pop().unwrap_or(Value::Nil));
            };
            // SAFETY: the frame owns an `Arc<Code>` that lives until the
            // frame is popped; every path that pops or replaces the frame
            // leaves this loop iteration (`continue 'frames`) before `code`
            // is used again.
            let code: &Code = unsafe { &*Arc::as_ptr(&frame.code) };
            let base = frame.base as usize;
            let mut pc = frame.pc as usize;

            macro_rules! save_pc {
                () => {
                    if let Some(f) = self.frames.last_mut() {
                        f.pc = pc as u32;
                    }
                };
            }
            macro_rules! fail {
                ($err:expr) => {{
                    save_pc!();
                    let err: RuntimeError = $err;
                    let trace = self.trace();
                    match self.throw(err.into_value(), trace) {
                        Ok(()) => continue 'frames,
                        Err(outcome) => return outcome,
                    }
                }};
            }
            macro_rules! binary {
                ($f:path) => {{
                    // The result replaces the first operand in place.
                    let b = self.pop();
                    let result = match self.stack.last() {
                        Some(a) => $f(a, &b),
                        None => fail!(RuntimeError::new(
                            "calf/internal",
                            "operand stack underflow"
                        )),
                    };
                    match result {
                        Ok(v) => {
                            if let Some(a) = self.stack.last_mut() {
                                *a = v;
                            }
                        }
                        Err(e) => fail!(e),
                    }
                }};
            }

            macro_rules! unary {
                ($f:path) => {{
                    let result = match self.stack.last() {
                        Some(a) => $f(a),
                        None => fail!(RuntimeError::new(
                            "calf/internal",
                            "operand stack underflow"
                        )),
                    };
                    match result {
                        Ok(v) => {
                            if let Some(a) = self.stack.last_mut() {
                                *a = v;
                            }
                        }
                        Err(e) => fail!(e),
                    }
                }};
            }

            loop {
                if budget == 0 {
                    save_pc!();
                    return Outcome::Yield;
                }
                budget -= 1;
                let Some(&op) = code.ops.get(pc) else {
                    fail!(RuntimeError::new(
                        "calf/internal",
                        "jumped outside the function's code"
                    ))
                };
                pc += 1;
                match op {
                    Op::Nil => self.stack.push(Value::Nil),
                    Op::True => self.stack.push(Value::Bool(true)),
                    Op::False => self.stack.push(Value::Bool(false)),
                    Op::Int(n) => self.stack.push(Value::Int(n as i64)),
                    Op::Const(i) => self.stack.push(code.consts[i as usize].clone()),
                    Op::Local(slot) => {
                        let v = self.stack[base + slot as usize].clone();
                        self.stack.push(v);
                    }
                    Op::SetLocal(slot) => {
                        let v = self.pop();
                        self.stack[base + slot as usize] = v;
                    }
                    Op::Capture(i) => {
                        let v = match &self.stack[base - 1] {
                            Value::Fn(closure) => closure.captures[i as usize].clone(),
                            _ => Value::Nil,
                        };
                        self.stack.push(v);
                    }
                    Op::SelfFn => {
                        let v = self.stack[base - 1].clone();
                        self.stack.push(v);
                    }
                    Op::Global(i) => {
                        let var = &code.vars[i as usize];
                        match var.get() {
                            Some(v) => self.stack.push(v),
                            None => fail!(RuntimeError::new(
                                "calf/unbound",
                                format!("{} is declared but has no value yet", var.name)
                            )
                            .with("var", Value::Symbol(var.name))),
                        }
                    }
                    Op::Def(i) => {
                        let var = &code.vars[i as usize];
                        let v = self.pop();
                        var.set(v);
                        self.stack.push(Value::Symbol(var.name));
                    }
                    Op::MarkMacro(i) => code.vars[i as usize].set_macro(true),
                    Op::Pop => {
                        self.stack.pop();
                    }
                    Op::Nip => {
                        let top = self.pop();
                        *self.stack.last_mut().expect("Nip below an operand") = top;
                    }
                    Op::Jump(target) => pc = target as usize,
                    Op::JumpIfFalse(target) => {
                        if !self.pop().is_truthy() {
                            pc = target as usize;
                        }
                    }
                    Op::Call(argc) => {
                        save_pc!();
                        match self.call_value(argc as usize) {
                            Ok(call::Next::Continue) => {}
                            Ok(call::Next::Enter) => continue 'frames,
                            Ok(call::Next::Effect(effect)) => return Outcome::Effect(effect),
                            Err(e) => fail!(e),
                        }
                    }
                    Op::Apply(argc) => {
                        save_pc!();
                        let spread = self.pop();
                        let added = match call::spread_onto(&spread, &mut self.stack) {
                            Ok(n) => n,
                            Err(e) => fail!(e),
                        };
                        match self.call_value(argc as usize - 2 + added) {
                            Ok(call::Next::Continue) => {}
                            Ok(call::Next::Enter) => continue 'frames,
                            Ok(call::Next::Effect(effect)) => return Outcome::Effect(effect),
                            Err(e) => fail!(e),
                        }
                    }
                    Op::TailCall(argc) => {
                        save_pc!();
                        // The compiler follows every TailCall with a Return,
                        // which hands on a native's (or an effect's) answer.
                        match self.tail_call(argc as usize, base) {
                            Ok(call::Next::Continue) => {}
                            Ok(call::Next::Enter) => continue 'frames,
                            Ok(call::Next::Effect(effect)) => return Outcome::Effect(effect),
                            Err(e) => fail!(e),
                        }
                    }
                    Op::Return => match self.return_from_frame() {
                        Some(outcome) => return outcome,
                        None => continue 'frames,
                    },
                    Op::Closure(i) => {
                        let proto = &code.protos[i as usize];
                        let closure = self.make_closure(proto, base);
                        self.stack.push(closure);
                    }
                    Op::PushHandler(catch_pc) => self.handlers.push(Handler {
                        frames: self.frames.len() as u32,
                        stack: self.stack.len() as u32,
                        catch_pc,
                    }),
                    Op::PopHandler => {
                        self.handlers.pop();
                    }
                    Op::Throw => {
                        save_pc!();
                        let v = self.pop();
                        let trace = self.trace();
                        match self.throw(v, trace) {
                            Ok(()) => continue 'frames,
                            Err(outcome) => return outcome,
                        }
                    }
                    Op::Rethrow => {
                        save_pc!();
                        let v = self.pop();
                        let trace = match self.caught.take() {
                            Some(t) if t.value == v => t.trace,
                            _ => self.trace(),
                        };
                        match self.throw(v, trace) {
                            Ok(()) => continue 'frames,
                            Err(outcome) => return outcome,
                        }
                    }
                    Op::MakeList(n) => {
                        let items = self.stack.split_off(self.stack.len() - n as usize);
                        self.stack.push(Value::list(items));
                    }
                    Op::MakeVector(n) => {
                        let items = self.stack.split_off(self.stack.len() - n as usize);
                        self.stack.push(Value::vector(items));
                    }
                    Op::MakeSet(n) => {
                        let items = self.stack.split_off(self.stack.len() - n as usize);
                        self.stack.push(Value::set(items));
                    }
                    Op::MakeMap(n) => {
                        let items = self.stack.split_off(self.stack.len() - 2 * n as usize);
                        let mut map = crate::value::Map::default();
                        let mut items = items.into_iter();
                        while let (Some(k), Some(v)) = (items.next(), items.next()) {
                            map.insert(k, v);
                        }
                        self.stack.push(Value::Map(Arc::new(map)));
                    }
                    Op::TestSeq { len, at_least } => {
                        let v = self.pop();
                        self.stack
                            .push(Value::Bool(pattern::is_seq_of(&v, len, at_least)));
                    }
                    Op::TestMap => {
                        let v = self.pop();
                        self.stack.push(Value::Bool(matches!(v, Value::Map(_))));
                    }
                    Op::ItemAt(i) => {
                        let v = self.pop();
                        self.stack.push(pattern::item_at(&v, i));
                    }
                    Op::ItemsFrom(i) => {
                        let v = self.pop();
                        self.stack.push(pattern::items_from(&v, i));
                    }
                    Op::HasKey => {
                        let key = self.pop();
                        let map = self.pop();
                        self.stack.push(Value::Bool(pattern::has_key(&map, &key)));
                    }
                    Op::GetKey => {
                        let key = self.pop();
                        let map = self.pop();
                        self.stack.push(pattern::get_key(&map, &key));
                    }
                    Op::NoMatch => {
                        let v = self.pop();
                        fail!(pattern::no_match(&v))
                    }
                    Op::Receive {
                        restart,
                        timeout_slot,
                    } => {
                        let timeout_ms = if timeout_slot == u16::MAX {
                            None
                        } else {
                            match &self.stack[base + timeout_slot as usize] {
                                Value::Int(ms) => Some((*ms).max(0) as u64),
                                Value::Float(ms) if ms.is_finite() => Some(ms.max(0.0) as u64),
                                other => fail!(RuntimeError::wrong_type(
                                    "after",
                                    1,
                                    "a number of milliseconds",
                                    other
                                )),
                            }
                        };
                        save_pc!();
                        return Outcome::Effect(Effect::Receive {
                            restart,
                            timeout_ms,
                        });
                    }
                    Op::ReceiveAccept => {
                        save_pc!();
                        return Outcome::Effect(Effect::ReceiveAccept);
                    }
                    Op::Add => binary!(arith::add),
                    Op::Sub => binary!(arith::sub),
                    Op::Mul => binary!(arith::mul),
                    Op::Div => binary!(arith::div),
                    Op::Lt => binary!(arith::lt),
                    Op::Le => binary!(arith::le),
                    Op::Gt => binary!(arith::gt),
                    Op::Ge => binary!(arith::ge),
                    Op::NumEq => binary!(arith::num_eq),
                    Op::Eq => binary!(arith::equal),
                    Op::Inc => unary!(arith::inc),
                    Op::Dec => unary!(arith::dec),
                    Op::Not => {
                        let a = self.pop();
                        self.stack.push(Value::Bool(!a.is_truthy()));
                    }
                }
            }
        }
    }

    #[inline]
    fn pop(&mut self) -> Value {
        self.stack.pop().unwrap_or(Value::Nil)
    }

    /// Pops the current frame, handing its top value to the caller. Returns
    /// the outcome when the last frame returned.
    fn return_from_frame(&mut self) -> Option<Outcome> {
        let result = self.pop();
        let frame = self.frames.pop()?;
        self.stack.truncate(frame.base as usize - 1);
        if self.frames.is_empty() {
            self.stack.clear();
            self.handlers.clear();
            return Some(Outcome::Done(result));
        }
        self.stack.push(result);
        None
    }

    fn make_closure(&self, proto: &Arc<FnProto>, base: usize) -> Value {
        use crate::bytecode::Capture;
        let captures = proto
            .captures
            .iter()
            .map(|c| match *c {
                Capture::Local(slot) => self.stack[base + slot as usize].clone(),
                Capture::Capture(i) => match &self.stack[base - 1] {
                    Value::Fn(closure) => closure.captures[i as usize].clone(),
                    _ => Value::Nil,
                },
                Capture::SelfFn => self.stack[base - 1].clone(),
            })
            .collect();
        Value::Fn(Arc::new(Closure {
            proto: proto.clone(),
            captures,
        }))
    }

    /// The Calf call stack, innermost first; runs of frames at the same
    /// place (a deep recursion) become one entry.
    pub fn trace(&self) -> Vec<TraceEntry> {
        let mut trace: Vec<TraceEntry> = Vec::new();
        for frame in self.frames.iter().rev() {
            let function = frame.code.name;
            let span = frame.code.span_at((frame.pc as usize).saturating_sub(1));
            match trace.last_mut() {
                Some(last) if last.function == function && last.span == span => last.times += 1,
                _ => trace.push(TraceEntry {
                    function,
                    span,
                    times: 1,
                }),
            }
        }
        trace
    }

    /// The span of the instruction the current frame is at.
    pub fn current_span(&self) -> Option<Span> {
        let f = self.frames.last()?;
        f.code.span_at((f.pc as usize).saturating_sub(1))
    }

    /// The name of the function running now.
    pub fn current_function(&self) -> Option<Sym> {
        self.frames.last().and_then(|f| f.code.name)
    }
}
