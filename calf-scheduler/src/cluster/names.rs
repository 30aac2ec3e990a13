//! Global names: `(register-global :name pid)`, unique across the
//! cluster, kept in the KV bucket `calf_names` (key: the name, hex-encoded,
//! since a keyword may hold characters a key may not; value: the pid in
//! decimal).
//!
//! A name is taken by a compare-and-set: created when free, or written
//! over the revision read when its holder is no longer alive (ended, or
//! on a node gone). The node of a holder frees its names when it ends,
//! and the survivors free those of a node gone; a name whose holder died
//! unnoticed is taken over at the next registration all the same.

use std::sync::Mutex;

use async_nats::jetstream::kv;
use bytes::Bytes;
use calf_lang::value::Pid;
use calf_lang::Sym;

use crate::durable::store::{bounded, keys_of};
use crate::durable::{Store, StoreError};

const NAMES: &str = "calf_names";

pub(crate) struct GlobalNames {
    bucket: kv::Store,
    timeout: std::time::Duration,
    /// The names held by processes of this node, with the revision each
    /// was written at: freed when their process ends.
    held: Mutex<Vec<(Sym, Pid, u64)>>,
}

/// Why a name was not registered.
pub(crate) enum NotRegistered {
    /// Another live process holds it.
    Taken(Pid),
    Store(StoreError),
}

fn key(name: Sym) -> String {
    name.name().bytes().map(|b| format!("{b:02x}")).collect()
}

fn holder(entry: &kv::Entry) -> Option<Pid> {
    if entry.operation != kv::Operation::Put {
        return None;
    }
    std::str::from_utf8(&entry.value)
        .ok()?
        .parse()
        .ok()
        .map(Pid)
}

impl GlobalNames {
    pub(super) async fn open(store: &Store) -> Result<GlobalNames, StoreError> {
        Ok(GlobalNames {
            bucket: store.bucket(NAMES, "global names").await?,
            timeout: store.timeout(),
            held: Mutex::default(),
        })
    }

    /// The process holding `name`, if any.
    pub(crate) async fn whereis(&self, name: Sym) -> Result<Option<Pid>, StoreError> {
        let entry = bounded(
            self.timeout,
            "cannot read a global name",
            self.bucket.entry(key(name)),
        )
        .await?;
        Ok(entry.as_ref().and_then(holder))
    }

    /// Registers `name` to `pid` (a process of this node), unless a live
    /// process holds it: `alive` says of a holder.
    pub(crate) async fn register<F, A>(
        &self,
        name: Sym,
        pid: Pid,
        alive: A,
    ) -> Result<(), NotRegistered>
    where
        A: Fn(Pid) -> F,
        F: std::future::Future<Output = bool>,
    {
        let value = || Bytes::from(pid.0.to_string());
        loop {
            let entry = bounded(
                self.timeout,
                "cannot read a global name",
                self.bucket.entry(key(name)),
            )
            .await
            .map_err(NotRegistered::Store)?;
            let written = match entry {
                None => self.bucket.create(key(name), value()).await.ok(),
                Some(entry) => {
                    if let Some(other) = holder(&entry).filter(|p| *p != pid) {
                        if alive(other).await {
                            return Err(NotRegistered::Taken(other));
                        }
                    }
                    self.bucket
                        .update(key(name), value(), entry.revision)
                        .await
                        .ok()
                }
            };
            // Not written: another node wrote it meanwhile; look again.
            if let Some(revision) = written {
                let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
                held.retain(|(n, _, _)| *n != name);
                held.push((name, pid, revision));
                return Ok(());
            }
        }
    }

    /// Frees the names `pid` held here: it ended.
    pub(crate) fn release(&self, pid: Pid) {
        let freed: Vec<(Sym, u64)> = {
            let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
            let freed = held
                .iter()
                .filter(|(_, p, _)| *p == pid)
                .map(|(n, _, r)| (*n, *r))
                .collect();
            held.retain(|(_, p, _)| *p != pid);
            freed
        };
        for (name, revision) in freed {
            let bucket = self.bucket.clone();
            tokio::spawn(async move {
                // Only the entry it wrote: a later holder's stays.
                let _ = bucket
                    .delete_expect_revision(key(name), Some(revision))
                    .await;
            });
        }
    }

    /// Frees every name whose holder `gone` says is gone (those of a node
    /// gone), each only if still at the revision read.
    pub(crate) async fn free_where(&self, gone: impl Fn(Pid) -> bool) {
        let Ok(keys) = bounded(
            self.timeout,
            "cannot list global names",
            keys_of(&self.bucket),
        )
        .await
        else {
            return;
        };
        for key in keys {
            let Ok(Ok(Some(entry))) =
                tokio::time::timeout(self.timeout, self.bucket.entry(&key)).await
            else {
                continue;
            };
            if holder(&entry).is_some_and(&gone) {
                let _ = self
                    .bucket
                    .delete_expect_revision(&key, Some(entry.revision))
                    .await;
            }
        }
    }
}
