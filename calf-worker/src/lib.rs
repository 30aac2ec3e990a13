//! # calf-worker: workers in Rust
//!
//! Owns the worker SDK (answer Calf calls on NATS subjects) and the wire
//! codec ([`wire`]), both as `docs/protocol.md` defines them. It must not
//! depend on the interpreter: a worker author compiles no Lisp, so nothing
//! here may use calf-lang, calf-scheduler or any other Calf crate.

pub mod wire;
