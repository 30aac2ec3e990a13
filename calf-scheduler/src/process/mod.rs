//! A process: a VM, its mailbox, its links and monitors, run as a task of
//! the runtime's pool (`executor.rs`) one reduction budget at a time.
//!
//! Between two slices the process takes its signals (messages, exit
//! signals, links, monitors). When its VM returns an effect, the process
//! carries it out and resumes the VM with the answer; when it must wait (a
//! `receive` with nothing to take, a `sleep`) it parks until a signal
//! arrives or its timer fires, so a waiting process costs no CPU. A send,
//! a receive that finds its message and the accepting clause are answered
//! while the VM runs (`Inline`, the VM's `Host`), without it returning.
//!
//! A process is its own future, written by hand: the pool keeps a task's
//! future inline in the task, and an `async fn` would hold the process and
//! the state of every await point besides. What most processes never use
//! (links, monitors, loading files, calls, timers) is in a box allocated on
//! first use (`Seldom`: its ties, forms, calls and timers), so a process
//! waiting in `receive` is a small task, its handle, and its VM's two
//! short stacks.
//!
//! | module | holds |
//! |---|---|
//! | `mod.rs` | `Process`, its run loop (`run_until_exit`: one reduction account per slice), parking, and its end on a panic |
//! | `effects.rs` | carrying out what the VM asks (`perform`, `try_resume` after a wait) and `Inline`, the VM's `Host` |
//! | `ops.rs` | the process requests: link, monitor, exit, trap-exit, the registry |
//! | `signals.rs` | taking signals between slices, and telling links and monitors of the end |
//! | `program.rs` | the forms a process evaluates: the main program, the REPL's lines, files being loaded |

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use calf_lang::compiler::{Compiler, TopLevel};
use calf_lang::reader::Forms;
use calf_lang::require::{refer, Require};
use calf_lang::span::Span;
use calf_lang::value::Pid;
use calf_lang::vm::{Effect, Outcome, ProcessOp, Received, Resume, Thrown, Vm};
use calf_lang::{RuntimeError, Sym, Value};
use tokio::time::Instant;

use crate::call::{self, Policy};
use crate::job::Job;
use crate::mailbox::{ExitSignal, ProcessHandle, Queue, Signal};
use crate::runtime::{Ending, Evaluated, Failure, Shared};
use std::sync::mpsc::Sender;

mod durable;
mod effects;
mod inspect;
mod ops;
mod program;
mod signals;

pub(crate) use durable::{
    images_to_store, save_error, storable_message, store_images, RestoredWait,
};

/// The first save of a durable process, which must be stored before its
/// pid is given out.
pub(crate) type FirstSave =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Value>> + Send>>;
use effects::Inline;
pub(crate) use program::Program;
use program::{source_error_value, Frame, Step};
pub(crate) use signals::down_message;
use signals::{exit_reason_of, is_down_for};

/// Reductions a process spends, at most, between two yields to the other
/// processes of its runner (more when the configured budget is larger).
const YIELD_EVERY: u32 = 20_000;

/// Reductions an effect carried out by the process (not answered in the
/// VM) costs besides its call: `now-ms` in a loop takes about four times
/// as long per round as a plain loop's round.
const EFFECT_COST: u32 = 4;

/// Why a process stopped: its exit reason, and the failure to report if it
/// crashed.
type Exit = (Value, Option<Failure>);

/// A process. Only what every process uses is here: a million of them
/// must fit in memory (see `the_waiting_process_stays_small`).
pub(crate) struct Process {
    /// Its inbox, shared with those who send to it; also its pid.
    handle: Arc<ProcessHandle>,
    shared: Arc<Shared>,
    /// The program it is part of: its namespaces and output.
    job: Arc<Job>,
    vm: Vm,
    mailbox: Queue<Value>,
    /// The next mailbox position `receive` looks at.
    cursor: u32,
    /// What the VM waits for before it can run again.
    waiting: Option<Wait>,
    /// The process it sent its last message to (see `send_message`).
    last_sent: Option<Arc<ProcessHandle>>,
    /// The rest, allocated when first needed.
    seldom: Option<Box<Seldom>>,
    /// Reductions it has spent.
    reductions: u64,
    /// When it was spawned, in milliseconds from the runtime's start.
    born_ms: u64,
}

/// What few processes use, in a box made on first use: most never link,
/// monitor, load a file, call out, sleep, or time out a `receive`.
#[derive(Default)]
struct Seldom {
    ties: Ties,
    forms: Frames,
    calls: Calls,
    timers: Timers,
    /// Signals taken from the inbox and not handled yet: those after the
    /// one that ended the process, which must still be looked at.
    signals: Queue<Signal>,
    /// A durable process's saves (see `durable.rs`).
    durable: Option<Arc<durable::DurableSlot>>,
}

/// Links and monitors: who hears of this process's end, and whose end it
/// hears of.
#[derive(Default)]
struct Ties {
    links: Vec<Pid>,
    /// Who monitors this process, by reference.
    watchers: Vec<(u64, Pid)>,
    /// The processes this one monitors, by reference.
    watching: Vec<(u64, Pid)>,
}

/// The forms a process evaluates one by one (see `program.rs`).
#[derive(Default)]
struct Frames {
    /// The main program at the bottom, files being loaded above it.
    frames: Vec<Frame>,
    /// Whether this is the program's main process.
    main: bool,
}

/// Foreign calls the process made and has not had answered.
#[derive(Default)]
struct Calls {
    /// `call-async` calls in flight, stopped if this process ends first.
    in_flight: Vec<(u64, tokio::task::AbortHandle)>,
    /// The `call` this process waits for, once sent (`call_sender.rs`):
    /// polled by the process itself, as a task of its own would cost a
    /// spawn and a second wake-up per reply. Dropping it (when the process
    /// ends) stops the call.
    call: Option<crate::call_sender::Call>,
    /// Finished calls not awaited yet: the reply, or the error to throw.
    replies: Vec<(u64, Result<Value, Value>)>,
    /// The call whose reply `Wait::Reply` waits for.
    promise: u64,
    /// What `inspect` shows of the last `call` (in a hosted runtime).
    waiting_on: Option<CallInfo>,
}

/// The `call` a process waits on, as `inspect` shows it.
struct CallInfo {
    subject: String,
    deadline_ms: i64,
    /// The attempt under way, kept by the call.
    attempt: Arc<std::sync::atomic::AtomicU32>,
}

/// When the process's timed waits give up.
#[derive(Default)]
struct Timers {
    /// When the current `receive` gives up.
    receive_deadline: Option<Instant>,
    /// When a `sleep` ends, or an awaited reply is given up on.
    until: Option<Instant>,
    /// Wakes the task when a timed wait runs out. Boxed: a timer is big.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// Why a process is not running, with the answer its VM is owed when it
/// waits for one. The times and the promise it waits on are in `Seldom`,
/// which keeps this one byte.
enum Wait {
    /// The main program: its first form is still to compile.
    Start,
    /// A `receive` with no message to hand out yet (until
    /// `receive_deadline`, if set).
    Message(Received),
    /// A `sleep`, until `until`.
    Sleep(Resume),
    /// A `call`, or an `await` of a `call-async` promise: the reply to
    /// `promise` (a `call` is polled in `Calls::call` once sent), until
    /// `until` if set.
    Reply(Resume),
    /// An interactive main process between two lines.
    Input,
}

/// The frames of a process that evaluates no forms.
const NO_FRAMES: &[Frame] = &[];

fn keyword(name: &str) -> Value {
    Value::keyword(name)
}

impl Process {
    pub fn new(
        shared: Arc<Shared>,
        job: Arc<Job>,
        handle: Arc<ProcessHandle>,
        mut vm: Vm,
    ) -> Process {
        vm.set_max_depth(shared.config.max_depth);
        let born_ms = shared.epoch.elapsed().as_millis() as u64;
        Process {
            handle,
            shared,
            job,
            vm,
            reductions: 0,
            born_ms,
            mailbox: Queue::default(),
            cursor: 0,
            waiting: None,
            last_sent: None,
            seldom: None,
        }
    }

    pub(crate) fn pid(&self) -> Pid {
        self.handle.pid()
    }

    /// The rarely used part, allocated now if it was not.
    fn seldom(&mut self) -> &mut Seldom {
        self.seldom.get_or_insert_with(Box::default)
    }

    fn links(&self) -> &[Pid] {
        self.seldom.as_ref().map_or(&[], |m| &m.ties.links)
    }

    fn frames(&self) -> &[Frame] {
        self.seldom.as_ref().map_or(NO_FRAMES, |m| &m.forms.frames)
    }

    pub fn link_to(&mut self, pid: Pid) {
        self.seldom().ties.links.push(pid);
    }

    /// Makes this new process durable: saved whenever it parks.
    pub fn make_durable(&mut self) {
        self.seldom().durable = Some(Arc::default());
        self.shared.durable_started();
        self.shared.inboxes.open(self.pid(), 0);
    }

    pub fn watched_by(&mut self, watcher: Pid, reference: u64) {
        self.seldom().ties.watchers.push((reference, watcher));
    }

    /// Runs the process until it exits, or must wait (`Pending`, with the
    /// task set to be woken when it can go on).
    fn run_until_exit(&mut self, cx: &mut Context<'_>) -> Poll<Exit> {
        let budget = self.shared.config.budget;
        // The reductions this poll may still spend, one account across the
        // VM's stops: an effect hands the VM back here, and a loop around
        // one must not start a fresh budget each round. A tiny budget stops
        // the VM often, but the task yields to the other processes only
        // after a full default slice.
        let mut left = budget.max(YIELD_EVERY);
        // Signals are taken before a wait is resumed, between slices, and
        // after effects that may have signalled this very process (an exit
        // to itself): not after a send or the acceptance of a received
        // message, the two effects of every message passed on.
        let mut take = true;
        loop {
            if take || self.waiting.is_some() {
                if let Some(exit) = self.take_signals() {
                    return Poll::Ready(exit);
                }
            }
            take = true;
            if let Some(wait) = self.waiting.take() {
                match self.try_resume(wait, cx) {
                    Ok(resumed) => {
                        self.waiting = None;
                        if let Some(seldom) = &mut self.seldom {
                            seldom.timers.timer = None;
                        }
                        if let Some(exit) = resumed {
                            return Poll::Ready(exit);
                        }
                    }
                    Err((wait, deadline)) => {
                        self.waiting = Some(wait);
                        if self.park(cx, deadline) {
                            return Poll::Pending;
                        }
                        continue;
                    }
                }
            }
            if left == 0 {
                // A task that wakes itself before it returns `Pending`
                // goes to the back of its runner's queue.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut allowance = budget.min(left);
            let given = allowance;
            let outcome = {
                let Process {
                    vm,
                    handle,
                    shared,
                    mailbox,
                    cursor,
                    last_sent,
                    seldom,
                    ..
                } = self;
                vm.run_with(
                    &mut allowance,
                    &mut Inline {
                        handle,
                        shared,
                        mailbox,
                        cursor,
                        last_sent,
                        seldom,
                    },
                )
            };
            left -= given - allowance;
            self.reductions += u64::from(given - allowance);
            match outcome {
                Outcome::Yield => {}
                Outcome::Done(value) => {
                    if self.frames().is_empty() {
                        return Poll::Ready((keyword("normal"), None));
                    }
                    if let Some(exit) = self.advance(value) {
                        return Poll::Ready(exit);
                    }
                }
                Outcome::Error(thrown) => {
                    if let Some(exit) = self.fail(Failure::Thrown(thrown)) {
                        return Poll::Ready(exit);
                    }
                }
                Outcome::Effect(effect, answer) => {
                    left = left.saturating_sub(EFFECT_COST);
                    take = !matches!(effect, Effect::Send { .. } | Effect::ReceiveAccept);
                    if let Some(exit) = self.perform(effect, answer) {
                        return Poll::Ready(exit);
                    }
                }
                Outcome::Receive {
                    restart,
                    timeout_ms,
                    answer,
                } => {
                    left = left.saturating_sub(EFFECT_COST);
                    self.receive(restart, timeout_ms, answer);
                }
            }
        }
    }

    /// An uncaught error: inside a loaded file it is thrown at the
    /// `require`; otherwise the process ends with it.
    fn fail(&mut self, mut failure: Failure) -> Option<Exit> {
        loop {
            let loading = self
                .seldom
                .as_mut()
                .and_then(|m| m.forms.frames.last_mut())
                .and_then(|frame| frame.loading.take());
            let Some(loading) = loading else {
                let reason = match &failure {
                    Failure::Thrown(thrown) => exit_reason_of(&thrown.value),
                    Failure::Source(error) => error.to_value("calf/syntax-error"),
                };
                return Some((reason, Some(failure)));
            };
            self.seldom().forms.frames.pop();
            let thrown = match failure {
                Failure::Thrown(thrown) => thrown,
                Failure::Source(error) => source_error_value(error),
            };
            match self.resume_caller(*loading, Err(thrown)) {
                Step::Failed(next) => failure = next,
                _ => return None,
            }
        }
    }

    /// Sets the task to be woken when a signal arrives or `deadline`
    /// passes. False when either already happened: then the process goes
    /// on at once.
    fn park(&mut self, cx: &mut Context<'_>, deadline: Option<Instant>) -> bool {
        // What the program printed shows before it waits (a no-op when
        // nothing is buffered).
        self.job.flush_stdout();
        match deadline {
            Some(at) => {
                let timer = match &mut self.seldom().timers.timer {
                    Some(timer) => {
                        if timer.deadline() != at {
                            timer.as_mut().reset(at);
                        }
                        timer
                    }
                    slot => slot.insert(Box::pin(tokio::time::sleep_until(at))),
                };
                if timer.as_mut().poll(cx).is_ready() {
                    return false;
                }
            }
            None => {
                if let Some(seldom) = &mut self.seldom {
                    seldom.timers.timer = None;
                }
            }
        }
        if !self.handle.park(cx.waker()) {
            return false;
        }
        // A burst of messages is over: its buffer is freed while waiting.
        self.mailbox.release();
        true
    }
}

/// A process is the future of its task: each poll runs it until it must
/// wait (with the task set to be woken) or has exited.
impl Future for Process {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let process = self.get_mut();
        loop {
            // A panic is a bug in Calf, never a user's error; it must not
            // take the runtime down nor leave the process half-ended, with
            // its links, monitors and name never told. The VM it left may
            // be in any state, and is not run again: the process ends (an
            // interactive one starts its next line on a fresh VM).
            let before = process.reductions;
            let ran = catch_unwind(AssertUnwindSafe(|| process.run_until_exit(cx)));
            if process.shared.hosted {
                process
                    .shared
                    .reductions
                    .fetch_add(process.reductions - before, Ordering::Relaxed);
            }
            let (reason, failure) = match ran {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(exit)) => exit,
                Err(panic) => internal_error(panic.as_ref()),
            };
            if process.is_interactive() && !process.job.has_ended() {
                process.line_failed(reason, failure);
                continue;
            }
            process.finish(reason, failure);
            return Poll::Ready(());
        }
    }
}

/// The exit of a process that panicked: an error of type
/// `:calf/internal` with the panic's message.
fn internal_error(panic: &(dyn std::any::Any + Send)) -> Exit {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let reason = RuntimeError::new(
        "calf/internal",
        format!("internal error: {message} (a bug in Calf: please report it)"),
    )
    .into_value();
    let failure = Failure::Thrown(Thrown {
        value: reason.clone(),
        trace: Vec::new(),
    });
    (reason, Some(failure))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    /// A million waiting processes must fit in memory. The pool keeps a
    /// process in a task with 32 bytes of its own (reference counts, its
    /// state, the pool), all in one allocation: at most 224 bytes, one
    /// size class of mimalloc (and a 224-byte chunk of glibc's
    /// allocator). Its job, reductions and age (what `calf ps` shows)
    /// take 24 of them.
    #[test]
    fn the_waiting_process_stays_small() {
        assert!(
            calf_executor::task_bytes::<Process>() <= 224,
            "a process's task is {} bytes",
            calf_executor::task_bytes::<Process>()
        );
        assert!(
            size_of::<Process>() <= 184,
            "Process is {} bytes: move what few processes use into `Seldom`",
            size_of::<Process>()
        );
        assert!(
            size_of::<Vm>() <= 88,
            "Vm is {} bytes: every process holds one inline; box what few use",
            size_of::<Vm>()
        );
        assert!(
            size_of::<Signal>() <= 24,
            "Signal is {} bytes: box a large, rare kind",
            size_of::<Signal>()
        );
        // With the 16 bytes of its `Arc`, a 96-byte allocation (its job's
        // pid took the last 8 bytes).
        assert!(
            size_of::<ProcessHandle>() <= 80,
            "ProcessHandle is {} bytes",
            size_of::<ProcessHandle>()
        );
    }
}
