//! The virtual machine: runs bytecode for one process.
//!
//! Everything a running process has is in [`Vm`]: the operand stack, the
//! call frames and the exception handlers, all on the heap. `run(budget)`
//! spends at most `budget` reductions (calls and backward jumps: every loop
//! and recursion pays them) and then returns: done, failed, an effect for
//! the host, or out of budget. Nothing of a process is ever kept
//! on the Rust stack between two instructions, so a process can stop
//! anywhere and be resumed later, or by another thread.

mod arith;
mod call;
mod effect;
mod pattern;
mod unwind;

use std::ptr::NonNull;
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
fn call_code(argc: usize) -> &'static Code {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<Vec<&'static Code>>> = OnceLock::new();
    // Leaked on purpose: one body per argument count, for the whole program.
    let make = |argc: usize| -> &'static Code {
        Box::leak(Box::new(Code {
            name: None,
            params: 0,
            variadic: false,
            locals: 0,
            ops: vec![Op::TailCall(argc as u16), Op::Return].into_boxed_slice(),
            consts: Box::new([]),
            vars: Box::new([]),
            protos: Box::new([]),
            spans: Box::new([]),
        }))
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
    cache[argc]
}

/// A new owning reference to the closure a frame runs.
fn share_closure(closure: &Closure) -> Value {
    let ptr: *const Closure = closure;
    // SAFETY: every frame's closure lives in an `Arc` (see `Frame`), so the
    // pointer came from `Arc::as_ptr`; taking one more strong count first
    // makes the new `Arc` an owner of its own.
    unsafe {
        Arc::increment_strong_count(ptr);
        Value::Fn(Arc::from_raw(ptr))
    }
}

/// What an operator on two integers gives, before it becomes a value.
enum IntResult {
    Int(i64),
    Bool(bool),
}

impl IntResult {
    /// Stores the value into `slot` in one store.
    ///
    /// # Safety
    /// `slot` is valid for writes and holds nothing that needs dropping.
    #[inline(always)]
    unsafe fn write_to(self, slot: *mut Value) {
        // SAFETY: the caller vouches for `slot`.
        unsafe {
            match self {
                IntResult::Int(n) => Value::write_int(slot, n),
                IntResult::Bool(b) => Value::write_bool(slot, b),
            }
        }
    }
}

/// One active call.
///
/// The frame borrows its code instead of holding an `Arc`: a call then
/// costs no reference-count traffic. What keeps the code alive is the
/// function value in the stack slot just below `base`, which nothing
/// overwrites while the frame exists (a tail call replaces it only together
/// with the frame); [`Vm::new`] puts a closure of its code there too, and the
/// shared `call_code` bodies live for the whole program.
#[derive(Debug)]
struct Frame {
    code: NonNull<Code>,
    /// The closure being run (none for the host's helper bodies), kept
    /// alive like the code: by the function slot, or, for a call of a
    /// function to itself (`CallSelf`, which leaves that slot `nil`), by
    /// the caller's frame, which runs the same closure and outlives this one.
    closure: Option<NonNull<Closure>>,
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

// SAFETY: a frame only reads through its pointers, and `Code` and
// `Closure` are `Sync`; the pointers stay valid wherever the VM moves
// (see `Frame`).
unsafe impl Send for Frame {}
unsafe impl Sync for Frame {}

impl Frame {
    fn new(code: &Code, base: usize, closure: Option<&Closure>) -> Frame {
        Frame {
            code: NonNull::from(code),
            closure: closure.map(NonNull::from),
            pc: 0,
            base: base as u32,
        }
    }

    fn code(&self) -> &Code {
        // SAFETY: see the invariant on `Frame`: the code outlives the frame.
        unsafe { self.code.as_ref() }
    }
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
        // The function slot below the frame holds the code, as a called
        // closure's would (see `Frame`).
        let holder = Arc::new(Closure {
            proto: Arc::new(FnProto {
                name: code.name,
                fixed: Box::new([code.clone()]),
                variadic: None,
                captures: Box::new([]),
            }),
            captures: Default::default(),
        });
        vm.stack.push(Value::Fn(holder.clone()));
        vm.enter(&code, 1, Some(&holder));
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
        vm.frames.push(Frame::new(call_code(argc), 1, None));
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
        self.push(answer);
    }

    /// Answers a `Receive` effect: the next message, or `None` when the
    /// timeout passed.
    pub fn resume_received(&mut self, message: Option<Value>) {
        let found = message.is_some();
        self.push(message.unwrap_or(Value::Nil));
        self.push(Value::Bool(found));
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

    /// Starts running `code` with its arguments from stack index `base` on.
    /// The caller guarantees the code outlives the frame (see [`Frame`]).
    #[inline]
    fn enter(&mut self, code: &Code, base: usize, closure: Option<&Closure>) {
        let top = base + code.locals as usize;
        // Parameters are already there; only `let` slots need filling.
        while self.stack.len() < top {
            self.push(Value::Nil);
        }
        self.frames.push(Frame::new(code, base, closure));
    }

    /// Runs until `budget` reductions (calls and backward jumps) are spent.
    pub fn run(&mut self, budget: u32) -> Outcome {
        let mut budget = budget;
        'frames: loop {
            let Some(frame) = self.frames.last() else {
                return Outcome::Done(self.stack.pop().unwrap_or(Value::Nil));
            };
            // SAFETY: the code outlives the frame (see `Frame`); every path
            // that pops or replaces the frame leaves this loop iteration
            // (`continue 'frames`) before `code` is used again.
            let code: &Code = unsafe { frame.code.as_ref() };
            // SAFETY: as for `code`.
            let closure: Option<&Closure> = frame.closure.map(|c| unsafe { &*c.as_ptr() });
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

            // Two integers are computed here, without a call and without
            // dropping anything; everything else goes to `arith`.
            macro_rules! int_binary {
                ($x:ident, $y:ident, $fast:expr, $slow:path) => {{
                    let len = self.stack.len();
                    if len >= 2 {
                        if let (Value::Int($x), Value::Int($y)) =
                            (&self.stack[len - 2], &self.stack[len - 1])
                        {
                            let ($x, $y) = (*$x, *$y);
                            if let Some(result) = $fast {
                                self.replace_top_two_ints(result);
                                continue;
                            }
                        }
                    }
                    binary!($slow)
                }};
            }

            // The same with the right operand in the instruction.
            macro_rules! int_immediate {
                ($x:ident, $k:ident, $fast:expr, $slow:path) => {{
                    if let Some(Value::Int($x)) = self.stack.last() {
                        let ($x, $k) = (*$x, $k as i64);
                        if let Some(result) = $fast {
                            self.replace_top_int(result);
                            continue;
                        }
                    }
                    self.push_unboxed(IntResult::Int($k as i64));
                    binary!($slow)
                }};
            }

            // A comparison and a conditional jump: two integers compare
            // here; anything else through `arith`, as `binary!` would.
            macro_rules! branch_unless {
                ($target:ident, $cmp:tt, $slow:path) => {{
                    let len = self.stack.len();
                    let ints = match self.stack.get(len.wrapping_sub(2)..) {
                        Some([Value::Int(x), Value::Int(y)]) => Some(*x $cmp *y),
                        _ => None,
                    };
                    let holds = match ints {
                        Some(holds) => {
                            // SAFETY: the top two operands are integers,
                            // which own nothing.
                            unsafe { self.stack.set_len(len - 2) };
                            holds
                        }
                        None => {
                            let b = self.pop();
                            let a = self.pop();
                            match $slow(&a, &b) {
                                Ok(v) => v.is_truthy(),
                                Err(e) => fail!(e),
                            }
                        }
                    };
                    if !holds {
                        pc = $target as usize;
                    }
                }};
            }

            // `inc` and `dec` of an integer here, anything else by `arith`.
            macro_rules! int_unary {
                ($checked:ident, $slow:path) => {{
                    if let Some(&Value::Int(x)) = self.stack.last() {
                        if let Some(n) = x.$checked(1) {
                            self.replace_top_int(IntResult::Int(n));
                            continue;
                        }
                    }
                    unary!($slow)
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

            // A reduction is a call or a jump back: every loop and every
            // recursion spends them, straight-line code needs no count.
            macro_rules! spend_reduction {
                () => {
                    if budget == 0 {
                        // Resume at this same instruction.
                        pc -= 1;
                        save_pc!();
                        return Outcome::Yield;
                    }
                    budget -= 1;
                };
            }

            loop {
                debug_assert!(pc < code.ops.len());
                // SAFETY: `pc` starts at 0, becomes a jump target (checked to
                // be inside the code when the code was built, see
                // `Code::assert_well_formed`) or grows by one past an
                // instruction that is not the last (the last never falls
                // through); effects resume past their instruction the same way.
                let op = unsafe { *code.ops.get_unchecked(pc) };
                pc += 1;
                match op {
                    Op::Nil => self.push(Value::Nil),
                    Op::True => self.push_unboxed(IntResult::Bool(true)),
                    Op::False => self.push_unboxed(IntResult::Bool(false)),
                    Op::Int(n) => self.push_unboxed(IntResult::Int(n as i64)),
                    Op::Const(i) => self.push(code.consts[i as usize].clone()),
                    Op::Local(slot) => {
                        let v = self.stack[base + slot as usize].clone();
                        self.push(v);
                    }
                    Op::MoveLocal(slot) => {
                        let v =
                            std::mem::replace(&mut self.stack[base + slot as usize], Value::Nil);
                        self.push(v);
                    }
                    Op::SetLocal(slot) => {
                        let v = self.pop();
                        std::mem::replace(&mut self.stack[base + slot as usize], v).drop_fast();
                    }
                    Op::Capture(i) => {
                        let v = closure.map_or(Value::Nil, |c| c.captures[i as usize].clone());
                        self.push(v);
                    }
                    Op::SelfFn => {
                        let v = closure.map_or(Value::Nil, share_closure);
                        self.push(v);
                    }
                    Op::Global(i) => {
                        let var = &code.vars[i as usize];
                        if !var.with_value(|v| self.push(v.clone())) {
                            fail!(RuntimeError::new(
                                "calf/unbound",
                                format!("{} is declared but has no value yet", var.name)
                            )
                            .with("var", Value::Symbol(var.name)))
                        }
                    }
                    Op::Def(i) => {
                        let var = &code.vars[i as usize];
                        let v = self.pop();
                        var.set(v);
                        self.push(Value::Symbol(var.name));
                    }
                    Op::MarkMacro(i) => code.vars[i as usize].set_macro(true),
                    Op::Pop => self.pop().drop_fast(),
                    Op::Nip => {
                        let top = self.pop();
                        *self.stack.last_mut().expect("Nip below an operand") = top;
                    }
                    Op::Recur {
                        first,
                        count,
                        target,
                    } => {
                        spend_reduction!();
                        let first = base + first as usize;
                        for slot in (first..first + count as usize).rev() {
                            let v = self.pop();
                            std::mem::replace(&mut self.stack[slot], v).drop_fast();
                        }
                        pc = target as usize;
                    }
                    Op::Jump(target) => {
                        if (target as usize) < pc {
                            spend_reduction!();
                        }
                        pc = target as usize;
                    }
                    Op::JumpUnlessLt(target) => branch_unless!(target, <, arith::lt),
                    Op::JumpUnlessLe(target) => branch_unless!(target, <=, arith::le),
                    Op::JumpUnlessGt(target) => branch_unless!(target, >, arith::gt),
                    Op::JumpUnlessGe(target) => branch_unless!(target, >=, arith::ge),
                    Op::JumpUnlessNumEq(target) => branch_unless!(target, ==, arith::num_eq),
                    Op::JumpUnlessEq(target) => branch_unless!(target, ==, arith::equal),
                    Op::JumpIfFalse(target) => {
                        let test = self.pop();
                        if !test.is_truthy() {
                            pc = target as usize;
                        }
                        test.drop_fast();
                    }
                    Op::Call(argc) => {
                        spend_reduction!();
                        save_pc!();
                        match self.call_value(argc as usize) {
                            Ok(call::Next::Continue) => {}
                            Ok(call::Next::Enter) => continue 'frames,
                            Ok(call::Next::Effect(effect)) => return Outcome::Effect(effect),
                            Err(e) => fail!(e),
                        }
                    }
                    Op::Apply(argc) => {
                        spend_reduction!();
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
                    Op::CallSelf(argc) => {
                        spend_reduction!();
                        save_pc!();
                        match self.call_self(argc as usize, closure) {
                            Ok(()) => continue 'frames,
                            Err(e) => fail!(e),
                        }
                    }
                    Op::TailCallSelf(argc) => {
                        spend_reduction!();
                        save_pc!();
                        match self.tail_call_self(argc as usize, base, closure) {
                            Ok(()) => continue 'frames,
                            Err(e) => fail!(e),
                        }
                    }
                    Op::TailCall(argc) => {
                        spend_reduction!();
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
                        let made = self.make_closure(proto, base, closure);
                        self.push(made);
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
                        self.push(Value::list(items));
                    }
                    Op::MakeVector(n) => {
                        let items = self.stack.split_off(self.stack.len() - n as usize);
                        self.push(Value::vector(items));
                    }
                    Op::MakeSet(n) => {
                        let items = self.stack.split_off(self.stack.len() - n as usize);
                        self.push(Value::set(items));
                    }
                    Op::MakeMap(n) => {
                        let items = self.stack.split_off(self.stack.len() - 2 * n as usize);
                        let mut map = crate::value::Map::default();
                        let mut items = items.into_iter();
                        while let (Some(k), Some(v)) = (items.next(), items.next()) {
                            map.insert(k, v);
                        }
                        self.push(Value::Map(Arc::new(map)));
                    }
                    Op::TestSeq { len, at_least } => {
                        let v = self.pop();
                        self.stack
                            .push(Value::Bool(pattern::is_seq_of(&v, len, at_least)));
                    }
                    Op::TestMap => {
                        let v = self.pop();
                        self.push(Value::Bool(matches!(v, Value::Map(_))));
                    }
                    Op::ItemAt(i) => {
                        let v = self.pop();
                        self.push(pattern::item_at(&v, i));
                    }
                    Op::ItemsFrom(i) => {
                        let v = self.pop();
                        self.push(pattern::items_from(&v, i));
                    }
                    Op::HasKey => {
                        let key = self.pop();
                        let map = self.pop();
                        self.push(Value::Bool(pattern::has_key(&map, &key)));
                    }
                    Op::GetKey => {
                        let key = self.pop();
                        let map = self.pop();
                        self.push(pattern::get_key(&map, &key));
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
                    Op::Add => int_binary!(x, y, x.checked_add(y).map(IntResult::Int), arith::add),
                    Op::Sub => int_binary!(x, y, x.checked_sub(y).map(IntResult::Int), arith::sub),
                    Op::Mul => int_binary!(x, y, x.checked_mul(y).map(IntResult::Int), arith::mul),
                    Op::Div => binary!(arith::div),
                    Op::Lt => int_binary!(x, y, Some(IntResult::Bool(x < y)), arith::lt),
                    Op::Le => int_binary!(x, y, Some(IntResult::Bool(x <= y)), arith::le),
                    Op::Gt => int_binary!(x, y, Some(IntResult::Bool(x > y)), arith::gt),
                    Op::Ge => int_binary!(x, y, Some(IntResult::Bool(x >= y)), arith::ge),
                    Op::NumEq => int_binary!(x, y, Some(IntResult::Bool(x == y)), arith::num_eq),
                    Op::Eq => int_binary!(x, y, Some(IntResult::Bool(x == y)), arith::equal),
                    Op::AddInt(k) => {
                        int_immediate!(x, k, x.checked_add(k).map(IntResult::Int), arith::add)
                    }
                    Op::SubInt(k) => {
                        int_immediate!(x, k, x.checked_sub(k).map(IntResult::Int), arith::sub)
                    }
                    Op::LtInt(k) => int_immediate!(x, k, Some(IntResult::Bool(x < k)), arith::lt),
                    Op::LeInt(k) => int_immediate!(x, k, Some(IntResult::Bool(x <= k)), arith::le),
                    Op::GtInt(k) => int_immediate!(x, k, Some(IntResult::Bool(x > k)), arith::gt),
                    Op::GeInt(k) => int_immediate!(x, k, Some(IntResult::Bool(x >= k)), arith::ge),
                    Op::NumEqInt(k) => {
                        int_immediate!(x, k, Some(IntResult::Bool(x == k)), arith::num_eq)
                    }
                    Op::EqInt(k) => {
                        int_immediate!(x, k, Some(IntResult::Bool(x == k)), arith::equal)
                    }
                    Op::Inc => int_unary!(checked_add, arith::inc),
                    Op::Dec => int_unary!(checked_sub, arith::dec),
                    Op::Not => {
                        let a = self.pop();
                        self.push(Value::Bool(!a.is_truthy()));
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Value {
        self.stack.pop().unwrap_or(Value::Nil)
    }

    /// `Vec::push`, written so that the value is stored straight into its
    /// slot: built in a temporary first, a 16-byte value is copied back
    /// with one wide load that cannot be forwarded from the two narrow
    /// stores that made it, a stall on every push.
    #[inline(always)]
    fn push(&mut self, value: Value) {
        let len = self.stack.len();
        if len == self.stack.capacity() {
            self.grow_stack();
        }
        // SAFETY: there is room for one more value (checked above), and the
        // slot past `len` holds nothing that needs dropping.
        unsafe {
            self.stack.as_mut_ptr().add(len).write(value);
            self.stack.set_len(len + 1);
        }
    }

    /// Pushes a number or boolean with one wide store (see
    /// [`Value::write_int`]).
    #[inline(always)]
    fn push_unboxed(&mut self, value: IntResult) {
        let len = self.stack.len();
        if len == self.stack.capacity() {
            self.grow_stack();
        }
        // SAFETY: as in `push`.
        unsafe {
            value.write_to(self.stack.as_mut_ptr().add(len));
            self.stack.set_len(len + 1);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_stack(&mut self) {
        // Doubling from a small start: a million waiting processes each
        // keep their stack, and most need only a few slots.
        self.stack.reserve(self.stack.len().max(4));
    }

    /// Replaces the top operand, an integer, with `result`.
    #[inline(always)]
    fn replace_top_int(&mut self, result: IntResult) {
        let len = self.stack.len();
        debug_assert!(matches!(self.stack[len - 1], Value::Int(_)));
        // SAFETY: the caller checked that the top operand exists and is an
        // integer, which owns nothing.
        unsafe { result.write_to(self.stack.as_mut_ptr().add(len - 1)) }
    }

    /// Replaces the top two operands, both integers (so neither needs
    /// dropping), with `result`.
    #[inline(always)]
    fn replace_top_two_ints(&mut self, result: IntResult) {
        let len = self.stack.len();
        debug_assert!(matches!(self.stack[len - 2], Value::Int(_)));
        debug_assert!(matches!(self.stack[len - 1], Value::Int(_)));
        // SAFETY: the caller checked that there are two operands and that
        // both are integers, which own nothing; the lower slot is
        // overwritten in place and the upper one forgotten.
        unsafe {
            self.stack.set_len(len - 1);
            result.write_to(self.stack.as_mut_ptr().add(len - 2));
        }
    }

    /// Pops the current frame, handing its top value to the caller. Returns
    /// the outcome when the last frame returned.
    fn return_from_frame(&mut self) -> Option<Outcome> {
        let result = self.pop();
        let frame = self.frames.pop()?;
        let callee_at = frame.base as usize - 1;
        while self.stack.len() > callee_at {
            self.pop().drop_fast();
        }
        if self.frames.is_empty() {
            self.stack.clear();
            self.handlers.clear();
            return Some(Outcome::Done(result));
        }
        self.push(result);
        None
    }

    fn make_closure(&self, proto: &Arc<FnProto>, base: usize, running: Option<&Closure>) -> Value {
        use crate::bytecode::Capture;
        let captures = proto
            .captures
            .iter()
            .map(|c| match *c {
                Capture::Local(slot) => self.stack[base + slot as usize].clone(),
                Capture::Capture(i) => {
                    running.map_or(Value::Nil, |c| c.captures[i as usize].clone())
                }
                Capture::SelfFn => running.map_or(Value::Nil, share_closure),
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
            let function = frame.code().name;
            let span = frame.code().span_at((frame.pc as usize).saturating_sub(1));
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
        f.code().span_at((f.pc as usize).saturating_sub(1))
    }

    /// The name of the function running now.
    pub fn current_function(&self) -> Option<Sym> {
        self.frames.last().and_then(|f| f.code().name)
    }
}
