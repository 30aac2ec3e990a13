//! # calf-worker: workers in Rust
//!
//! Owns the worker SDK (answer Calf calls on NATS subjects) and the wire
//! codec ([`wire`]), both as `docs/protocol.md` defines them. It must not
//! depend on the interpreter: a worker author compiles no Lisp, so nothing
//! here may use calf-lang, calf-scheduler or any other Calf crate but
//! calf-protocol, which holds the protocol's rules (header names, ext
//! types, the retry rule) for both sides and depends on nothing.
//!
//! A worker registers typed handlers and serves until it is told to stop:
//!
//! ```no_run
//! use calf_worker::{Request, Worker, WorkerError};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), calf_worker::Error> {
//!     Worker::connect("nats://127.0.0.1:4222")
//!         .await?
//!         .handle("math.add", |req: Request<(i64, i64)>| async move {
//!             let (a, b) = req.into_body();
//!             a.checked_add(b)
//!                 .ok_or_else(|| WorkerError::non_retryable("overflow", "the sum overflows"))
//!         })
//!         .run()
//!         .await
//! }
//! ```

// A worker SDK has no reason for unsafe code: all of it is in its
// dependencies, which answer for it.
#![forbid(unsafe_code)]

mod error;
mod request;
pub mod wire;
mod worker;

pub use async_nats;
pub use error::{Error, WorkerError};
pub use request::Request;
pub use worker::{Running, Worker, DEFAULT_CONCURRENCY, DEFAULT_QUEUE_GROUP};
