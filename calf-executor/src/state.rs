//! A task's scheduling state: who may poll its job, and who must queue it.
//!
//! One atomic byte decides both, so that wake-ups from any thread and the
//! end of a poll agree without a lock:
//! - a task woken while it is polled is polled again (no wake-up is lost);
//! - a task is polled by one thread at a time;
//! - a task woken twice before it runs is queued once.
//!
//! The loom model at the end of this file checks the three over the
//! interleavings of a few threads.

#[cfg(feature = "loom")]
use ::loom::sync::atomic::{AtomicU8, Ordering};
#[cfg(not(feature = "loom"))]
use std::sync::atomic::{AtomicU8, Ordering};

/// Waiting for a wake-up; in no queue.
const IDLE: u8 = 0;
/// In a run queue (or about to be put in one by whoever set this).
const SCHEDULED: u8 = 1;
/// Being polled.
const RUNNING: u8 = 2;
/// Being polled, and woken meanwhile: queued again after the poll.
const NOTIFIED: u8 = 3;
/// Finished: wake-ups are ignored.
const DONE: u8 = 4;

/// The scheduling state of one task. Whoever moves it to `SCHEDULED`
/// queues the task; whoever takes the task out of a queue polls its job;
/// the job is touched by no one else.
///
/// A wake-up that finds the task queued writes nothing, and `start` is a
/// plain store: so what a waker wrote before it woke the task reaches the
/// next poll only through what the two share, a lock (every mailbox and
/// reply slot of this crate is one) or an atomic read-modify-write. A job
/// that only loads a flag its waker stored can miss it (the loom model
/// shows it, `loom_a_flag_without_a_lock_can_be_missed`).
/// FIXME: `start` as a swap, and a wake-up of a queued task as a
/// compare-and-swap, would close that, at the cost of an atomic
/// read-modify-write on every poll.
pub(super) struct TaskState(AtomicU8);

impl TaskState {
    /// A task about to be queued for its first poll.
    pub(super) fn scheduled() -> TaskState {
        TaskState(AtomicU8::new(SCHEDULED))
    }

    /// Taken out of a queue: the caller polls the job now, until `finish`
    /// or `park`.
    pub(super) fn start(&self) {
        self.0.store(RUNNING, Ordering::Release);
    }

    /// The job has finished: later wake-ups are ignored.
    pub(super) fn finish(&self) {
        self.0.store(DONE, Ordering::Release);
    }

    /// After a poll that left the job pending: true when the task was
    /// woken during the poll, and the caller must queue it again (it is
    /// `SCHEDULED` then); false when it now waits for a wake-up.
    #[must_use]
    pub(super) fn park(&self) -> bool {
        if self
            .0
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return false;
        }
        // Woken while it ran: `NOTIFIED`, which no wake-up changes.
        self.0.store(SCHEDULED, Ordering::Release);
        true
    }

    /// A wake-up: true when the caller must queue the task (it was
    /// waiting, and is `SCHEDULED` now); false when it is queued already,
    /// is being polled (then it is polled again after this poll), or has
    /// finished.
    #[must_use]
    pub(super) fn wake(&self) -> bool {
        let mut state = self.0.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => return false,
            };
            match self
                .0
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next == SCHEDULED,
                Err(now) => state = now,
            }
        }
    }
}

/// A loom model of the pool's use of `TaskState`: runners take a task
/// from a queue and poll it as `Inner::run` does, and other threads wake
/// it as `Task::wake` does. loom runs each test over every interleaving
/// of its threads (up to a bound of preemptions), and reports two threads
/// touching the job's cell with no order between them.
///
/// Run with:
///
/// ```text
/// cargo test -p calf-executor --features loom --lib state::loom
/// ```
///
/// (`scripts/sanitize` runs it.) With the feature, the pool's own tests
/// cannot run: loom's atomics work only inside a model.
#[cfg(all(test, feature = "loom"))]
mod loom_model {
    use super::TaskState;
    use ::loom::cell::UnsafeCell;
    use ::loom::sync::{Arc, Mutex};
    use ::loom::thread;
    use std::collections::VecDeque;

    /// A task whose job finishes once it finds a message in its mailbox,
    /// and wakes itself for `yields` polls before it looks.
    struct Task {
        state: TaskState,
        /// The job's own data, touched only by the thread polling it:
        /// loom fails the test if two polls overlap.
        job: UnsafeCell<Job>,
        /// The mailbox: a message is put there before the task is woken.
        /// Under a lock, as the pool's mailboxes and reply slots are: a
        /// wake-up that finds the task queued already writes nothing, so
        /// only what the job and its waker share orders the waker's write
        /// before the job's next look.
        message: Mutex<bool>,
    }

    struct Job {
        yields: u32,
        finished: bool,
    }

    impl Task {
        fn new(yields: u32) -> Arc<Task> {
            Arc::new(Task {
                state: TaskState::scheduled(),
                job: UnsafeCell::new(Job {
                    yields,
                    finished: false,
                }),
                message: Mutex::new(false),
            })
        }

        fn finished(&self) -> bool {
            self.job.with(|job| {
                // SAFETY: called once every thread that polls has been
                // joined: nothing else touches the job.
                unsafe { (*job).finished }
            })
        }
    }

    /// A run queue of the one task: it must never hold the task twice.
    #[derive(Default)]
    struct Queue(Mutex<VecDeque<Arc<Task>>>);

    impl Queue {
        fn push(&self, task: Arc<Task>) {
            let mut tasks = self.0.lock().unwrap();
            assert!(tasks.is_empty(), "a task queued twice");
            tasks.push_back(task);
        }

        fn pop(&self) -> Option<Arc<Task>> {
            self.0.lock().unwrap().pop_front()
        }

        /// Polls what is queued until nothing is: a runner's loop.
        fn run_all(&self) {
            while let Some(task) = self.pop() {
                self.run(task);
            }
        }

        /// Polls `task` once, as `Inner::run` does.
        fn run(&self, task: Arc<Task>) {
            task.state.start();
            let ready = task.job.with_mut(|job| {
                // SAFETY: this thread took the task from the queue and set
                // it running; if another thread polled it at the same time,
                // loom reports the overlapping accesses to the cell.
                let job = unsafe { &mut *job };
                if job.yields > 0 {
                    job.yields -= 1;
                    wake(self, &task);
                    return false;
                }
                job.finished = *task.message.lock().unwrap();
                job.finished
            });
            if ready {
                task.state.finish();
            } else if task.state.park() {
                self.push(task);
            }
        }
    }

    /// Wakes `task`, as `Task::wake` does.
    fn wake(queue: &Queue, task: &Arc<Task>) {
        if task.state.wake() {
            queue.push(task.clone());
        }
    }

    /// Sends the task its message, and wakes it.
    fn send(queue: &Queue, task: &Arc<Task>) {
        *task.message.lock().unwrap() = true;
        wake(queue, task);
    }

    fn model(test: impl Fn() + Send + Sync + 'static) {
        let mut builder = ::loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(3);
        }
        builder.check(test);
    }

    #[test]
    fn loom_a_task_woken_while_it_runs_runs_again() {
        model(|| {
            let queue = Arc::new(Queue::default());
            let task = Task::new(0);
            queue.push(task.clone());
            let runner = {
                let queue = queue.clone();
                thread::spawn(move || queue.run_all())
            };
            send(&queue, &task);
            runner.join().unwrap();
            // What the runner left queued (a sleeping runner woken for it,
            // in the pool) runs now.
            queue.run_all();
            assert!(task.finished(), "the wake-up was lost");
        });
    }

    #[test]
    fn loom_a_task_is_polled_by_one_thread_at_a_time() {
        model(|| {
            let queue = Arc::new(Queue::default());
            // It yields once (queued again by its own wake-up), so the two
            // runners can each take it.
            let task = Task::new(1);
            queue.push(task.clone());
            let runners: Vec<_> = (0..2)
                .map(|_| {
                    let queue = queue.clone();
                    thread::spawn(move || queue.run_all())
                })
                .collect();
            send(&queue, &task);
            for runner in runners {
                runner.join().unwrap();
            }
            queue.run_all();
            assert!(task.finished(), "the wake-up was lost");
        });
    }

    /// Today's limit (see `TaskState`): a job that reads its waker's
    /// write with a plain atomic load, not under a lock, can miss it and
    /// never run again.
    #[test]
    #[should_panic(expected = "missed")]
    fn loom_a_flag_without_a_lock_can_be_missed() {
        use ::loom::sync::atomic::{AtomicBool, Ordering};
        model(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let state = Arc::new(TaskState::scheduled());
            let polls = Arc::new(Mutex::new(Vec::new()));
            let runner = {
                let (flag, state, polls) = (flag.clone(), state.clone(), polls.clone());
                thread::spawn(move || {
                    state.start();
                    let seen = flag.load(Ordering::Acquire);
                    polls.lock().unwrap().push(seen);
                    if seen {
                        state.finish();
                    } else if state.park() {
                        // Woken while it ran: polled again.
                        state.start();
                        let seen = flag.load(Ordering::Acquire);
                        polls.lock().unwrap().push(seen);
                    }
                })
            };
            flag.store(true, Ordering::Release);
            // Already queued: nothing more to do, the poll to come should
            // see the flag.
            let queued_now = state.wake();
            runner.join().unwrap();
            let polls = polls.lock().unwrap();
            assert!(
                queued_now || polls.last() == Some(&true),
                "the flag was missed: polls saw {polls:?}"
            );
        });
    }

    #[test]
    fn loom_a_task_woken_twice_is_queued_once() {
        model(|| {
            let queue = Arc::new(Queue::default());
            let task = Task::new(0);
            // Its first poll finds no message: it waits.
            queue.run(task.clone());
            assert!(queue.pop().is_none());
            *task.message.lock().unwrap() = true;
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let (queue, task) = (queue.clone(), task.clone());
                    thread::spawn(move || wake(&queue, &task))
                })
                .collect();
            for waker in wakers {
                waker.join().unwrap();
            }
            let queued = queue.pop().expect("queued by the first wake-up");
            assert!(queue.pop().is_none(), "queued once");
            queue.run(queued);
            assert!(task.finished());
        });
    }
}
