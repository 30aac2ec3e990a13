//! # calf-executor: the run queues of processes, and the runners that poll them
//!
//! Owns the pool that calf-scheduler runs its processes on: run queues,
//! runners (tokio tasks), the task states a wake-up and a poll agree on,
//! the sleeping and waking of runners, and the division of threads between
//! the pools of several tenants (`fair.rs`). A job is any `Future` that is
//! `Send + Unpin`: this crate knows nothing of processes, VMs or NATS, and
//! must not; it holds most of the scheduler's unsafe code, which
//! `scripts/sanitize` checks under AddressSanitizer and loom on its own,
//! without building the rest of the runtime.
//!
//! Processes could be plain tokio tasks, but tokio hands a task woken from
//! inside a worker to an idle worker once its LIFO slot has served a few
//! tasks in a row: two processes passing messages back and forth then wake
//! a sleeping thread (a futex or eventfd write and a context switch) every
//! few messages, and bounce between threads. Here each of a few *runners*
//! (tokio tasks, one per thread) polls processes from a queue of its own: a
//! process woken by another goes to the back of the waking runner's queue,
//! and a sleeping runner is woken only when a runner has more runnable
//! processes than the one it is about to run. A chain of messages stays in
//! one runner; busy processes spread over all of them.
//!
//! The runners are tokio tasks rather than threads of their own so that
//! the calls, timers and I/O a process starts run on the same threads: a
//! call's reply then wakes its process without a hop between threads.
//! A runner yields to tokio after a bounded time of polls. A job woken
//! while its runner's queue is empty waits in the runner's next slot,
//! which needs no lock.

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::time::{Duration, Instant};

pub mod fair;
mod sleepers;
mod state;

use fair::Share;
use sleepers::Sleepers;
use state::TaskState;

/// A future the pool runs to completion: a process.
pub trait Job: Future<Output = ()> + Send + Unpin + 'static {}

impl<F: Future<Output = ()> + Send + Unpin + 'static> Job for F {}

/// Runners polling jobs, each with its own queue; idle ones take work from
/// the others.
pub struct Pool<F> {
    inner: Arc<Inner<F>>,
}

// SAFETY: a pool holds jobs that are `Send`, and shares them between
// threads only through `Task`, whose job one thread at a time touches.
unsafe impl<F: Send> Send for Pool<F> {}
// SAFETY: as above: `&Pool` reaches a job only through a `Task`.
unsafe impl<F: Send> Sync for Pool<F> {}

struct Inner<F> {
    /// Jobs woken or spawned outside the runners.
    injector: RunQueue<F>,
    /// Each runner's runnable jobs; other runners steal from the front.
    locals: Box<[RunQueue<F>]>,
    /// Each runner's next job, when it was woken while the runner's queue
    /// was empty: the front of that queue, kept where no lock is needed.
    nexts: Box<[NextSlot<F>]>,
    /// The runners waiting for work, and how many of those woken are
    /// still looking for it.
    sleepers: Sleepers<Waker>,
    stopped: AtomicBool,
    /// Its part of the threads, when it shares them with other pools.
    share: Option<Arc<Share>>,
    /// Runners not finished yet; `shutdown` waits for none.
    running: Mutex<usize>,
    finished: Condvar,
}

/// Runnable tasks, first in first out, with a length that a thread looking
/// for work reads without taking the lock.
struct RunQueue<F> {
    tasks: Mutex<VecDeque<Arc<Task<F>>>>,
    len: AtomicUsize,
}

impl<F> RunQueue<F> {
    fn new() -> RunQueue<F> {
        RunQueue {
            tasks: Mutex::default(),
            len: AtomicUsize::new(0),
        }
    }

    /// Queues `task`; returns how many are queued now.
    fn push(&self, task: Arc<Task<F>>) -> usize {
        let mut tasks = lock(&self.tasks);
        tasks.push_back(task);
        self.len.store(tasks.len(), Ordering::Release);
        tasks.len()
    }

    fn pop(&self) -> Option<Arc<Task<F>>> {
        if self.is_empty() {
            return None;
        }
        let mut tasks = lock(&self.tasks);
        let task = tasks.pop_front();
        self.len.store(tasks.len(), Ordering::Release);
        task
    }

    /// Takes the older half of the tasks.
    fn steal_half(&self) -> VecDeque<Arc<Task<F>>> {
        if self.is_empty() {
            return VecDeque::new();
        }
        let mut tasks = lock(&self.tasks);
        let half = tasks.len().div_ceil(2);
        let stolen = tasks.drain(..half).collect();
        self.len.store(tasks.len(), Ordering::Release);
        stolen
    }

    fn append(&self, more: &mut VecDeque<Arc<Task<F>>>) {
        let mut tasks = lock(&self.tasks);
        tasks.append(more);
        self.len.store(tasks.len(), Ordering::Release);
    }

    fn is_empty(&self) -> bool {
        self.len.load(Ordering::SeqCst) == 0
    }

    fn drain(&self) -> Vec<Arc<Task<F>>> {
        let mut tasks = lock(&self.tasks);
        self.len.store(0, Ordering::Release);
        tasks.drain(..).collect()
    }
}

/// The job a runner runs next (see `Inner::nexts`). Touched only by the
/// thread polling that runner (which `WORKER` names), or by the runner's
/// drop, when nothing polls it.
struct NextSlot<F>(UnsafeCell<Option<Arc<Task<F>>>>);

// SAFETY: one thread at a time touches a slot (see above), and it holds
// tasks, which are `Sync` for jobs that are `Send`.
unsafe impl<F: Job> Sync for NextSlot<F> {}

/// One job and its scheduling state.
struct Task<F> {
    state: TaskState,
    pool: Arc<Inner<F>>,
    /// Touched only by the thread that took the task out of a queue (and
    /// then started it running, unless the pool had stopped).
    job: UnsafeCell<Option<F>>,
}

// SAFETY: `job` is reached by one thread at a time (see its comment), and
// the job itself is `Send`.
unsafe impl<F: Job> Sync for Task<F> {}

/// The bytes a task running `F` allocates: its `Arc`'s two counts, then
/// the task.
pub const fn task_bytes<F>() -> usize {
    2 * std::mem::size_of::<usize>() + std::mem::size_of::<Task<F>>()
}

/// How long a runner polls jobs before it yields to the other tasks of its
/// thread (calls, timers, I/O): a bound on how late those run while
/// processes keep the thread busy. Short enough for a timer (tokio's tick
/// is a millisecond), long enough that the yield, which wakes an idle
/// thread of tokio, is rare.
const TURN: Duration = Duration::from_micros(250);

/// Jobs a runner polls between two looks at the clock.
const POLLS_PER_CLOCK_READ: u32 = 16;

/// Every this many jobs a runner looks at the injector first, so that
/// jobs woken from outside are not left behind a chain of messages.
const INJECTOR_EVERY: u32 = 61;

/// How long `shutdown` waits for runners to finish the job each is
/// polling.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

thread_local! {
    /// The pool whose runner this thread is polling (as an address), and
    /// the runner's index.
    static WORKER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

/// The thread polls a runner until this is dropped.
struct Polling((usize, usize));

impl Polling {
    fn enter(pool: usize, index: usize) -> Polling {
        Polling(WORKER.with(|w| w.replace((pool, index))))
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        WORKER.with(|w| w.set(self.0));
    }
}

/// A tokio task that polls the jobs of one queue.
struct Runner<F> {
    inner: Arc<Inner<F>>,
    index: usize,
    /// Whether it waits in `sleepers` (as it last knew).
    asleep: bool,
    /// Whether it was woken to look for work and has found none yet.
    searching: bool,
    /// Jobs polled, for `INJECTOR_EVERY`.
    ticks: u32,
    /// Whether its pool's share counts it as waiting for a thread.
    awaited: bool,
}

impl<F: Job> Pool<F> {
    /// Starts `runners` runners on the tokio runtime of `tokio` (one per
    /// thread of it suits best).
    pub fn new(runners: usize, tokio: &tokio::runtime::Handle) -> Pool<F> {
        Pool::sharing(runners, tokio, None)
    }

    /// A pool whose runners yield their threads to other pools' runners
    /// by `share` (see `fair.rs`).
    pub fn sharing(
        runners: usize,
        tokio: &tokio::runtime::Handle,
        share: Option<Arc<Share>>,
    ) -> Pool<F> {
        let runners = runners.max(1);
        let inner = Arc::new(Inner {
            injector: RunQueue::new(),
            locals: (0..runners).map(|_| RunQueue::new()).collect(),
            nexts: (0..runners)
                .map(|_| NextSlot(UnsafeCell::new(None)))
                .collect(),
            sleepers: Sleepers::new(),
            stopped: AtomicBool::new(false),
            share,
            running: Mutex::new(runners),
            finished: Condvar::new(),
        });
        for index in 0..runners {
            // The runner yields by its own count; tokio's budget would
            // stop the timers and channels its jobs poll instead.
            tokio.spawn(tokio::task::unconstrained(Runner {
                inner: inner.clone(),
                index,
                asleep: false,
                searching: false,
                ticks: 0,
                awaited: false,
            }));
        }
        Pool { inner }
    }

    /// Runs `job` in one of the pool's runners.
    pub fn spawn(&self, job: F) {
        let task = Arc::new(Task {
            state: TaskState::scheduled(),
            pool: self.inner.clone(),
            job: UnsafeCell::new(Some(job)),
        });
        self.inner.schedule(task);
    }
}

impl<F> Pool<F> {
    /// Stops the runners, after the job each is polling returns, and
    /// drops the queued jobs. Jobs parked elsewhere (their wakers held by
    /// inboxes or timers) are dropped when their wakers are. The tokio
    /// runtime must still run.
    pub fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        // Counted as woken by `wake_one`: each counts itself as searching
        // and, with a share, as waiting for a thread, until it finishes.
        for waker in self.inner.sleepers.wake_all() {
            if let Some(share) = &self.inner.share {
                share.wants_thread();
            }
            waker.wake();
        }
        if self.inner.on_worker().is_none() {
            let running = lock(&self.inner.running);
            let _ = self
                .inner
                .finished
                .wait_timeout_while(running, SHUTDOWN_WAIT, |n| *n > 0);
        }
        self.inner.drain();
    }
}

impl<F> Drop for Pool<F> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<F> Inner<F> {
    fn id(&self) -> usize {
        self as *const Inner<F> as usize
    }

    /// The index of the runner the current thread is polling, if it is
    /// one of this pool's.
    fn on_worker(&self) -> Option<usize> {
        let (pool, index) = WORKER.with(Cell::get);
        (pool == self.id()).then_some(index)
    }

    /// Drops every queued job (the pool has stopped).
    fn drain(&self) {
        let mut queued = self.injector.drain();
        for local in self.locals.iter() {
            queued.extend(local.drain());
        }
        for task in queued {
            // SAFETY: a queued task is `SCHEDULED`: whoever dequeues it
            // owns its job, and the threads have stopped.
            drop(unsafe { (*task.job.get()).take() });
        }
    }
}

impl<F: Job> Inner<F> {
    /// Queues a task whose state was just set to `SCHEDULED`.
    fn schedule(&self, task: Arc<Task<F>>) {
        if self.stopped.load(Ordering::Acquire) {
            // SAFETY: the task is `SCHEDULED` and in no queue: this thread
            // owns its job.
            drop(unsafe { (*task.job.get()).take() });
            return;
        }
        match self.on_worker() {
            Some(index) => {
                // SAFETY: this thread polls runner `index` (see `NextSlot`).
                let next = unsafe { &mut *self.nexts[index].0.get() };
                // Woken while the runner has nothing else: the next job it
                // runs, without the queue's lock (the common case of a
                // message passed on, to a process waiting for it).
                if next.is_none() && self.locals[index].is_empty() {
                    *next = Some(task);
                    return;
                }
                let queued = self.locals[index].push(task) + usize::from(next.is_some());
                // The thread runs one of its queued jobs next; a second
                // one is work for another thread.
                if queued > 1 {
                    self.wake_one();
                }
            }
            None => {
                self.injector.push(task);
                self.wake_one();
            }
        }
    }

    /// Wakes a sleeping runner to look for work, unless one is already
    /// looking or none sleeps.
    fn wake_one(&self) {
        if let Some(waker) = self.sleepers.wake_one() {
            if let Some(share) = &self.share {
                share.wants_thread();
            }
            waker.wake();
        }
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.locals.iter().any(|l| !l.is_empty())
    }

    /// The next task for runner `index`: its own, then the injector's,
    /// then half of another runner's queue. The injector's come first at
    /// every `INJECTOR_EVERY`th `tick`.
    fn find(&self, index: usize, tick: u32) -> Option<Arc<Task<F>>> {
        if tick.is_multiple_of(INJECTOR_EVERY) {
            if let Some(task) = self.injector.pop() {
                return Some(task);
            }
        }
        // SAFETY: this thread polls runner `index` (see `NextSlot`).
        if let Some(task) = unsafe { (*self.nexts[index].0.get()).take() } {
            return Some(task);
        }
        if let Some(task) = self.locals[index].pop() {
            return Some(task);
        }
        if let Some(task) = self.injector.pop() {
            return Some(task);
        }
        let count = self.locals.len();
        for other in (1..count).map(|k| (index + k) % count) {
            let mut stolen = self.locals[other].steal_half();
            if let Some(task) = stolen.pop_front() {
                if !stolen.is_empty() {
                    self.locals[index].append(&mut stolen);
                }
                return Some(task);
            }
        }
        None
    }

    /// Polls `task` once in runner `index`.
    fn run(&self, index: usize, task: Arc<Task<F>>) {
        task.state.start();
        // A next job left waiting (this one came from the injector) goes
        // where other runners can take it.
        // SAFETY: this thread polls runner `index` (see `NextSlot`).
        if let Some(next) = unsafe { (*self.nexts[index].0.get()).take() } {
            self.locals[index].push(next);
        }
        // Jobs left waiting while this one runs are work for another
        // thread.
        if !self.locals[index].is_empty() {
            self.wake_one();
        }
        // Borrows the queue's reference to the task: no count to raise
        // and lower for every poll.
        let waker = Task::waker_ref(&task);
        let mut cx = Context::from_waker(&waker);
        // SAFETY: this thread took the task out of its queue and started
        // it; no other touches the job until `finish` or `park` (see
        // `TaskState`).
        let job = unsafe { &mut *task.job.get() };
        let poll = match job {
            Some(future) => catch_unwind(AssertUnwindSafe(|| Pin::new(future).poll(&mut cx)))
                .unwrap_or(Poll::Ready(())),
            None => Poll::Ready(()),
        };
        if poll.is_ready() {
            *job = None;
            task.state.finish();
            return;
        }
        if task.state.park() {
            // Woken while it ran (or it yielded): to the back of the queue.
            self.schedule(task);
        }
    }
}

impl<F> Runner<F> {
    /// Counts this runner as no longer looking for work.
    fn found_work(&mut self) {
        if self.searching {
            self.searching = false;
            self.inner.sleepers.found_work();
        }
    }

    /// Back from `sleep`: woken by `wake_one` (which took it off
    /// `sleepers` and counted it as searching), or polled for another
    /// reason (still on `sleepers`).
    fn wake_up(&mut self) {
        if !self.asleep {
            return;
        }
        self.asleep = false;
        if let Some(share) = &self.inner.share {
            share.woke_up();
        }
        if self.inner.sleepers.wake_up(self.index) {
            // Taken off by `wake_one`, which counted it as searching, and
            // as waiting for a thread.
            self.searching = true;
            self.awaited = self.inner.share.is_some();
        }
    }
}

impl<F> Drop for Runner<F> {
    /// Finished, or dropped by a tokio runtime shutting down.
    fn drop(&mut self) {
        // SAFETY: nothing polls this runner while it is dropped, so its
        // slot is this thread's.
        if let Some(task) = unsafe { (*self.inner.nexts[self.index].0.get()).take() } {
            // SAFETY: a task in a next slot is `SCHEDULED` and in no queue:
            // whoever takes it out owns its job, and that is this thread.
            drop(unsafe { (*task.job.get()).take() });
        }
        self.wake_up();
        self.found_work();
        if let (true, Some(share)) = (self.awaited, &self.inner.share) {
            share.stops_waiting();
        }
        let mut running = lock(&self.inner.running);
        *running -= 1;
        self.inner.finished.notify_all();
    }
}

impl<F: Job> Runner<F> {
    /// Waits in `sleepers`; false (and not waiting) when work came in
    /// meanwhile or the pool stopped.
    fn sleep(&mut self, waker: &Waker) -> bool {
        let searching = std::mem::take(&mut self.searching);
        self.inner
            .sleepers
            .sleep(self.index, waker.clone(), searching);
        self.asleep = true;
        if let Some(share) = &self.inner.share {
            share.fell_asleep();
        }
        // The last look, after the fence of `sleep` (see `sleepers.rs`).
        if self.inner.has_work() || self.inner.stopped.load(Ordering::SeqCst) {
            self.wake_up();
            return false;
        }
        true
    }
}

impl<F: Job> Future for Runner<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let runner = self.get_mut();
        let _polling = Polling::enter(runner.inner.id(), runner.index);
        runner.wake_up();
        let share = runner.inner.share.clone();
        if let Some(share) = &share {
            share.start_turn(std::mem::take(&mut runner.awaited));
        }
        let started = Instant::now();
        let mut polls: u32 = 0;
        loop {
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(POLLS_PER_CLOCK_READ) && started.elapsed() >= TURN {
                break;
            }
            if runner.inner.stopped.load(Ordering::Acquire) {
                if let Some(share) = &share {
                    share.end_turn(started.elapsed());
                }
                return Poll::Ready(());
            }
            runner.ticks = runner.ticks.wrapping_add(1);
            match runner.inner.find(runner.index, runner.ticks) {
                Some(task) => {
                    runner.found_work();
                    runner.inner.run(runner.index, task);
                    // Another pool's runner, behind this pool in its use
                    // of the threads, waits for one: this turn ends.
                    if let Some(share) = &share {
                        if share.anyone_waits() && share.should_yield(started.elapsed()) {
                            break;
                        }
                    }
                }
                None => {
                    if runner.sleep(cx.waker()) {
                        if let Some(share) = &share {
                            share.end_turn(started.elapsed());
                        }
                        return Poll::Pending;
                    }
                }
            }
        }
        if let Some(share) = &share {
            share.end_turn(started.elapsed());
            share.wants_thread();
            runner.awaited = true;
        }
        // Its turn is over: the thread's other tasks run, and its timers
        // and I/O are looked at, then it goes on. Woken the way
        // `yield_now` wakes (deferred until the thread has looked), not by
        // waking itself: tokio hands a task that woke itself to the back
        // of the queue and wakes an idle thread to steal it, so the runner
        // moved between threads every turn, a context switch each time.
        let yielded = std::pin::pin!(tokio::task::yield_now());
        let _pending = yielded.poll(cx);
        Poll::Pending
    }
}

impl<F: Job> Task<F> {
    /// The waker of a task: a reference to it, counted like an `Arc`'s.
    const WAKER: RawWakerVTable = RawWakerVTable::new(
        Self::clone_raw,
        Self::wake_raw,
        Self::wake_by_ref_raw,
        Self::drop_raw,
    );

    /// A waker borrowing the count of `task` (which the caller keeps for
    /// as long as the waker is used): a poll needs one, and a new `Arc`
    /// for each cost two atomic operations.
    fn waker_ref(task: &Arc<Task<F>>) -> ManuallyDrop<Waker> {
        let raw = RawWaker::new(Arc::as_ptr(task).cast(), &Self::WAKER);
        // SAFETY: the vtable's functions treat the pointer as an `Arc`'s
        // (see below); `ManuallyDrop` keeps the borrowed count untouched.
        ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }

    // The four below are called only through `WAKER`, with the pointer of
    // a waker made by `waker_ref` or `clone_raw`: it comes from
    // `Arc::as_ptr` of a task, and a waker owns one strong count of it
    // (the borrowed one of `waker_ref` is never dropped).
    unsafe fn clone_raw(ptr: *const ()) -> RawWaker {
        // SAFETY: the waker being cloned holds a count, so the task is
        // alive; the new count is the clone's.
        unsafe { Arc::increment_strong_count(ptr.cast::<Task<F>>()) };
        RawWaker::new(ptr, &Self::WAKER)
    }

    unsafe fn wake_raw(ptr: *const ()) {
        // SAFETY: `wake` consumes the waker, so its count moves into the
        // `Arc`, which `Task::wake` then owns.
        unsafe { Arc::from_raw(ptr.cast::<Task<F>>()) }.wake();
    }

    unsafe fn wake_by_ref_raw(ptr: *const ()) {
        // SAFETY: the waker keeps its count: the `Arc` rebuilt from it is
        // never dropped, only cloned.
        let task = ManuallyDrop::new(unsafe { Arc::from_raw(ptr.cast::<Task<F>>()) });
        Arc::clone(&task).wake();
    }

    unsafe fn drop_raw(ptr: *const ()) {
        // SAFETY: the waker is dropped, and its count with it.
        drop(unsafe { Arc::from_raw(ptr.cast::<Task<F>>()) });
    }

    /// Queues the task unless it is queued or running already (then it
    /// runs again after this poll).
    fn wake(self: Arc<Self>) {
        if !self.state.wake() {
            return;
        }
        let pool: *const Inner<F> = Arc::as_ptr(&self.pool);
        // SAFETY: the task holds a count of the pool until it is moved
        // into `schedule`; from then on, on one of the pool's runners, the
        // runner being polled holds one for the whole call (the common
        // case: a process waking another, with no count to raise and
        // lower).
        if unsafe { (*pool).on_worker() }.is_some() {
            // SAFETY: as just above: this thread's runner holds a count of
            // the pool until `schedule` returns.
            unsafe { (*pool).schedule(self) };
        } else {
            let pool = self.pool.clone();
            pool.schedule(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Counts down, yielding to the pool at each step; reports when done.
    struct Countdown {
        left: u32,
        done: Option<mpsc::Sender<u32>>,
        id: u32,
    }

    impl Future for Countdown {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.left == 0 {
                if let Some(done) = self.done.take() {
                    let _ = done.send(self.id);
                }
                return Poll::Ready(());
            }
            self.left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn tokio() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("a runtime")
    }

    #[test]
    fn every_spawned_job_runs_to_the_end_with_any_number_of_runners() {
        let rt = tokio();
        for runners in [1, 2, 3] {
            let pool = Pool::new(runners, rt.handle());
            let (tx, rx) = mpsc::channel();
            for id in 0..100 {
                pool.spawn(Countdown {
                    left: id % 7 * 10,
                    done: Some(tx.clone()),
                    id,
                });
            }
            let mut finished: Vec<u32> = (0..100)
                .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("finished"))
                .collect();
            finished.sort_unstable();
            assert_eq!(finished, (0..100).collect::<Vec<_>>());
            pool.shutdown();
        }
    }

    /// Parks until woken from outside, then finishes.
    struct Parked {
        waker: Arc<Mutex<Option<Waker>>>,
        woken: bool,
        done: mpsc::Sender<()>,
    }

    impl Future for Parked {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.woken {
                let _ = self.done.send(());
                return Poll::Ready(());
            }
            self.woken = true;
            *lock(&self.waker) = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn a_parked_job_runs_again_when_woken_from_another_thread() {
        let rt = tokio();
        let pool = Pool::new(2, rt.handle());
        let waker = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel();
        pool.spawn(Parked {
            waker: waker.clone(),
            woken: false,
            done: tx,
        });
        let parked = loop {
            if let Some(w) = lock(&waker).take() {
                break w;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        assert!(rx.try_recv().is_err(), "not finished before the wake-up");
        parked.wake();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("ran again after the wake-up");
    }

    /// Wakes the parked jobs it is given, in order, then finishes.
    struct Waking {
        wakers: Vec<Arc<Mutex<Option<Waker>>>>,
    }

    impl Future for Waking {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            for waker in &self.wakers {
                if let Some(w) = lock(waker).take() {
                    w.wake();
                }
            }
            Poll::Ready(())
        }
    }

    /// Parks once, then reports its id when it runs again.
    struct Reporting {
        waker: Arc<Mutex<Option<Waker>>>,
        parked: bool,
        id: u32,
        done: mpsc::Sender<u32>,
    }

    impl Future for Reporting {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.parked {
                let _ = self.done.send(self.id);
                return Poll::Ready(());
            }
            self.parked = true;
            *lock(&self.waker) = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn jobs_woken_by_a_job_run_in_the_order_they_were_woken() {
        let rt = tokio();
        let pool = Pool::new(1, rt.handle());
        let (tx, rx) = mpsc::channel();
        let wakers: Vec<_> = (0..4).map(|_| Arc::new(Mutex::new(None))).collect();
        for (id, waker) in wakers.iter().enumerate() {
            pool.spawn(Box::pin(Reporting {
                waker: waker.clone(),
                parked: false,
                id: id as u32,
                done: tx.clone(),
            }) as Pin<Box<dyn Future<Output = ()> + Send>>);
        }
        while wakers.iter().any(|w| lock(w).is_none()) {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The first one woken waits in the runner's slot, the others in
        // its queue: they still run first woken, first run.
        pool.spawn(Box::pin(Waking {
            wakers: [2, 0, 3, 1].iter().map(|&i| wakers[i].clone()).collect(),
        }));
        let order: Vec<u32> = (0..4)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("ran"))
            .collect();
        assert_eq!(order, [2, 0, 3, 1]);
        pool.shutdown();
    }

    /// Runners woken by a shutdown stop searching, and stop waiting for a
    /// thread, as they finish: no count is left below zero (which would
    /// make every other pool's runners look for a waiting one at every
    /// job, and yield to it).
    #[test]
    fn a_shutdown_leaves_the_counts_of_the_runners_at_zero() {
        let rt = tokio();
        let fairness = fair::Fairness::new();
        let pool: Pool<Countdown> = Pool::sharing(2, rt.handle(), Some(fairness.join(1, 2)));
        while pool.inner.sleepers.counts().0 < 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
        pool.shutdown();
        assert_eq!(
            pool.inner.sleepers.counts(),
            (0, 0),
            "(sleeping, searching)"
        );
        let other = fairness.join(1, 1);
        assert!(!other.anyone_waits(), "no runner waits for a thread");
    }

    #[test]
    fn a_job_queued_when_the_pool_stops_is_dropped() {
        let rt = tokio();
        let pool = Pool::new(1, rt.handle());
        let (tx, rx) = mpsc::channel();
        pool.shutdown();
        pool.spawn(Countdown {
            left: 1,
            done: Some(tx),
            id: 0,
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(1)).is_err(),
            "dropped: its sender went away without sending"
        );
    }
}
