//! Instructions to their image and back, one arm each way per instruction:
//! a new instruction does not compile until it has its place in the format.

use super::format::OpImage;
use crate::bytecode::{Cmp, Op};

pub(super) fn op_image(op: Op) -> OpImage {
    match op {
        Op::Nil => OpImage::Nil,
        Op::True => OpImage::True,
        Op::False => OpImage::False,
        Op::SelfFn => OpImage::SelfFn,
        Op::Pop => OpImage::Pop,
        Op::Nip => OpImage::Nip,
        Op::Return => OpImage::Return,
        Op::PopHandler => OpImage::PopHandler,
        Op::Throw => OpImage::Throw,
        Op::Rethrow => OpImage::Rethrow,
        Op::TestMap => OpImage::TestMap,
        Op::HasKey => OpImage::HasKey,
        Op::GetKey => OpImage::GetKey,
        Op::NoMatch => OpImage::NoMatch,
        Op::ReceiveAccept => OpImage::ReceiveAccept,
        Op::Send => OpImage::Send,
        Op::Add => OpImage::Add,
        Op::Sub => OpImage::Sub,
        Op::Mul => OpImage::Mul,
        Op::Div => OpImage::Div,
        Op::Lt => OpImage::Lt,
        Op::Le => OpImage::Le,
        Op::Gt => OpImage::Gt,
        Op::Ge => OpImage::Ge,
        Op::NumEq => OpImage::NumEq,
        Op::Eq => OpImage::Eq,
        Op::Inc => OpImage::Inc,
        Op::Dec => OpImage::Dec,
        Op::Not => OpImage::Not,
        Op::Int(x) => OpImage::Int(x),
        Op::Const(x) => OpImage::Const(x),
        Op::Local(x) => OpImage::Local(x),
        Op::MoveLocal(x) => OpImage::MoveLocal(x),
        Op::SetLocal(x) => OpImage::SetLocal(x),
        Op::Capture(x) => OpImage::Capture(x),
        Op::Global(x) => OpImage::Global(x),
        Op::Def(x) => OpImage::Def(x),
        Op::MarkMacro(x) => OpImage::MarkMacro(x),
        Op::Jump(x) => OpImage::Jump(x),
        Op::JumpIfFalse(x) => OpImage::JumpIfFalse(x),
        Op::JumpUnlessLt(x) => OpImage::JumpUnlessLt(x),
        Op::JumpUnlessLe(x) => OpImage::JumpUnlessLe(x),
        Op::JumpUnlessGt(x) => OpImage::JumpUnlessGt(x),
        Op::JumpUnlessGe(x) => OpImage::JumpUnlessGe(x),
        Op::JumpUnlessNumEq(x) => OpImage::JumpUnlessNumEq(x),
        Op::JumpUnlessEq(x) => OpImage::JumpUnlessEq(x),
        Op::Call(x) => OpImage::Call(x),
        Op::TailCall(x) => OpImage::TailCall(x),
        Op::CallSelf(x) => OpImage::CallSelf(x),
        Op::TailCallSelf(x) => OpImage::TailCallSelf(x),
        Op::Apply(x) => OpImage::Apply(x),
        Op::Closure(x) => OpImage::Closure(x),
        Op::PushHandler(x) => OpImage::PushHandler(x),
        Op::MakeList(x) => OpImage::MakeList(x),
        Op::MakeVector(x) => OpImage::MakeVector(x),
        Op::MakeMap(x) => OpImage::MakeMap(x),
        Op::MakeSet(x) => OpImage::MakeSet(x),
        Op::ItemAt(x) => OpImage::ItemAt(x),
        Op::ItemsFrom(x) => OpImage::ItemsFrom(x),
        Op::AddInt(x) => OpImage::AddInt(x),
        Op::SubInt(x) => OpImage::SubInt(x),
        Op::LtInt(x) => OpImage::LtInt(x),
        Op::LeInt(x) => OpImage::LeInt(x),
        Op::GtInt(x) => OpImage::GtInt(x),
        Op::GeInt(x) => OpImage::GeInt(x),
        Op::NumEqInt(x) => OpImage::NumEqInt(x),
        Op::EqInt(x) => OpImage::EqInt(x),
        Op::JumpUnlessLtInt { k, target } => OpImage::JumpUnlessLtInt(k, target),
        Op::JumpUnlessLeInt { k, target } => OpImage::JumpUnlessLeInt(k, target),
        Op::JumpUnlessGtInt { k, target } => OpImage::JumpUnlessGtInt(k, target),
        Op::JumpUnlessGeInt { k, target } => OpImage::JumpUnlessGeInt(k, target),
        Op::JumpUnlessNumEqInt { k, target } => OpImage::JumpUnlessNumEqInt(k, target),
        Op::JumpUnlessEqInt { k, target } => OpImage::JumpUnlessEqInt(k, target),
        Op::Recur {
            first,
            count,
            target,
        } => OpImage::Recur(first, count, target),
        Op::JumpUnlessLocals { cmp, a, b, target } => {
            OpImage::JumpUnlessLocals(cmp_byte(cmp), a, b, target)
        }
        Op::TestSeq { len, at_least } => OpImage::TestSeq(len, at_least),
        Op::JumpUnlessSeq {
            slot,
            len,
            at_least,
            target,
        } => OpImage::JumpUnlessSeq(slot, len, at_least, target),
        Op::LocalItem { slot, index } => OpImage::LocalItem(slot, index),
        Op::Receive {
            restart,
            timeout_slot,
        } => OpImage::Receive(restart, timeout_slot),
    }
}

pub(super) fn op_from_image(image: OpImage) -> Result<Op, String> {
    Ok(match image {
        OpImage::Int(x) => Op::Int(x),
        OpImage::Const(x) => Op::Const(x),
        OpImage::Local(x) => Op::Local(x),
        OpImage::MoveLocal(x) => Op::MoveLocal(x),
        OpImage::SetLocal(x) => Op::SetLocal(x),
        OpImage::Capture(x) => Op::Capture(x),
        OpImage::Global(x) => Op::Global(x),
        OpImage::Def(x) => Op::Def(x),
        OpImage::MarkMacro(x) => Op::MarkMacro(x),
        OpImage::Jump(x) => Op::Jump(x),
        OpImage::JumpIfFalse(x) => Op::JumpIfFalse(x),
        OpImage::JumpUnlessLt(x) => Op::JumpUnlessLt(x),
        OpImage::JumpUnlessLe(x) => Op::JumpUnlessLe(x),
        OpImage::JumpUnlessGt(x) => Op::JumpUnlessGt(x),
        OpImage::JumpUnlessGe(x) => Op::JumpUnlessGe(x),
        OpImage::JumpUnlessNumEq(x) => Op::JumpUnlessNumEq(x),
        OpImage::JumpUnlessEq(x) => Op::JumpUnlessEq(x),
        OpImage::Call(x) => Op::Call(x),
        OpImage::TailCall(x) => Op::TailCall(x),
        OpImage::CallSelf(x) => Op::CallSelf(x),
        OpImage::TailCallSelf(x) => Op::TailCallSelf(x),
        OpImage::Apply(x) => Op::Apply(x),
        OpImage::Closure(x) => Op::Closure(x),
        OpImage::PushHandler(x) => Op::PushHandler(x),
        OpImage::MakeList(x) => Op::MakeList(x),
        OpImage::MakeVector(x) => Op::MakeVector(x),
        OpImage::MakeMap(x) => Op::MakeMap(x),
        OpImage::MakeSet(x) => Op::MakeSet(x),
        OpImage::ItemAt(x) => Op::ItemAt(x),
        OpImage::ItemsFrom(x) => Op::ItemsFrom(x),
        OpImage::AddInt(x) => Op::AddInt(x),
        OpImage::SubInt(x) => Op::SubInt(x),
        OpImage::LtInt(x) => Op::LtInt(x),
        OpImage::LeInt(x) => Op::LeInt(x),
        OpImage::GtInt(x) => Op::GtInt(x),
        OpImage::GeInt(x) => Op::GeInt(x),
        OpImage::NumEqInt(x) => Op::NumEqInt(x),
        OpImage::EqInt(x) => Op::EqInt(x),
        OpImage::Nil => Op::Nil,
        OpImage::True => Op::True,
        OpImage::False => Op::False,
        OpImage::SelfFn => Op::SelfFn,
        OpImage::Pop => Op::Pop,
        OpImage::Nip => Op::Nip,
        OpImage::Return => Op::Return,
        OpImage::PopHandler => Op::PopHandler,
        OpImage::Throw => Op::Throw,
        OpImage::Rethrow => Op::Rethrow,
        OpImage::TestMap => Op::TestMap,
        OpImage::HasKey => Op::HasKey,
        OpImage::GetKey => Op::GetKey,
        OpImage::NoMatch => Op::NoMatch,
        OpImage::ReceiveAccept => Op::ReceiveAccept,
        OpImage::Send => Op::Send,
        OpImage::Add => Op::Add,
        OpImage::Sub => Op::Sub,
        OpImage::Mul => Op::Mul,
        OpImage::Div => Op::Div,
        OpImage::Lt => Op::Lt,
        OpImage::Le => Op::Le,
        OpImage::Gt => Op::Gt,
        OpImage::Ge => Op::Ge,
        OpImage::NumEq => Op::NumEq,
        OpImage::Eq => Op::Eq,
        OpImage::Inc => Op::Inc,
        OpImage::Dec => Op::Dec,
        OpImage::Not => Op::Not,
        OpImage::JumpUnlessLtInt(k, target) => Op::JumpUnlessLtInt { k, target },
        OpImage::JumpUnlessLeInt(k, target) => Op::JumpUnlessLeInt { k, target },
        OpImage::JumpUnlessGtInt(k, target) => Op::JumpUnlessGtInt { k, target },
        OpImage::JumpUnlessGeInt(k, target) => Op::JumpUnlessGeInt { k, target },
        OpImage::JumpUnlessNumEqInt(k, target) => Op::JumpUnlessNumEqInt { k, target },
        OpImage::JumpUnlessEqInt(k, target) => Op::JumpUnlessEqInt { k, target },
        OpImage::Recur(first, count, target) => Op::Recur {
            first,
            count,
            target,
        },
        OpImage::JumpUnlessLocals(cmp, a, b, target) => Op::JumpUnlessLocals {
            cmp: byte_cmp(cmp)?,
            a,
            b,
            target,
        },
        OpImage::TestSeq(len, at_least) => Op::TestSeq { len, at_least },
        OpImage::JumpUnlessSeq(slot, len, at_least, target) => Op::JumpUnlessSeq {
            slot,
            len,
            at_least,
            target,
        },
        OpImage::LocalItem(slot, index) => Op::LocalItem { slot, index },
        OpImage::Receive(restart, timeout_slot) => Op::Receive {
            restart,
            timeout_slot,
        },
    })
}

fn cmp_byte(cmp: Cmp) -> u8 {
    match cmp {
        Cmp::Lt => 0,
        Cmp::Le => 1,
        Cmp::Gt => 2,
        Cmp::Ge => 3,
        Cmp::NumEq => 4,
        Cmp::Eq => 5,
    }
}

fn byte_cmp(byte: u8) -> Result<Cmp, String> {
    Ok(match byte {
        0 => Cmp::Lt,
        1 => Cmp::Le,
        2 => Cmp::Gt,
        3 => Cmp::Ge,
        4 => Cmp::NumEq,
        5 => Cmp::Eq,
        other => return Err(format!("comparison {other} is not one of this version's")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction comes back as itself.
    #[test]
    fn instructions_round_trip() {
        let ops = [
            Op::Nil,
            Op::Int(-7),
            Op::Recur {
                first: 1,
                count: 2,
                target: 3,
            },
            Op::JumpUnlessLocals {
                cmp: Cmp::Ge,
                a: 1,
                b: 2,
                target: 9,
            },
            Op::JumpUnlessEqInt { k: -3, target: 4 },
            Op::JumpUnlessSeq {
                slot: 1,
                len: 2,
                at_least: true,
                target: 8,
            },
            Op::LocalItem { slot: 3, index: 1 },
            Op::Receive {
                restart: true,
                timeout_slot: u16::MAX,
            },
            Op::TestSeq {
                len: 2,
                at_least: false,
            },
            Op::EqInt(5),
        ];
        for op in ops {
            assert_eq!(op_from_image(op_image(op)), Ok(op));
        }
    }
}
