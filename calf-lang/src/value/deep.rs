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

/// Room left on the stack below which a walk moves to a new segment: more
/// than any one level of a walk uses between two calls of [`deeper`].
const RED_ZONE: usize = 64 * 1024;

/// The size of each new segment.
const SEGMENT: usize = 1024 * 1024;

/// Runs one level of a walk, on a new stack segment if this one is
/// nearly full. Costs a comparison of the stack pointer otherwise.
#[inline(always)]
pub fn deeper<R>(walk: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, walk)
}
