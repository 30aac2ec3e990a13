//! The last read of a local becomes a move.
//!
//! `(recur (conj v x))` reads `v` once more and then overwrites it. If the
//! read copied the value, the vector would have two owners while `conj`
//! runs and `conj` would have to copy its tail to keep the old one intact.
//! Nobody can see the old value any more, so the read may take it instead
//! (`MoveLocal` leaves `nil` in the slot), and `conj` finds itself the only
//! owner and updates in place. Values stay immutable for every observer.
//!
//! A read is the last one when no path from it reaches another read of the
//! slot before the slot is written again: a backward liveness analysis over
//! the body's control-flow graph. A `try` body can jump to its handler from
//! any instruction, so those edges are part of the graph.

use crate::bytecode::{Capture, Op};
use crate::value::FnProto;
use std::sync::Arc;

/// Rewrites every `Local` read that is the slot's last use into a
/// `MoveLocal`.
pub(super) fn move_last_uses(ops: &mut [Op], protos: &[Arc<FnProto>], locals: u16) {
    if locals == 0 || !ops.iter().any(|op| matches!(op, Op::Local(_))) {
        return;
    }
    let graph = Graph::of(ops);
    let words = (locals as usize).div_ceil(64);
    let mut live_in = vec![0u64; ops.len() * words];
    let mut live = vec![0u64; words];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..ops.len()).rev() {
            live.fill(0);
            graph.for_each_next(pc, |next| {
                let from = &live_in[next * words..(next + 1) * words];
                for (bits, more) in live.iter_mut().zip(from) {
                    *bits |= more;
                }
            });
            match ops[pc] {
                Op::SetLocal(slot) => clear(&mut live, slot),
                Op::Recur { first, count, .. } => {
                    for slot in first..first + count as u16 {
                        clear(&mut live, slot);
                    }
                }
                _ => {}
            }
            for_each_read(ops[pc], protos, |slot| set(&mut live, slot));
            let at = &mut live_in[pc * words..(pc + 1) * words];
            if at != live.as_slice() {
                at.copy_from_slice(&live);
                changed = true;
            }
        }
    }
    let last_reads: Vec<(usize, u16)> = (0..ops.len())
        .filter_map(|pc| match ops[pc] {
            Op::Local(slot) => {
                let mut read_later = false;
                graph.for_each_next(pc, |next| {
                    read_later |= is_set(&live_in[next * words..(next + 1) * words], slot);
                });
                (!read_later).then_some((pc, slot))
            }
            _ => None,
        })
        .collect();
    for (pc, slot) in last_reads {
        ops[pc] = Op::MoveLocal(slot);
    }
}

/// Where control can go after each instruction.
struct Graph<'a> {
    ops: &'a [Op],
    /// `(first pc, last pc, handler pc)` of every `try` body: anything in
    /// one may throw to its handler.
    handlers: Vec<(usize, usize, usize)>,
}

impl<'a> Graph<'a> {
    fn of(ops: &'a [Op]) -> Graph<'a> {
        let mut handlers = Vec::new();
        let mut open: Vec<(usize, usize)> = Vec::new();
        for (pc, op) in ops.iter().enumerate() {
            match *op {
                Op::PushHandler(catch) => open.push((pc, catch as usize)),
                Op::PopHandler => {
                    if let Some((first, catch)) = open.pop() {
                        handlers.push((first, pc, catch));
                    }
                }
                _ => {}
            }
        }
        // A body left open (it never is) reaches to the end: stay safe.
        for (first, catch) in open {
            handlers.push((first, ops.len(), catch));
        }
        Graph { ops, handlers }
    }

    fn for_each_next(&self, pc: usize, mut visit: impl FnMut(usize)) {
        let len = self.ops.len();
        let mut go = |next: usize| {
            if next < len {
                visit(next)
            }
        };
        match self.ops[pc] {
            Op::Jump(target) | Op::Recur { target, .. } => go(target as usize),
            Op::Return | Op::Throw | Op::Rethrow | Op::NoMatch => {}
            op => {
                go(pc + 1);
                if let Some(target) = op.branch_target() {
                    go(target as usize);
                }
            }
        }
        for &(first, last, catch) in &self.handlers {
            if (first..=last).contains(&pc) {
                go(catch);
            }
        }
    }
}

fn for_each_read(op: Op, protos: &[Arc<FnProto>], mut read: impl FnMut(u16)) {
    match op {
        Op::Local(slot) | Op::MoveLocal(slot) | Op::LocalItem { slot, .. } => read(slot),
        Op::JumpUnlessSeq { slot, .. } => read(slot as u16),
        Op::Receive { timeout_slot, .. } if timeout_slot != u16::MAX => read(timeout_slot),
        Op::Closure(i) => {
            for capture in protos[i as usize].captures.iter() {
                if let Capture::Local(slot) = *capture {
                    read(slot);
                }
            }
        }
        _ => {}
    }
}

fn set(bits: &mut [u64], slot: u16) {
    bits[slot as usize / 64] |= 1 << (slot % 64);
}

fn clear(bits: &mut [u64], slot: u16) {
    bits[slot as usize / 64] &= !(1 << (slot % 64));
}

fn is_set(bits: &[u64], slot: u16) -> bool {
    bits[slot as usize / 64] & (1 << (slot % 64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(mut ops: Vec<Op>, locals: u16) -> Vec<Op> {
        move_last_uses(&mut ops, &[], locals);
        ops
    }

    #[test]
    fn a_read_followed_by_a_write_is_a_move() {
        // loop [v []] (recur (conj v 1))
        let ops = moved(
            vec![
                Op::Local(0),
                Op::Int(1),
                Op::Add,
                Op::SetLocal(0),
                Op::Jump(0),
            ],
            1,
        );
        assert_eq!(ops[0], Op::MoveLocal(0));
    }

    #[test]
    fn recur_writes_its_slots() {
        // loop [i 0 v []] (recur (inc i) (conj v i)): both last reads move,
        // the first read of i stays a copy.
        let ops = moved(
            vec![
                Op::Local(0), // 0
                Op::Inc,      // 1
                Op::Local(1), // 2
                Op::Local(0), // 3
                Op::Add,      // 4
                Op::Recur {
                    first: 0,
                    count: 2,
                    target: 0,
                }, // 5
            ],
            2,
        );
        assert_eq!(ops[0], Op::Local(0));
        assert_eq!(ops[2], Op::MoveLocal(1));
        assert_eq!(ops[3], Op::MoveLocal(0));
    }

    #[test]
    fn a_read_with_a_later_read_stays_a_copy() {
        let ops = moved(vec![Op::Local(0), Op::Local(0), Op::Add, Op::Return], 1);
        assert_eq!(ops[0], Op::Local(0));
        assert_eq!(ops[1], Op::MoveLocal(0));
    }

    #[test]
    fn a_read_on_one_branch_keeps_the_slot_alive_before_it() {
        // (if c x (do x x)) shape: the first read of slot 0 is followed on
        // the false branch by two more.
        let ops = moved(
            vec![
                Op::Local(0),       // 0
                Op::Local(1),       // 1
                Op::JumpIfFalse(5), // 2
                Op::Local(0),       // 3
                Op::Return,         // 4
                Op::Local(0),       // 5
                Op::Return,         // 6
            ],
            2,
        );
        assert_eq!(ops[0], Op::Local(0));
        assert_eq!(ops[1], Op::MoveLocal(1));
        assert_eq!(ops[3], Op::MoveLocal(0));
        assert_eq!(ops[5], Op::MoveLocal(0));
    }

    #[test]
    fn a_handler_can_still_read_what_the_try_body_read() {
        let ops = moved(
            vec![
                Op::PushHandler(5), // 0
                Op::Local(0),       // 1
                Op::Throw,          // 2
                Op::PopHandler,     // 3
                Op::Return,         // 4
                Op::Pop,            // 5: the catch
                Op::Local(0),       // 6
                Op::Return,         // 7
            ],
            1,
        );
        assert_eq!(ops[1], Op::Local(0));
        assert_eq!(ops[6], Op::MoveLocal(0));
    }

    #[test]
    fn a_loop_keeps_a_slot_read_again_next_round() {
        // loop [i 0] (if (= i 3) i (do (f i) (recur (inc i))))
        let ops = moved(
            vec![
                Op::Local(0),       // 0
                Op::Int(3),         // 1
                Op::Eq,             // 2
                Op::JumpIfFalse(5), // 3
                Op::Return,         // 4
                Op::Local(0),       // 5: read, then read again at 7
                Op::Pop,            // 6
                Op::Local(0),       // 7: last read before the write
                Op::Inc,            // 8
                Op::SetLocal(0),    // 9
                Op::Jump(0),        // 10
            ],
            1,
        );
        assert_eq!(ops[0], Op::Local(0));
        assert_eq!(ops[5], Op::Local(0));
        assert_eq!(ops[7], Op::MoveLocal(0));
    }
}
