//! Durable processes' inboxes: a message sent to a durable process is
//! stored in JetStream (stream `calf_inbox`, subject `calf.inbox.<pid>`)
//! before `send` returns, and reaches the process from there, wherever it
//! runs.
//!
//! The stream gives every message a sequence number, in the order the
//! messages were stored. A process keeps the number of the last inbox
//! message it has taken into its mailbox (`inbox_seq`, saved with it), and
//! the messages at or below the number of its last stored save are
//! dropped from the stream: those are in the saved mailbox, or were
//! received before it. A process restored after a crash therefore finds
//! in the stream exactly the messages its save does not hold.
//!
//! Delivery: once JetStream has a message, its sender rings the
//! receiver's doorbell, a plain message on `calf.doorbell.<pid>` that
//! every scheduler listens for. A scheduler running that process starts,
//! or nudges, its fetcher, which reads the process's messages from the
//! stream one after the other, from where it left off, and hands each to
//! the process. One fetcher per process keeps them in the stream's order;
//! a doorbell lost costs a delay, never a message (a restored process's
//! fetcher starts on its own).

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::stream::DirectGetErrorKind;
use bytes::Bytes;
use calf_lang::value::Pid;
use futures_util::StreamExt;
use rustc_hash::{FxHashMap, FxHashSet};

use super::store::bounded;
use super::{Store, StoreError};
use crate::mailbox::Signal;
use crate::runtime::Shared;

/// Subjects of the inboxes: this, then the pid.
pub const SUBJECT_PREFIX: &str = "calf.inbox.";

/// Subjects of the doorbells, outside the stream: this, then the pid.
const DOORBELL_PREFIX: &str = "calf.doorbell.";

fn subject(pid: u64) -> String {
    format!("{SUBJECT_PREFIX}{pid}")
}

impl Store {
    /// The largest message the NATS server takes, in bytes.
    pub fn max_message(&self) -> usize {
        self.js.client().server_info().max_payload
    }

    /// Stores `message` (wire-encoded data) in `pid`'s inbox; gives its
    /// sequence number once JetStream has it.
    pub async fn put_message(&self, pid: u64, message: Bytes) -> Result<u64, StoreError> {
        let stored = async {
            let ack = self.js.publish(subject(pid), message).await?;
            ack.await
        };
        let ack = bounded(self.timeout(), "cannot store the message", stored).await?;
        // A doorbell that does not go out delays the message until the
        // process's next one: it is stored, and fetched then.
        let _ = self
            .js
            .client()
            .publish(format!("{DOORBELL_PREFIX}{pid}"), Bytes::new())
            .await;
        Ok(ack.sequence)
    }

    /// The first message of `pid`'s inbox numbered `from` or more.
    pub async fn message_from(
        &self,
        pid: u64,
        from: u64,
    ) -> Result<Option<(u64, Bytes)>, StoreError> {
        let read = self
            .inbox
            .direct_get_next_for_subject(subject(pid), Some(from.max(1)));
        match tokio::time::timeout(self.timeout(), read).await {
            Ok(Ok(message)) => Ok(Some((message.sequence, message.payload))),
            Ok(Err(e)) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!(
                "cannot read an inbox: {e}"
            ))),
            Err(_) => Err(StoreError::Unavailable(
                "cannot read an inbox: no answer".into(),
            )),
        }
    }

    /// Drops `pid`'s messages numbered below `below`: a save holds them.
    pub async fn drop_messages_below(&self, pid: u64, below: u64) -> Result<(), StoreError> {
        let purge = self.inbox.purge().filter(subject(pid)).sequence(below);
        bounded(
            self.timeout(),
            "cannot drop taken messages",
            purge.into_future(),
        )
        .await?;
        Ok(())
    }

    /// Drops every message of `pid`'s inbox: it has ended.
    pub async fn erase_inbox(&self, pid: u64) -> Result<(), StoreError> {
        let purge = self.inbox.purge().filter(subject(pid));
        bounded(self.timeout(), "cannot drop an inbox", purge.into_future()).await?;
        Ok(())
    }

    /// The pids whose inboxes hold messages.
    pub async fn inboxes_with_messages(&self) -> Result<FxHashSet<u64>, StoreError> {
        let listed = async {
            let mut subjects = self
                .inbox
                .clone()
                .info_with_subjects(format!("{SUBJECT_PREFIX}*"))
                .await
                .map_err(|e| e.to_string())?;
            let mut pids = FxHashSet::default();
            while let Some(subject) = subjects.next().await {
                let (subject, _) = subject.map_err(|e| e.to_string())?;
                if let Some(pid) = subject.strip_prefix(SUBJECT_PREFIX) {
                    pids.extend(pid.parse::<u64>().ok());
                }
            }
            Ok::<_, String>(pids)
        };
        bounded(self.timeout(), "cannot list the inboxes", listed).await
    }
}

/// Where each durable process running here is in its inbox.
#[derive(Default)]
pub(crate) struct Inboxes {
    fetchers: Mutex<FxHashMap<u64, Fetcher>>,
}

struct Fetcher {
    /// The number of the next message to read.
    next: u64,
    /// Whether a fetch runs now.
    running: bool,
    /// Whether a message came while it ran: it reads once more.
    again: bool,
}

impl Inboxes {
    fn fetchers(&self) -> std::sync::MutexGuard<'_, FxHashMap<u64, Fetcher>> {
        self.fetchers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A durable process runs here, its mailbox holding its inbox's
    /// messages up to `inbox_seq`.
    pub(crate) fn open(&self, pid: Pid, inbox_seq: u64) {
        self.fetchers().insert(
            pid.0,
            Fetcher {
                next: inbox_seq + 1,
                running: false,
                again: false,
            },
        );
    }

    /// The process no longer runs here.
    pub(crate) fn close(&self, pid: Pid) {
        self.fetchers().remove(&pid.0);
    }
}

/// A message came for `pid`: its fetcher reads it, if the process runs
/// here.
pub(crate) fn ring(shared: &Arc<Shared>, store: &Arc<Store>, pid: u64) {
    {
        let mut fetchers = shared.inboxes.fetchers();
        let Some(fetcher) = fetchers.get_mut(&pid) else {
            return;
        };
        if fetcher.running {
            fetcher.again = true;
            return;
        }
        fetcher.running = true;
        fetcher.again = false;
    }
    let (shared, store) = (shared.clone(), store.clone());
    tokio::spawn(async move { fetch(&shared, &store, pid).await });
}

/// Reads `pid`'s messages from where its fetcher is, handing each to the
/// process, until none is left and none came meanwhile.
async fn fetch(shared: &Shared, store: &Store, pid: u64) {
    loop {
        let Some(next) = shared.inboxes.fetchers().get(&pid).map(|f| f.next) else {
            return;
        };
        let read = store.message_from(pid, next).await;
        let mut fetchers = shared.inboxes.fetchers();
        let Some(fetcher) = fetchers.get_mut(&pid) else {
            return;
        };
        match read {
            Ok(Some((seq, bytes))) => {
                fetcher.next = seq + 1;
                drop(fetchers);
                match crate::wire::decode(&bytes) {
                    Ok(message) => {
                        let delivered = shared.handle(Pid(pid)).is_some_and(|handle| {
                            handle.push(Signal::Inbox(Box::new((seq, message)))).is_ok()
                        });
                        if !delivered {
                            shared.inboxes.close(Pid(pid));
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(pid, seq, why = %e, "a stored message does not decode; skipped");
                    }
                }
            }
            Ok(None) if fetcher.again => fetcher.again = false,
            Ok(None) => {
                fetcher.running = false;
                return;
            }
            Err(e) => {
                // Tried again at the next message, or the next pass.
                tracing::warn!(pid, why = %e, "reading a durable inbox failed");
                fetcher.running = false;
                return;
            }
        }
    }
}

/// Listens for messages stored for the durable processes running here,
/// for as long as the runtime's tokio runs.
pub(crate) fn keep_delivering(shared: &Arc<Shared>, store: &Arc<Store>) {
    let (shared, store) = (shared.clone(), store.clone());
    tokio::spawn(async move {
        loop {
            let client = store.js.client();
            match client.subscribe(format!("{DOORBELL_PREFIX}*")).await {
                Ok(mut doorbells) => {
                    while let Some(message) = doorbells.next().await {
                        let pid = message.subject.strip_prefix(DOORBELL_PREFIX);
                        if let Some(pid) = pid.and_then(|p| p.parse::<u64>().ok()) {
                            ring(&shared, &store, pid);
                        }
                    }
                }
                Err(e) => tracing::warn!(why = %e, "cannot listen for durable messages"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}
