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

    /// Picks the next service of `subject`, round robin: those serving it
    /// by name, else those serving a wildcard that matches it, as NATS
    /// would deliver it.
    fn pick(&self, subject: &str) -> Option<Arc<dyn Service>> {
        let mut subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner());
        let entry = match subjects.contains_key(subject) {
            true => subjects.get_mut(subject)?,
            false => subjects
                .iter_mut()
                .find(|(pattern, _)| matches(pattern, subject))
                .map(|(_, entry)| entry)?,
        };
        if entry.services.is_empty() {
            return None;
        }
        let index = entry.next % entry.services.len();
        entry.next = entry.next.wrapping_add(1);
        Some(entry.services[index].1.clone())
    }
}

/// Whether NATS delivers `subject` to a subscription on `pattern`: `*`
/// stands for one token, a final `>` for one or more.
fn matches(pattern: &str, subject: &str) -> bool {
    let mut tokens = subject.split('.');
    for wanted in pattern.split('.') {
        match (wanted, tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (wanted, Some(token)) if wanted == token => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use calf_lang::Value;

    use super::*;

    /// Answers with its own number, after `delay`.
    struct Numbered(i64, Duration);

    impl Service for Numbered {
        fn handle(&self, _: Request) -> BoxFuture<Result<Reply, BusError>> {
            let (n, delay) = (self.0, self.1);
            Box::pin(async move {
                tokio::time::sleep(delay).await;
                Ok(Reply::Ok(Value::Int(n)))
            })
        }
    }

    fn request(subject: &str, timeout_ms: u64) -> Request {
        Request {
            subject: subject.to_string(),
            payload: Value::Nil,
            body: bytes::Bytes::new(),
            call_id: "id".to_string(),
            attempt: 1,
            deadline_ms: 0,
            timeout: Duration::from_millis(timeout_ms),
            tenant: None,
            trace: None,
        }
    }

    fn answer(result: Result<Reply, BusError>) -> String {
        match result {
            Ok(Reply::Ok(v)) => v.to_string(),
            Ok(Reply::Error { code, .. }) => format!("error {code}"),
            Err(e) => e.describe(),
        }
    }

    #[test]
    fn services_answer_in_turn_and_leave_with_their_owner() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let bus = EmbeddedBus::new();
            assert_eq!(
                answer(bus.request(request("s", 100)).await),
                "no responders"
            );
            bus.serve("s", Pid(1), Arc::new(Numbered(1, Duration::ZERO)))
                .await
                .expect("served");
            bus.serve("s", Pid(2), Arc::new(Numbered(2, Duration::ZERO)))
                .await
                .expect("served");
            let mut got = Vec::new();
            for _ in 0..4 {
                got.push(answer(bus.request(request("s", 100)).await));
            }
            assert_eq!(got, ["1", "2", "1", "2"]);
            bus.unserve(Pid(1));
            assert_eq!(answer(bus.request(request("s", 100)).await), "2");
            bus.unserve(Pid(2));
            assert_eq!(
                answer(bus.request(request("s", 100)).await),
                "no responders"
            );
        });
    }

    #[test]
    fn wildcards_match_as_nats_matches_them() {
        for (pattern, subject, expected) in [
            ("a.*", "a.b", true),
            ("a.*", "a.b.c", false),
            ("a.*", "a", false),
            ("a.>", "a.b.c", true),
            ("a.>", "a", false),
            (">", "a", true),
            ("*.b", "a.b", true),
            ("a.b", "a.b", true),
            ("a.b", "a.c", false),
        ] {
            assert_eq!(matches(pattern, subject), expected, "{pattern} {subject}");
        }
    }

    #[test]
    fn a_slow_service_times_the_attempt_out() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let bus = EmbeddedBus::new();
            bus.serve(
                "slow",
                Pid(1),
                Arc::new(Numbered(1, Duration::from_secs(10))),
            )
            .await
            .expect("served");
            assert_eq!(answer(bus.request(request("slow", 50)).await), "timed out");
        });
    }
}
