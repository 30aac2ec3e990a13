//! One tenant's job logs by pid: every running job's, and those of the
//! last [`KEEP_ENDED`] jobs that ended, so that `logs` answers after the
//! end. Attached sessions' logs are here too, under their process's pid.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::output::JobLog;

/// How many ended jobs' logs a tenant keeps.
pub const KEEP_ENDED: usize = 1000;

#[derive(Default)]
pub struct Jobs {
    logs: Mutex<HashMap<u64, Arc<JobLog>>>,
}

impl Jobs {
    pub fn insert(&self, pid: u64, log: Arc<JobLog>) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.insert(pid, log);
        forget_oldest_ended(&mut logs, KEEP_ENDED);
    }

    pub fn get(&self, pid: u64) -> Option<Arc<JobLog>> {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.get(&pid).cloned()
    }
}

/// Forgets the logs that ended longest ago, past the `keep` newest ended.
/// Runs at each new job: the work is in proportion to the table, which
/// the process quota and `keep` bound.
fn forget_oldest_ended(logs: &mut HashMap<u64, Arc<JobLog>>, keep: usize) {
    let mut ended: Vec<_> = logs
        .iter()
        .filter_map(|(pid, log)| log.ended_at().map(|at| (at, *pid)))
        .collect();
    if ended.len() <= keep {
        return;
    }
    ended.sort_unstable();
    for (_, pid) in &ended[..ended.len() - keep] {
        logs.remove(pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api;

    fn ended_log() -> Arc<JobLog> {
        let log = Arc::new(JobLog::new(10));
        log.finish(api::JobEnd {
            reason: ":normal".into(),
            status: 0,
            failure: None,
        });
        log
    }

    #[test]
    fn the_oldest_ended_logs_go_first_and_running_ones_stay() {
        let mut logs = HashMap::new();
        logs.insert(1, Arc::new(JobLog::new(10)));
        for pid in 2..=5 {
            logs.insert(pid, ended_log());
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        forget_oldest_ended(&mut logs, 2);
        let mut kept: Vec<_> = logs.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!(kept, [1, 4, 5]);
    }
}
