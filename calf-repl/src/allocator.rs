//! The `calf` binary's global allocator: mimalloc, called directly.
//!
//! Owns only how blocks are asked of mimalloc; it must not hold state.

/// mimalloc, asked for a plain block whenever that is aligned enough, as
/// Rust's own `System` asks `malloc`. Asked for an aligned block (as the
/// `mimalloc` crate always asks), mimalloc takes its fast path only while
/// the page has a free block at hand; otherwise its generic aligned path
/// over-allocates from a larger size class, which a message made and freed
/// on every hop of a ring hit at every second allocation.
pub struct Mimalloc;

/// The alignment of every mimalloc block of at least this size; smaller
/// blocks are aligned to their size's power of two, at least 8 bytes.
const PLAIN_ALIGN: usize = 16;

/// Whether a plain mimalloc block of `size` bytes is aligned to `align`.
fn plain_fits(size: usize, align: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: each function hands mimalloc's results through, and a block
// from `mi_malloc`/`mi_zalloc`/`mi_realloc` is used only when it is aligned
// as asked (`plain_fits`); every block is freed with `mi_free`.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_malloc, mi_malloc_aligned};
        // SAFETY: as for the impl.
        unsafe {
            if plain_fits(layout.size(), layout.align()) {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
        // SAFETY: as for the impl.
        unsafe {
            if plain_fits(layout.size(), layout.align()) {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: as for the impl.
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        use libmimalloc_sys::{mi_realloc, mi_realloc_aligned};
        // SAFETY: as for the impl.
        unsafe {
            if plain_fits(size, layout.align()) {
                mi_realloc(ptr.cast(), size).cast()
            } else {
                mi_realloc_aligned(ptr.cast(), size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout};

    #[test]
    fn every_block_is_aligned_as_asked_and_keeps_its_bytes() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 15, 16, 24, 40, 48, 80, 100, 1000, 70_000] {
                let layout = Layout::from_size_align(size, align).expect("a layout");
                // SAFETY: the layout's size is not zero; each block is
                // written within its size and freed once.
                unsafe {
                    let zeroed = Mimalloc.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0, "zeroed {size} by {align}");
                    assert!((0..size).all(|i| *zeroed.add(i) == 0));
                    Mimalloc.dealloc(zeroed, layout);

                    let block = Mimalloc.alloc(layout);
                    assert_eq!(block as usize % align, 0, "{size} bytes aligned to {align}");
                    block.write_bytes(0xA5, size);
                    let grown = Mimalloc.realloc(block, layout, size * 3);
                    assert_eq!(grown as usize % align, 0, "grown {size} by {align}");
                    assert!((0..size).all(|i| *grown.add(i) == 0xA5));
                    let layout = Layout::from_size_align(size * 3, align).expect("a layout");
                    Mimalloc.dealloc(grown, layout);
                }
            }
        }
    }
}
