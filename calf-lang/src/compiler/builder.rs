//! Accumulates one body's instructions, constants, vars and spans.

use std::sync::Arc;

use crate::bytecode::{Capture, Cmp, Code, Op, Unchecked};
use crate::namespace::Var;
use crate::span::Span;
use crate::value::{FnProto, Sym, Value};

#[derive(Default)]
pub(super) struct CodeBuilder {
    ops: Vec<Op>,
    consts: Vec<Value>,
    vars: Vec<Arc<Var>>,
    protos: Vec<Arc<FnProto>>,
    spans: Vec<(u32, Span)>,
    span: Option<Span>,
    /// The last address handed out by `here`: a jump may land there.
    label: Option<usize>,
}

impl CodeBuilder {
    /// Appends `op` and returns its address. A `JumpIfFalse` right after a
    /// comparison joins it (unless a jump may land between the two).
    pub fn emit(&mut self, op: Op) -> usize {
        let pc = self.ops.len();
        if let (Op::JumpIfFalse(target), Some(&last)) = (op, self.ops.last()) {
            if self.label != Some(pc) {
                if let Some(fused) = branch_unless(last, target) {
                    self.ops[pc - 1] = fused;
                    return pc - 1;
                }
            }
        }
        if let Some(span) = self.span {
            if self.spans.last().is_none_or(|(_, s)| *s != span) {
                self.spans.push((pc as u32, span));
            }
        }
        self.ops.push(op);
        pc
    }

    /// The address the next instruction will have.
    pub fn here(&mut self) -> usize {
        self.label = Some(self.ops.len());
        self.ops.len()
    }

    /// Points the jump at `at` to `target`.
    pub fn patch(&mut self, at: usize, target: usize) {
        let target = target as u32;
        self.ops[at] = match self.ops[at] {
            Op::Jump(_) => Op::Jump(target),
            Op::PushHandler(_) => Op::PushHandler(target),
            other => other.with_branch_target(target),
        };
    }

    /// Sets the span later instructions are attributed to; returns the old one.
    pub fn set_span(&mut self, span: Option<Span>) -> Option<Span> {
        match span {
            Some(_) => std::mem::replace(&mut self.span, span),
            None => self.span,
        }
    }

    pub fn restore_span(&mut self, span: Option<Span>) {
        self.span = span;
    }

    pub fn span(&self) -> Option<Span> {
        self.span
    }

    pub fn constant(&mut self, value: Value) -> u32 {
        let simple = matches!(
            value,
            Value::Keyword(_) | Value::Symbol(_) | Value::Str(_) | Value::Int(_)
        );
        if simple {
            if let Some(i) = self
                .consts
                .iter()
                .position(|c| *c == value && c.type_name() == value.type_name())
            {
                return i as u32;
            }
        }
        self.consts.push(value);
        self.consts.len() as u32 - 1
    }

    pub fn var(&mut self, var: Arc<Var>) -> u32 {
        if let Some(i) = self.vars.iter().position(|v| Arc::ptr_eq(v, &var)) {
            return i as u32;
        }
        self.vars.push(var);
        self.vars.len() as u32 - 1
    }

    pub fn proto(&mut self, proto: Arc<FnProto>) -> u32 {
        self.protos.push(proto);
        self.protos.len() as u32 - 1
    }

    pub fn finish(mut self, name: Option<Sym>, params: u16, variadic: bool, locals: u16) -> Code {
        return_without_jumping(&mut self.ops);
        super::liveness::move_last_uses(&mut self.ops, &self.protos, locals);
        // After the liveness pass, which does not know the joined reads.
        compare_locals(&mut self.ops);
        Unchecked {
            name,
            params,
            variadic,
            locals,
            ops: self.ops.into_boxed_slice(),
            consts: self.consts.into_boxed_slice(),
            vars: self.vars.into_boxed_slice(),
            protos: self.protos.into_boxed_slice(),
            spans: self.spans.into_boxed_slice(),
        }
        .check(0)
    }
}

/// A jump to a `Return` becomes the `Return`: the end of an `if` branch
/// in tail position, one instruction less.
fn return_without_jumping(ops: &mut [Op]) {
    for i in 0..ops.len() {
        if let Op::Jump(target) = ops[i] {
            if ops.get(target as usize) == Some(&Op::Return) {
                ops[i] = Op::Return;
            }
        }
    }
}

/// `Local(a) Local(b) JumpUnless<cmp>(t)` as one `JumpUnlessLocals`, which
/// goes on past the two reads (left in place, so that no address moves);
/// not where a jump lands on one of them.
fn compare_locals(ops: &mut [Op]) {
    let mut landing = vec![false; ops.len() + 1];
    for op in ops.iter() {
        if let Some(t) = op.jump_target() {
            if let Some(l) = landing.get_mut(t as usize) {
                *l = true;
            }
        }
    }
    for pc in 0..ops.len().saturating_sub(2) {
        let (Op::Local(a), Op::Local(b)) = (ops[pc], ops[pc + 1]) else {
            continue;
        };
        let (cmp, target) = match ops[pc + 2] {
            Op::JumpUnlessLt(t) => (Cmp::Lt, t),
            Op::JumpUnlessLe(t) => (Cmp::Le, t),
            Op::JumpUnlessGt(t) => (Cmp::Gt, t),
            Op::JumpUnlessGe(t) => (Cmp::Ge, t),
            Op::JumpUnlessNumEq(t) => (Cmp::NumEq, t),
            Op::JumpUnlessEq(t) => (Cmp::Eq, t),
            _ => continue,
        };
        let (Ok(a), Ok(b)) = (u8::try_from(a), u8::try_from(b)) else {
            continue;
        };
        if landing[pc + 1] || landing[pc + 2] {
            continue;
        }
        ops[pc] = Op::JumpUnlessLocals { cmp, a, b, target };
    }
}

/// The comparison `op` and a `JumpIfFalse(target)` as one instruction.
fn branch_unless(op: Op, target: u32) -> Option<Op> {
    let small = |k: i32| i16::try_from(k).ok();
    Some(match op {
        Op::LtInt(k) => Op::JumpUnlessLtInt {
            k: small(k)?,
            target,
        },
        Op::LeInt(k) => Op::JumpUnlessLeInt {
            k: small(k)?,
            target,
        },
        Op::GtInt(k) => Op::JumpUnlessGtInt {
            k: small(k)?,
            target,
        },
        Op::GeInt(k) => Op::JumpUnlessGeInt {
            k: small(k)?,
            target,
        },
        Op::NumEqInt(k) => Op::JumpUnlessNumEqInt {
            k: small(k)?,
            target,
        },
        Op::EqInt(k) => Op::JumpUnlessEqInt {
            k: small(k)?,
            target,
        },
        Op::Lt => Op::JumpUnlessLt(target),
        Op::Le => Op::JumpUnlessLe(target),
        Op::Gt => Op::JumpUnlessGt(target),
        Op::Ge => Op::JumpUnlessGe(target),
        Op::NumEq => Op::JumpUnlessNumEq(target),
        Op::Eq => Op::JumpUnlessEq(target),
        _ => return None,
    })
}

/// Where a name is found from inside a body.
#[derive(Clone, Copy, Debug)]
pub(super) enum Access {
    Local(u16),
    Capture(u16),
    SelfFn,
}

impl Access {
    pub fn as_capture(self) -> Capture {
        match self {
            Access::Local(s) => Capture::Local(s),
            Access::Capture(i) => Capture::Capture(i),
            Access::SelfFn => Capture::SelfFn,
        }
    }
}
