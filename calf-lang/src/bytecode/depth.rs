//! How deep a body's operand stack grows, found once when the body is built.
//!
//! The VM pushes and pops through a raw stack pointer, without checking the
//! stack's length or capacity per instruction. What makes that sound is
//! checked here: every reachable instruction finds the operands it pops and
//! the local slots it names, all paths reach an instruction with the same
//! depth, and the deepest the stack gets above the locals is known (the VM
//! reserves that much when it enters the body).

use super::{Code, Op};

impl Op {
    /// The operands the instruction pops and then pushes. A call, or an
    /// effect answered by the host, counts once its answer is pushed.
    pub fn stack_effect(self) -> (usize, usize) {
        match self {
            Op::Nil
            | Op::True
            | Op::False
            | Op::Int(_)
            | Op::Const(_)
            | Op::Local(_)
            | Op::MoveLocal(_)
            | Op::Capture(_)
            | Op::SelfFn
            | Op::Global(_)
            | Op::Closure(_)
            | Op::LocalItem { .. }
            // Resumed with `nil`.
            | Op::ReceiveAccept => (0, 1),
            Op::SetLocal(_)
            | Op::Pop
            | Op::JumpIfFalse(_)
            | Op::JumpUnlessLtInt { .. }
            | Op::JumpUnlessLeInt { .. }
            | Op::JumpUnlessGtInt { .. }
            | Op::JumpUnlessGeInt { .. }
            | Op::JumpUnlessNumEqInt { .. }
            | Op::JumpUnlessEqInt { .. }
            | Op::Return
            | Op::Throw
            | Op::Rethrow
            | Op::NoMatch => (1, 0),
            Op::MarkMacro(_)
            | Op::Jump(_)
            | Op::PushHandler(_)
            | Op::PopHandler
            | Op::JumpUnlessLocals { .. }
            | Op::JumpUnlessSeq { .. } => (0, 0),
            Op::Def(_)
            | Op::TestSeq { .. }
            | Op::TestMap
            | Op::ItemAt(_)
            | Op::ItemsFrom(_)
            | Op::Inc
            | Op::Dec
            | Op::Not
            | Op::AddInt(_)
            | Op::SubInt(_)
            | Op::LtInt(_)
            | Op::LeInt(_)
            | Op::GtInt(_)
            | Op::GeInt(_)
            | Op::NumEqInt(_)
            | Op::EqInt(_) => (1, 1),
            Op::Nip
            | Op::HasKey
            | Op::GetKey
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::NumEq
            | Op::Eq
            | Op::Send => (2, 1),
            Op::JumpUnlessLt(_)
            | Op::JumpUnlessLe(_)
            | Op::JumpUnlessGt(_)
            | Op::JumpUnlessGe(_)
            | Op::JumpUnlessNumEq(_)
            | Op::JumpUnlessEq(_) => (2, 0),
            Op::Recur { count, .. } => (count as usize, 0),
            // The function below the arguments, then the answer.
            Op::Call(n) | Op::TailCall(n) | Op::CallSelf(n) | Op::TailCallSelf(n) => {
                (n as usize + 1, 1)
            }
            // `n` counts the function too.
            Op::Apply(n) => (n as usize, 1),
            Op::MakeList(n) | Op::MakeVector(n) | Op::MakeSet(n) => (n as usize, 1),
            Op::MakeMap(n) => (2 * n as usize, 1),
            // The message (or nil) and whether one came.
            Op::Receive { .. } => (0, 2),
        }
    }

    /// The local slots the instruction reads or writes: one past the
    /// highest.
    fn slots_end(self) -> usize {
        match self {
            Op::Local(s) | Op::MoveLocal(s) | Op::SetLocal(s) | Op::LocalItem { slot: s, .. } => {
                s as usize + 1
            }
            Op::JumpUnlessSeq { slot, .. } => slot as usize + 1,
            Op::Recur { first, count, .. } => first as usize + count as usize,
            Op::Receive { timeout_slot, .. } if timeout_slot != u16::MAX => {
                timeout_slot as usize + 1
            }
            Op::Receive { .. } => 0,
            Op::JumpUnlessLocals { a, b, .. } => a.max(b) as usize + 1,
            // Named one by one: a new instruction must say whether it
            // names a slot.
            Op::Nil
            | Op::True
            | Op::False
            | Op::Int(_)
            | Op::Const(_)
            | Op::Capture(_)
            | Op::SelfFn
            | Op::Global(_)
            | Op::Def(_)
            | Op::MarkMacro(_)
            | Op::Pop
            | Op::Nip
            | Op::Jump(_)
            | Op::JumpIfFalse(_)
            | Op::JumpUnlessLt(_)
            | Op::JumpUnlessLe(_)
            | Op::JumpUnlessGt(_)
            | Op::JumpUnlessGe(_)
            | Op::JumpUnlessNumEq(_)
            | Op::JumpUnlessEq(_)
            | Op::JumpUnlessLtInt { .. }
            | Op::JumpUnlessLeInt { .. }
            | Op::JumpUnlessGtInt { .. }
            | Op::JumpUnlessGeInt { .. }
            | Op::JumpUnlessNumEqInt { .. }
            | Op::JumpUnlessEqInt { .. }
            | Op::Call(_)
            | Op::TailCall(_)
            | Op::CallSelf(_)
            | Op::TailCallSelf(_)
            | Op::Apply(_)
            | Op::Return
            | Op::Closure(_)
            | Op::PushHandler(_)
            | Op::PopHandler
            | Op::Throw
            | Op::Rethrow
            | Op::MakeList(_)
            | Op::MakeVector(_)
            | Op::MakeMap(_)
            | Op::MakeSet(_)
            | Op::TestSeq { .. }
            | Op::TestMap
            | Op::ItemAt(_)
            | Op::ItemsFrom(_)
            | Op::HasKey
            | Op::GetKey
            | Op::NoMatch
            | Op::ReceiveAccept
            | Op::Send
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Lt
            | Op::Le
            | Op::Gt
            | Op::Ge
            | Op::NumEq
            | Op::Eq
            | Op::Inc
            | Op::Dec
            | Op::Not
            | Op::AddInt(_)
            | Op::SubInt(_)
            | Op::LtInt(_)
            | Op::LeInt(_)
            | Op::GtInt(_)
            | Op::GeInt(_)
            | Op::NumEqInt(_)
            | Op::EqInt(_) => 0,
        }
    }
}

/// What the check found of a body: the operands it holds above its locals
/// before each reachable instruction (`None`: never reached), and the most
/// it ever holds.
pub(crate) struct Depths {
    pub at: Vec<Option<usize>>,
    pub max: usize,
}

/// The depth before every instruction of `code`, when it starts with
/// `entry` operands, or what makes the body unsafe to run (see
/// [`crate::bytecode::Unchecked::check`]): a body read back from a snapshot is checked by this too.
pub(crate) fn depths(code: &Code, entry: usize) -> Result<Depths, String> {
    let len = code.ops.len();
    let mut at: Vec<Option<usize>> = vec![None; len];
    if len == 0 {
        return Err("the body has no instructions".to_string());
    }
    at[0] = Some(entry);
    let mut todo = vec![(0usize, entry)];
    let mut max = entry;
    let reach = |at: &mut Vec<Option<usize>>,
                 pc: usize,
                 depth: usize,
                 from: usize,
                 todo: &mut Vec<(usize, usize)>|
     -> Result<(), String> {
        if pc >= len {
            return Err(format!(
                "instruction {from} ({:?}) goes on to {pc}, past the end ({len})",
                code.ops[from]
            ));
        }
        match at[pc] {
            None => {
                at[pc] = Some(depth);
                todo.push((pc, depth));
                Ok(())
            }
            Some(known) if known == depth => Ok(()),
            Some(known) => Err(format!(
                "instruction {pc} is reached with {known} and with {depth} operands"
            )),
        }
    };
    while let Some((pc, depth)) = todo.pop() {
        let op = code.ops[pc];
        let (pops, pushes) = op.stack_effect();
        if pops > depth {
            return Err(format!(
                "instruction {pc} ({op:?}) pops {pops} operands of {depth}"
            ));
        }
        if op.slots_end() > code.locals as usize {
            return Err(format!(
                "instruction {pc} ({op:?}) names a slot past the {} locals",
                code.locals
            ));
        }
        let after = depth - pops + pushes;
        max = max.max(after);
        match op {
            Op::Jump(t) | Op::Recur { target: t, .. } => {
                reach(&mut at, t as usize, after, pc, &mut todo)?
            }
            Op::Return | Op::Throw | Op::Rethrow | Op::NoMatch => {}
            // Past the two reads it stands for.
            Op::JumpUnlessLocals { target, .. } => {
                reach(&mut at, pc + 3, after, pc, &mut todo)?;
                reach(&mut at, target as usize, after, pc, &mut todo)?;
            }
            Op::PushHandler(catch) => {
                reach(&mut at, pc + 1, after, pc, &mut todo)?;
                // A throw cuts the stack back to here and pushes the value.
                reach(&mut at, catch as usize, after + 1, pc, &mut todo)?;
                max = max.max(after + 1);
            }
            other => {
                reach(&mut at, pc + 1, after, pc, &mut todo)?;
                if let Some(t) = other.branch_target() {
                    reach(&mut at, t as usize, after, pc, &mut todo)?;
                }
            }
        }
    }
    Ok(Depths { at, max })
}
