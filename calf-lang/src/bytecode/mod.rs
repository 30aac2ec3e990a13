//! The instruction set shared by the compiler and the VM.
//!
//! A stack machine. Each call frame owns a window of the process's operand
//! stack: slot 0 is the first parameter, then the other parameters and the
//! `let`/`loop` locals (all resolved to slot numbers at compile time); the
//! operand stack proper grows above them. The function being run sits just
//! below slot 0, so captures are read from it.

mod depth;

use std::sync::Arc;

use crate::namespace::Var;
use crate::span::Span;
use crate::value::{FnProto, Sym, Value};

/// One instruction. Eight bytes: a tag and at most one 32-bit operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Nil,
    True,
    False,
    /// Push a small integer literal.
    Int(i32),
    /// Push `consts[i]`.
    Const(u32),
    /// Push local slot `i`.
    Local(u16),
    /// Push local slot `i`, leaving `nil` there: its last read, so the value
    /// keeps a single owner (see `compiler/liveness.rs`).
    MoveLocal(u16),
    /// Pop into local slot `i`.
    SetLocal(u16),
    /// Push capture `i` of the running closure.
    Capture(u16),
    /// Push the running closure itself (a named `fn` calling itself).
    SelfFn,
    /// Push the value of `vars[i]`; an unbound var raises.
    Global(u32),
    /// Pop a value into `vars[i]` and push the var's symbol.
    Def(u32),
    /// Mark `vars[i]` as a macro (after `Def`).
    MarkMacro(u32),
    Pop,
    /// Pop the value below the top, keeping the top: ends a scope's value.
    Nip,
    /// Absolute jump.
    Jump(u32),
    /// `recur`: pop `count` values into the consecutive local slots from
    /// `first` on (the last value into the last slot), then jump back to
    /// `target`.
    Recur {
        first: u16,
        count: u8,
        target: u32,
    },
    /// Pop; jump if `nil` or `false`.
    JumpIfFalse(u32),
    /// A comparison and the `JumpIfFalse` after it, in one: pop two
    /// operands, jump unless the comparison holds.
    JumpUnlessLt(u32),
    JumpUnlessLe(u32),
    JumpUnlessGt(u32),
    JumpUnlessGe(u32),
    JumpUnlessNumEq(u32),
    JumpUnlessEq(u32),
    /// `Local(a) Local(b) JumpUnless<cmp>(target)`, the test of most loops,
    /// in one: compare two locals, jump unless the comparison holds, else
    /// go on past the two reads, which stay in place unused.
    JumpUnlessLocals {
        cmp: Cmp,
        a: u8,
        b: u8,
        target: u32,
    },
    /// The same with a small integer literal as the right operand: pop one
    /// operand, jump unless it compares so with `k`.
    JumpUnlessLtInt {
        k: i16,
        target: u32,
    },
    JumpUnlessLeInt {
        k: i16,
        target: u32,
    },
    JumpUnlessGtInt {
        k: i16,
        target: u32,
    },
    JumpUnlessGeInt {
        k: i16,
        target: u32,
    },
    JumpUnlessNumEqInt {
        k: i16,
        target: u32,
    },
    JumpUnlessEqInt {
        k: i16,
        target: u32,
    },
    /// Call the function below the top `n` values with them as arguments.
    Call(u16),
    /// Call, replacing the current frame: tail calls run in constant space.
    TailCall(u16),
    /// A named `fn` calling itself: like `Call`, with `nil` in the
    /// function slot; the running closure is the one called.
    CallSelf(u16),
    /// The same in tail position, like `TailCall`.
    TailCallSelf(u16),
    /// `(apply f a ... coll)` with `n` arguments, `f` included: calls `f`
    /// with `a ...` and then the items of `coll`.
    Apply(u16),
    Return,
    /// Push a closure of `protos[i]`, capturing from this frame.
    Closure(u32),
    /// Catch whatever is thrown until the matching `PopHandler` by jumping to
    /// this address with the thrown value pushed.
    PushHandler(u32),
    PopHandler,
    /// Pop and throw.
    Throw,
    /// Pop and throw again, keeping the trace of where it was first thrown.
    Rethrow,
    /// Collection literals: pop `n` items (2n for maps).
    MakeList(u32),
    MakeVector(u32),
    MakeMap(u32),
    MakeSet(u32),
    // Pattern matching (`match`, `receive`): tests pop a value and push a
    // boolean; extractors pop a checked value and push a part of it.
    /// Is it a list or vector of exactly `len` items (at least, with `at_least`)?
    TestSeq {
        len: u16,
        at_least: bool,
    },
    /// `Local(slot) TestSeq { len, at_least } JumpIfFalse(target)` in one,
    /// for the common patterns (a slot and a length below 256): jump unless
    /// local `slot` is a list or vector of `len` items (at least `len`).
    JumpUnlessSeq {
        slot: u8,
        len: u8,
        at_least: bool,
        target: u32,
    },
    /// Is it a map?
    TestMap,
    /// Item `i` of a list or vector.
    ItemAt(u16),
    /// `Local(slot) ItemAt(index)` in one: push item `index` of the list
    /// or vector in local `slot` (checked by a `JumpUnlessSeq` or
    /// `TestSeq` before).
    LocalItem {
        slot: u16,
        index: u16,
    },
    /// The items from `i` on, as a list.
    ItemsFrom(u16),
    /// Pop a key and a map: does the map contain the key?
    HasKey,
    /// Pop a key and a map: the value under the key.
    GetKey,
    /// Pop a value that no clause matched and raise `:calf/no-match`.
    NoMatch,
    /// Ask the host for the next message of the mailbox (from the first, with
    /// `restart`); the answer is the message and `true`, or `nil` and
    /// `false` when the timeout in local `timeout_slot` (none: `u16::MAX`)
    /// has passed.
    Receive {
        restart: bool,
        timeout_slot: u16,
    },
    /// Take the message last handed out by `Receive` out of the mailbox.
    ReceiveAccept,
    /// `(send to message)` of the core `send`: pop a message and a pid or
    /// registered name, send, and push the message. Offered to the host
    /// like the effect of any native (see `vm::Host`); followed by a `Pop`
    /// (the common case, its value unused), the message is not kept and
    /// the `Pop` is passed over.
    Send,
    // Inlined core functions on the top two values (one for Inc/Dec/Not).
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    NumEq,
    Eq,
    Inc,
    Dec,
    Not,
    // The same operators with a small integer literal as right operand.
    AddInt(i32),
    SubInt(i32),
    LtInt(i32),
    LeInt(i32),
    GtInt(i32),
    GeInt(i32),
    NumEqInt(i32),
    EqInt(i32),
}

/// The comparison of a [`Op::JumpUnlessLocals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    NumEq,
    Eq,
}

/// Where a closure's capture comes from in the frame that makes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    Local(u16),
    Capture(u16),
    SelfFn,
}

/// A body as the compiler assembles it. It cannot run: only its
/// [`Unchecked::check`] makes the [`Code`] a VM takes.
#[derive(Debug)]
pub struct Unchecked {
    /// The function's name, for stack traces.
    pub name: Option<Sym>,
    /// Parameter slots; for a variadic body the last one takes the rest.
    pub params: u16,
    pub variadic: bool,
    /// All local slots, parameters included.
    pub locals: u16,
    pub ops: Box<[Op]>,
    pub consts: Box<[Value]>,
    pub vars: Box<[Arc<Var>]>,
    pub protos: Box<[Arc<FnProto>]>,
    /// The source span of the form each instruction came from, as
    /// `(first pc, span)` runs sorted by pc.
    pub spans: Box<[(u32, Span)]>,
}

/// A compiled body, checked: one arity of a `fn`, or a top-level form.
///
/// The VM runs it without bounds checks, trusting what the check proved
/// (see `depth.rs`): so there is no other way to make one than
/// [`Unchecked::check`], and its fields cannot be changed after.
///
/// ```compile_fail,E0451
/// use calf_lang::bytecode::{Code, Op};
/// // Two pops of an empty stack: it must not be possible to build.
/// let code = Code {
///     name: None, params: 0, variadic: false, locals: 0,
///     ops: vec![Op::Pop, Op::Pop, Op::Return].into_boxed_slice(),
///     consts: Box::new([]), vars: Box::new([]), protos: Box::new([]),
///     spans: Box::new([]), max_stack: 0,
/// };
/// ```
#[derive(Debug)]
pub struct Code {
    name: Option<Sym>,
    params: u16,
    variadic: bool,
    locals: u16,
    ops: Box<[Op]>,
    consts: Box<[Value]>,
    vars: Box<[Arc<Var>]>,
    protos: Box<[Arc<FnProto>]>,
    spans: Box<[(u32, Span)]>,
    /// The most operands the body holds above its locals: the VM reserves
    /// this much room when it enters the body, and then pushes and pops
    /// without checking.
    max_stack: u32,
}

impl Op {
    /// Where a conditional jump goes when it jumps.
    pub fn branch_target(self) -> Option<u32> {
        match self {
            Op::JumpIfFalse(t)
            | Op::JumpUnlessLt(t)
            | Op::JumpUnlessLe(t)
            | Op::JumpUnlessGt(t)
            | Op::JumpUnlessGe(t)
            | Op::JumpUnlessNumEq(t)
            | Op::JumpUnlessEq(t)
            | Op::JumpUnlessLtInt { target: t, .. }
            | Op::JumpUnlessLeInt { target: t, .. }
            | Op::JumpUnlessGtInt { target: t, .. }
            | Op::JumpUnlessGeInt { target: t, .. }
            | Op::JumpUnlessNumEqInt { target: t, .. }
            | Op::JumpUnlessEqInt { target: t, .. }
            | Op::JumpUnlessLocals { target: t, .. }
            | Op::JumpUnlessSeq { target: t, .. } => Some(t),
            _ => None,
        }
    }

    /// Where the instruction may go other than the next one: a jump's or
    /// `recur`'s target, a conditional jump's, a handler's catch.
    pub fn jump_target(self) -> Option<u32> {
        match self {
            Op::Jump(t) | Op::PushHandler(t) | Op::Recur { target: t, .. } => Some(t),
            other => other.branch_target(),
        }
    }

    /// This conditional jump, going to `target` instead.
    pub fn with_branch_target(self, target: u32) -> Op {
        match self {
            Op::JumpIfFalse(_) => Op::JumpIfFalse(target),
            Op::JumpUnlessLt(_) => Op::JumpUnlessLt(target),
            Op::JumpUnlessLe(_) => Op::JumpUnlessLe(target),
            Op::JumpUnlessGt(_) => Op::JumpUnlessGt(target),
            Op::JumpUnlessGe(_) => Op::JumpUnlessGe(target),
            Op::JumpUnlessNumEq(_) => Op::JumpUnlessNumEq(target),
            Op::JumpUnlessEq(_) => Op::JumpUnlessEq(target),
            Op::JumpUnlessLtInt { k, .. } => Op::JumpUnlessLtInt { k, target },
            Op::JumpUnlessLeInt { k, .. } => Op::JumpUnlessLeInt { k, target },
            Op::JumpUnlessGtInt { k, .. } => Op::JumpUnlessGtInt { k, target },
            Op::JumpUnlessGeInt { k, .. } => Op::JumpUnlessGeInt { k, target },
            Op::JumpUnlessNumEqInt { k, .. } => Op::JumpUnlessNumEqInt { k, target },
            Op::JumpUnlessEqInt { k, .. } => Op::JumpUnlessEqInt { k, target },
            Op::JumpUnlessLocals { cmp, a, b, .. } => Op::JumpUnlessLocals { cmp, a, b, target },
            Op::JumpUnlessSeq {
                slot,
                len,
                at_least,
                ..
            } => Op::JumpUnlessSeq {
                slot,
                len,
                at_least,
                target,
            },
            other => other,
        }
    }
}

impl Unchecked {
    /// The body, checked (see [`Code::well_formed`]), when it starts
    /// with `entry` operands above its locals (0 for any body the compiler
    /// makes). A failure is a compiler bug.
    pub fn check(self, entry: u16) -> Code {
        match self.try_check(entry) {
            Ok(code) => code,
            Err(e) => panic!("compiler bug: {e}"),
        }
    }

    /// The same check, for a body that did not come from the compiler (one
    /// read back from a snapshot): what makes it unsafe to run is an error.
    pub fn try_check(self, entry: u16) -> Result<Code, String> {
        let mut code = Code {
            name: self.name,
            params: self.params,
            variadic: self.variadic,
            locals: self.locals,
            ops: self.ops,
            consts: self.consts,
            vars: self.vars,
            protos: self.protos,
            spans: self.spans,
            max_stack: 0,
        };
        code.well_formed()?;
        let max = depth::depths(&code, entry as usize)?.max;
        // A body's operands are bounded by its instructions, which number
        // well below `u32::MAX`.
        code.max_stack =
            u32::try_from(max).map_err(|_| "a body needs over 2^32 operands".to_string())?;
        Ok(code)
    }
}

impl Code {
    /// The function's name, for stack traces.
    #[inline]
    pub fn name(&self) -> Option<Sym> {
        self.name
    }

    /// Parameter slots; for a variadic body the last one takes the rest.
    #[inline]
    pub fn params(&self) -> u16 {
        self.params
    }

    #[inline]
    pub fn variadic(&self) -> bool {
        self.variadic
    }

    /// All local slots, parameters included.
    #[inline]
    pub fn locals(&self) -> u16 {
        self.locals
    }

    #[inline]
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    #[inline]
    pub fn consts(&self) -> &[Value] {
        &self.consts
    }

    #[inline]
    pub fn vars(&self) -> &[Arc<Var>] {
        &self.vars
    }

    #[inline]
    pub fn protos(&self) -> &[Arc<FnProto>] {
        &self.protos
    }

    /// `(first pc, span)` runs sorted by pc: where each instruction came from.
    pub fn spans(&self) -> &[(u32, Span)] {
        &self.spans
    }

    /// The most operands the body holds above its locals.
    #[inline]
    pub fn max_stack(&self) -> u32 {
        self.max_stack
    }

    /// Checks what the VM relies on to fetch instructions without a bounds
    /// check: every jump lands inside the code, the last instruction never
    /// falls through past the end, and every constant, var and fn the
    /// instructions name is there.
    fn well_formed(&self) -> Result<(), String> {
        let len = self.ops.len();
        for (pc, op) in self.ops.iter().enumerate() {
            if let Some(t) = op.jump_target() {
                if t as usize >= len {
                    return Err(format!(
                        "instruction {pc} ({op:?}) jumps to {t}, past the end ({len})"
                    ));
                }
            }
            let (index, table) = match *op {
                Op::Const(i) => (i, self.consts.len()),
                Op::Global(i) | Op::Def(i) | Op::MarkMacro(i) => (i, self.vars.len()),
                Op::Closure(i) => (i, self.protos.len()),
                _ => continue,
            };
            if index as usize >= table {
                return Err(format!(
                    "instruction {pc} ({op:?}) names entry {index} of a table of {table}"
                ));
            }
        }
        match self.ops.last() {
            Some(
                Op::Return | Op::Jump(_) | Op::Recur { .. } | Op::Throw | Op::Rethrow | Op::NoMatch,
            ) => Ok(()),
            last => Err(format!(
                "the code can run past its last instruction: {last:?}"
            )),
        }
    }

    /// The operands the body holds above its locals before each of its
    /// instructions (`None` where none is reached).
    pub(crate) fn depths(&self) -> Result<Vec<Option<usize>>, String> {
        self.depths_from(0)
    }

    /// The same, for a body that starts with `entry` operands.
    pub(crate) fn depths_from(&self, entry: usize) -> Result<Vec<Option<usize>>, String> {
        depth::depths(self, entry).map(|d| d.at)
    }

    /// The span of the form that emitted the instruction at `pc`.
    pub fn span_at(&self, pc: usize) -> Option<Span> {
        let i = self
            .spans
            .partition_point(|(start, _)| (*start as usize) <= pc);
        i.checked_sub(1).map(|i| self.spans[i].1)
    }

    /// A readable listing, for `--disasm` and compiler snapshot tests.
    pub fn disassemble(&self) -> String {
        let mut out = String::new();
        self.disassemble_into(&mut out, 0);
        out
    }

    fn disassemble_into(&self, out: &mut String, depth: usize) {
        use std::fmt::Write;
        let indent = "  ".repeat(depth);
        let name = self.name.map_or("<top>".to_string(), |n| n.to_string());
        let _ = writeln!(
            out,
            "{indent}{name} params={} variadic={} locals={}",
            self.params, self.variadic, self.locals
        );
        for (pc, op) in self.ops.iter().enumerate() {
            let note = match op {
                Op::Const(i) => format!(
                    "  ; {}",
                    crate::value::print::pr_str(&self.consts[*i as usize])
                ),
                Op::Global(i) | Op::Def(i) | Op::MarkMacro(i) => {
                    format!("  ; {}", self.vars[*i as usize].name)
                }
                _ => String::new(),
            };
            let _ = writeln!(out, "{indent}  {pc:4} {op:?}{note}");
        }
        // The fns this code makes, in the order it makes them: closures,
        // and fns that capture nothing, which are constants.
        for op in self.ops.iter() {
            let proto = match *op {
                Op::Closure(i) => &self.protos[i as usize],
                Op::Const(i) => match &self.consts[i as usize] {
                    crate::value::Value::Fn(f) => &f.proto,
                    _ => continue,
                },
                _ => continue,
            };
            for body in proto.fixed.iter().chain(proto.variadic.iter()) {
                body.disassemble_into(out, depth + 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Code, Op, Unchecked};

    #[test]
    fn an_instruction_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<super::Op>(), 8);
    }

    fn code(ops: Vec<Op>) -> Code {
        Unchecked {
            name: None,
            params: 0,
            variadic: false,
            locals: 0,
            ops: ops.into_boxed_slice(),
            consts: Box::new([]),
            vars: Box::new([]),
            protos: Box::new([]),
            spans: Box::new([]),
        }
        .check(0)
    }

    #[test]
    fn well_formed_code_passes_the_check() {
        let ops = vec![Op::Nil, Op::JumpIfFalse(4), Op::Int(1), Op::Return];
        let code = code([ops, vec![Op::Int(2), Op::Int(3), Op::Add, Op::Return]].concat());
        assert_eq!(code.max_stack, 2);
    }

    #[test]
    #[should_panic(expected = "pops 2 operands of 1")]
    fn popping_an_operand_that_is_not_there_is_caught() {
        code(vec![Op::Nil, Op::Add, Op::Return]);
    }

    #[test]
    #[should_panic(expected = "is reached with 0 and with 1 operands")]
    fn paths_that_disagree_on_the_depth_are_caught() {
        code(vec![
            Op::Nil,
            Op::JumpIfFalse(3),
            Op::Nil,
            Op::Nil,
            Op::Return,
        ]);
    }

    #[test]
    #[should_panic(expected = "past the 0 locals")]
    fn a_slot_past_the_locals_is_caught() {
        code(vec![Op::Local(0), Op::Return]);
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn a_jump_past_the_end_is_caught() {
        code(vec![Op::Nil, Op::JumpUnlessLt(9), Op::Return]);
    }

    #[test]
    #[should_panic(expected = "run past its last instruction")]
    fn code_that_falls_off_its_end_is_caught() {
        code(vec![Op::Nil, Op::Pop]);
    }
}
