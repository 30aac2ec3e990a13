//! # calf-protocol: the worker protocol's rules, written once
//!
//! Owns what both sides of `docs/protocol.md` must agree on: the header
//! names ([`header`]), the ext type numbers of Calf's kinds ([`ext`]), how
//! deep a body may nest ([`MAX_DEPTH`]), which error replies are retried
//! ([`retry`]), and how a MessagePack body is read ([`msgpack`]: the one
//! reader of a body's items, which holds every rule of what a body may
//! hold, with the words its refusals use). The caller (calf-scheduler's
//! bus and wire codec) and the Rust worker SDK (calf-worker) both take
//! these from here, and the tests of this crate read the protocol
//! document itself, so that the document and the code cannot drift apart.
//!
//! It must not depend on any Calf crate, on tokio or on a NATS client: it
//! is plain data and functions, so that a worker author compiles no Lisp
//! and the rules need no runtime to be tested. It knows no value type:
//! the codecs build their values (calf-lang's, or a worker's through
//! serde) from the reader's items, and keep their writers and their own
//! choices (the caller reads a bin as text and refuses what Calf cannot
//! hold; a worker passes such things on).

pub mod ext;
pub mod header;
pub mod msgpack;
pub mod retry;

#[doc(hidden)]
pub mod doc;

/// How deep a body may nest: arrays, maps and sets together (a set counts
/// once, with the array it holds). Both codecs refuse to write or read a
/// deeper value; the limit also bounds the Rust stack they use, whatever
/// the bytes say.
pub const MAX_DEPTH: usize = 1024;
