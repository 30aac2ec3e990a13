//! # calf-worker: workers in Rust
//!
//! Owns the worker SDK (answer Calf calls on NATS subjects) and the wire
//! codec. It must not depend on the interpreter: a worker author compiles no
//! Lisp.
