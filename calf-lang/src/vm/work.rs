//! The work natives do beyond their call, owed to the reduction budget of
//! the process that called them.
//!
//! A reduction (a call, a round of a loop) is what a process's budget
//! counts. A native that walks or builds a collection does work in
//! proportion to its size in one call: `(count (range 1000))` costs as
//! much as a loop of a few hundred rounds, and a loop of such calls would
//! otherwise run a whole budget of them before it yields. Natives never see
//! the VM (they are plain functions of their arguments), so they note what
//! they owe here, in the thread's account, and the VM takes it off its
//! budget when the call returns.

use std::cell::Cell;

/// Items a native walks or builds for the cost of one reduction. Measured
/// on a loop: a round (a reduction) took about 30 ns, an item built by
/// `range` about 14 ns; walking an item costs less, hashing one more.
pub const ITEMS_PER_REDUCTION: usize = 2;

thread_local! {
    /// Reductions owed by the natives called since the VM last looked.
    static OWED: Cell<u32> = const { Cell::new(0) };
}

/// Owes the reductions of walking or building `items` items.
#[inline]
pub fn charge_items(items: usize) {
    if items >= ITEMS_PER_REDUCTION {
        charge(items / ITEMS_PER_REDUCTION);
    }
}

/// Owes `reductions` reductions.
pub fn charge(reductions: usize) {
    let reductions = u32::try_from(reductions).unwrap_or(u32::MAX);
    OWED.set(OWED.get().saturating_add(reductions));
}

/// Takes what is owed, leaving nothing. Called after every native call:
/// one load of a thread-local, and a store only when something is owed.
#[inline(always)]
pub(crate) fn take() -> u32 {
    let owed = OWED.get();
    if owed != 0 {
        OWED.set(0);
    }
    owed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_owed_in_reductions_and_taken_once() {
        take();
        charge_items(ITEMS_PER_REDUCTION - 1);
        assert_eq!(take(), 0, "a few items cost no more than the call");
        charge_items(1000);
        charge(3);
        assert_eq!(take(), (1000 / ITEMS_PER_REDUCTION) as u32 + 3);
        assert_eq!(take(), 0);
        charge(usize::MAX);
        charge(1);
        assert_eq!(take(), u32::MAX, "what is owed saturates");
    }
}
