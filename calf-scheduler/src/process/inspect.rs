//! What a process tells of itself when asked (`Signal::Inspect`): the
//! rows of `calf ps` and the detail of `calf inspect`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use calf_lang::value::Pid;

use super::{Process, Seldom, Wait};
use crate::hosted::{CallWait, ProcessDetail, ProcessRow};

/// Messages of the mailbox `inspect` prints.
const MAILBOX_SHOWN: usize = 10;

/// Characters of one printed message `inspect` keeps.
const MESSAGE_SHOWN: usize = 200;

/// Frames of the Calf stack `inspect` shows.
const FRAMES_SHOWN: usize = 50;

impl Process {
    pub(super) fn describe(&self) -> ProcessDetail {
        let pid = self.pid();
        let seldom = self.seldom.as_deref();
        let status = match &self.waiting {
            None => "running",
            Some(Wait::Start) => "runnable",
            Some(Wait::Message(_)) => "waiting",
            Some(Wait::Sleep(_)) => "sleeping",
            Some(Wait::Reply(_)) => "calling",
            Some(Wait::Input) => "idle",
        };
        let status = if self.frames().len() > 1 {
            "loading"
        } else {
            status
        };
        let name = self
            .shared
            .registered()
            .into_iter()
            .find(|(_, p)| *p == pid)
            .map(|(name, _)| format!(":{name}"));
        let memory = calf_executor::task_bytes::<Process>()
            + self.vm.footprint()
            + self.mailbox.len() * std::mem::size_of::<calf_lang::Value>()
            + seldom.map_or(0, |_| std::mem::size_of::<Seldom>());
        let now_ms = self.shared.epoch.elapsed().as_millis() as u64;
        let row = ProcessRow {
            pid,
            job: self.handle.job(),
            name,
            status,
            function: self.vm.current_function().map(|f| f.to_string()),
            mailbox: self.mailbox.len(),
            reductions: self.reductions,
            memory,
            age: Duration::from_millis(now_ms.saturating_sub(self.born_ms)),
            durable: self.durable_slot().map(|slot| slot.saved_state()),
        };
        let stack = self
            .vm
            .trace()
            .iter()
            .take(FRAMES_SHOWN)
            .map(|entry| {
                let name = entry
                    .function
                    .map_or("<top level>".to_string(), |n| n.to_string());
                let at = entry.span.map_or("?".to_string(), |s| s.location());
                match entry.times {
                    1 => format!("{name} ({at})"),
                    n => format!("{name} ({at}), {n} frames deep"),
                }
            })
            .collect();
        let mailbox = (0..self.mailbox.len().min(MAILBOX_SHOWN))
            .filter_map(|i| self.mailbox.get(i))
            .map(|message| shortened(message.to_string()))
            .collect();
        let pids = |pairs: &[(u64, Pid)]| pairs.iter().map(|(_, p)| *p).collect::<Vec<Pid>>();
        let call = match (
            &self.waiting,
            seldom.and_then(|s| s.calls.waiting_on.as_ref()),
        ) {
            (Some(Wait::Reply(_)), Some(info)) => Some(CallWait {
                subject: info.subject.clone(),
                attempt: info.attempt.load(Ordering::Relaxed),
                deadline_ms: info.deadline_ms,
            }),
            _ => None,
        };
        ProcessDetail {
            row,
            stack,
            mailbox,
            links: self.links().to_vec(),
            monitors: seldom.map_or(Vec::new(), |s| pids(&s.ties.watching)),
            monitored_by: seldom.map_or(Vec::new(), |s| pids(&s.ties.watchers)),
            traps_exits: self.handle.traps_exits(),
            call,
        }
    }
}

/// A printed message cut to [`MESSAGE_SHOWN`] characters.
fn shortened(text: String) -> String {
    match text.char_indices().nth(MESSAGE_SHOWN) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}
