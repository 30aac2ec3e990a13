//! # calf-protocol: the worker protocol's rules, written once
//!
//! Owns what both sides of `docs/protocol.md` must agree on: the header
//! names ([`header`]), the ext type numbers of Calf's kinds ([`ext`]), how
//! deep a body may nest ([`MAX_DEPTH`]) and which error replies are retried
//! ([`retry`]). The caller (calf-scheduler's bus and wire codec) and the
//! Rust worker SDK (calf-worker) both take these from here, and the tests
//! of this crate read the protocol document itself, so that the document
//! and the code cannot drift apart.
//!
//! It must not depend on any Calf crate, on tokio or on a NATS client: it
//! is plain data and functions, so that a worker author compiles no Lisp
//! and the rules need no runtime to be tested. The codecs themselves stay
//! with the value types they read and write.

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
