//! A hostile length allocates nothing: what the reader takes is bounded by
//! the depth, whatever the lengths a body declares. (A test binary of its
//! own, since it counts every allocation of the process.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use calf_protocol::msgpack::check;

/// The largest single allocation since the count was reset.
static LARGEST: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: every call is passed to the system allocator unchanged; the
// count is a relaxed atomic maximum that allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_hostile_length_allocates_nothing() {
    let hostile: [&[u8]; 6] = [
        &[0xdd, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0xdf, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'],
        &[0xc6, 0xff, 0xff, 0xff, 0xff, b'a'],
        &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x2a],
        &[0xd6, 0x03, 0xdd, 0xff, 0xff, 0xff],
    ];
    for body in hostile {
        LARGEST.store(0, Ordering::Relaxed);
        assert!(check(body).is_err(), "{body:02x?}");
        let largest = LARGEST.load(Ordering::Relaxed);
        assert!(largest < 4096, "{body:02x?}: {largest} bytes at once");
    }
}
