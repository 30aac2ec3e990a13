//! # calf-scheduler: the runtime around the VM
//!
//! Owns processes and their hosts: it runs a process's VM for a reduction
//! budget and carries out the effects the VM returns (printing, sleeping,
//! loading namespaces' files, and later spawning, messages and foreign
//! calls).
//!
//! It must not parse command lines or draw on a terminal (that is
//! calf-repl's), and it never reaches into the VM's internals: a process is
//! driven only through `Vm::run` and `Vm::resume`.

pub mod host;
pub mod load;

pub use host::{Config, Failure, Host};
pub use load::LoadPath;
