//! The virtual machine: runs bytecode for one process.

mod effect;

pub use effect::Effect;
