//! Which nodes make up the cluster: an index per node run, and which of
//! them are alive.
//!
//! A node takes a new index each time it starts, by a compare-and-set on
//! the counter in bucket `calf_nodes`, and writes which name holds it
//! (`index.<n>`) and which index a name holds now (`node.<name>`). A pid
//! of an earlier run of the same node names an index that is no longer
//! its name's: that run is gone, even if the name is back. So a pid never
//! names a process of another run.
//!
//! A node is alive while its lease in the store is (`durable/store.rs`).
//! Every node reads the leases every third of a lease's life; an index
//! alive at one reading and not at the next is gone, and every process
//! here gets `Signal::NodeDown` for it: its links and monitors to that
//! node's processes fire with `:noconnection`. So a node that dies or is
//! cut off is noticed within a lease and a third.

use std::sync::{Arc, RwLock, Weak};

use async_nats::jetstream::kv;
use bytes::Bytes;
use calf_lang::value::Pid;
use rustc_hash::{FxHashMap, FxHashSet};

use super::Cluster;
use crate::durable::store::bounded;
use crate::durable::{Store, StoreError};
use crate::mailbox::Signal;
use crate::runtime::Shared;

const NODES: &str = "calf_nodes";
const COUNTER: &str = "next";

/// The nodes as this one last saw them.
pub struct Membership {
    index: u32,
    bucket: kv::Store,
    seen: RwLock<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Alive at the last reading: index to name.
    alive: FxHashMap<u32, String>,
    /// Known, and not alive at the last reading.
    gone: FxHashSet<u32>,
}

impl Membership {
    pub(super) async fn join(store: &Store) -> Result<Membership, StoreError> {
        let timeout = store.timeout();
        let bucket = store.bucket(NODES, "nodes").await?;
        let index = take_index(&bucket, timeout).await?;
        let node = store.node();
        bounded(
            timeout,
            "cannot name this node's index",
            bucket.put(format!("index.{index}"), Bytes::from(node.to_string())),
        )
        .await?;
        bounded(
            timeout,
            "cannot give this node its index",
            bucket.put(format!("node.{node}"), Bytes::from(index.to_string())),
        )
        .await?;
        let membership = Membership {
            index,
            bucket,
            seen: RwLock::default(),
        };
        membership.read(store).await?;
        Ok(membership)
    }

    pub fn index(&self) -> u32 {
        self.index
    }

    fn seen(&self) -> std::sync::RwLockReadGuard<'_, Seen> {
        self.seen.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether node `index` was known and not alive at the last reading.
    /// An index not known yet is a node that started since: alive.
    pub fn is_gone(&self, index: u32) -> bool {
        self.seen().gone.contains(&index)
    }

    /// The name of node `index`, while it is alive.
    pub fn name_of(&self, index: u32) -> Option<String> {
        self.seen().alive.get(&index).cloned()
    }

    /// The index of the node named `name`, while it is alive.
    pub fn index_of(&self, name: &str) -> Option<u32> {
        self.seen()
            .alive
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(i, _)| *i)
    }

    /// The index of the node named `name`, while it is alive: asked of
    /// the store when this node has not seen it yet (it started since the
    /// last reading).
    pub async fn find(&self, store: &Store, name: &str) -> Option<u32> {
        if let Some(index) = self.index_of(name) {
            return Some(index);
        }
        let asked = self.bucket.get(format!("node.{name}"));
        let entry = bounded(store.timeout(), "cannot read a node's index", asked)
            .await
            .ok()??;
        let index = std::str::from_utf8(&entry).ok()?.parse().ok()?;
        store.is_alive(name).await.ok()?.then_some(index)
    }

    /// The other live nodes: index and name.
    pub fn others(&self) -> Vec<(u32, String)> {
        let seen = self.seen();
        let mut others: Vec<(u32, String)> = seen
            .alive
            .iter()
            .filter(|(i, _)| **i != self.index)
            .map(|(i, n)| (*i, n.clone()))
            .collect();
        others.sort();
        others
    }

    /// The live nodes' names, sorted.
    pub fn alive(&self) -> Vec<String> {
        let mut names: Vec<String> = self.seen().alive.values().cloned().collect();
        names.sort();
        names
    }

    /// Reads which nodes are alive; gives the indexes gone since the last
    /// reading.
    async fn read(&self, store: &Store) -> Result<Vec<u32>, StoreError> {
        let timeout = store.timeout();
        let mut alive = FxHashMap::default();
        for name in store.live_nodes().await? {
            let entry = bounded(
                timeout,
                "cannot read a node's index",
                self.bucket.get(format!("node.{name}")),
            )
            .await?;
            if let Some(index) = entry.and_then(|e| std::str::from_utf8(&e).ok()?.parse().ok()) {
                alive.insert(index, name);
            }
        }
        // This node is alive for itself, even while its lease is renewed
        // late.
        alive
            .entry(self.index)
            .or_insert_with(|| store.node().to_string());
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        let went: Vec<u32> = seen
            .alive
            .keys()
            .filter(|i| !alive.contains_key(i))
            .copied()
            .collect();
        seen.gone.extend(went.iter().copied());
        for index in alive.keys() {
            seen.gone.remove(index);
        }
        seen.alive = alive;
        Ok(went)
    }
}

/// The next index from the counter: 1 up to [`Pid::MAX_NODE`], then 1
/// again (a million node starts later).
async fn take_index(bucket: &kv::Store, timeout: std::time::Duration) -> Result<u32, StoreError> {
    loop {
        let entry = bounded(
            timeout,
            "cannot read the node counter",
            bucket.entry(COUNTER),
        )
        .await?;
        let last: u32 = entry
            .as_ref()
            .filter(|e| e.operation == kv::Operation::Put)
            .and_then(|e| std::str::from_utf8(&e.value).ok()?.parse().ok())
            .unwrap_or(0);
        let next = if last >= Pid::MAX_NODE { 1 } else { last + 1 };
        let value = Bytes::from(next.to_string());
        let taken = match &entry {
            None => tokio::time::timeout(timeout, bucket.create(COUNTER, value))
                .await
                .map(|r| r.map(|_| ()).map_err(|e| e.to_string())),
            Some(e) => tokio::time::timeout(timeout, bucket.update(COUNTER, value, e.revision))
                .await
                .map(|r| r.map(|_| ()).map_err(|e| e.to_string())),
        };
        match taken {
            Ok(Ok(())) => return Ok(next),
            // Another node took one meanwhile: read again.
            Ok(Err(_)) => continue,
            Err(_) => {
                return Err(StoreError::Unavailable(
                    "cannot take a node index: no answer".into(),
                ))
            }
        }
    }
}

/// Reads the leases every third of their life, and tells the processes
/// here of each node gone, while the runtime lives.
pub(super) fn keep_following(cluster: &Arc<Cluster>, weak: Weak<Shared>) {
    let cluster = cluster.clone();
    let every = cluster.store.lease_ttl() / 3;
    tokio::spawn(async move {
        let mut lapses = cluster.store.lapses();
        loop {
            tokio::time::sleep(every).await;
            let Some(shared) = super::runtime(&weak) else {
                return;
            };
            // This node's own lease lapsed: the others counted it gone and
            // broke their links to it; it breaks its links to them too.
            if cluster.store.lapses() != lapses {
                lapses = cluster.store.lapses();
                for (index, _) in cluster.membership.others() {
                    tracing::warn!(node = index, "cut off from a node of the cluster");
                    tell_node_down(&shared, index);
                }
            }
            match cluster.membership.read(&cluster.store).await {
                Ok(gone) => {
                    for index in gone {
                        tracing::warn!(node = index, "a node of the cluster is gone");
                        node_down(&shared, &cluster, index).await;
                    }
                }
                Err(e) => tracing::warn!(why = %e, "cannot read which nodes are alive"),
            }
        }
    });
}

/// The processes here hear that node `index` is gone (or that this node
/// was cut off from it).
fn tell_node_down(shared: &Shared, index: u32) {
    for handle in shared.handles() {
        let _ = handle.push(Signal::NodeDown(index));
    }
}

/// Node `index` is gone: the processes here hear of it, and the global
/// names its processes held are freed.
async fn node_down(shared: &Shared, cluster: &Cluster, index: u32) {
    tell_node_down(shared, index);
    cluster
        .names()
        .free_where(|pid| pid.node() == Some(index))
        .await;
}
