//! Calf's string: immutable UTF-8 text in 15 bytes.
//!
//! A [`Str`] is the payload of `Value::Str`, which `repr(u8)` puts right
//! after the tag byte, so it has alignment 1 and 15 bytes to itself. Text of
//! up to [`INLINE_CAPACITY`] (14) bytes is stored there, with its length in
//! the first byte: no allocation, and copying the value copies the text.
//! Longer text is one allocation (a reference count, the length, then the
//! bytes) whose pointer sits in the last 8 bytes, at offset 8 of the value.
//! `Arc<String>` took two allocations (the `Arc` and the buffer), about 70
//! bytes for a short string, and two pointer hops to read it.
//!
//! Which form a string takes depends only on its length, and unused inline
//! bytes are zero, so two inline strings are equal exactly when their 15
//! bytes are. A [`StrBuf`] builds text straight into that form (inline
//! while it fits, then the allocation that becomes the string's, so the
//! text is not copied again).

use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ptr::NonNull;
use std::sync::atomic::{self, AtomicUsize};

/// The longest text, in bytes, stored without an allocation.
pub const INLINE_CAPACITY: usize = 14;

/// The first byte of a string whose text is on the heap (inline strings
/// have their length there, at most [`INLINE_CAPACITY`]).
const HEAP: u8 = 0xFF;

/// The start of a heap string's allocation; its bytes follow.
#[repr(C)]
struct Header {
    count: AtomicUsize,
    len: usize,
}

const HEADER_SIZE: usize = std::mem::size_of::<Header>();

/// The layout of a heap allocation holding `capacity` bytes of text.
fn layout_for(capacity: usize) -> Layout {
    HEADER_SIZE
        .checked_add(capacity)
        .and_then(|size| Layout::from_size_align(size, std::mem::align_of::<Header>()).ok())
        .expect("string too long")
}

/// Allocates room for `capacity` bytes of text; the header is not written.
fn allocate(capacity: usize) -> NonNull<Header> {
    let layout = layout_for(capacity);
    // SAFETY: the layout is never zero-sized (it holds the header).
    let ptr = unsafe { alloc::alloc(layout) };
    NonNull::new(ptr.cast()).unwrap_or_else(|| alloc::handle_alloc_error(layout))
}

/// The text bytes of the allocation at `header`.
fn text_ptr(header: NonNull<Header>) -> *mut u8 {
    // SAFETY: the bytes follow the header inside the same allocation.
    unsafe { header.as_ptr().cast::<u8>().add(HEADER_SIZE) }
}

/// Immutable, shared UTF-8 text (see the module documentation).
#[repr(C)]
pub struct Str {
    /// The length of inline text, or `HEAP`.
    tag: u8,
    payload: Payload,
}

/// A union rather than a byte array, so that copying a string copies the
/// heap pointer as a pointer (keeping its provenance).
#[derive(Clone, Copy)]
#[repr(C)]
union Payload {
    /// Inline text, then zeros.
    inline: [u8; INLINE_CAPACITY],
    heap: HeapPointer,
}

/// Zeros, then the pointer: unaligned here, but at offset 8 of a `Value`.
#[derive(Clone, Copy)]
#[repr(C, packed)]
struct HeapPointer {
    zeros: [u8; INLINE_CAPACITY - 8],
    header: NonNull<Header>,
}

// SAFETY: the text is immutable once built, and the count of a heap string
// is atomic, as in `Arc<str>`.
unsafe impl Send for Str {}
// SAFETY: as above.
unsafe impl Sync for Str {}

impl Str {
    /// The empty string.
    pub const fn new() -> Str {
        Str {
            tag: 0,
            payload: Payload {
                inline: [0; INLINE_CAPACITY],
            },
        }
    }

    /// True when the text is stored inline, without an allocation: exactly
    /// when it has at most [`INLINE_CAPACITY`] bytes.
    #[inline(always)]
    pub fn is_inline(&self) -> bool {
        self.tag != HEAP
    }

    /// Text of at most [`INLINE_CAPACITY`] bytes, stored inline.
    #[inline]
    fn inline(text: &[u8]) -> Str {
        debug_assert!(text.len() <= INLINE_CAPACITY);
        let mut inline = [0; INLINE_CAPACITY];
        // SAFETY: the text fits in the array.
        unsafe { copy_text(text.as_ptr(), inline.as_mut_ptr(), text.len()) };
        Str {
            tag: text.len() as u8,
            payload: Payload { inline },
        }
    }

    /// Takes over an allocation whose header is written (count 1).
    fn from_header(header: NonNull<Header>) -> Str {
        Str {
            tag: HEAP,
            payload: Payload {
                heap: HeapPointer {
                    zeros: [0; INLINE_CAPACITY - 8],
                    header,
                },
            },
        }
    }

    /// The allocation of a heap string.
    #[inline(always)]
    fn header(&self) -> NonNull<Header> {
        debug_assert!(!self.is_inline());
        // SAFETY: a heap string's payload is a `HeapPointer`.
        unsafe { self.payload.heap.header }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        let bytes = if self.is_inline() {
            // SAFETY: an inline string's payload is its text and zeros, and
            // `tag` is its length, at most the array's.
            unsafe { self.payload.inline.get_unchecked(..self.tag as usize) }
        } else {
            let header = self.header();
            // SAFETY: the allocation lives while `self` holds its count, and
            // holds `len` bytes of text after the header.
            unsafe {
                let len = (*header.as_ptr()).len;
                std::slice::from_raw_parts(text_ptr(header), len)
            }
        };
        // SAFETY: every constructor stores whole UTF-8 text.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// How many strings share this one's allocation (none if inline).
    #[cfg(test)]
    pub(crate) fn share_count(&self) -> Option<usize> {
        // SAFETY: the allocation lives while `self` holds its count.
        (!self.is_inline()).then(|| unsafe {
            (*self.header().as_ptr())
                .count
                .load(atomic::Ordering::Relaxed)
        })
    }

    /// True when the two are one string, as `identical?` sees it: for
    /// text on the heap, one allocation; inline text has no identity but
    /// its bytes, as a number has none but its value. Compares the 15
    /// bytes as they are stored.
    #[inline(always)]
    pub fn identical(&self, other: &Str) -> bool {
        self.words() == other.words()
    }

    /// The 15 bytes as two overlapping words, for comparing them whole.
    #[inline(always)]
    fn words(&self) -> (u64, u64) {
        let at: *const u8 = std::ptr::from_ref(self).cast();
        // SAFETY: both reads are inside the 15 bytes, all initialized in
        // either form; a pointer's bytes are read as its address.
        unsafe {
            (
                std::ptr::read_unaligned(at.cast::<u64>()),
                std::ptr::read_unaligned(at.add(7).cast::<u64>()),
            )
        }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::new()
    }
}

impl Str {
    /// Counts one more reference for a bitwise copy of this string that
    /// the caller is about to make (as `Value::clone` does, copying the
    /// whole value at once). Without that copy, the text leaks.
    #[inline(always)]
    pub(crate) fn count_copy(&self) {
        if !self.is_inline() {
            // SAFETY: the allocation lives while `self` holds its count.
            let count = unsafe { &(*self.header().as_ptr()).count };
            // Relaxed, as in `Arc::clone`: a new reference is made from an
            // existing one, which keeps the allocation alive meanwhile.
            if count.fetch_add(1, atomic::Ordering::Relaxed) > isize::MAX as usize {
                std::process::abort();
            }
        }
    }
}

impl Clone for Str {
    #[inline]
    fn clone(&self) -> Str {
        self.count_copy();
        Str {
            tag: self.tag,
            payload: self.payload,
        }
    }
}

impl Drop for Str {
    #[inline]
    fn drop(&mut self) {
        if self.is_inline() {
            return;
        }
        let header = self.header();
        // SAFETY: the allocation lives until the last count is released.
        let count = unsafe { &(*header.as_ptr()).count };
        // Release, then Acquire before freeing (in `free`), as in
        // `Arc::drop`: every use of the text through another reference
        // happens before the free.
        if count.fetch_sub(1, atomic::Ordering::Release) == 1 {
            // SAFETY: that was the last reference.
            unsafe { free(header) }
        }
    }
}

/// Frees a heap string's allocation, out of line as `Arc`'s `drop_slow`
/// is: code that drops values (the VM) stays small.
///
/// # Safety
/// No reference to the allocation remains.
#[inline(never)]
unsafe fn free(header: NonNull<Header>) {
    atomic::fence(atomic::Ordering::Acquire);
    // SAFETY: the allocation was made by `allocate` (or shrunk by
    // `StrBuf`) for exactly `len` bytes, and nothing refers to it.
    unsafe {
        let len = (*header.as_ptr()).len;
        alloc::dealloc(header.as_ptr().cast(), layout_for(len));
    }
}

impl std::ops::Deref for Str {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Str {
    fn from(text: &str) -> Str {
        if text.len() <= INLINE_CAPACITY {
            return Str::inline(text.as_bytes());
        }
        let header = allocate(text.len());
        // SAFETY: the allocation has room for the header and the text.
        unsafe {
            header.as_ptr().write(Header {
                count: AtomicUsize::new(1),
                len: text.len(),
            });
            std::ptr::copy_nonoverlapping(text.as_ptr(), text_ptr(header), text.len());
        }
        Str::from_header(header)
    }
}

impl From<&String> for Str {
    fn from(text: &String) -> Str {
        Str::from(text.as_str())
    }
}

impl From<String> for Str {
    /// Copies the text: its buffer has no room for the header. Text built
    /// to become a `Str` is better built in a [`StrBuf`].
    fn from(text: String) -> Str {
        Str::from(text.as_str())
    }
}

impl From<char> for Str {
    fn from(c: char) -> Str {
        Str::from(&*c.encode_utf8(&mut [0; 4]))
    }
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, other: &Str) -> bool {
        self.identical(other)
            || (!self.is_inline() && !other.is_inline() && heap_text_eq(self, other))
    }
}

impl Eq for Str {}

/// Whether two heap strings hold the same text; kept out of line, as most
/// comparisons are decided by [`Str::identical`].
#[inline(never)]
fn heap_text_eq(a: &Str, b: &Str) -> bool {
    a.as_str() == b.as_str()
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Str {
    fn cmp(&self, other: &Str) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Str {
    /// Hashes as the `&str` of its text does.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Where text can be appended: a `String`, or a [`StrBuf`] that becomes a
/// [`Str`] without copying. Printing writes through it.
pub trait Text: fmt::Write {
    fn push_str(&mut self, s: &str);
    fn push(&mut self, c: char);
    /// Makes room for `additional` more bytes.
    fn reserve(&mut self, additional: usize);
}

impl Text for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s)
    }

    #[inline]
    fn push(&mut self, c: char) {
        String::push(self, c)
    }

    #[inline]
    fn reserve(&mut self, additional: usize) {
        String::reserve(self, additional)
    }
}

/// Text being built into a [`Str`]: inline while it fits, then in an
/// allocation laid out as a heap `Str`'s, which [`StrBuf::finish`] hands
/// over (shrunk to fit) instead of copying the text.
pub struct StrBuf {
    len: usize,
    /// Room for text: [`INLINE_CAPACITY`] while inline.
    capacity: usize,
    /// The room to allocate when the text outgrows the inline bytes.
    wanted: usize,
    /// The allocation, once there is one; its header is written when the
    /// buffer is finished.
    heap: Option<NonNull<Header>>,
    /// The text while it fits, then zeros, as a `Str` keeps them.
    inline: [u8; INLINE_CAPACITY],
}

// SAFETY: the buffer owns its allocation alone.
unsafe impl Send for StrBuf {}

impl StrBuf {
    pub fn new() -> StrBuf {
        StrBuf::with_capacity(0)
    }

    /// A buffer that will hold about `capacity` bytes. Nothing is
    /// allocated until the text outgrows the inline bytes, so text that
    /// turns out short needs no allocation; then room for `capacity` bytes
    /// is allocated at once.
    #[inline]
    pub fn with_capacity(capacity: usize) -> StrBuf {
        StrBuf {
            len: 0,
            capacity: INLINE_CAPACITY,
            wanted: capacity,
            heap: None,
            inline: [0; INLINE_CAPACITY],
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far start here.
    #[inline(always)]
    fn start(&mut self) -> *mut u8 {
        match self.heap {
            None => self.inline.as_mut_ptr(),
            Some(header) => text_ptr(header),
        }
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        let bytes = match self.heap {
            None => &self.inline[..self.len],
            // SAFETY: the first `len` bytes after the header are written.
            Some(header) => unsafe { std::slice::from_raw_parts(text_ptr(header), self.len) },
        };
        // SAFETY: only whole UTF-8 text is ever appended.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Grows the room to at least `needed` bytes: to what was asked for
    /// at first, and after that by at least doubling.
    #[cold]
    fn grow(&mut self, needed: usize) {
        match self.heap {
            None => {
                let capacity = if self.wanted >= needed {
                    self.wanted
                } else {
                    needed.max(2 * INLINE_CAPACITY)
                };
                let header = allocate(capacity);
                // SAFETY: the new allocation has room for `capacity >= len`
                // bytes after the header.
                unsafe {
                    std::ptr::copy_nonoverlapping(self.inline.as_ptr(), text_ptr(header), self.len)
                };
                self.heap = Some(header);
                self.capacity = capacity;
            }
            Some(header) => {
                let capacity = needed.max(2 * self.capacity);
                let new_size = layout_for(capacity).size();
                // SAFETY: the allocation was made with this layout.
                let ptr = unsafe {
                    alloc::realloc(header.as_ptr().cast(), layout_for(self.capacity), new_size)
                };
                let header = NonNull::new(ptr.cast())
                    .unwrap_or_else(|| alloc::handle_alloc_error(layout_for(capacity)));
                self.heap = Some(header);
                self.capacity = capacity;
            }
        }
    }

    /// The text built, as a `Str`: inline if it fits, else the buffer's
    /// own allocation, shrunk to the text.
    #[inline]
    pub fn finish(self) -> Str {
        let this = std::mem::ManuallyDrop::new(self);
        match this.heap {
            None => Str {
                tag: this.len as u8,
                payload: Payload {
                    inline: this.inline,
                },
            },
            Some(header) => this.finish_heap(header),
        }
    }

    /// Hands the allocation over; the text is longer than the inline bytes
    /// (the allocation is made only then).
    fn finish_heap(&self, header: NonNull<Header>) -> Str {
        debug_assert!(self.len > INLINE_CAPACITY);
        let header = if self.capacity == self.len {
            header
        } else {
            let new_size = layout_for(self.len).size();
            // SAFETY: the allocation was made with `layout_for(capacity)`;
            // shrinking keeps the text.
            let ptr = unsafe {
                alloc::realloc(header.as_ptr().cast(), layout_for(self.capacity), new_size)
            };
            NonNull::new(ptr.cast())
                .unwrap_or_else(|| alloc::handle_alloc_error(layout_for(self.len)))
        };
        // SAFETY: the allocation has room for its header.
        unsafe {
            header.as_ptr().write(Header {
                count: AtomicUsize::new(1),
                len: self.len,
            })
        };
        Str::from_header(header)
    }
}

impl Default for StrBuf {
    fn default() -> StrBuf {
        StrBuf::new()
    }
}

impl Drop for StrBuf {
    fn drop(&mut self) {
        if let Some(header) = self.heap {
            // SAFETY: the buffer owns the allocation, made with this layout.
            unsafe { alloc::dealloc(header.as_ptr().cast(), layout_for(self.capacity)) };
        }
    }
}

impl Text for StrBuf {
    #[inline]
    fn push_str(&mut self, s: &str) {
        let len = self.len + s.len();
        if len > self.capacity {
            self.grow(len);
        }
        // SAFETY: the room holds `len` bytes; `s` is not inside it (the
        // buffer is borrowed mutably).
        unsafe { copy_text(s.as_ptr(), self.start().add(self.len), s.len()) };
        self.len = len;
    }

    #[inline]
    fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]))
    }

    fn reserve(&mut self, additional: usize) {
        let needed = self.len.checked_add(additional).expect("string too long");
        if needed > self.capacity {
            self.grow(needed);
        }
    }
}

/// Copies `n` bytes that do not overlap. Most pieces of text are short:
/// up to 16 bytes are copied with two loads and two stores instead of a
/// call to `memcpy`.
///
/// # Safety
/// As for `std::ptr::copy_nonoverlapping`.
#[inline(always)]
unsafe fn copy_text(from: *const u8, to: *mut u8, n: usize) {
    use std::ptr::{read_unaligned as read, write_unaligned as write};
    // SAFETY: each access is inside the first `n` bytes of either side
    // (the two halves overlap when `n` is not a power of two).
    unsafe {
        if n > 16 {
            std::ptr::copy_nonoverlapping(from, to, n);
        } else if n >= 8 {
            let (head, tail) = (
                read(from.cast::<u64>()),
                read(from.add(n - 8).cast::<u64>()),
            );
            write(to.cast::<u64>(), head);
            write(to.add(n - 8).cast::<u64>(), tail);
        } else if n >= 4 {
            let (head, tail) = (
                read(from.cast::<u32>()),
                read(from.add(n - 4).cast::<u32>()),
            );
            write(to.cast::<u32>(), head);
            write(to.add(n - 4).cast::<u32>(), tail);
        } else if n >= 2 {
            let (head, tail) = (
                read(from.cast::<u16>()),
                read(from.add(n - 2).cast::<u16>()),
            );
            write(to.cast::<u16>(), head);
            write(to.add(n - 2).cast::<u16>(), tail);
        } else if n == 1 {
            *to = *from;
        }
    }
}

impl fmt::Write for StrBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl From<StrBuf> for Str {
    fn from(buf: StrBuf) -> Str {
        buf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use std::collections::hash_map::DefaultHasher;

    fn hash(v: impl Hash) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn a_string_is_fifteen_bytes_and_a_value_stays_sixteen() {
        assert_eq!(std::mem::size_of::<Str>(), 15);
        assert_eq!(std::mem::align_of::<Str>(), 1);
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 16);
        fn shareable<T: Send + Sync>() {}
        shareable::<Str>();
    }

    #[test]
    fn the_heap_pointer_is_aligned_inside_a_value() {
        let v = Value::str("a string longer than fourteen bytes");
        let Value::Str(s) = &v else { unreachable!() };
        let value_at = std::ptr::from_ref(&v) as usize;
        let str_at = std::ptr::from_ref(s) as usize;
        assert_eq!(str_at - value_at, 1);
        let pointer_at =
            std::mem::offset_of!(Str, payload) + std::mem::offset_of!(HeapPointer, header);
        assert_eq!((str_at + pointer_at) % 8, 0);
    }

    #[test]
    fn up_to_fourteen_bytes_are_inline_and_longer_text_is_on_the_heap() {
        let fourteen = "abcdefghijklmn";
        assert_eq!(fourteen.len(), 14);
        assert!(Str::from("").is_inline());
        assert!(Str::from(fourteen).is_inline());
        let fifteen = Str::from("abcdefghijklmno");
        assert!(!fifteen.is_inline());
        assert_eq!(fifteen.as_str(), "abcdefghijklmno");
        assert_eq!(Str::from(fourteen).as_str(), fourteen);
        assert_eq!(Str::from("").as_str(), "");
    }

    #[test]
    fn multibyte_text_at_the_boundary_counts_bytes() {
        // 12 ASCII bytes and a 2-byte é: 14 bytes, inline.
        let inline = Str::from("abcdefghijklé");
        assert_eq!(inline.len(), 14);
        assert!(inline.is_inline());
        assert_eq!(inline.as_str(), "abcdefghijklé");
        // 13 ASCII bytes and a 2-byte é: 15 bytes, 14 characters, heap.
        let heap = Str::from("abcdefghijklmé");
        assert_eq!(heap.len(), 15);
        assert_eq!(heap.chars().count(), 14);
        assert!(!heap.is_inline());
        // Four 4-byte characters: 16 bytes on the heap; three fit inline.
        assert!(!Str::from("😀😀😀😀").is_inline());
        assert!(Str::from("😀😀😀").is_inline());
        assert_eq!(Str::from("😀😀😀").as_str(), "😀😀😀");
    }

    #[test]
    fn equality_order_and_hash_follow_the_text() {
        let texts = [
            "",
            "a",
            "abcdefghijklmn",
            "abcdefghijklmno",
            "abcdefghijklmnop",
            "é",
            "a much longer string on the heap",
        ];
        for a in texts {
            for b in texts {
                let (sa, sb) = (Str::from(a), Str::from(b));
                assert_eq!(sa == sb, a == b, "{a:?} {b:?}");
                assert_eq!(sa.cmp(&sb), a.cmp(b), "{a:?} {b:?}");
            }
            assert_eq!(hash(Str::from(a)), hash(a));
            assert_eq!(Str::from(a), Str::from(a.to_string()));
            assert_eq!(Str::from(a).clone(), Str::from(a));
        }
    }

    #[test]
    fn clones_share_one_allocation_until_the_last_is_dropped() {
        let s = Str::from("long enough to be on the heap");
        let copies: Vec<Str> = (0..10).map(|_| s.clone()).collect();
        assert_eq!(s.share_count(), Some(11));
        assert!(copies.iter().all(|c| c.identical(&s) && *c == s));
        drop(copies);
        assert_eq!(s.share_count(), Some(1));
        let other = std::thread::spawn({
            let s = s.clone();
            move || s.len()
        })
        .join()
        .unwrap();
        assert_eq!(other, s.len());
        assert_eq!(s.share_count(), Some(1));
        assert_eq!(Str::from("short").share_count(), None);
    }

    #[test]
    fn a_buffer_builds_inline_text_without_an_allocation() {
        let mut buf = StrBuf::new();
        buf.push_str("item-");
        buf.push_str("123456789");
        assert_eq!(buf.len(), 14);
        assert!(buf.heap.is_none());
        let s = buf.finish();
        assert!(s.is_inline());
        assert_eq!(s, Str::from("item-123456789"));
    }

    #[test]
    fn a_buffer_grows_onto_the_heap_and_hands_its_allocation_over() {
        let mut buf = StrBuf::new();
        let mut expected = String::new();
        for i in 0..1000 {
            let part = format!("{i}é,");
            buf.push_str(&part);
            expected.push_str(&part);
        }
        buf.push('!');
        expected.push('!');
        assert_eq!(buf.as_str(), expected);
        assert!(buf.heap.is_some());
        let s = buf.finish();
        assert!(!s.is_inline());
        assert_eq!(s.as_str(), expected);
        assert_eq!(s, Str::from(expected.as_str()));
    }

    #[test]
    fn a_buffer_allocates_the_room_asked_for_only_when_the_text_outgrows_inline() {
        let mut buf = StrBuf::with_capacity(100);
        buf.push_str("short");
        assert!(buf.heap.is_none());
        let s = buf.finish();
        assert!(s.is_inline());
        assert_eq!(s.as_str(), "short");
        let mut buf = StrBuf::with_capacity(100);
        buf.push_str("not short: ");
        buf.push_str("fifteen bytes!!");
        assert!(buf.heap.is_some());
        assert_eq!(buf.capacity, 100);
        let s = buf.finish();
        assert!(!s.is_inline());
        assert_eq!(s.as_str(), "not short: fifteen bytes!!");
        let mut exact = StrBuf::with_capacity(15);
        exact.push_str("fifteen bytes!!");
        assert_eq!(exact.capacity, 15);
        let mut unsized_ = StrBuf::new();
        unsized_.push_str("fifteen bytes!!");
        assert_eq!(unsized_.capacity, 28, "at least twice the inline room");
        assert_eq!(unsized_.finish().as_str(), "fifteen bytes!!");
        let s = exact.finish();
        assert_eq!(s.as_str(), "fifteen bytes!!");
        // A buffer dropped unfinished frees its allocation.
        let mut dropped = StrBuf::with_capacity(64);
        dropped.push_str("never finished, never leaked");
        drop(dropped);
    }

    #[test]
    fn short_copies_copy_every_length_exactly() {
        let from: Vec<u8> = (1..=40).collect();
        for n in 0..=from.len() {
            let mut to = [0u8; 48];
            // SAFETY: both sides hold at least `n` bytes.
            unsafe { copy_text(from.as_ptr(), to.as_mut_ptr(), n) };
            assert_eq!(&to[..n], &from[..n], "{n}");
            assert!(to[n..].iter().all(|&b| b == 0), "{n}");
        }
    }

    #[test]
    fn strings_as_map_keys_find_their_entries() {
        let long = "a key long enough to live on the heap";
        let m = Value::map([
            (Value::str("k"), Value::Int(1)),
            (Value::str(long), Value::Int(2)),
        ]);
        let Value::Map(m) = &m else { unreachable!() };
        assert_eq!(m.get(&Value::str("k")), Some(&Value::Int(1)));
        assert_eq!(m.get(&Value::str(long.to_string())), Some(&Value::Int(2)));
        assert_eq!(m.get(&Value::str("K")), None);
    }
}
