//! `--durable NODE` and `--lease-ms MS`: how `calf` and `calf serve` are
//! told to keep durable processes.

use calf_scheduler::durable::StoreConfig;

#[derive(clap::Args, Debug, Clone)]
pub struct DurableArgs {
    /// Save durable processes (spawn-durable) in JetStream (that of
    /// --nats; under calf serve, each tenant's), as the scheduler named
    /// NODE; take over those of schedulers gone.
    #[arg(long, value_name = "NODE", env = "CALF_DURABLE_NODE")]
    pub durable: Option<String>,

    /// How long this scheduler's lease lives without renewal: after a
    /// crash, how long before another takes its durable processes over.
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 10_000,
        requires = "durable"
    )]
    pub lease_ms: u64,
}

impl DurableArgs {
    /// The node id and its store's settings, when `--durable` is given.
    pub fn store(&self) -> Option<(String, StoreConfig)> {
        let node = self.durable.clone()?;
        Some((node, StoreConfig::with_lease_ms(self.lease_ms)))
    }
}
