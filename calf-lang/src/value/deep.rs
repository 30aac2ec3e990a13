//! Walks of values nested deeper than a thread's stack holds.
//!
//! Equality, hashing, ordering, printing and dropping follow a value's
//! nesting on the Rust stack: a vector holding a vector a million times
//! over is a million frames. Each walk steps into a collection through
//! [`deeper`], which moves the walk to a fresh stack segment on the heap
//! when the current one is nearly used up, so a walk goes as deep as the
//! heap allows instead of aborting the whole runtime. Values are built
//! without recursion (each level wraps one already built), so this is
//! where any depth can first meet a stack.

use std::cell::Cell;

/// Room left on the stack below which a walk moves to a new segment: more
/// than any one level of a walk uses between two calls of [`deeper`].
const RED_ZONE: usize = 64 * 1024;

/// The size of each new segment.
const SEGMENT: usize = 1024 * 1024;

thread_local! {
    /// The lowest address the current stack segment may reach before a
    /// walk moves on: `usize::MAX` when not known yet on this segment.
    static FLOOR: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Runs one level of a walk, on a new stack segment if this one is
/// nearly full. The usual case is one comparison of a local's address
/// with the segment's floor, kept per thread; `stacker` is asked (a call
/// to read the stack pointer, a lookup of the thread's limit) only when
/// the floor is not known yet or is near, since every drop of the last
/// reference to a collection comes through here.
#[inline(always)]
pub fn deeper<R>(walk: impl FnOnce() -> R) -> R {
    let here = 0u8;
    if std::ptr::addr_of!(here) as usize > FLOOR.get() {
        walk()
    } else {
        near_the_floor(walk)
    }
}

/// The floor is not known on this segment, or is near: learn it, and move
/// to a new segment when there is too little room left.
#[cold]
#[inline(never)]
fn near_the_floor<R>(walk: impl FnOnce() -> R) -> R {
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    if let Some(remaining) = stacker::remaining_stack() {
        if remaining >= RED_ZONE {
            FLOOR.set(sp - remaining + RED_ZONE);
            return walk();
        }
    }
    let outer = FLOOR.get();
    let result = stacker::grow(SEGMENT, || {
        // A new segment: its floor is learnt at its first step.
        FLOOR.set(usize::MAX);
        walk()
    });
    FLOOR.set(outer);
    result
}
