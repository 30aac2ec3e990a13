//! The virtual machine: runs bytecode for one process.
//!
//! Everything a running process has is in [`Vm`]: the operand stack, the
//! call frames and the exception handlers, all on the heap. `run(budget)`
//! spends at most `budget` reductions (calls and backward jumps: every loop
//! and recursion pays them; a native pays besides for the work it does,
//! see [`work`]) and then returns: done, failed, an effect for
//! the host, or out of budget. Nothing of a process is ever kept
//! on the Rust stack between two instructions, so a process can stop
//! anywhere and be resumed later, or by another thread.

mod arith;
mod call;
mod dynamic;
mod effect;
mod host;
mod parts;
mod pattern;
mod realize;
mod unwind;
pub mod work;

use std::ptr::NonNull;
use std::sync::Arc;

use crate::bytecode::{Cmp, Code, Op, Unchecked};
use crate::error::RuntimeError;
use crate::span::Span;
use crate::value::{Closure, FnProto, NativeKind, Sym, Value};

pub use dynamic::DynamicOp;
pub use effect::{Dest, Effect, ProcessOp};
pub use host::{Host, NoHost};
pub use parts::{Owed, Restored};
pub(crate) use parts::{PartCode, RestoredCode, RestoredDynamic, RestoredFrame};
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
    /// The process asks its host for something: answer with
    /// [`Vm::resume`] (or [`Vm::resume_throw`]), which take the token.
    Effect(Effect, Resume),
    /// A `receive` that the host did not answer while the VM ran: hand out
    /// the next message of the mailbox, from its first when `restart`,
    /// waiting up to `timeout_ms` (forever: `None`) for one to arrive.
    /// Answer with [`Vm::resume_received`], which takes the token.
    Receive {
        restart: bool,
        timeout_ms: Option<u64>,
        answer: Received,
    },
    /// The reduction budget ran out; run again to continue.
    Yield,
}

/// What a VM stopped for an effect is owed: an answer, which
/// [`Vm::resume`] and [`Vm::resume_throw`] take. Only the VM makes one, and
/// it cannot be copied, so each effect is answered once, and never as a
/// `receive` is: the two answers leave different operands, and the code
/// was checked for one of them.
///
/// A receive answered as an effect does not compile:
///
/// ```compile_fail,E0308
/// use calf_lang::vm::{Outcome, Vm};
/// use calf_lang::Value;
///
/// fn answer(vm: &mut Vm, outcome: Outcome) {
///     if let Outcome::Receive { answer, .. } = outcome {
///         vm.resume(answer, Value::Nil);
///     }
/// }
/// ```
///
/// Nor does an answer made up by the host:
///
/// ```compile_fail,E0423
/// use calf_lang::vm::{Resume, Vm};
/// use calf_lang::Value;
///
/// fn answer(vm: &mut Vm) {
///     vm.resume(Resume(()), Value::Nil);
/// }
/// ```
#[must_use = "the VM waits for this effect's answer"]
#[derive(Debug)]
pub struct Resume(());

/// What a VM stopped for a `receive` is owed: a message or a timeout,
/// which only [`Vm::resume_received`] takes.
#[must_use = "the VM waits for this receive's answer"]
#[derive(Debug)]
pub struct Received(());

/// A top-level body that calls the value below its `argc` arguments and
/// returns the result: how a spawned process starts. Shared by all.
fn call_code(argc: usize) -> &'static Code {
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<Vec<&'static Code>>> = OnceLock::new();
    // Leaked on purpose: one body per argument count, for the whole program.
    let make = |argc: usize| -> &'static Code {
        Box::leak(Box::new(
            Unchecked {
                name: None,
                params: 0,
                variadic: false,
                locals: 0,
                ops: vec![Op::TailCall(argc as u16), Op::Return].into_boxed_slice(),
                consts: Box::new([]),
                vars: Box::new([]),
                protos: Box::new([]),
                spans: Box::new([]),
            }
            // The function and its arguments are already on the stack.
            .check(argc as u16 + 1),
        ))
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

/// Drops the operands from `top` (exclusive) down to `bottom`, top first,
/// each where it lies; returns `bottom`, the new top of the stack.
///
/// # Safety
/// Every slot in `bottom..top` holds a value that nothing will use again.
#[inline(always)]
unsafe fn drop_down_to(mut top: *mut Value, bottom: *mut Value) -> *mut Value {
    while top > bottom {
        // SAFETY: as the caller vouches.
        unsafe {
            top = top.sub(1);
            Value::drop_at(top);
        }
    }
    bottom
}

/// A new owning reference to the closure a frame runs.
fn share_closure(closure: &Closure) -> Value {
    let ptr: *const Closure = closure;
    // SAFETY: every frame's closure lives in an `Arc` (see `Frame`), so the
    // pointer came from `Arc::as_ptr`; the borrowed `Arc` is never dropped,
    // and its clone is an owner of its own.
    let borrowed = std::mem::ManuallyDrop::new(unsafe { triomphe::Arc::from_raw(ptr) });
    Value::Fn(triomphe::Arc::clone(&borrowed))
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
// SAFETY: a shared frame gives out only shared references to `Code` and
// `Closure`, which are `Sync`; it has no interior mutability of its own.
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
    /// The throw being handled, dynamic bindings, captured output (see
    /// `dynamic.rs`). Boxed: few processes use any, and every process
    /// carries a `Vm`.
    rare: Option<Box<dynamic::Rare>>,
    max_depth: usize,
}

impl Vm {
    /// A VM that will run `code`, a top-level body of no parameters.
    pub fn new(code: Arc<Code>) -> Vm {
        let mut vm = Vm::empty();
        vm.frames.reserve_exact(2);
        // The function slot below the frame holds the code, as a called
        // closure's would (see `Frame`).
        let holder = triomphe::Arc::new(Closure {
            proto: Arc::new(FnProto {
                name: code.name(),
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
        let code = call_code(argc);
        // The function slot, then the body's operands (see `run`).
        vm.stack.reserve_exact(1 + code.max_stack() as usize);
        // One frame: the first call is a tail call, which replaces it. A
        // process waiting in `receive` often never needs a second.
        vm.frames.reserve_exact(1);
        vm.stack.push(function);
        vm.stack.extend(args);
        vm.frames.push(Frame::new(code, 1, None));
        vm
    }

    fn empty() -> Vm {
        Vm {
            stack: Vec::new(),
            frames: Vec::new(),
            handlers: Vec::new(),
            rare: None,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    fn rare(&mut self) -> &mut dynamic::Rare {
        self.rare.get_or_insert_with(Default::default)
    }

    /// Whether the VM answers `effect` itself, the host never seeing it:
    /// its dynamic state, and what it prints while `with-out-str` captures.
    fn answers_itself(&self, effect: &Effect) -> bool {
        match effect {
            Effect::Dynamic(_) => true,
            Effect::Print {
                to_stderr: false, ..
            } => self.rare.as_ref().is_some_and(|r| !r.captures.is_empty()),
            _ => false,
        }
    }

    /// Answers an effect [`Vm::answers_itself`] took.
    fn perform_own(&mut self, effect: Effect) -> Result<Value, RuntimeError> {
        match effect {
            Effect::Dynamic(op) => self.perform_dynamic(op),
            Effect::Print { text, .. } => {
                self.rare().capture(&text);
                Ok(Value::Nil)
            }
            other => unreachable!("not the VM's own effect: {other:?}"),
        }
    }

    /// Carries out `op` on this process's dynamic state (a host that is
    /// handed [`Effect::Dynamic`] answers it with this).
    pub fn perform_dynamic(&mut self, op: DynamicOp) -> Result<Value, RuntimeError> {
        self.rare().perform(op)
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
    pub fn resume(&mut self, _effect: Resume, answer: Value) {
        self.push(answer);
    }

    /// Answers a `Receive` effect: the next message (cloned onto the
    /// stack), or `None` when the timeout passed.
    pub fn resume_received(&mut self, _receive: Received, message: Option<&Value>) {
        self.stack.reserve(2);
        let len = self.stack.len();
        // SAFETY: room for two more values was reserved above; the slots
        // past `len` hold nothing, and each is written whole (see
        // `Value::clone_to`) before it is counted.
        unsafe {
            let top = self.stack.as_mut_ptr().add(len);
            match message {
                Some(message) => message.clone_to(top),
                None => Value::write_nil(top),
            }
            Value::write_bool(top.add(1), message.is_some());
            self.stack.set_len(len + 2);
        }
    }

    /// Makes the call that asked for an effect throw `error` instead.
    pub fn resume_throw(&mut self, _effect: Resume, error: Value) -> Option<Outcome> {
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
        let top = base + code.locals() as usize;
        // The room `run` relies on (see there).
        let room = top + code.max_stack() as usize;
        self.stack.reserve(room.saturating_sub(self.stack.len()));
        // Parameters are already there; only `let` slots need filling.
        while self.stack.len() < top {
            self.push(Value::Nil);
        }
        self.frames.push(Frame::new(code, base, closure));
    }

    /// Runs until `budget` reductions (calls and backward jumps) are spent.
    ///
    /// The common instructions work on the operand stack through two raw
    /// pointers kept in locals, `sp` (one past the top operand) and `bp`
    /// (local slot 0), so that the stack's length is not loaded and stored
    /// through memory on every push and pop. While they do, the vector's
    /// length is 0: the values above it belong to this loop (a panic would
    /// leak them, not drop them twice). `sync!` hands them back to the
    /// vector, for everything that works on it (the rarer instructions,
    /// calls that are not simple, throws, returning to the host), and
    /// `reload!` takes them again.
    ///
    /// Why the raw accesses stay inside the stack: every body went through
    /// `Unchecked::check`, which proves that each reachable instruction finds
    /// the operands it pops and names only slots below `locals`, and bounds
    /// the operands by `max_stack`; entering a body reserves room for
    /// `base + locals + max_stack` values, and capacity never shrinks while
    /// the frame lives.
    pub fn run(&mut self, budget: u32) -> Outcome {
        let mut budget = budget;
        self.run_with(&mut budget, &mut NoHost)
    }

    /// [`Vm::run`], offering `host` the effects it can answer at once (see
    /// [`Host`]): those do not stop the VM. `reductions` holds the budget
    /// on entry and what is left of it on return, so that a process can
    /// keep one account across the effects it hands out (each of which
    /// returns here) and yield when the account is spent. Natives pay for
    /// their work beyond the call from it too (see [`work`]).
    pub fn run_with(&mut self, reductions: &mut u32, host: &mut dyn Host) -> Outcome {
        loop {
            match self.dispatch(reductions, host) {
                Outcome::Effect(effect, resume) if self.answers_itself(&effect) => {
                    match self.perform_own(effect) {
                        Ok(answer) => self.resume(resume, answer),
                        Err(error) => {
                            if let Some(outcome) = self.resume_throw(resume, error.into_value()) {
                                return outcome;
                            }
                        }
                    }
                }
                outcome => return outcome,
            }
        }
    }

    /// The dispatch loop of [`Vm::run_with`], which answers the effects the
    /// VM answers itself (`dynamic.rs`) when this returns them: kept out of
    /// this function, they cost fib 3% more instructions in it.
    #[inline(never)]
    fn dispatch(&mut self, reductions: &mut u32, host: &mut dyn Host) -> Outcome {
        let mut budget = *reductions;
        // Owed by natives called outside any VM: not this process's debt.
        work::take();
        // Every return goes through here, handing back what is left.
        macro_rules! leave {
            ($outcome:expr) => {{
                let outcome = $outcome;
                *reductions = budget;
                return outcome;
            }};
        }
        // A native's work beyond its call is taken off the budget; when it
        // runs out, the next reduction yields.
        macro_rules! pay_for_work {
            () => {{
                let owed = work::take();
                if owed != 0 {
                    budget = budget.saturating_sub(owed);
                }
            }};
        }
        'frames: loop {
            let Some(frame) = self.frames.last() else {
                leave!(Outcome::Done(self.stack.pop().unwrap_or(Value::Nil)))
            };
            // SAFETY: the code outlives the frame (see `Frame`), and `code`
            // is switched together with the frame whenever one is pushed or
            // popped.
            let mut code: &Code = unsafe { frame.code.as_ref() };
            // SAFETY: as for `code`.
            let mut closure: Option<&Closure> = frame.closure.map(|c| unsafe { &*c.as_ptr() });
            let mut base = frame.base as usize;
            let mut pc = frame.pc as usize;
            let mut sp: *mut Value;
            let mut bp: *mut Value;

            macro_rules! reload {
                () => {{
                    let len = self.stack.len();
                    let start = self.stack.as_mut_ptr();
                    // SAFETY: a frame's base is never past the stack's
                    // length; the values are only hidden from the vector
                    // (see above), not moved.
                    unsafe {
                        sp = start.add(len);
                        bp = start.add(base);
                        self.stack.set_len(0);
                    }
                }};
            }
            macro_rules! sync {
                () => {{
                    let start = self.stack.as_mut_ptr();
                    // SAFETY: `sp` points into the vector's buffer (reserved
                    // as said above), and every slot below it holds a value.
                    unsafe { self.stack.set_len(sp.offset_from(start) as usize) };
                }};
            }
            reload!();

            // push!, pop!, top! and local! stay inside the bounds proved by
            // `Unchecked::check` and reserved on entry, as explained above.
            macro_rules! push {
                ($value:expr) => {{
                    let value: Value = $value;
                    // SAFETY: the checked depth of this instruction is below
                    // `max_stack`, and room for it was reserved on entry, so
                    // `sp` is inside the buffer and its slot holds nothing.
                    unsafe {
                        sp.write(value);
                        sp = sp.add(1);
                    }
                }};
            }
            macro_rules! pop {
                () => {
                    // SAFETY: the check proved an operand there for this
                    // instruction; reading it moves it out, and lowering
                    // `sp` first leaves no second owner.
                    unsafe {
                        sp = sp.sub(1);
                        sp.read()
                    }
                };
            }
            macro_rules! top {
                () => {
                    // SAFETY: the check proved an operand there; the borrow
                    // ends before `sp` moves again.
                    unsafe { &mut *sp.sub(1) }
                };
            }
            macro_rules! local {
                ($slot:expr) => {
                    // SAFETY: the check proved `$slot` below `locals`, all of
                    // which were filled when the frame was entered.
                    unsafe { &mut *bp.add($slot as usize) }
                };
            }
            macro_rules! save_pc {
                () => {
                    if let Some(f) = self.frames.last_mut() {
                        f.pc = pc as u32;
                    }
                };
            }
            // Throws, with the operands already handed back to the vector.
            macro_rules! throw_synced {
                ($err:expr) => {{
                    save_pc!();
                    let err: RuntimeError = crate::value::lazy::not_here($err);
                    let trace = self.trace();
                    match self.throw(err.into_value(), trace) {
                        Ok(()) => continue 'frames,
                        Err(outcome) => leave!(outcome),
                    }
                }};
            }
            macro_rules! fail {
                ($err:expr) => {{
                    let err: RuntimeError = $err;
                    sync!();
                    throw_synced!(err)
                }};
            }
            // A native (or `=`) that needs more of a lazy seq realized, its
            // operands as the instruction at `$at` found them: the VM
            // realizes it (`realize.rs`) and runs the instruction again.
            macro_rules! retry_realized {
                ($err:expr, $at:expr) => {{
                    sync!();
                    match self.realize_or($err, $at) {
                        None => continue 'frames,
                        Some(err) => throw_synced!(err),
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
                        sync!();
                        save_pc!();
                        leave!(Outcome::Yield);
                    }
                    budget -= 1;
                };
            }
            // Enters `body`, run by `clo`, whose `argc` arguments are the top
            // operands: the common calls, without leaving this loop.
            macro_rules! enter {
                ($body:expr, $clo:expr, $argc:expr) => {{
                    let body: &Code = $body;
                    let clo: Option<&Closure> = $clo;
                    if self.frames.len() >= self.max_depth {
                        fail!(call::stack_overflow(self.max_depth))
                    }
                    save_pc!();
                    sync!();
                    let new_base = self.stack.len() - $argc;
                    let locals_end = new_base + body.locals() as usize;
                    self.stack
                        .reserve(locals_end + body.max_stack() as usize - self.stack.len());
                    let start = self.stack.as_mut_ptr();
                    // SAFETY: room was reserved just above; the slots past
                    // the arguments are filled before they are counted.
                    unsafe {
                        sp = start.add(self.stack.len());
                        bp = start.add(new_base);
                        self.stack.set_len(0);
                        // Parameters are already there; only `let` slots
                        // need filling.
                        let end = start.add(locals_end);
                        while sp < end {
                            sp.write(Value::Nil);
                            sp = sp.add(1);
                        }
                    }
                    self.frames.push(Frame::new(body, new_base, clo));
                    code = body;
                    closure = clo;
                    base = new_base;
                    pc = 0;
                }};
            }
            macro_rules! binary {
                ($f:path) => {{
                    // The result replaces the first operand in place.
                    let b = pop!();
                    match $f(top!(), &b) {
                        Ok(v) => *top!() = v,
                        Err(e) => fail!(e),
                    }
                    // Comparing two collections walks them (value/equality.rs).
                    pay_for_work!();
                }};
            }
            macro_rules! unary {
                ($f:path) => {{
                    match $f(top!()) {
                        Ok(v) => *top!() = v,
                        Err(e) => fail!(e),
                    }
                }};
            }
            // Two integers are computed here, without a call and without
            // dropping anything; everything else goes to `arith`.
            macro_rules! int_binary {
                ($x:ident, $y:ident, $fast:expr, $slow:path) => {{
                    // SAFETY: two operands, as for `pop!`.
                    let (a, b) = unsafe { (&*sp.sub(2), &*sp.sub(1)) };
                    if let (Value::Int($x), Value::Int($y)) = (a, b) {
                        let ($x, $y) = (*$x, *$y);
                        if let Some(result) = $fast {
                            // SAFETY: both operands are integers, which own
                            // nothing: the lower slot is overwritten, the
                            // upper one forgotten.
                            unsafe {
                                sp = sp.sub(1);
                                IntResult::write_to(result, sp.sub(1));
                            }
                            continue;
                        }
                    }
                    binary!($slow)
                }};
            }
            // The same with the right operand in the instruction.
            macro_rules! int_immediate {
                ($x:ident, $k:ident, $fast:expr, $slow:path) => {{
                    if let Value::Int($x) = *top!() {
                        let $k = $k as i64;
                        if let Some(result) = $fast {
                            // SAFETY: the operand is an integer, which owns
                            // nothing.
                            unsafe { IntResult::write_to(result, sp.sub(1)) };
                            continue;
                        }
                    }
                    match $slow(top!(), &Value::Int($k as i64)) {
                        Ok(v) => *top!() = v,
                        Err(e) => fail!(e),
                    }
                }};
            }
            // A comparison and a conditional jump: two integers compare
            // here; anything else through `arith`, as `binary!` would.
            macro_rules! branch_unless {
                ($target:ident, $cmp:tt, $slow:path) => {{
                    // SAFETY: two operands, as for `pop!`.
                    let (a, b) = unsafe { (&*sp.sub(2), &*sp.sub(1)) };
                    let holds = if let (Value::Int(x), Value::Int(y)) = (a, b) {
                        let holds = *x $cmp *y;
                        // SAFETY: integers own nothing; they are forgotten.
                        unsafe { sp = sp.sub(2) };
                        holds
                    } else {
                        let b = pop!();
                        let a = pop!();
                        let holds = match $slow(&a, &b) {
                            Ok(v) => v.is_truthy(),
                            Err(e) => fail!(e),
                        };
                        pay_for_work!();
                        holds
                    };
                    if !holds {
                        pc = $target as usize;
                    }
                }};
            }
            // The same with the right operand in the instruction.
            macro_rules! branch_unless_int {
                ($k:ident, $target:ident, $cmp:tt, $slow:path) => {{
                    let holds = if let Value::Int(x) = *top!() {
                        // SAFETY: an integer owns nothing; it is forgotten.
                        unsafe { sp = sp.sub(1) };
                        x $cmp $k as i64
                    } else {
                        let a = pop!();
                        match $slow(&a, &Value::Int($k as i64)) {
                            Ok(v) => v.is_truthy(),
                            Err(e) => fail!(e),
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
                    if let Value::Int(x) = *top!() {
                        if let Some(n) = x.$checked(1) {
                            // SAFETY: the operand is an integer.
                            unsafe { Value::write_int(sp.sub(1), n) };
                            continue;
                        }
                    }
                    unary!($slow)
                }};
            }

            loop {
                debug_assert!(pc < code.ops().len());
                // SAFETY: `pc` starts at 0, becomes a jump target (checked to
                // be inside the code when the code was built, see
                // `Code::assert_well_formed`) or grows by one past an
                // instruction that is not the last (the last never falls
                // through); effects resume past their instruction the same way.
                // A `JumpUnlessLocals` goes on three further, which the depth
                // check (`Unchecked::check`) found inside the code.
                let op = unsafe { *code.ops().get_unchecked(pc) };
                pc += 1;
                match op {
                    // SAFETY: as for `push!`; nil owns nothing to drop.
                    Op::Nil => unsafe {
                        Value::write_nil(sp);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `push!`; a boolean owns nothing.
                    Op::True => unsafe {
                        Value::write_bool(sp, true);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `push!`; a boolean owns nothing.
                    Op::False => unsafe {
                        Value::write_bool(sp, false);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `push!`; an integer owns nothing.
                    Op::Int(n) => unsafe {
                        Value::write_int(sp, n as i64);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `push!`; `clone_to` writes a new owner
                    // of the constant into the empty slot.
                    Op::Const(i) => unsafe {
                        code.consts()[i as usize].clone_to(sp);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `push!` and `local!`; the slot keeps its
                    // value and the operand is a clone.
                    Op::Local(slot) => unsafe {
                        (*bp.add(slot as usize)).clone_to(sp);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `push!` and `local!`; the moved value
                    // leaves `nil` behind, so it still has one owner.
                    Op::MoveLocal(slot) => unsafe {
                        let from = bp.add(slot as usize);
                        std::ptr::copy_nonoverlapping(from, sp, 1);
                        Value::write_nil(from);
                        sp = sp.add(1);
                    },
                    // SAFETY: as for `pop!` and `local!`; the old value is
                    // dropped where it lies, and the operand moved over it,
                    // each with no piecewise copy (the same for `Pop` and
                    // `Recur` below).
                    Op::SetLocal(slot) => unsafe {
                        sp = sp.sub(1);
                        let to = bp.add(slot as usize);
                        Value::drop_at(to);
                        Value::move_to(sp, to);
                    },
                    Op::Capture(i) => {
                        push!(closure.map_or(Value::Nil, |c| c.captures[i as usize].clone()))
                    }
                    Op::SelfFn => push!(closure.map_or(Value::Nil, share_closure)),
                    Op::Global(i) => {
                        let var = &code.vars()[i as usize];
                        if let Some(native) = var.get_native() {
                            // SAFETY: as for `push!`.
                            unsafe {
                                Value::write_native(sp, native);
                                sp = sp.add(1);
                            }
                            continue;
                        }
                        // Cloned straight onto the stack: an `Option<Value>`
                        // returned and then copied stalled on store-to-load
                        // forwarding.
                        // SAFETY: as for `push!`.
                        let bound = var.with_value(|v| unsafe {
                            v.clone_to(sp);
                            sp = sp.add(1);
                        });
                        if !bound {
                            fail!(RuntimeError::new(
                                "calf/unbound",
                                format!("{} is declared but has no value yet", var.name)
                            )
                            .with("var", Value::Symbol(var.name)))
                        }
                    }
                    // SAFETY: as for `pop!`; the operand is dropped where it
                    // lies and its slot is above the new top.
                    Op::Pop => unsafe {
                        sp = sp.sub(1);
                        Value::drop_at(sp);
                    },
                    Op::Nip => {
                        let top = pop!();
                        *top!() = top;
                    }
                    Op::Recur {
                        first,
                        count,
                        target,
                    } => {
                        spend_reduction!();
                        let first = first as usize;
                        for slot in (first..first + count as usize).rev() {
                            // SAFETY: as for `SetLocal`, once per new value:
                            // the check proved `count` operands on the stack
                            // and every `slot` below `locals`.
                            unsafe {
                                sp = sp.sub(1);
                                let to = bp.add(slot);
                                Value::drop_at(to);
                                Value::move_to(sp, to);
                            }
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
                    Op::JumpUnlessEq(target) => {
                        // SAFETY: two operands, as for `pop!`.
                        let (a, b) = unsafe { (&*sp.sub(2), &*sp.sub(1)) };
                        // Keywords, the tags of messages, are equal when
                        // their interned names are.
                        if let (Value::Keyword(x), Value::Keyword(y)) = (a, b) {
                            let holds = x == y;
                            // SAFETY: keywords own nothing; they are forgotten.
                            unsafe { sp = sp.sub(2) };
                            if !holds {
                                pc = target as usize;
                            }
                            continue;
                        }
                        let result = arith::equal(a, b);
                        pay_for_work!();
                        match result {
                            Ok(v) => {
                                drop(pop!());
                                drop(pop!());
                                if !v.is_truthy() {
                                    pc = target as usize;
                                }
                            }
                            Err(e) => retry_realized!(e, pc - 1),
                        }
                    }
                    Op::JumpUnlessSeq {
                        slot,
                        len,
                        at_least,
                        target,
                    } => {
                        if !pattern::is_seq_of(local!(slot), len as u16, at_least) {
                            pc = target as usize;
                        }
                    }
                    Op::LocalItem { slot, index } => {
                        // Cloned straight onto the stack (see `clone_to`).
                        let item = local!(slot)
                            .as_seq()
                            .and_then(|items| items.get(index as usize));
                        // SAFETY: as for `push!`.
                        unsafe {
                            match item {
                                Some(item) => item.clone_to(sp),
                                None => Value::write_nil(sp),
                            }
                            sp = sp.add(1);
                        }
                    }
                    Op::MakeVector(n) | Op::MakeList(n) => {
                        let n = n as usize;
                        // SAFETY: the top `n` operands are moved into the
                        // sequence, each read once, and its value takes the
                        // slot of the first.
                        unsafe {
                            sp = sp.sub(n);
                            let mut items = crate::value::Vector::new();
                            for i in 0..n {
                                items.push_back(sp.add(i).read());
                            }
                            let list = matches!(op, Op::MakeList(_));
                            Value::write_seq(sp, triomphe::Arc::new(items), list);
                            sp = sp.add(1);
                        }
                    }
                    Op::Receive {
                        restart,
                        timeout_slot,
                    } => {
                        let timeout_ms = if timeout_slot == u16::MAX {
                            None
                        } else {
                            match &*local!(timeout_slot) {
                                Value::Int(ms) => Some((*ms).max(0) as u64),
                                Value::Float(ms) if ms.is_finite() => Some(ms.max(0.0) as u64),
                                other => {
                                    let e = RuntimeError::wrong_type(
                                        "after",
                                        1,
                                        "a number of milliseconds",
                                        other,
                                    );
                                    fail!(e)
                                }
                            }
                        };
                        match host.next_message(restart, timeout_ms) {
                            // SAFETY: as for `push!`; cloned straight onto
                            // the stack (see `Value::clone_to`).
                            Some(message) => unsafe {
                                message.clone_to(sp);
                                Value::write_bool(sp.add(1), true);
                                sp = sp.add(2);
                            },
                            None => {
                                sync!();
                                save_pc!();
                                leave!(Outcome::Receive {
                                    restart,
                                    timeout_ms,
                                    answer: Received(()),
                                });
                            }
                        }
                    }
                    Op::Send => {
                        let message = pop!();
                        let to = pop!();
                        // SAFETY: a `Send` is never the last instruction
                        // (the code ends with one that does not fall
                        // through), so the next one is there.
                        let unused = matches!(unsafe { *code.ops().get_unchecked(pc) }, Op::Pop);
                        let effect = match crate::natives::process::send_effect(to, message) {
                            Ok(effect) => effect,
                            Err(e) => fail!(e),
                        };
                        match host.perform_now(effect) {
                            // Past the `Pop` that would drop it.
                            Ok(answer) if unused => {
                                answer.drop_fast();
                                pc += 1;
                            }
                            Ok(answer) => push!(answer),
                            Err(effect) => {
                                sync!();
                                save_pc!();
                                leave!(Outcome::Effect(effect, Resume(())));
                            }
                        }
                    }
                    Op::ReceiveAccept => {
                        if !host.accept_message() {
                            sync!();
                            save_pc!();
                            leave!(Outcome::Effect(Effect::ReceiveAccept, Resume(())));
                        }
                        // SAFETY: as for `Send`: the next instruction is
                        // there. The compiler follows an accept with a
                        // `Pop`, passed over with the `nil` it would drop.
                        if matches!(unsafe { *code.ops().get_unchecked(pc) }, Op::Pop) {
                            pc += 1;
                        } else {
                            // SAFETY: as for `push!`.
                            unsafe {
                                Value::write_nil(sp);
                                sp = sp.add(1);
                            }
                        }
                    }
                    Op::JumpUnlessLtInt { k, target } => {
                        branch_unless_int!(k, target, <, arith::lt)
                    }
                    Op::JumpUnlessLeInt { k, target } => {
                        branch_unless_int!(k, target, <=, arith::le)
                    }
                    Op::JumpUnlessGtInt { k, target } => {
                        branch_unless_int!(k, target, >, arith::gt)
                    }
                    Op::JumpUnlessGeInt { k, target } => {
                        branch_unless_int!(k, target, >=, arith::ge)
                    }
                    Op::JumpUnlessNumEqInt { k, target } => {
                        branch_unless_int!(k, target, ==, arith::num_eq)
                    }
                    Op::JumpUnlessEqInt { k, target } => {
                        branch_unless_int!(k, target, ==, arith::equal)
                    }
                    Op::JumpUnlessLocals { cmp, a, b, target } => {
                        // SAFETY: as for `local!`; shared borrows, as `a`
                        // may be `b`.
                        let (x, y) = unsafe { (&*bp.add(a as usize), &*bp.add(b as usize)) };
                        // Past the two reads and the jump the instruction
                        // stands for (a failure points at the comparison).
                        pc += 2;
                        let holds = match (x, y) {
                            (Value::Int(x), Value::Int(y)) => match cmp {
                                Cmp::Lt => x < y,
                                Cmp::Le => x <= y,
                                Cmp::Gt => x > y,
                                Cmp::Ge => x >= y,
                                Cmp::NumEq | Cmp::Eq => x == y,
                            },
                            _ => {
                                let slow: fn(&Value, &Value) -> Result<Value, RuntimeError> =
                                    match cmp {
                                        Cmp::Lt => arith::lt,
                                        Cmp::Le => arith::le,
                                        Cmp::Gt => arith::gt,
                                        Cmp::Ge => arith::ge,
                                        Cmp::NumEq => arith::num_eq,
                                        Cmp::Eq => arith::equal,
                                    };
                                let holds = match slow(x, y) {
                                    Ok(v) => v.is_truthy(),
                                    // The locals were only read.
                                    Err(e) => retry_realized!(e, pc - 3),
                                };
                                pay_for_work!();
                                holds
                            }
                        };
                        if !holds {
                            pc = target as usize;
                        }
                    }
                    // SAFETY: as for `Pop`.
                    Op::JumpIfFalse(target) => unsafe {
                        sp = sp.sub(1);
                        if !(*sp).is_truthy() {
                            pc = target as usize;
                        }
                        Value::drop_at(sp);
                    },
                    Op::Call(argc) => {
                        spend_reduction!();
                        let argc = argc as usize;
                        // SAFETY: the function is below the arguments (the
                        // depth check counts it).
                        let callee = unsafe { &*sp.sub(argc + 1) };
                        match callee {
                            Value::Fn(f) => {
                                if let Some(body) = f.proto.body_for(argc).filter(|b| !b.variadic())
                                {
                                    // SAFETY: the closure stays in the slot
                                    // below the new frame's base, keeping
                                    // itself and its code alive (see `Frame`).
                                    let (body, clo) = unsafe {
                                        (&*(&**body as *const Code), &*(&**f as *const Closure))
                                    };
                                    enter!(body, Some(clo), argc);
                                    continue;
                                }
                            }
                            Value::Native(native) if native.arity.accepts(argc) => {
                                // The arguments are the top `argc` operands,
                                // borrowed only for the call.
                                let result = match native.kind {
                                    NativeKind::Pure(f) => {
                                        // SAFETY: the check proved `argc`
                                        // operands below `sp` (the call's
                                        // depth counts them), all initialized.
                                        f(unsafe { std::slice::from_raw_parts(sp.sub(argc), argc) })
                                    }
                                    // SAFETY: as for `Pure`, and nothing else
                                    // borrows those slots during the call;
                                    // whatever the native leaves in them is a
                                    // whole value, which the drop below drops.
                                    NativeKind::Consuming(f) => f(unsafe {
                                        std::slice::from_raw_parts_mut(sp.sub(argc), argc)
                                    }),
                                    // Offered to the host first: a `send`
                                    // need not stop the VM.
                                    // SAFETY: as for `Pure`.
                                    NativeKind::Effect(f) => match f(unsafe {
                                        std::slice::from_raw_parts(sp.sub(argc), argc)
                                    }) {
                                        Ok(effect) => match host.perform_now(effect) {
                                            Ok(answer) => Ok(answer),
                                            Err(effect) => {
                                                // SAFETY: as below: the function
                                                // and its arguments are dropped;
                                                // the answer will take its slot.
                                                sp = unsafe { drop_down_to(sp, sp.sub(argc + 1)) };
                                                sync!();
                                                save_pc!();
                                                leave!(Outcome::Effect(effect, Resume(())));
                                            }
                                        },
                                        Err(e) => Err(e),
                                    },
                                };
                                match result {
                                    Ok(v) => {
                                        // SAFETY: the function and its
                                        // arguments are dropped, and the
                                        // answer takes the function's slot.
                                        sp = unsafe { drop_down_to(sp, sp.sub(argc + 1)) };
                                        push!(v);
                                        pay_for_work!();
                                        continue;
                                    }
                                    Err(e) => retry_realized!(e, pc - 1),
                                }
                            }
                            _ => {}
                        }
                        sync!();
                        save_pc!();
                        match self.call_value(argc) {
                            Ok(call::Next::Continue) => {
                                pay_for_work!();
                                reload!()
                            }
                            Ok(call::Next::Enter) => continue 'frames,
                            Ok(call::Next::Effect(effect)) => match host.perform_now(effect) {
                                Ok(answer) => {
                                    self.push(answer);
                                    reload!();
                                }
                                Err(effect) => leave!(Outcome::Effect(effect, Resume(()))),
                            },
                            // The arguments are on the stack still.
                            Err(e) => match self.realize_or(e, pc - 1) {
                                None => continue 'frames,
                                Some(err) => throw_synced!(err),
                            },
                        }
                    }
                    Op::CallSelf(argc) => {
                        spend_reduction!();
                        let argc = argc as usize;
                        match closure {
                            // The running body is the one of this arity.
                            Some(running) if code.params() as usize == argc && !code.variadic() => {
                                enter!(code, Some(running), argc)
                            }
                            _ => {
                                sync!();
                                save_pc!();
                                match self.call_self(argc, closure) {
                                    Ok(()) => continue 'frames,
                                    Err(e) => throw_synced!(e),
                                }
                            }
                        }
                    }
                    Op::TailCallSelf(argc) => {
                        spend_reduction!();
                        let argc = argc as usize;
                        if closure.is_some() && code.params() as usize == argc && !code.variadic() {
                            // The arguments replace the frame's slots and
                            // operands; the function slot and the frame stay.
                            // SAFETY: the arguments are the top operands,
                            // above the locals; every slot from `bp` up is
                            // dropped once, and the arguments are moved
                            // (not copied) down to slot 0.
                            unsafe {
                                let args = sp.sub(argc);
                                let mut slot = bp;
                                while slot < args {
                                    Value::drop_at(slot);
                                    slot = slot.add(1);
                                }
                                std::ptr::copy(args, bp, argc);
                                sp = bp.add(argc);
                                let end = bp.add(code.locals() as usize);
                                while sp < end {
                                    sp.write(Value::Nil);
                                    sp = sp.add(1);
                                }
                            }
                            pc = 0;
                        } else {
                            sync!();
                            save_pc!();
                            match self.tail_call_self(argc, base, closure) {
                                Ok(()) => continue 'frames,
                                Err(e) => throw_synced!(e),
                            }
                        }
                    }
                    Op::Return => {
                        let result = pop!();
                        self.frames.pop();
                        // SAFETY: the frame's function slot (just below
                        // `bp`) and everything above it are dropped; the
                        // caller's slots are below.
                        let start = unsafe {
                            sp = drop_down_to(sp, bp.sub(1));
                            bp.sub(base)
                        };
                        let Some(caller) = self.frames.last() else {
                            sync!();
                            self.stack.clear();
                            self.handlers.clear();
                            leave!(Outcome::Done(result));
                        };
                        // The answer takes the function's slot.
                        push!(result);
                        // SAFETY: as when the frame was first taken above.
                        code = unsafe { caller.code.as_ref() };
                        // SAFETY: as for `code`: the caller's closure
                        // outlives its frame (see `Frame`).
                        closure = caller.closure.map(|c| unsafe { &*c.as_ptr() });
                        base = caller.base as usize;
                        pc = caller.pc as usize;
                        // SAFETY: the caller's base is inside the stack.
                        bp = unsafe { start.add(base) };
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
                    Op::Eq => {
                        // SAFETY: two operands, as for `pop!`.
                        let (a, b) = unsafe { (&*sp.sub(2), &*sp.sub(1)) };
                        match (a, b) {
                            (Value::Int(x), Value::Int(y)) => {
                                let holds = x == y;
                                // SAFETY: integers own nothing: the lower
                                // slot is overwritten, the upper forgotten.
                                unsafe {
                                    sp = sp.sub(1);
                                    Value::write_bool(sp.sub(1), holds);
                                }
                            }
                            _ => {
                                // Compared in place, so that a lazy seq to
                                // realize finds its operands where they were.
                                let result = arith::equal(a, b);
                                pay_for_work!();
                                match result {
                                    Ok(v) => {
                                        drop(pop!());
                                        *top!() = v;
                                    }
                                    Err(e) => retry_realized!(e, pc - 1),
                                }
                            }
                        }
                    }
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
                        let a = pop!();
                        push!(Value::Bool(!a.is_truthy()));
                    }
                    // The rarer instructions work on the vector.
                    cold => {
                        sync!();
                        // Versions of the macros for operands that the vector
                        // holds.
                        macro_rules! fail {
                            ($err:expr) => {
                                throw_synced!($err)
                            };
                        }
                        macro_rules! retry_realized {
                            ($err:expr, $at:expr) => {{
                                match self.realize_or($err, $at) {
                                    None => continue 'frames,
                                    Some(err) => fail!(err),
                                }
                            }};
                        }
                        macro_rules! spend_reduction {
                            () => {
                                if budget == 0 {
                                    pc -= 1;
                                    save_pc!();
                                    leave!(Outcome::Yield);
                                }
                                budget -= 1;
                            };
                        }
                        match cold {
                            Op::Def(i) => {
                                let var = &code.vars()[i as usize];
                                let v = self.pop();
                                var.set(v);
                                self.push(Value::Symbol(var.name));
                            }
                            Op::MarkMacro(i) => code.vars()[i as usize].set_macro(true),
                            Op::Apply(argc) => {
                                spend_reduction!();
                                save_pc!();
                                let spread = self.pop();
                                let added = match call::spread_onto(&spread, &mut self.stack) {
                                    Ok(n) => n,
                                    Err(e) => {
                                        self.push(spread);
                                        retry_realized!(e, pc - 1)
                                    }
                                };
                                work::charge_items(added);
                                match self.call_value(argc as usize - 2 + added) {
                                    Ok(call::Next::Continue) => pay_for_work!(),
                                    Ok(call::Next::Enter) => continue 'frames,
                                    Ok(call::Next::Effect(effect)) => {
                                        match host.perform_now(effect) {
                                            Ok(answer) => self.push(answer),
                                            Err(effect) => {
                                                leave!(Outcome::Effect(effect, Resume(())))
                                            }
                                        }
                                    }
                                    Err(e) => {
                                        // A native called with the spread
                                        // items: put the list back in their
                                        // place, as the instruction found it.
                                        if crate::value::lazy::realizing_request(&e).is_some() {
                                            let items =
                                                self.stack.split_off(self.stack.len() - added);
                                            drop(items);
                                            self.push(spread);
                                        }
                                        retry_realized!(e, pc - 1)
                                    }
                                }
                            }
                            Op::TailCall(argc) => {
                                spend_reduction!();
                                save_pc!();
                                // The compiler follows every TailCall with a Return,
                                // which hands on a native's (or an effect's) answer.
                                match self.tail_call(argc as usize, base) {
                                    Ok(call::Next::Continue) => pay_for_work!(),
                                    Ok(call::Next::Enter) => continue 'frames,
                                    Ok(call::Next::Effect(effect)) => {
                                        match host.perform_now(effect) {
                                            Ok(answer) => self.push(answer),
                                            Err(effect) => {
                                                leave!(Outcome::Effect(effect, Resume(())))
                                            }
                                        }
                                    }
                                    // A native's arguments are on the stack still.
                                    Err(e) => retry_realized!(e, pc - 1),
                                }
                            }
                            Op::Closure(i) => {
                                let proto = &code.protos()[i as usize];
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
                                    Err(outcome) => leave!(outcome),
                                }
                            }
                            Op::Rethrow => {
                                save_pc!();
                                let v = self.pop();
                                let trace = match self.rare.as_mut().and_then(|r| r.caught.take()) {
                                    Some(t) if t.value == v => t.trace,
                                    _ => self.trace(),
                                };
                                match self.throw(v, trace) {
                                    Ok(()) => continue 'frames,
                                    Err(outcome) => leave!(outcome),
                                }
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
                                self.push(Value::Map(triomphe::Arc::new(map)));
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
                            _ => unreachable!("{cold:?} runs above"),
                        }
                        reload!();
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

    #[cold]
    #[inline(never)]
    fn grow_stack(&mut self) {
        // Doubling from a small start: a million waiting processes each
        // keep their stack, and most need only a few slots.
        self.stack.reserve(self.stack.len().max(4));
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
        Value::Fn(triomphe::Arc::new(Closure {
            proto: proto.clone(),
            captures,
        }))
    }

    /// The Calf call stack, innermost first; runs of frames at the same
    /// place (a deep recursion) become one entry.
    pub fn trace(&self) -> Vec<TraceEntry> {
        let mut trace: Vec<TraceEntry> = Vec::new();
        for frame in self.frames.iter().rev() {
            let function = frame.code().name();
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
        self.frames.last().and_then(|f| f.code().name())
    }
}
