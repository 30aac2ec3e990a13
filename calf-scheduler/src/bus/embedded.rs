//! The embedded bus: calls answered inside this program, with no server.
//! The default, and how users stub workers to test their logic locally.

use std::sync::{Arc, Mutex};

use calf_lang::value::Pid;
use rustc_hash::FxHashMap;

use super::{BoxFuture, Bus, BusError, Reply, Request, Service};

/// The services of one subject, answered in turn.
#[derive(Default)]
struct Subject {
    services: Vec<(Pid, Arc<dyn Service>)>,
    next: usize,
}

#[derive(Default)]
pub struct EmbeddedBus {
    subjects: Mutex<FxHashMap<String, Subject>>,
}

impl EmbeddedBus {
    pub fn new() -> EmbeddedBus {
        EmbeddedBus::default()
    }

    /// Picks the next service of `subject`, round robin.
    fn pick(&self, subject: &str) -> Option<Arc<dyn Service>> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        let entry = subjects.get_mut(subject)?;
        if entry.services.is_empty() {
            return None;
        }
        let index = entry.next % entry.services.len();
        entry.next = entry.next.wrapping_add(1);
        Some(entry.services[index].1.clone())
    }
}

impl Bus for EmbeddedBus {
    fn request(&self, request: Request) -> BoxFuture<Result<Reply, BusError>> {
        let service = self.pick(&request.subject);
        Box::pin(async move {
            let Some(service) = service else {
                return Err(BusError::NoResponders);
            };
            let timeout = request.timeout;
            match tokio::time::timeout(timeout, service.handle(request)).await {
                Ok(result) => result,
                Err(_) => Err(BusError::Timeout),
            }
        })
    }

    fn serve(
        &self,
        subject: &str,
        owner: Pid,
        service: Arc<dyn Service>,
    ) -> BoxFuture<Result<(), String>> {
        self.subjects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(subject.to_string())
            .or_default()
            .services
            .push((owner, service));
        Box::pin(async { Ok(()) })
    }

    fn unserve(&self, owner: Pid) {
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        for subject in subjects.values_mut() {
            subject.services.retain(|(pid, _)| *pid != owner);
        }
        subjects.retain(|_, s| !s.services.is_empty());
    }
}
