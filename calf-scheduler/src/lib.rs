//! # calf-scheduler: the runtime around the VM
//!
//! Owns processes: each is a job of its own pool, polled on tokio's threads,
//! that runs its VM for a reduction
//! budget and carries out the effects the VM returns (printing, sleeping,
//! spawning, messages, links and monitors, loading namespaces' files;
//! foreign calls next). Also the
//! main process of a program, which compiles and runs its top-level forms
//! one by one.
//!
//! It must not parse command lines or draw on a terminal (that is
//! calf-repl's), and it drives a VM only through `Vm::run` and the
//! `resume` methods: a process is data the scheduler holds, never a Rust
//! stack it is inside of.

// The unsafe code the runtime needs lives in calf-executor (and calf-lang),
// where scripts/sanitize checks it.
#![forbid(unsafe_code)]

pub mod bus;
mod call;
mod call_sender;
pub mod cluster;
pub mod durable;
pub mod hosted;
mod job;
pub mod load;
mod quota;
// Public for the micro-benchmarks (benches/); not an API.
#[doc(hidden)]
pub mod mailbox;
mod process;
pub mod runtime;
pub mod telemetry;
pub mod wire;

pub use load::LoadPath;
pub use runtime::{
    run_interactive, run_program, Config, Ending, Evaluated, Failure, Interrupter, Io, Session,
};
