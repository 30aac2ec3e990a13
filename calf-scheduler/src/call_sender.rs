//! Where the first attempt of every `call` is sent from: one task, which
//! sends the calls of many processes together.
//!
//! A process that sent its own request would hand it to the NATS client
//! alone: the client's connection task, woken by that one request, runs
//! right after the process (tokio runs a task woken by the running one
//! next) and writes it out by itself, a system call and often a thread
//! wake-up per request. Instead a process queues its call and parks. The
//! sender task, once woken, yields once so that the processes ready to run
//! queue theirs too, then polls each queued call once (which hands its
//! request to the client: the connection task then writes them all at
//! once) and gives it back to its process, which polls it from then on,
//! so the reply wakes the process directly. A call that finished on that
//! first poll is given back as its result.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use calf_lang::Value;

use crate::bus::BoxFuture;
use crate::mailbox::{ProcessHandle, Signal};

/// A call, as its process hands it over: the reply or the error to throw.
pub type Call = BoxFuture<Result<Value, Value>>;

/// A call on its way back to its process, sent and waiting for its reply.
pub struct SentCall {
    /// The promise the process waits on.
    pub promise: u64,
    pub call: Call,
}

impl std::fmt::Debug for SentCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SentCall({})", self.promise)
    }
}

struct Queued {
    process: Arc<ProcessHandle>,
    promise: u64,
    call: Call,
}

#[derive(Default)]
struct Queue {
    calls: Vec<Queued>,
    /// The sender task's, while it waits for calls.
    waker: Option<Waker>,
}

/// The handle processes queue their calls with.
#[derive(Clone)]
pub struct CallSender {
    queue: Arc<Mutex<Queue>>,
}

impl CallSender {
    /// Starts the sender task on the current tokio runtime.
    pub fn start() -> CallSender {
        let queue = Arc::new(Mutex::new(Queue::default()));
        tokio::spawn(Sending {
            queue: queue.clone(),
            taken: Vec::new(),
            yielded: false,
        });
        CallSender { queue }
    }

    /// Queues `call`, made by `process` waiting on `promise`; the process
    /// gets it back as `Signal::CallSent` (or `Signal::CallDone`).
    pub fn send(&self, process: Arc<ProcessHandle>, promise: u64, call: Call) {
        let waker = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.calls.push(Queued {
                process,
                promise,
                call,
            });
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The sender task.
struct Sending {
    queue: Arc<Mutex<Queue>>,
    /// The batch being sent (kept to reuse its buffer).
    taken: Vec<Queued>,
    /// Whether the task yielded since calls came in.
    yielded: bool,
}

impl Future for Sending {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            {
                let mut queue = this.queue.lock().unwrap_or_else(|e| e.into_inner());
                if queue.calls.is_empty() {
                    match &queue.waker {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        _ => queue.waker = Some(cx.waker().clone()),
                    }
                    this.yielded = false;
                    return Poll::Pending;
                }
                if !this.yielded {
                    // Woken by the first call of a batch: let the other
                    // ready processes run (a task that wakes itself goes
                    // to the back of tokio's queue) and queue theirs.
                    this.yielded = true;
                    drop(queue);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                std::mem::swap(&mut this.taken, &mut queue.calls);
            }
            this.yielded = false;
            for Queued {
                process,
                promise,
                mut call,
            } in this.taken.drain(..)
            {
                if process.is_closed() {
                    // The process ended: its call is dropped unsent.
                    continue;
                }
                // Unconstrained: tokio's budget of operations per poll
                // would leave the calls at the end of a batch unsent.
                let first_poll = tokio::task::unconstrained(call.as_mut());
                let signal = match std::pin::pin!(first_poll).poll(cx) {
                    Poll::Pending => Signal::CallSent(Box::new(SentCall { promise, call })),
                    Poll::Ready(result) => Signal::CallDone {
                        promise,
                        result: Box::new(result),
                    },
                };
                // A process that ended meanwhile drops its call.
                let _ = process.push(signal);
            }
        }
    }
}
