//! # calf-lang: the language itself
//!
//! Owns the reader (text to forms), the value model, macro expansion, the
//! compiler (forms to bytecode) and the virtual machine that runs bytecode.
//!
//! It must not do I/O, and it has no tokio and no NATS: the VM returns an
//! [`vm::Effect`] to its host for anything that touches the world, and is
//! resumed with the answer (or, for the few a host answers at once, asks
//! a [`vm::Host`] without returning). The VM never recurses on the Rust stack: a
//! running process is plain data that can stop at any instruction.

pub mod bytecode;
pub mod compiler;
pub mod completion;
pub mod error;
pub mod namespace;
pub mod natives;
pub mod prelude;
pub mod reader;
pub mod reflection;
pub mod require;
pub mod snapshot;
pub mod span;
pub mod value;
pub mod vm;

pub use error::{RuntimeError, SourceError};
pub use span::{FileId, Span, SpanTable};
pub use value::{Sym, Value};
