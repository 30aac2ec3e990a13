//! Where durable processes are kept: three JetStream KV buckets of the
//! account the scheduler connects as (a tenant's, under `calf serve`).
//!
//! | bucket | key | value |
//! |---|---|---|
//! | `calf_leases` | a scheduler's node id | nothing: the key is the lease, kept alive by puts |
//! | `calf_processes` | a pid, in decimal | the owner's node id, then the process image |
//! | `calf_code` | an image's hash, in hex | a code, source or namespaces image |
//!
//! A lease lives as long as its node renews it: the bucket's `max_age` is
//! the lease's time to live, and the node puts its key again every third
//! of it. A process belongs to the node named in its entry; every write of
//! the entry is a compare-and-set on its revision, so the revision is a
//! fencing token. A node that takes over an orphan (its owner's lease
//! gone) rewrites the entry with itself as owner, which moves the revision
//! on: the old owner, if it comes back, fails its next save (`Fenced`) and
//! must stop the process, never run it beside the new one.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::kv;
use bytes::Bytes;
use calf_lang::snapshot::Hash;
use futures_util::StreamExt;
use rustc_hash::{FxHashMap, FxHashSet};

const LEASES: &str = "calf_leases";
const PROCESSES: &str = "calf_processes";
const CODE: &str = "calf_code";
/// The stream of durable processes' inboxes, a subject per pid
/// (`calf.inbox.<pid>`): see `inbox.rs`.
const INBOX: &str = "calf_inbox";

/// How a store behaves.
#[derive(Clone, Copy, Debug)]
pub struct StoreConfig {
    /// How long a lease lives without being renewed: after a crash, how
    /// long before other nodes take the node's processes over.
    pub lease_ttl: Duration,
    /// How long one request to JetStream may take before the store is
    /// called unavailable.
    pub timeout: Duration,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            lease_ttl: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }
}

impl StoreConfig {
    /// The defaults, with leases of `lease_ms` (at least 300: a renewal
    /// every third of it must reach JetStream in time).
    pub fn with_lease_ms(lease_ms: u64) -> StoreConfig {
        StoreConfig {
            lease_ttl: Duration::from_millis(lease_ms.max(300)),
            ..Default::default()
        }
    }
}

/// Why the store did not do what it was asked.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// JetStream did not answer, or refused (full, not enabled, down).
    Unavailable(String),
    /// The process belongs to another node now: this one must stop it.
    Fenced { pid: u64, owner: String },
    /// Another scheduler runs with this node id.
    NodeTaken(String),
    /// An entry that is not what this store writes.
    Damaged(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "the durable store is unavailable: {why}"),
            StoreError::Fenced { pid, owner } => write!(
                f,
                "process {pid} was taken over by scheduler {owner}: this scheduler stops its copy"
            ),
            StoreError::NodeTaken(node) => write!(
                f,
                "another scheduler holds the lease of node id {node}: give this one another id"
            ),
            StoreError::Damaged(why) => write!(f, "the durable store holds a damaged entry: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A process taken over: the revision its next save must name, and its image.
#[derive(Debug)]
pub struct Claimed {
    pub revision: u64,
    pub image: Bytes,
}

/// A node's handle on the store, holding its lease while it lives.
pub struct Store {
    node: String,
    config: StoreConfig,
    leases: kv::Store,
    processes: kv::Store,
    code: kv::Store,
    pub(super) js: async_nats::jetstream::Context,
    pub(super) inbox: async_nats::jetstream::stream::Stream,
    /// Images known to be in `calf_code`: each is put once.
    stored: Mutex<FxHashSet<Hash>>,
    renewal: tokio::task::JoinHandle<()>,
    /// The last revision of `calf_processes` when this store opened: an
    /// entry of this node's at or below it was left by an earlier run of
    /// the node (stopped, or crashed and its lease lapsed), and is an
    /// orphan like those of any node gone.
    opened_at: u64,
    lease: Arc<Lease>,
}

/// This node's lease, renewed every third of its life.
struct Lease {
    leases: kv::Store,
    node: String,
    every: Duration,
    /// The revision of its last renewal: the next names it.
    revision: tokio::sync::Mutex<u64>,
    renewed_at_ms: AtomicI64,
    /// How many times it lapsed while the node ran.
    lapses: AtomicU64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Lease {
    /// Renews it; finds out, and counts, that it lapsed meanwhile (this
    /// node was cut off or stopped longer than a lease), and takes it
    /// again. A renewal that fails is tried again at the next tick; two
    /// in a row lost, and the lease may lapse.
    async fn renew(&self) {
        let mut revision = self.revision.lock().await;
        let renewed = self.leases.update(&self.node, Bytes::new(), *revision);
        match tokio::time::timeout(self.every, renewed).await {
            Ok(Ok(next)) => *revision = next,
            Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                // The others counted this node gone.
                self.lapses.fetch_add(1, Ordering::Release);
                tracing::warn!(node = %self.node, "this node's lease lapsed; taking it again");
                let taken = self.leases.put(&self.node, Bytes::new());
                match tokio::time::timeout(self.every, taken).await {
                    Ok(Ok(next)) => *revision = next,
                    _ => return,
                }
            }
            _ => return,
        }
        self.renewed_at_ms.store(now_ms(), Ordering::Release);
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

/// Runs a JetStream request with the store's timeout.
pub(crate) async fn bounded<T, E: std::fmt::Display>(
    timeout: Duration,
    what: &str,
    request: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, request).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(StoreError::Unavailable(format!("{what}: {e}"))),
        Err(_) => Err(StoreError::Unavailable(format!(
            "{what}: no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// The bucket `name`, made with `max_age` (zero: entries never expire)
/// when it does not exist yet: a bucket made by another node is taken as
/// it is.
async fn open_bucket(
    js: &async_nats::jetstream::Context,
    name: &str,
    max_age: Duration,
) -> Result<kv::Store, String> {
    if let Ok(bucket) = js.get_key_value(name).await {
        return Ok(bucket);
    }
    let config = kv::Config {
        bucket: name.to_string(),
        history: 1,
        max_age,
        ..Default::default()
    };
    match js.create_key_value(config).await {
        Ok(bucket) => Ok(bucket),
        // Made by another node in the meantime.
        Err(e) => js.get_key_value(name).await.map_err(|_| e.to_string()),
    }
}

/// Every key of a bucket with a message: read from the stream's subjects,
/// as a listing through a consumer would leave the consumer behind for
/// half a minute (ordered consumers are not deleted when dropped), and a
/// scheduler lists often. Keys deleted but not purged are among them.
pub(crate) async fn keys_of(bucket: &kv::Store) -> Result<Vec<String>, String> {
    let mut subjects = bucket
        .stream
        .info_with_subjects(format!("{}>", bucket.prefix))
        .await
        .map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| e.to_string())?;
        if let Some(key) = subject.strip_prefix(bucket.prefix.as_str()) {
            keys.push(key.to_string());
        }
    }
    Ok(keys)
}

/// Removes every message of `key`, its delete marker included, so that
/// the key is no longer listed.
async fn erase(bucket: &kv::Store, key: &str) -> Result<(), String> {
    bucket
        .stream
        .purge()
        .filter(format!("{}{key}", bucket.prefix))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An entry of `calf_processes`: the owner's node id, then the image.
fn envelope(owner: &str, image: &[u8]) -> Bytes {
    let mut bytes = Vec::with_capacity(1 + owner.len() + image.len());
    bytes.push(owner.len() as u8);
    bytes.extend_from_slice(owner.as_bytes());
    bytes.extend_from_slice(image);
    bytes.into()
}

fn open_envelope(pid: u64, bytes: &Bytes) -> Result<(String, Bytes), StoreError> {
    let len = *bytes
        .first()
        .ok_or_else(|| StoreError::Damaged(format!("process {pid}: empty")))?
        as usize;
    let owner = bytes
        .get(1..1 + len)
        .and_then(|o| std::str::from_utf8(o).ok())
        .ok_or_else(|| StoreError::Damaged(format!("process {pid}: no owner")))?;
    Ok((owner.to_string(), bytes.slice(1 + len..)))
}

/// The node that should take over `pid` first, of `nodes`: each orphan
/// goes to the node ranked first for it (rendezvous hashing), so the
/// orphans of a dead node spread evenly over the survivors, and a node
/// joining or leaving moves only its own share.
pub fn preferred_node(pid: u64, nodes: &[String]) -> Option<&str> {
    nodes
        .iter()
        .max_by_key(|node| {
            use sha2::Digest;
            let mut hasher = sha2::Sha256::new();
            hasher.update(pid.to_be_bytes());
            hasher.update(node.as_bytes());
            let digest: [u8; 32] = hasher.finalize().into();
            u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
        })
        .map(String::as_str)
}

impl Store {
    /// Opens the store for node `node` (made of letters, digits, `-` and
    /// `_`), creating the buckets when they are missing, and takes its
    /// lease; the lease is renewed until the store is dropped.
    pub async fn open(
        client: async_nats::Client,
        node: &str,
        config: StoreConfig,
    ) -> Result<Store, StoreError> {
        if node.is_empty()
            || node.len() > 64
            || !node
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(StoreError::Unavailable(format!(
                "node id {node:?} must be 1 to 64 letters, digits, `-` or `_`"
            )));
        }
        let js = async_nats::jetstream::new(client);
        let timeout = config.timeout;
        let leases = bounded(
            timeout,
            "cannot open the leases (is JetStream enabled, for the server (nats-server -js) and for this account?)",
            open_bucket(&js, LEASES, config.lease_ttl),
        )
        .await?;
        let processes = bounded(
            timeout,
            "cannot open the processes",
            open_bucket(&js, PROCESSES, Duration::ZERO),
        )
        .await?;
        let code = bounded(
            timeout,
            "cannot open the code",
            open_bucket(&js, CODE, Duration::ZERO),
        )
        .await?;
        // The leases live as long as the bucket says: the first node to
        // make it chose; the others renew by its rule.
        let mut config = config;
        if let Ok(status) = leases.status().await {
            if !status.max_age().is_zero() {
                config.lease_ttl = status.max_age();
            }
        }
        let inbox = bounded(
            timeout,
            "cannot open the inboxes",
            js.get_or_create_stream(async_nats::jetstream::stream::Config {
                name: INBOX.to_string(),
                subjects: vec![format!("{}*", super::inbox::SUBJECT_PREFIX)],
                // Read message by message, with no consumer to linger.
                allow_direct: true,
                ..Default::default()
            }),
        )
        .await?;
        // Taken only when free: a node id names one running scheduler.
        let taken_at = match tokio::time::timeout(timeout, leases.create(node, Bytes::new())).await
        {
            Ok(Ok(revision)) => revision,
            Ok(Err(e)) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                return Err(StoreError::NodeTaken(node.to_string()))
            }
            Ok(Err(e)) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot take the lease: {e}"
                )))
            }
            Err(_) => {
                return Err(StoreError::Unavailable(
                    "cannot take the lease: no answer".into(),
                ))
            }
        };
        // Read once the lease is ours: no save of this run comes before.
        let opened_at = {
            let mut stream = processes.stream.clone();
            bounded(timeout, "cannot read the processes", stream.info())
                .await?
                .state
                .last_sequence
        };
        let lease = Arc::new(Lease {
            leases: leases.clone(),
            node: node.to_string(),
            every: config.lease_ttl / 3,
            revision: tokio::sync::Mutex::new(taken_at),
            renewed_at_ms: AtomicI64::new(now_ms()),
            lapses: AtomicU64::new(0),
        });
        let renewal = {
            let lease = lease.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(lease.every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    lease.renew().await;
                }
            })
        };
        Ok(Store {
            node: node.to_string(),
            config,
            leases,
            processes,
            code,
            js,
            inbox,
            stored: Mutex::default(),
            renewal,
            opened_at,
            lease,
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// The connection the store was opened on.
    pub fn client(&self) -> async_nats::Client {
        self.js.client()
    }

    /// The KV bucket `name` of this store's account, made when missing,
    /// with entries that never expire; `what` says what it holds, in the
    /// error.
    pub(crate) async fn bucket(&self, name: &str, what: &str) -> Result<kv::Store, StoreError> {
        let opened = open_bucket(&self.js, name, Duration::ZERO);
        bounded(
            self.config.timeout,
            &format!("cannot open the {what}"),
            opened,
        )
        .await
    }

    /// Whether process `pid` is saved (by any node).
    pub async fn is_saved(&self, pid: u64) -> Result<bool, StoreError> {
        Ok(self.owner(pid).await?.is_some())
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// How long a lease lives: the leases bucket's, as the first node to
    /// make it chose.
    pub fn lease_ttl(&self) -> Duration {
        self.config.lease_ttl
    }

    /// Gives the lease up at once (a clean shutdown): the node's processes
    /// can be taken over without waiting for it to lapse.
    pub async fn release(&self) -> Result<(), StoreError> {
        self.renewal.abort();
        bounded(
            self.config.timeout,
            "cannot give the lease up",
            self.leases.purge(&self.node),
        )
        .await
    }

    /// The nodes holding a lease now, sorted.
    pub async fn live_nodes(&self) -> Result<Vec<String>, StoreError> {
        let keys = bounded(
            self.config.timeout,
            "cannot list the leases",
            keys_of(&self.leases),
        )
        .await?;
        let mut nodes = Vec::new();
        for node in keys {
            if self.is_alive(&node).await? {
                nodes.push(node);
            }
        }
        nodes.sort();
        Ok(nodes)
    }

    /// How many times this node's lease has lapsed since it opened the
    /// store (it was cut off or stopped longer than a lease).
    pub fn lapses(&self) -> u64 {
        self.lease.lapses.load(Ordering::Acquire)
    }

    /// Makes sure [`Store::lapses`] is up to date: when the last renewal
    /// is older than two of its periods (this node was stopped, or cut
    /// off), renews the lease now, which finds out whether it lapsed.
    pub async fn confirm_lease(&self) {
        let age = now_ms() - self.lease.renewed_at_ms.load(Ordering::Acquire);
        if age >= 2 * self.lease.every.as_millis() as i64 {
            self.lease.renew().await;
        }
    }

    /// Whether `node` holds its lease.
    pub async fn is_alive(&self, node: &str) -> Result<bool, StoreError> {
        bounded(
            self.config.timeout,
            "cannot read a lease",
            self.leases.get(node),
        )
        .await
        .map(|lease| lease.is_some())
    }

    /// Those of `hashes` that this store has not put yet.
    pub fn missing<'h>(&self, hashes: impl IntoIterator<Item = &'h Hash>) -> Vec<Hash> {
        let stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        hashes
            .into_iter()
            .filter(|h| !stored.contains(*h))
            .copied()
            .collect()
    }

    /// Puts one image under its hash.
    pub async fn put_image(&self, hash: Hash, bytes: Bytes) -> Result<(), StoreError> {
        // Sizes at debug level: what bench/durable-orders adds up.
        tracing::debug!(hash = %hash.hex(), bytes = bytes.len(), "storing a code image");
        bounded(
            self.config.timeout,
            "cannot store code",
            self.code.put(hash.hex(), bytes),
        )
        .await?;
        self.stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash);
        Ok(())
    }

    /// The image stored under `hash`.
    pub async fn image(&self, hash: &Hash) -> Result<Option<Bytes>, StoreError> {
        bounded(
            self.config.timeout,
            "cannot read code",
            self.code.get(hash.hex()),
        )
        .await
    }

    /// Saves process `pid`'s image: the first save when `revision` is
    /// `None`, else over the entry of that revision. Gives the entry's new
    /// revision, which the next save names.
    pub async fn save(
        &self,
        pid: u64,
        image: &[u8],
        revision: Option<u64>,
    ) -> Result<u64, StoreError> {
        tracing::debug!(pid, bytes = image.len(), "saving a process image");
        let key = pid.to_string();
        let value = envelope(&self.node, image);
        let written = match revision {
            None => tokio::time::timeout(self.config.timeout, self.processes.create(&key, value))
                .await
                .map(|r| {
                    r.map_err(|e| {
                        (
                            e.kind() == kv::CreateErrorKind::AlreadyExists,
                            e.to_string(),
                        )
                    })
                }),
            Some(revision) => tokio::time::timeout(
                self.config.timeout,
                self.processes.update(&key, value, revision),
            )
            .await
            .map(|r| {
                r.map_err(|e| {
                    (
                        e.kind() == kv::UpdateErrorKind::WrongLastRevision,
                        e.to_string(),
                    )
                })
            }),
        };
        match written {
            Ok(Ok(revision)) => Ok(revision),
            Ok(Err((true, _))) => Err(StoreError::Fenced {
                pid,
                owner: match self.owner(pid).await {
                    Ok(Some((owner, _))) => owner,
                    Ok(None) => "nobody (it ended)".to_string(),
                    Err(_) => "unknown".to_string(),
                },
            }),
            Ok(Err((false, why))) => Err(StoreError::Unavailable(format!(
                "cannot save process {pid}: {why}"
            ))),
            Err(_) => Err(StoreError::Unavailable(format!(
                "cannot save process {pid}: no answer within {} ms",
                self.config.timeout.as_millis()
            ))),
        }
    }

    /// The node that runs durable process `pid` now, if it is saved.
    pub async fn owner_of(&self, pid: u64) -> Result<Option<String>, StoreError> {
        Ok(self.owner(pid).await?.map(|(owner, _)| owner))
    }

    /// Who owns `pid` now, and whether an earlier run of this node left
    /// it.
    async fn owner(&self, pid: u64) -> Result<Option<(String, bool)>, StoreError> {
        let entry = bounded(
            self.config.timeout,
            "cannot read a process",
            self.processes.entry(pid.to_string()),
        )
        .await?;
        match entry {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let owner = open_envelope(pid, &entry.value)?.0;
                let left = owner == self.node && entry.revision <= self.opened_at;
                Ok(Some((owner, left)))
            }
            _ => Ok(None),
        }
    }

    /// Forgets process `pid` (it ended), if its entry is still at
    /// `revision` (this node's last save).
    pub async fn remove(&self, pid: u64, revision: u64) -> Result<(), StoreError> {
        let key = pid.to_string();
        let entry = bounded(
            self.config.timeout,
            "cannot read a process",
            self.processes.entry(key.clone()),
        )
        .await?;
        if entry.is_some_and(|e| e.revision == revision) {
            bounded(
                self.config.timeout,
                "cannot forget a process",
                erase(&self.processes, &key),
            )
            .await?;
        }
        Ok(())
    }

    /// Every saved process, with the node that owns it.
    pub async fn processes(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let keys = bounded(
            self.config.timeout,
            "cannot list the processes",
            keys_of(&self.processes),
        )
        .await?;
        let pids: Vec<u64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
        let mut owned = Vec::with_capacity(pids.len());
        for pid in pids {
            if let Some((owner, _)) = self.owner(pid).await? {
                owned.push((pid, owner));
            }
        }
        owned.sort();
        Ok(owned)
    }

    /// How many processes are saved, by any node.
    /// Counted from the stream's subjects, without reading an entry: an
    /// ended process's key is erased, never left as a delete marker.
    pub async fn saved(&self) -> Result<usize, StoreError> {
        let keys = keys_of(&self.processes);
        bounded(self.config.timeout, "cannot list the processes", keys)
            .await
            .map(|keys| keys.len())
    }

    /// The saved processes whose owner holds no lease, but those
    /// `running_here` says this node runs (whose owner it knows).
    pub async fn orphans(
        &self,
        running_here: impl Fn(u64) -> bool,
    ) -> Result<Vec<u64>, StoreError> {
        let keys = bounded(
            self.config.timeout,
            "cannot list the processes",
            keys_of(&self.processes),
        )
        .await?;
        let mut alive: FxHashMap<String, bool> = FxHashMap::default();
        let mut orphans = Vec::new();
        for pid in keys.iter().filter_map(|k| k.parse::<u64>().ok()) {
            if running_here(pid) {
                continue;
            }
            let Some((owner, left_by_earlier_run)) = self.owner(pid).await? else {
                continue;
            };
            if left_by_earlier_run {
                orphans.push(pid);
                continue;
            }
            let owner_alive = match alive.get(&owner) {
                Some(known) => *known,
                None => {
                    let known = self.is_alive(&owner).await?;
                    alive.insert(owner, known);
                    known
                }
            };
            if !owner_alive {
                orphans.push(pid);
            }
        }
        orphans.sort();
        Ok(orphans)
    }

    /// Takes process `pid` over if its owner holds no lease: `None` when
    /// it has an owner alive, has ended, or another node took it first
    /// (the rewrite is a compare-and-set: one node wins).
    pub async fn claim(&self, pid: u64) -> Result<Option<Claimed>, StoreError> {
        let timeout = self.config.timeout;
        let Some(entry) = bounded(
            timeout,
            "cannot read a process",
            self.processes.entry(pid.to_string()),
        )
        .await?
        else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let (owner, image) = open_envelope(pid, &entry.value)?;
        let left_by_earlier_run = owner == self.node && entry.revision <= self.opened_at;
        if !left_by_earlier_run && self.is_alive(&owner).await? {
            return Ok(None);
        }
        match self.save(pid, &image, Some(entry.revision)).await {
            Ok(revision) => Ok(Some(Claimed { revision, image })),
            Err(StoreError::Fenced { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A store shared by the processes of a runtime.
pub type SharedStore = Arc<Store>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_opens_to_its_owner_and_image() {
        let bytes = envelope("node-a", b"image");
        assert_eq!(
            open_envelope(1, &bytes).unwrap(),
            ("node-a".to_string(), Bytes::from_static(b"image"))
        );
        assert!(open_envelope(1, &Bytes::new()).is_err());
        assert!(open_envelope(1, &Bytes::from_static(&[9, b'a'])).is_err());
    }

    #[test]
    fn orphans_spread_over_the_survivors() {
        let nodes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut counts = [0usize; 3];
        for pid in 0..3_000u64 {
            let node = preferred_node(pid, &nodes).unwrap();
            counts[nodes.iter().position(|n| n == node).unwrap()] += 1;
        }
        for count in counts {
            assert!((800..1_200).contains(&count), "{counts:?}");
        }
        // A node leaving moves only its own share.
        let two = &nodes[..2];
        for pid in 0..300u64 {
            let before = preferred_node(pid, &nodes).unwrap();
            if before != "c" {
                assert_eq!(preferred_node(pid, two), Some(before));
            }
        }
    }
}
