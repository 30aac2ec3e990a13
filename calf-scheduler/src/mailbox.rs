//! How processes talk: a closed set of signals, delivered to an inbox.
//!
//! Anyone may push a signal into a process's inbox; only the process takes
//! them out, between two slices of its VM. Messages then move to its own
//! mailbox, where `receive` looks at them selectively; the other signals
//! change its links, monitors or life.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use calf_lang::value::Pid;
use calf_lang::Value;
use tokio::sync::Notify;

/// Everything one process can say to another.
#[derive(Debug)]
pub enum Signal {
    Message(Value),
    /// `from` exited (a link broke) or called `(exit pid reason)`.
    Exit {
        from: Pid,
        reason: Value,
        link_broken: bool,
    },
    Link(Pid),
    Unlink(Pid),
    /// `watcher` monitors this process under `reference`.
    Monitor {
        watcher: Pid,
        reference: u64,
    },
    Demonitor {
        reference: u64,
    },
    /// A call this process made has finished: the reply, or the error value
    /// to throw.
    CallDone {
        promise: u64,
        result: Result<Value, Value>,
    },
    /// The next line typed at the REPL, for an interactive main process.
    Input(calf_lang::reader::Forms),
    /// Ctrl-C at the REPL: the line being evaluated stops with
    /// `:calf/interrupted` (ignored between lines).
    Interrupt,
}

/// The shared end of a process: its inbox and what others may read of it.
#[derive(Debug, Default)]
pub struct ProcessHandle {
    inbox: Mutex<Inbox>,
    wake: Notify,
    /// Whether exit signals become messages; read by a dying linked
    /// process to decide whether to report its crash.
    pub trap_exit: AtomicBool,
}

#[derive(Debug, Default)]
struct Inbox {
    signals: VecDeque<Signal>,
    /// Set when the process has ended: later signals are refused.
    closed: bool,
}

impl ProcessHandle {
    /// Delivers `signal`; gives it back if the process has already ended.
    pub fn push(&self, signal: Signal) -> Result<(), Signal> {
        {
            let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
            if inbox.closed {
                return Err(signal);
            }
            inbox.signals.push_back(signal);
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Takes every pending signal.
    pub fn take_all(&self, into: &mut VecDeque<Signal>) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        into.append(&mut inbox.signals);
    }

    /// Refuses further signals; returns the ones still pending.
    pub fn close(&self) -> VecDeque<Signal> {
        let mut inbox = self.inbox.lock().unwrap_or_else(|e| e.into_inner());
        inbox.closed = true;
        std::mem::take(&mut inbox.signals)
    }

    /// Waits until a signal may have arrived.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    pub fn traps_exits(&self) -> bool {
        self.trap_exit.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_arrive_in_order_until_the_inbox_closes() {
        let handle = ProcessHandle::default();
        for n in 0..3 {
            handle.push(Signal::Message(Value::Int(n))).expect("open");
        }
        let mut taken = VecDeque::new();
        handle.take_all(&mut taken);
        let got: Vec<i64> = taken
            .iter()
            .map(|s| match s {
                Signal::Message(Value::Int(n)) => *n,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(got, [0, 1, 2]);
        handle.push(Signal::Link(Pid(7))).expect("open");
        let pending = handle.close();
        assert!(matches!(pending.front(), Some(Signal::Link(Pid(7)))));
        assert!(
            handle.push(Signal::Message(Value::Nil)).is_err(),
            "a closed inbox refuses signals"
        );
    }

    #[test]
    fn a_push_before_the_wait_is_not_lost() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let handle = ProcessHandle::default();
            handle.push(Signal::Message(Value::Nil)).expect("open");
            // The wake-up was stored: waiting now returns at once.
            tokio::time::timeout(std::time::Duration::from_secs(5), handle.woken())
                .await
                .expect("woken by the earlier push");
        });
    }
}
