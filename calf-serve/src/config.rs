//! `calf.toml`: the NATS server, the tenants, their users and quotas.
//! Documented in docs/serve.md.

use std::path::PathBuf;

/// The whole file, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    /// Where the file was read from (re-read on SIGHUP).
    pub path: PathBuf,
    pub nats_url: String,
    /// Threads that run processes (default: one per core).
    pub threads: Option<usize>,
    /// The scheduler's login in the operator account.
    pub operator: User,
    /// By name, sorted.
    pub tenants: Vec<Tenant>,
}

/// One tenant: a NATS account of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Tenant {
    /// The account's name: lowercase letters, digits, `-` and `_`.
    pub name: String,
    /// The scheduler's own login in this account.
    pub scheduler: User,
    /// People, the CLI and the tenant's workers log in as these.
    pub users: Vec<User>,
    pub quotas: Quotas,
}

/// A login. User names are unique across the whole file: nats-server
/// refuses a name that two accounts share.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    /// Read from the file, or from the environment variable it names.
    pub password: String,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What one tenant may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    /// Enforced by the scheduler.
    pub max_processes: usize,
    pub max_calls_in_flight: usize,
    pub max_mailbox: usize,
    /// Bytes of output kept per job (a ring: the oldest goes first).
    pub max_output: usize,
    pub cpu_share: u32,
    /// Enforced by nats-server, in the account it prints.
    pub max_connections: i64,
    pub max_subscriptions: i64,
    pub max_payload: i64,
    pub jetstream_max_memory: i64,
    pub jetstream_max_storage: i64,
}

/// Why `calf.toml` was not read. (A stand-in until the parser lands.)
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ServeConfig {
    /// Reads and checks `path`. (A stand-in until the parser lands.)
    pub fn load(path: &std::path::Path) -> Result<ServeConfig, ConfigError> {
        Err(ConfigError(format!(
            "{}: calf.toml is not read yet",
            path.display()
        )))
    }
}
