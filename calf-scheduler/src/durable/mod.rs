//! Durable processes: what outlives the scheduler that runs them.
//!
//! A durable process's state is saved, through calf-lang's snapshot
//! module, whenever it parks; `store.rs` keeps the saves in JetStream KV,
//! with a lease per scheduler and a compare-and-set on every write, so
//! that a process taken over after a crash runs on one scheduler only.

pub mod store;

pub use store::{preferred_node, Claimed, Store, StoreConfig, StoreError};
