//! Several schedulers on one NATS account, behaving as one: a cluster.
//!
//! Calf adds no cluster protocol of its own beyond subjects and JetStream
//! KV. The nodes of a cluster are the schedulers sharing a durable store
//! (`durable/store.rs`): its leases say which are alive. Each node takes an
//! index of its own when it starts (`membership.rs`), and every pid it
//! makes carries that index (see [`Pid`]), so any node knows where to send
//! a signal:
//!
//! | subject | what |
//! |---|---|
//! | `calf.node.<index>.signal` | messages, exits, links and monitors for the processes of node `<index>` (`remote.rs`) |
//! | `calf.node.<index>.ask` | requests a node answers: start a process (`spawn.rs`), is a process alive |
//!
//! Signals from one node to another leave through one task in the order
//! they were sent, on one connection, and the receiving node takes them
//! off one subscription in that order: the order of the signals from one
//! process to another is kept, as in Erlang. A signal to a node that is
//! gone is dropped, and its processes' links and monitors fire with
//! `:noconnection` once its lease has lapsed (`membership.rs`). Global
//! names live in a KV bucket of their own (`names.rs`).

mod membership;
pub(crate) mod names;
pub(crate) mod remote;
pub(crate) mod spawn;

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use calf_lang::value::Pid;
use tokio::sync::mpsc;

use crate::durable::{Store, StoreError};
use crate::mailbox::Signal;
use crate::runtime::Shared;

pub use membership::Membership;

/// How long a request to another node (a spawn, an `alive?`) may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// This node's place in a cluster.
pub struct Cluster {
    membership: Membership,
    names: names::GlobalNames,
    store: Arc<Store>,
    client: async_nats::Client,
    /// Signals to other nodes, in the order they were sent: one task
    /// publishes them.
    outbox: mpsc::UnboundedSender<(String, Bytes)>,
    /// Signals to durable processes running elsewhere, whose node is
    /// looked up first.
    to_durable: mpsc::UnboundedSender<(Pid, Bytes)>,
}

impl Cluster {
    /// Joins the cluster of the nodes sharing `store`: takes an index for
    /// this node, which every pid made here will carry.
    pub async fn join(store: Arc<Store>) -> Result<Arc<Cluster>, StoreError> {
        let client = store.client();
        let membership = Membership::join(&store).await?;
        let names = names::GlobalNames::open(&store).await?;
        let (outbox, mut outgoing) = mpsc::unbounded_channel::<(String, Bytes)>();
        {
            let client = client.clone();
            tokio::spawn(async move {
                while let Some((subject, body)) = outgoing.recv().await {
                    if let Err(e) = client.publish(subject, body).await {
                        tracing::warn!(why = %e, "a signal to another node was not sent");
                    }
                }
            });
        }
        let (to_durable, durable_signals) = mpsc::unbounded_channel();
        let cluster = Arc::new(Cluster {
            membership,
            names,
            store: store.clone(),
            client,
            outbox: outbox.clone(),
            to_durable,
        });
        Cluster::send_to_durable(store, durable_signals, Arc::downgrade(&cluster));
        Ok(cluster)
    }

    /// This node's index: the one its pids carry.
    pub fn index(&self) -> u32 {
        self.membership.index()
    }

    /// This node's name (its node id in the store).
    pub fn node(&self) -> &str {
        self.store.node()
    }

    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Whether `pid` runs on another node (a durable pid never says).
    pub fn is_remote(&self, pid: Pid) -> bool {
        pid.node()
            .is_some_and(|node| node != self.index() && node != 0)
    }

    /// Sends `signal` to `pid` on its node; gives it back when that node
    /// is known to be gone.
    pub(crate) fn forward(&self, pid: Pid, signal: Signal) -> Result<(), Signal> {
        let node = pid.node().unwrap_or(0);
        if self.membership.is_gone(node) {
            return Err(signal);
        }
        let Some(body) = remote::encode(pid, &signal) else {
            return Err(signal);
        };
        self.publish(signal_subject(node), body);
        Ok(())
    }

    /// Sends `signal` to durable process `pid`, which does not run here:
    /// to the node the store says runs it, or back to this node when it is
    /// saved nowhere, which answers as for a process that has ended. The
    /// signals to durable processes keep their order among themselves
    /// (one task looks their nodes up), not with the other signals. One
    /// to a process between a crash and its restore is lost.
    pub(crate) fn forward_durable(&self, pid: Pid, signal: Signal) {
        if let Some(body) = remote::encode(pid, &signal) {
            let _ = self.to_durable.send((pid, body));
        }
    }

    /// The task that sends the signals to durable processes of other
    /// nodes, in order, each to the node running it.
    fn send_to_durable(
        store: Arc<Store>,
        mut signals: mpsc::UnboundedReceiver<(Pid, Bytes)>,
        cluster: Weak<Cluster>,
    ) {
        tokio::spawn(async move {
            while let Some((pid, body)) = signals.recv().await {
                let owner = store.owner_of(pid.0).await;
                let Some(cluster) = cluster.upgrade() else {
                    return;
                };
                let node = match owner {
                    Ok(Some(owner)) => match cluster.membership.index_of(&owner) {
                        Some(node) => node,
                        None => continue,
                    },
                    Ok(None) => cluster.index(),
                    Err(e) => {
                        tracing::warn!(%pid, why = %e, "a signal to a durable process is lost");
                        continue;
                    }
                };
                cluster.publish(signal_subject(node), body);
            }
        });
    }

    /// Sends a message to `pid` on its node: refused (with why) when the
    /// message cannot cross to another node; dropped, as a message to a
    /// process that is gone, when its node is gone.
    pub(crate) fn send_message(&self, pid: Pid, message: &calf_lang::Value) -> Result<(), String> {
        let body = remote::encode_message(pid, message)?;
        let limit = self.client.server_info().max_payload;
        if body.len() > limit {
            return Err(format!(
                "is {} bytes, more than the NATS server takes in one message ({limit})",
                body.len()
            ));
        }
        let node = pid.node().unwrap_or(0);
        if !self.membership.is_gone(node) {
            self.publish(signal_subject(node), body);
        }
        Ok(())
    }

    fn publish(&self, subject: String, body: Bytes) {
        // The task ends only with the runtime.
        let _ = self.outbox.send((subject, body));
    }

    /// Asks node `node` a question of `spawn.rs` or `remote.rs`.
    pub(crate) async fn ask(&self, node: u32, body: Bytes) -> Result<Bytes, String> {
        let request = self.client.request(ask_subject(node), body);
        match tokio::time::timeout(ASK_TIMEOUT, request).await {
            Ok(Ok(reply)) => Ok(reply.payload),
            Ok(Err(e)) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
                Err(format!("node {node} does not answer: it is gone"))
            }
            Ok(Err(e)) => Err(format!("node {node} did not answer: {e}")),
            Err(_) => Err(format!(
                "node {node} did not answer within {} s",
                ASK_TIMEOUT.as_secs()
            )),
        }
    }

    /// Whether `pid`, on any node, runs: asked of its node when it is
    /// another's.
    pub(crate) async fn is_alive(&self, shared: &Shared, pid: Pid) -> bool {
        if !self.is_remote(pid) {
            return shared.is_alive(pid);
        }
        let node = pid.node().unwrap_or(0);
        if self.membership.is_gone(node) {
            return false;
        }
        match self.ask(node, remote::alive_question(pid)).await {
            Ok(answer) => remote::alive_answer(&answer),
            // Not known to be dead: a name it holds is not taken from it.
            Err(_) => !self.membership.is_gone(node),
        }
    }

    pub(crate) fn names(&self) -> &names::GlobalNames {
        &self.names
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Takes this node's signals and requests, and follows the other
    /// nodes' lives, for as long as the runtime's tokio runs.
    pub(crate) fn start(shared: &Arc<Shared>, host: &Arc<crate::job::Job>) {
        let Some(cluster) = shared.cluster.clone() else {
            return;
        };
        let weak = Arc::downgrade(shared);
        remote::keep_taking(&cluster, weak.clone());
        spawn::keep_answering(&cluster, weak.clone(), host.clone());
        membership::keep_following(&cluster, weak);
    }
}

/// Where the signals for node `node`'s processes go.
fn signal_subject(node: u32) -> String {
    format!("calf.node.{node}.signal")
}

/// Where node `node`'s requests go.
fn ask_subject(node: u32) -> String {
    format!("calf.node.{node}.ask")
}

/// The runtime a listener serves, while it runs.
fn runtime(weak: &Weak<Shared>) -> Option<Arc<Shared>> {
    weak.upgrade()
}
