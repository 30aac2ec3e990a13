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
//! while it fits, then the final allocation, grown in place).

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
        inline[..text.len()].copy_from_slice(text);
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
        // SAFETY: all 14 bytes of either form are initialized; a pointer's
        // bytes are read as its address.
        unsafe { (self.tag, self.payload.inline) == (other.tag, other.payload.inline) }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::new()
    }
}

impl Clone for Str {
    #[inline]
    fn clone(&self) -> Str {
        if !self.is_inline() {
            // SAFETY: the allocation lives while `self` holds its count.
            let count = unsafe { &(*self.header().as_ptr()).count };
            // Relaxed, as in `Arc::clone`: a new reference is made from an
            // existing one, which keeps the allocation alive meanwhile.
            if count.fetch_add(1, atomic::Ordering::Relaxed) > isize::MAX as usize {
                std::process::abort();
            }
        }
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
        // Release, then Acquire before freeing, as in `Arc::drop`: every
        // use of the text through another reference happens before the
        // free.
        if count.fetch_sub(1, atomic::Ordering::Release) != 1 {
            return;
        }
        atomic::fence(atomic::Ordering::Acquire);
        // SAFETY: this was the last reference; the allocation was made by
        // `allocate` (or shrunk by `StrBuf`) for exactly `len` bytes.
        unsafe {
            let len = (*header.as_ptr()).len;
            alloc::dealloc(header.as_ptr().cast(), layout_for(len));
        }
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
            || (!self.is_inline() && !other.is_inline() && self.as_str() == other.as_str())
    }
}

impl Eq for Str {}

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
    room: Room,
}

enum Room {
    Inline([u8; INLINE_CAPACITY]),
    /// An allocation with room for `capacity` bytes after its header
    /// (which is written when the buffer is finished).
    Heap {
        header: NonNull<Header>,
        capacity: usize,
    },
}

// SAFETY: the buffer owns its allocation alone.
unsafe impl Send for StrBuf {}

impl StrBuf {
    pub fn new() -> StrBuf {
        StrBuf {
            len: 0,
            room: Room::Inline([0; INLINE_CAPACITY]),
        }
    }

    /// A buffer with room for `capacity` bytes: text that will be longer
    /// than [`INLINE_CAPACITY`] goes straight to its allocation.
    pub fn with_capacity(capacity: usize) -> StrBuf {
        let mut buf = StrBuf::new();
        buf.reserve(capacity);
        buf
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn capacity(&self) -> usize {
        match self.room {
            Room::Inline(_) => INLINE_CAPACITY,
            Room::Heap { capacity, .. } => capacity,
        }
    }

    /// The bytes written so far start here.
    fn start(&mut self) -> *mut u8 {
        match &mut self.room {
            Room::Inline(bytes) => bytes.as_mut_ptr(),
            Room::Heap { header, .. } => text_ptr(*header),
        }
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        let bytes = match &self.room {
            Room::Inline(bytes) => &bytes[..self.len],
            // SAFETY: the first `len` bytes after the header are written.
            Room::Heap { header, .. } => unsafe {
                std::slice::from_raw_parts(text_ptr(*header), self.len)
            },
        };
        // SAFETY: only whole UTF-8 text is ever appended.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Grows the room to at least `needed` bytes, at least doubling it.
    #[cold]
    fn grow(&mut self, needed: usize) {
        let capacity = needed.max(2 * self.capacity()).max(32);
        match &mut self.room {
            Room::Inline(bytes) => {
                let header = allocate(capacity);
                // SAFETY: the new allocation has room for `capacity >= len`
                // bytes after the header.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), text_ptr(header), self.len)
                };
                self.room = Room::Heap { header, capacity };
            }
            Room::Heap {
                header,
                capacity: old,
            } => {
                let new_size = layout_for(capacity).size();
                // SAFETY: the allocation was made with `layout_for(old)`.
                let ptr =
                    unsafe { alloc::realloc(header.as_ptr().cast(), layout_for(*old), new_size) };
                *header = NonNull::new(ptr.cast())
                    .unwrap_or_else(|| alloc::handle_alloc_error(layout_for(capacity)));
                *old = capacity;
            }
        }
    }

    /// The text built, as a `Str`: inline if it fits (whatever room was
    /// reserved), else the buffer's own allocation, shrunk to the text.
    pub fn finish(self) -> Str {
        let this = std::mem::ManuallyDrop::new(self);
        match this.room {
            Room::Inline(bytes) => Str::inline(&bytes[..this.len]),
            Room::Heap { header, capacity } => {
                if this.len <= INLINE_CAPACITY {
                    let s = Str::from(this.as_str());
                    // SAFETY: the allocation was made with this layout and
                    // nothing refers to it any more.
                    unsafe { alloc::dealloc(header.as_ptr().cast(), layout_for(capacity)) };
                    return s;
                }
                let header = if capacity == this.len {
                    header
                } else {
                    let new_size = layout_for(this.len).size();
                    // SAFETY: the allocation was made with
                    // `layout_for(capacity)`; shrinking keeps the text.
                    let ptr = unsafe {
                        alloc::realloc(header.as_ptr().cast(), layout_for(capacity), new_size)
                    };
                    NonNull::new(ptr.cast())
                        .unwrap_or_else(|| alloc::handle_alloc_error(layout_for(this.len)))
                };
                // SAFETY: the allocation has room for its header.
                unsafe {
                    header.as_ptr().write(Header {
                        count: AtomicUsize::new(1),
                        len: this.len,
                    })
                };
                Str::from_header(header)
            }
        }
    }
}

impl Default for StrBuf {
    fn default() -> StrBuf {
        StrBuf::new()
    }
}

impl Drop for StrBuf {
    fn drop(&mut self) {
        if let Room::Heap { header, capacity } = self.room {
            // SAFETY: the buffer owns the allocation, made with this layout.
            unsafe { alloc::dealloc(header.as_ptr().cast(), layout_for(capacity)) };
        }
    }
}

impl Text for StrBuf {
    #[inline]
    fn push_str(&mut self, s: &str) {
        let len = self.len + s.len();
        if len > self.capacity() {
            self.grow(len);
        }
        // SAFETY: the room holds `len` bytes; `s` is not inside it (the
        // buffer is borrowed mutably).
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), self.start().add(self.len), s.len()) };
        self.len = len;
    }

    #[inline]
    fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]))
    }

    fn reserve(&mut self, additional: usize) {
        let needed = self.len.checked_add(additional).expect("string too long");
        if needed > self.capacity() {
            self.grow(needed);
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
        assert!(matches!(buf.room, Room::Inline(_)));
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
        assert!(matches!(buf.room, Room::Heap { .. }));
        let s = buf.finish();
        assert!(!s.is_inline());
        assert_eq!(s.as_str(), expected);
        assert_eq!(s, Str::from(expected.as_str()));
    }

    #[test]
    fn a_buffer_with_room_to_spare_still_gives_inline_text_when_short() {
        let mut buf = StrBuf::with_capacity(100);
        assert!(matches!(buf.room, Room::Heap { .. }));
        buf.push_str("short");
        let s = buf.finish();
        assert!(s.is_inline());
        assert_eq!(s.as_str(), "short");
        let mut exact = StrBuf::with_capacity(15);
        exact.push_str("fifteen bytes!!");
        let s = exact.finish();
        assert!(!s.is_inline());
        assert_eq!(s.as_str(), "fifteen bytes!!");
        // A buffer dropped unfinished frees its allocation.
        let mut dropped = StrBuf::with_capacity(64);
        dropped.push_str("never finished, never leaked");
        drop(dropped);
    }

    #[test]
    fn strings_as_map_keys_find_their_entries() {
        let long = "a key long enough to live on the heap";
        let m = Value::map([
            (Value::str("k"), Value::Int(1)),
            (Value::str(long), Value::Int(2)),
        ]);
        let Value::Map(m) = m else { unreachable!() };
        assert_eq!(m.get(&Value::str("k")), Some(&Value::Int(1)));
        assert_eq!(m.get(&Value::str(long.to_string())), Some(&Value::Int(2)));
        assert_eq!(m.get(&Value::str("K")), None);
    }
}
