//! One tenant's attached sessions (remote REPLs) by id: the REPL process,
//! its output, and when a client was last heard from, so that a session
//! whose client went away without detaching is dropped in the end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use calf_scheduler::hosted::Attached;

use crate::api;
use crate::output::JobLog;

/// A session no request named for this long is dropped (a client
/// following its output asks at least twice a minute).
pub const IDLE_LIMIT: Duration = Duration::from_secs(30 * 60);

pub struct Session {
    pub id: u64,
    pub repl: Attached,
    pub log: Arc<JobLog>,
    /// The REPL process's pid.
    pub pid: u64,
    heard: Mutex<Instant>,
    evaluating: AtomicBool,
    lines: AtomicU64,
}

impl Session {
    /// Notes that a client asked about this session.
    pub fn heard(&self) {
        *self.heard.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.heard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }

    /// Evaluates one line, named `<repl:N>` in errors.
    pub async fn eval(&self, source: &str) -> calf_scheduler::Evaluated {
        let line = self.lines.fetch_add(1, Ordering::Relaxed) + 1;
        self.evaluating.store(true, Ordering::SeqCst);
        let evaluated = self.repl.eval(&format!("<repl:{line}>"), source).await;
        self.evaluating.store(false, Ordering::SeqCst);
        self.heard();
        evaluated
    }

    /// Interrupts the line being evaluated, if any.
    pub fn interrupt(&self) {
        if self.evaluating.load(Ordering::SeqCst) {
            self.repl.interrupt();
        }
    }

    /// The session's output ends: a client following it stops.
    fn close(&self, reason: &str) {
        self.interrupt();
        self.log.finish(api::JobEnd {
            reason: reason.to_string(),
            status: 0,
            failure: None,
        });
    }
}

#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<u64, Arc<Session>>>,
    next_id: AtomicU64,
}

impl Sessions {
    fn by_id(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Session>>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sessions numbered as the pids of node `index` are (0: no cluster),
    /// so that any node of a cluster knows where a session is.
    pub fn numbered_on(index: u32) -> Sessions {
        Sessions {
            next_id: AtomicU64::new(calf_lang::value::Pid::on_node(index, 0).0),
            ..Default::default()
        }
    }

    /// Keeps `repl` as a new session; its id.
    pub fn open(&self, repl: Attached, log: Arc<JobLog>) -> Arc<Session> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let session = Arc::new(Session {
            id,
            pid: repl.pid().0,
            repl,
            log,
            heard: Mutex::new(Instant::now()),
            evaluating: AtomicBool::new(false),
            lines: AtomicU64::new(0),
        });
        self.by_id().insert(id, session.clone());
        session
    }

    pub fn get(&self, id: u64) -> Option<Arc<Session>> {
        let session = self.by_id().get(&id).cloned()?;
        session.heard();
        Some(session)
    }

    /// Notes that a client follows the output of process `pid`, if it is
    /// a session's.
    pub fn heard_from_pid(&self, pid: u64) {
        if let Some(session) = self.by_id().values().find(|s| s.pid == pid) {
            session.heard();
        }
    }

    /// Drops the session: its REPL process ends (once a line still
    /// running returns); what it spawned keeps running.
    pub fn detach(&self, id: u64) -> bool {
        let session = self.by_id().remove(&id);
        session.inspect(|s| s.close(":detached")).is_some()
    }

    /// Drops the sessions idle for longer than `limit`; their ids.
    pub fn drop_idle(&self, limit: Duration) -> Vec<u64> {
        let mut by_id = self.by_id();
        let idle: Vec<u64> = by_id
            .values()
            .filter(|s| !s.evaluating.load(Ordering::SeqCst) && s.idle_for() > limit)
            .map(|s| s.id)
            .collect();
        for id in &idle {
            if let Some(session) = by_id.remove(id) {
                session.close(":idle");
            }
        }
        idle
    }

    /// Drops every session (the tenant is going away).
    pub fn close_all(&self) {
        for (_, session) in self.by_id().drain() {
            session.close(":shutdown");
        }
    }
}
