//! Durable processes: what outlives the scheduler that runs them.
//!
//! A durable process's state is saved, through calf-lang's snapshot
//! module, whenever it parks; `store.rs` keeps the saves in JetStream KV,
//! with a lease per scheduler and a compare-and-set on every write, so
//! that a process taken over after a crash runs on one scheduler only.

pub mod store;

pub use store::{preferred_node, Claimed, Store, StoreConfig, StoreError};

pub mod inbox;
pub mod restore;

/// How a runtime keeps its durable processes.
#[derive(Clone, Debug)]
pub struct DurableOptions {
    /// This scheduler's node id: unique among those sharing the store.
    pub node: String,
    pub store: StoreConfig,
    /// Whether the program waits, after its main process, for the saved
    /// processes of every node to end (`calf --resume`), rather than for
    /// its own durable processes only.
    pub until_store_empty: bool,
}

/// Pids of durable processes: drawn at random from the upper quarter of
/// the space, so they never meet a runtime's own counter, and kept by the
/// process wherever it is restored.
pub const DURABLE_PIDS: u64 = calf_lang::value::Pid::DURABLE;

/// Whether `pid` is a durable process's.
pub fn is_durable(pid: calf_lang::value::Pid) -> bool {
    pid.is_durable()
}

pub fn new_pid() -> calf_lang::value::Pid {
    calf_lang::value::Pid(DURABLE_PIDS | (calf_lang::natives::random::random_u64() >> 2))
}
