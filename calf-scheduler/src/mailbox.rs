//! How processes talk: a closed set of signals, delivered to an inbox.
//!
//! Anyone may push a signal into a process's inbox; only the process takes
//! them out, between two slices of its VM. Messages then move to its own
//! mailbox, where `receive` looks at them selectively; the other signals
//! change its links, monitors or life.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::Waker;

use calf_lang::value::Pid;
use calf_lang::Value;

/// Everything one process can say to another. Kept at 24 bytes (the
/// rare large kinds are boxed): inboxes hold signals inline.
#[derive(Debug)]
pub enum Signal {
    Message(Value),
    /// A message of a durable process's inbox, with its number in the
    /// stream (see `durable/inbox.rs`).
    Inbox(Box<(u64, Value)>),
    Exit(Box<ExitSignal>),
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
    /// A `call` this process made, sent: the process polls it from now on.
    CallSent(Box<crate::call_sender::SentCall>),
    /// A call this process made has finished: the reply, or the error value
    /// to throw.
    CallDone {
        promise: u64,
        result: Box<Result<Value, Value>>,
    },
    /// The next line typed at the REPL, for an interactive main process.
    Input(Box<calf_lang::reader::Forms>),
    /// Ctrl-C at the REPL: the line being evaluated stops with
    /// `:calf/interrupted` (ignored between lines).
    Interrupt,
    /// What the process is doing, for `calf ps` and `calf inspect`: it
    /// answers between two slices, or when woken from a wait.
    Inspect(Box<tokio::sync::oneshot::Sender<crate::hosted::ProcessDetail>>),
    /// The node of this index is gone from the cluster: links and monitors
    /// to its processes fire with `:noconnection`.
    NodeDown(u32),
}

/// `from` exited (a link broke) or called `(exit pid reason)`.
#[derive(Debug)]
pub struct ExitSignal {
    pub from: Pid,
    pub reason: Value,
    pub link_broken: bool,
}

/// A first-in first-out queue that holds a single item inline. Inboxes and
/// mailboxes mostly hold nothing or one item (a process waiting in
/// `receive`, a message on its way to it): then no buffer is allocated.
#[derive(Debug, Default)]
pub enum Queue<T> {
    #[default]
    Empty,
    One(T),
    Many(VecDeque<T>),
}

impl<T> Queue<T> {
    pub fn len(&self) -> usize {
        match self {
            Queue::Empty => 0,
            Queue::One(_) => 1,
            Queue::Many(items) => items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push_back(&mut self, item: T) {
        match self {
            Queue::Empty => *self = Queue::One(item),
            Queue::One(_) => {
                if let Queue::One(first) = std::mem::take(self) {
                    *self = Queue::Many(VecDeque::from([first, item]));
                }
            }
            Queue::Many(items) => items.push_back(item),
        }
    }

    pub fn pop_front(&mut self) -> Option<T> {
        match self {
            Queue::Empty => None,
            Queue::One(_) => match std::mem::take(self) {
                Queue::One(item) => Some(item),
                _ => None,
            },
            Queue::Many(items) => items.pop_front(),
        }
    }

    pub fn get(&self, index: usize) -> Option<&T> {
        match self {
            Queue::One(item) if index == 0 => Some(item),
            Queue::Many(items) => items.get(index),
            _ => None,
        }
    }

    pub fn remove(&mut self, index: usize) -> Option<T> {
        match self {
            Queue::One(_) if index == 0 => self.pop_front(),
            Queue::Many(items) => items.remove(index),
            _ => None,
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            Queue::One(item) if !keep(item) => *self = Queue::Empty,
            Queue::Many(items) => items.retain(keep),
            _ => {}
        }
    }

    /// Moves every item of `other` to the back of this queue.
    pub fn append(&mut self, other: Queue<T>) {
        match other {
            Queue::Empty => {}
            Queue::One(item) => self.push_back(item),
            Queue::Many(mut items) => match self {
                Queue::Many(mine) => mine.append(&mut items),
                _ => {
                    if let Some(item) = self.pop_front() {
                        items.push_front(item);
                    }
                    *self = Queue::Many(items);
                }
            },
        }
    }

    /// Frees the buffer of a queue that a burst left empty.
    pub fn release(&mut self) {
        if matches!(self, Queue::Many(items) if items.is_empty()) {
            *self = Queue::Empty;
        }
    }
}

impl<T> IntoIterator for Queue<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter(self)
    }
}

/// The items of a [`Queue`], first in first out.
pub struct IntoIter<T>(Queue<T>);

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.0.pop_front()
    }
}

/// The shared end of a process: its pid, its inbox, and what others may
/// read of it.
#[derive(Debug)]
pub struct ProcessHandle {
    pid: Pid,
    inbox: Mutex<Inbox>,
    /// Set when the process has ended: later signals are refused. Changed
    /// and read with the inbox locked; outside the lock only so that it
    /// packs with `trap_exit`.
    closed: AtomicBool,
    /// Whether exit signals become messages; read by a dying linked
    /// process to decide whether to report its crash.
    pub trap_exit: AtomicBool,
    /// Whether the inbox holds signals: set and cleared with the inbox
    /// locked, read without the lock by the process (see `has_signals`).
    pending: AtomicBool,
    /// The main process of its job (0 when it has none yet: the main
    /// process itself, as it is made).
    job: Pid,
}

#[derive(Debug, Default)]
struct Inbox {
    signals: Queue<Signal>,
    /// The task of the process while it is parked: the next signal wakes
    /// it. A plain waker under the inbox's lock is all a process with a
    /// single consumer needs, and costs less than a `Notify`.
    waker: Option<Waker>,
}

impl ProcessHandle {
    pub fn new(pid: Pid) -> ProcessHandle {
        ProcessHandle::of_job(pid, pid)
    }

    /// The handle of a process of the job whose main process is `job`.
    pub fn of_job(pid: Pid, job: Pid) -> ProcessHandle {
        ProcessHandle {
            pid,
            inbox: Mutex::default(),
            closed: AtomicBool::new(false),
            trap_exit: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            job,
        }
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// The main process of its job.
    pub fn job(&self) -> Pid {
        self.job
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers `signal`; gives it back if the process has already ended.
    pub fn push(&self, signal: Signal) -> Result<(), Signal> {
        let waker = {
            let mut inbox = self.inbox();
            if self.closed.load(Ordering::Relaxed) {
                return Err(signal);
            }
            inbox.signals.push_back(signal);
            self.pending.store(true, Ordering::Relaxed);
            inbox.waker.take()
        };
        // Woken outside the lock: the process may already be taking its
        // signals on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Takes every pending signal.
    pub fn take_all(&self) -> Queue<Signal> {
        if !self.has_signals() {
            return Queue::Empty;
        }
        let mut inbox = self.inbox();
        self.pending.store(false, Ordering::Relaxed);
        std::mem::take(&mut inbox.signals)
    }

    /// Whether signals wait in the inbox, without taking its lock: for the
    /// process itself, which alone takes them out. A signal being pushed
    /// meanwhile may not show yet, as if it had come a moment later; what
    /// it would have woken is woken anyway (`park` looks under the lock).
    pub fn has_signals(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Refuses further signals; returns the ones still pending.
    pub fn close(&self) -> Queue<Signal> {
        let mut inbox = self.inbox();
        self.closed.store(true, Ordering::Relaxed);
        // The waker holds the task: dropping it lets the task be freed.
        inbox.waker = None;
        self.pending.store(false, Ordering::Relaxed);
        std::mem::take(&mut inbox.signals)
    }

    /// Arranges for the next signal to wake `waker`; false (and nothing
    /// arranged) when a signal is already pending. Checked under the same
    /// lock `push` takes, so no signal is missed between the two.
    pub fn park(&self, waker: &Waker) -> bool {
        let mut inbox = self.inbox();
        if !inbox.signals.is_empty() {
            return false;
        }
        match &mut inbox.waker {
            Some(parked) if parked.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        true
    }

    /// Whether the process has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    pub fn traps_exits(&self) -> bool {
        self.trap_exit.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    fn ints(queue: &Queue<i64>) -> Vec<i64> {
        (0..queue.len())
            .filter_map(|i| queue.get(i).copied())
            .collect()
    }

    #[test]
    fn a_queue_keeps_its_order_as_it_grows_and_shrinks() {
        let mut queue = Queue::default();
        assert!(queue.is_empty());
        queue.push_back(1);
        assert!(matches!(queue, Queue::One(1)), "one item needs no buffer");
        queue.push_back(2);
        queue.push_back(3);
        assert_eq!(ints(&queue), [1, 2, 3]);
        assert_eq!(queue.remove(1), Some(2));
        assert_eq!(queue.pop_front(), Some(1));
        assert_eq!(queue.pop_front(), Some(3));
        assert_eq!(queue.pop_front(), None);
        queue.release();
        assert!(matches!(queue, Queue::Empty), "an emptied buffer is freed");

        queue.push_back(4);
        assert_eq!(queue.get(1), None);
        assert_eq!(queue.remove(1), None);
        queue.retain(|n| *n != 4);
        assert!(queue.is_empty());

        let mut more = Queue::default();
        more.push_back(6);
        more.push_back(7);
        queue.push_back(5);
        queue.append(more);
        queue.retain(|n| *n != 6);
        assert_eq!(queue.into_iter().collect::<Vec<_>>(), [5, 7]);
    }

    #[test]
    fn signals_arrive_in_order_until_the_inbox_closes() {
        let handle = ProcessHandle::new(Pid(1));
        for n in 0..3 {
            handle.push(Signal::Message(Value::Int(n))).expect("open");
        }
        let got: Vec<i64> = handle
            .take_all()
            .into_iter()
            .map(|s| match s {
                Signal::Message(Value::Int(n)) => n,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(got, [0, 1, 2]);
        handle.push(Signal::Link(Pid(7))).expect("open");
        let mut pending = handle.close();
        assert!(matches!(pending.pop_front(), Some(Signal::Link(Pid(7)))));
        assert!(
            handle.push(Signal::Message(Value::Nil)).is_err(),
            "a closed inbox refuses signals"
        );
    }

    /// Counts its wake-ups.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_parked_process_is_woken_once_by_the_next_signal() {
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let handle = ProcessHandle::new(Pid(1));
        handle.push(Signal::Message(Value::Nil)).expect("open");
        assert!(
            !handle.park(&waker),
            "a signal already pending: no need to park"
        );
        handle.take_all();
        assert!(handle.park(&waker));
        handle.push(Signal::Message(Value::Nil)).expect("open");
        handle.push(Signal::Message(Value::Nil)).expect("open");
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "woken by the first signal only"
        );
        assert!(!handle.park(&waker));
    }
}
