//! What a hosted runtime's tenant may use, and the error a program gets
//! when it reaches a limit: `:calf/quota-exceeded`, with the quota's name,
//! its limit and the tenant.
//!
//! A program run by `calf` has no quotas but the mailbox's
//! (`Config::max_mailbox`); the limits here change while the runtime runs
//! (a reloaded configuration), so they are atomics read where they apply.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use calf_lang::{RuntimeError, Value};
use tokio::sync::Semaphore;

use crate::hosted::Limits;

/// The `:type` of the error a limit reached throws.
pub const QUOTA_EXCEEDED: &str = "calf/quota-exceeded";

pub(crate) struct Quotas {
    /// The tenant, named in errors; `None` for a program run by `calf`.
    pub tenant: Option<Arc<str>>,
    max_processes: AtomicUsize,
    max_mailbox: AtomicUsize,
    /// Permits for calls in flight; `None` without a limit.
    calls: Option<CallPermits>,
    /// Spawns refused, mailboxes overflowed, calls that timed out waiting
    /// for a permit.
    refusals: AtomicU64,
}

struct CallPermits {
    semaphore: Arc<Semaphore>,
    /// The limit the semaphore's permits add up to.
    limit: Mutex<usize>,
}

impl Quotas {
    /// No limit but `max_mailbox`.
    pub fn unlimited(max_mailbox: usize) -> Quotas {
        Quotas {
            tenant: None,
            max_processes: AtomicUsize::new(usize::MAX),
            max_mailbox: AtomicUsize::new(max_mailbox),
            calls: None,
            refusals: AtomicU64::new(0),
        }
    }

    pub fn hosted(tenant: &str, limits: Limits) -> Quotas {
        Quotas {
            tenant: Some(Arc::from(tenant)),
            max_processes: AtomicUsize::new(limits.max_processes),
            max_mailbox: AtomicUsize::new(limits.max_mailbox),
            calls: Some(CallPermits {
                semaphore: Arc::new(Semaphore::new(limits.max_calls_in_flight)),
                limit: Mutex::new(limits.max_calls_in_flight),
            }),
            refusals: AtomicU64::new(0),
        }
    }

    pub fn set(&self, limits: Limits) {
        self.max_processes
            .store(limits.max_processes, Ordering::Relaxed);
        self.max_mailbox
            .store(limits.max_mailbox, Ordering::Relaxed);
        if let Some(calls) = &self.calls {
            let mut limit = calls.limit.lock().unwrap_or_else(|e| e.into_inner());
            let wanted = limits.max_calls_in_flight;
            if wanted > *limit {
                calls.semaphore.add_permits(wanted - *limit);
            } else {
                // Permits held by calls in flight come back and are then
                // forgotten, until the count is down to the new limit.
                let mut owed = *limit - wanted;
                owed -= calls.semaphore.forget_permits(owed);
                if owed > 0 {
                    let semaphore = calls.semaphore.clone();
                    tokio::spawn(async move {
                        if let Ok(permits) = semaphore.acquire_many_owned(owed as u32).await {
                            permits.forget();
                        }
                    });
                }
            }
            *limit = wanted;
        }
    }

    pub fn max_processes(&self) -> usize {
        self.max_processes.load(Ordering::Relaxed)
    }

    pub fn max_mailbox(&self) -> usize {
        self.max_mailbox.load(Ordering::Relaxed)
    }

    /// Calls in flight now.
    pub fn calls_in_flight(&self) -> usize {
        self.calls.as_ref().map_or(0, |calls| {
            let limit = *calls.limit.lock().unwrap_or_else(|e| e.into_inner());
            limit.saturating_sub(calls.semaphore.available_permits())
        })
    }

    /// The semaphore a call takes a permit of, if calls are limited.
    pub fn call_permits(&self) -> Option<Arc<Semaphore>> {
        self.calls.as_ref().map(|c| c.semaphore.clone())
    }

    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }

    /// The error for `quota` reached at `limit`, counted as a refusal.
    pub fn exceeded(&self, quota: &str, limit: usize, what: &str) -> RuntimeError {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        let tenant = self.tenant.as_deref().unwrap_or("");
        RuntimeError::new(
            QUOTA_EXCEEDED,
            format!(
                "{what}: tenant {tenant} reached its quota {quota} of {limit} (raise it in calf.toml, or use fewer)"
            ),
        )
        .with("quota", Value::keyword(quota))
        .with("limit", Value::Int(limit as i64))
        .with("tenant", Value::str(tenant))
    }
}
