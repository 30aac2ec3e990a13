//! Realizing lazy seqs for natives, as Calf code run by the VM.
//!
//! A native that needs more of a lazy seq than is realized answers an
//! error of kind `calf/needs-realizing` (`value/lazy.rs`) without touching
//! its arguments. The VM then steps its frame back to the instruction that
//! called the native and enters [`realize_code`], a body of its own that
//! calls the seq's thunks one after the other (each an ordinary call of a
//! Calf function, so the budget, preemption and snapshots apply in the
//! middle of it) and returns the operand it was handed, leaving the stack
//! as the instruction found it. The instruction then runs again, and the
//! native finds what it needs.

use std::sync::OnceLock;

use super::Vm;
use crate::bytecode::{Code, Op, Unchecked};
use crate::value::lazy::WHOLE_LIMIT;
use crate::value::{Native, Value};

/// The parameters of [`realize_code`], in their slots.
const SEQ: u16 = 0;
const STEPS: u16 = 1;
const WHOLE: u16 = 2;
const KEEP: u16 = 3;
/// Its other locals.
const JOB: u16 = 4;
const RESULT: u16 = 5;

/// The body that realizes `steps` cells of the lazy seq `seq` (to its end
/// when `whole`, stopping with an error past [`WHOLE_LIMIT`]) and returns
/// `keep`:
///
/// ```text
/// loop:  job = (-realize-next seq steps whole)   ; [cell walked] or nil
///        if not job: return keep
///        seq = job[0]; steps = steps - job[1]
///        result = ((-lazy-thunk seq))             ; the Calf thunk
///        (-lazy-deliver seq result)
///        jump loop                                ; a reduction
/// ```
pub(crate) fn realize_code() -> &'static Code {
    static CODE: OnceLock<Code> = OnceLock::new();
    CODE.get_or_init(|| {
        let native = |name: &str| -> Value {
            Value::Native(
                crate::natives::all()
                    .find(|n: &&'static Native| n.name == name)
                    .unwrap_or_else(|| panic!("the native {name} the VM realizes with")),
            )
        };
        let (next, thunk, deliver) = (0, 1, 2);
        let mut ops = vec![
            Op::Const(next),
            Op::Local(SEQ),
            Op::Local(STEPS),
            Op::Local(WHOLE),
            Op::Call(3),
            Op::SetLocal(JOB),
            Op::Local(JOB),
            Op::JumpIfFalse(u32::MAX), // patched below: to `done`
            Op::Local(JOB),
            Op::ItemAt(0),
            Op::SetLocal(SEQ),
            Op::Local(STEPS),
            Op::Local(JOB),
            Op::ItemAt(1),
            Op::Sub,
            Op::SetLocal(STEPS),
            Op::Const(thunk),
            Op::Local(SEQ),
            Op::Call(1),
            Op::Call(0),
            Op::SetLocal(RESULT),
            Op::Const(deliver),
            Op::Local(SEQ),
            Op::MoveLocal(RESULT),
            Op::Call(2),
            Op::Pop,
            Op::Jump(0),
        ];
        let done = ops.len() as u32;
        ops[7] = Op::JumpIfFalse(done);
        ops.extend([Op::MoveLocal(KEEP), Op::Return]);
        Unchecked {
            name: Some(crate::value::Sym::new("realize-lazy-seq")),
            params: 4,
            variadic: false,
            locals: 6,
            ops: ops.into_boxed_slice(),
            consts: Box::new([
                native("-realize-next"),
                native("-lazy-thunk"),
                native("-lazy-deliver"),
            ]),
            vars: Box::new([]),
            protos: Box::new([]),
            spans: Box::new([]),
        }
        .check(0)
    })
}

impl Vm {
    /// `error` when it is not a native's request to realize a lazy seq;
    /// else `None`, the VM set to realize it and run the instruction at
    /// `at` again. Out of the dispatch loop: only errors come here.
    #[cold]
    #[inline(never)]
    pub(super) fn realize_or(
        &mut self,
        error: crate::error::RuntimeError,
        at: usize,
    ) -> Option<crate::error::RuntimeError> {
        match crate::value::lazy::realizing_request(&error) {
            Some(request) => {
                self.realize_then_retry(at, request);
                None
            }
            None => Some(error),
        }
    }

    /// Has the current frame run the instruction at `at` again once the
    /// lazy seq of `request` is realized as far as it asks. The operands
    /// are as that instruction found them (the vector holds them).
    pub(super) fn realize_then_retry(&mut self, at: usize, request: crate::value::lazy::Request) {
        let crate::value::lazy::Request { seq, steps, whole } = request;
        if let Some(frame) = self.frames.last_mut() {
            frame.pc = at as u32;
        }
        let code = realize_code();
        // The top operand stands in for the function slot of the new
        // frame, and comes back as its result: the stack is as it was.
        let keep = self.stack.last().cloned().unwrap_or(Value::Nil);
        let base = self.stack.len();
        let steps = if whole { WHOLE_LIMIT } else { steps };
        self.stack
            .extend([seq, Value::int(steps), Value::Bool(whole), keep]);
        self.enter(code, base, None);
    }
}
