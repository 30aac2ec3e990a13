//! The runners waiting for work, and how a runner that queues work wakes
//! one of them.
//!
//! A runner that found nothing to run puts its waker here, then looks for
//! work once more before it returns `Pending`; a thread that queued a task
//! asks for a sleeper to wake. The two sides each write, then fence, then
//! read what the other wrote (the runner: itself here, then the queues'
//! lengths; the waking thread: the queue, then the counts here), so that
//! at least one of them sees the other: the sleeper finds the new work,
//! or the waking thread finds the sleeper. A task made runnable is never
//! left queued while every runner sleeps.
//!
//! A runner woken for work counts as *searching* until it finds some or
//! sleeps again; while one searches, no other is woken (the searcher looks
//! at every queue before it sleeps, and it sleeps only after a last look
//! ordered after the decrement of the count).
//!
//! The loom model at the end of this file checks that no wake-up is lost,
//! that the counts never go below zero and come back to zero, and that a
//! shutdown wakes every sleeper, over the interleavings of a few runners
//! and producers.

#[cfg(feature = "loom")]
use ::loom::sync::atomic::{fence, AtomicUsize, Ordering};
#[cfg(feature = "loom")]
use ::loom::sync::{Mutex, MutexGuard};
#[cfg(not(feature = "loom"))]
use std::sync::atomic::{fence, AtomicUsize, Ordering};
#[cfg(not(feature = "loom"))]
use std::sync::{Mutex, MutexGuard};

/// The sleeping runners of a pool, by index, with their wakers (`W`:
/// `Waker` in the pool, a stand-in in the model).
pub(super) struct Sleepers<W> {
    /// The runners waiting for work: their indices and wakers.
    waiting: Mutex<Vec<(usize, W)>>,
    /// How many are in `waiting`: read without its lock.
    sleeping: AtomicUsize,
    /// Runners woken and not yet running a job: while one is, waking
    /// another would only make both look for the same work.
    searching: AtomicUsize,
}

impl<W> Sleepers<W> {
    pub(super) fn new() -> Sleepers<W> {
        Sleepers {
            waiting: Mutex::new(Vec::new()),
            sleeping: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(usize, W)>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runner `index` goes to sleep, to be woken by `waker`; it stops
    /// searching if it was (`searching`). The caller must then look for
    /// work (and whether the pool stopped) once more, and if it finds
    /// any, call `wake_up` rather than wait: the fence here orders that
    /// look after this runner's registration, against `wake_one`'s.
    pub(super) fn sleep(&self, index: usize, waker: W, searching: bool) {
        {
            let mut waiting = self.lock();
            waiting.push((index, waker));
            self.sleeping.fetch_add(1, Ordering::SeqCst);
        }
        if searching {
            self.found_work();
        }
        fence(Ordering::SeqCst);
    }

    /// Runner `index` is back from `sleep` (woken, or polled for another
    /// reason): true when `wake_one` or `wake_all` took it off, and it
    /// counts as searching now; false when it was still waiting (it is
    /// taken off now).
    pub(super) fn wake_up(&self, index: usize) -> bool {
        let mut waiting = self.lock();
        match waiting.iter().position(|(i, _)| *i == index) {
            Some(at) => {
                waiting.swap_remove(at);
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }

    /// A runner counted as searching found work, or stops.
    pub(super) fn found_work(&self) {
        let before = self.searching.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(before > 0, "more runners stopped searching than started");
    }

    /// The waker of a sleeping runner to wake for work just queued, taken
    /// off and counted as searching; none when none sleeps or one is
    /// searching already. The caller wakes it.
    #[inline]
    pub(super) fn wake_one(&self) -> Option<W> {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) == 0 || self.searching.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let mut waiting = self.lock();
        let (_, waker) = waiting.pop()?;
        self.searching.fetch_add(1, Ordering::SeqCst);
        self.sleeping.fetch_sub(1, Ordering::SeqCst);
        Some(waker)
    }

    /// The wakers of every sleeping runner, each taken off and counted as
    /// searching, as `wake_one` does (a runner taken off counts itself as
    /// searching, and stops as it finishes): the pool stops. The caller
    /// wakes them.
    pub(super) fn wake_all(&self) -> Vec<W> {
        let mut waiting = self.lock();
        let woken = waiting.len();
        self.searching.fetch_add(woken, Ordering::SeqCst);
        self.sleeping.fetch_sub(woken, Ordering::SeqCst);
        waiting.drain(..).map(|(_, waker)| waker).collect()
    }

    /// How many runners sleep, and how many search.
    #[cfg(test)]
    pub(super) fn counts(&self) -> (usize, usize) {
        (
            self.sleeping.load(Ordering::SeqCst),
            self.searching.load(Ordering::SeqCst),
        )
    }
}

#[cfg(all(test, not(feature = "loom")))]
mod tests {
    use super::Sleepers;

    #[test]
    fn a_runner_woken_for_work_searches_until_it_finds_some() {
        let sleepers = Sleepers::new();
        sleepers.sleep(0, "zero", false);
        sleepers.sleep(1, "one", false);
        assert_eq!(sleepers.counts(), (2, 0));
        assert_eq!(sleepers.wake_one(), Some("one"));
        assert_eq!(sleepers.counts(), (1, 1));
        // One searches: the next job waits for it.
        assert_eq!(sleepers.wake_one(), None);
        assert!(sleepers.wake_up(1), "taken off by wake_one");
        sleepers.found_work();
        assert_eq!(sleepers.counts(), (1, 0));
        // Polled for another reason: it takes itself off.
        assert!(!sleepers.wake_up(0));
        assert_eq!(sleepers.counts(), (0, 0));
        assert_eq!(sleepers.wake_one(), None, "none sleeps");
    }

    #[test]
    fn a_searching_runner_that_sleeps_again_stops_searching() {
        let sleepers = Sleepers::new();
        sleepers.sleep(0, (), false);
        assert!(sleepers.wake_one().is_some());
        assert!(sleepers.wake_up(0));
        sleepers.sleep(0, (), true);
        assert_eq!(sleepers.counts(), (1, 0));
    }

    #[test]
    fn runners_woken_by_a_shutdown_count_as_searching_until_they_finish() {
        let sleepers = Sleepers::new();
        sleepers.sleep(0, (), false);
        sleepers.sleep(1, (), false);
        assert_eq!(sleepers.wake_all().len(), 2);
        assert_eq!(sleepers.counts(), (0, 2));
        for index in [0, 1] {
            assert!(sleepers.wake_up(index), "taken off by wake_all");
            sleepers.found_work();
        }
        assert_eq!(sleepers.counts(), (0, 0));
    }
}

/// A loom model of the pool's runners and of the threads that queue work,
/// around `Sleepers`: runners look for work in a queue, run it, and sleep
/// as `Runner::poll` and `Runner::sleep` do; producers queue work and wake
/// a sleeper as `Inner::schedule` does; the pool stops as
/// `Pool::shutdown` does. A runner's waker is its loom thread (woken by
/// `unpark`, waiting in `park`).
///
/// The main thread waits (on a condition variable) until every job queued
/// has run: a job left queued while every runner sleeps leaves every
/// thread blocked, which loom reports as a deadlock. It then stops the
/// pool and joins the runners (a sleeper the shutdown does not wake is
/// also a deadlock), and checks that the counts are back to zero.
///
/// Run with:
///
/// ```text
/// cargo test -p calf-executor --features loom --lib sleepers::loom
/// ```
///
/// (`scripts/sanitize` runs it.) Two preemptions take about a minute, most
/// of it the four threads of the two producers' test; three take over ten
/// minutes.
#[cfg(all(test, feature = "loom"))]
mod loom_model {
    use super::Sleepers;
    use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use ::loom::sync::{Arc, Condvar, Mutex};
    use ::loom::thread::{self, Thread};

    /// A run queue as `RunQueue` is one: its jobs under a lock, and their
    /// number also in an atomic that a runner reads without the lock.
    struct Queue {
        jobs: Mutex<usize>,
        len: AtomicUsize,
    }

    impl Queue {
        fn push(&self) {
            let mut jobs = self.jobs.lock().unwrap();
            *jobs += 1;
            self.len.store(*jobs, Ordering::Release);
        }

        fn pop(&self) -> bool {
            if self.is_empty() {
                return false;
            }
            let mut jobs = self.jobs.lock().unwrap();
            if *jobs == 0 {
                return false;
            }
            *jobs -= 1;
            self.len.store(*jobs, Ordering::Release);
            true
        }

        fn is_empty(&self) -> bool {
            self.len.load(Ordering::SeqCst) == 0
        }
    }

    struct Pool {
        queue: Queue,
        sleepers: Sleepers<Thread>,
        stopped: AtomicBool,
        /// Jobs run so far, and the main thread waiting for them.
        ran: Mutex<usize>,
        ran_more: Condvar,
    }

    impl Pool {
        fn new() -> Arc<Pool> {
            Arc::new(Pool {
                queue: Queue {
                    jobs: Mutex::new(0),
                    len: AtomicUsize::new(0),
                },
                sleepers: Sleepers::new(),
                stopped: AtomicBool::new(false),
                ran: Mutex::new(0),
                ran_more: Condvar::new(),
            })
        }

        /// Queues a job, as `Inner::schedule` does from outside a runner.
        fn schedule(&self) {
            self.queue.push();
            if let Some(runner) = self.sleepers.wake_one() {
                runner.unpark();
            }
        }

        /// Stops the pool, as `Pool::shutdown` does.
        fn shutdown(&self) {
            self.stopped.store(true, Ordering::SeqCst);
            for runner in self.sleepers.wake_all() {
                runner.unpark();
            }
        }

        /// Waits until `jobs` jobs have run.
        fn wait_for(&self, jobs: usize) {
            let mut ran = self.ran.lock().unwrap();
            while *ran < jobs {
                ran = self.ran_more.wait(ran).unwrap();
            }
        }
    }

    /// A runner's own state, as `Runner`'s.
    struct Runner {
        pool: Arc<Pool>,
        index: usize,
        asleep: bool,
        searching: bool,
    }

    impl Runner {
        /// Polls and parks until the pool stops, then finishes, as a
        /// runner's task does from its first poll to its drop.
        fn run(mut self) {
            while self.poll() {
                thread::park();
            }
            self.wake_up();
            self.found_work();
        }

        /// One poll, as `Runner::poll`: false when the pool stopped.
        fn poll(&mut self) -> bool {
            self.wake_up();
            loop {
                if self.pool.stopped.load(Ordering::Acquire) {
                    return false;
                }
                if self.pool.queue.pop() {
                    self.found_work();
                    *self.pool.ran.lock().unwrap() += 1;
                    self.pool.ran_more.notify_all();
                } else if self.sleep() {
                    return true;
                }
            }
        }

        /// As `Runner::sleep`.
        fn sleep(&mut self) -> bool {
            let searching = std::mem::take(&mut self.searching);
            self.pool
                .sleepers
                .sleep(self.index, thread::current(), searching);
            self.asleep = true;
            if !self.pool.queue.is_empty() || self.pool.stopped.load(Ordering::SeqCst) {
                self.wake_up();
                return false;
            }
            true
        }

        /// As `Runner::wake_up`.
        fn wake_up(&mut self) {
            if std::mem::take(&mut self.asleep) && self.pool.sleepers.wake_up(self.index) {
                self.searching = true;
            }
        }

        /// As `Runner::found_work`.
        fn found_work(&mut self) {
            if std::mem::take(&mut self.searching) {
                self.pool.sleepers.found_work();
            }
        }
    }

    fn start_runners(pool: &Arc<Pool>, runners: usize) -> Vec<thread::JoinHandle<()>> {
        (0..runners)
            .map(|index| {
                let runner = Runner {
                    pool: pool.clone(),
                    index,
                    asleep: false,
                    searching: false,
                };
                thread::spawn(move || runner.run())
            })
            .collect()
    }

    /// Waits for `jobs` jobs to run, stops the pool, and checks that it
    /// is quiet: every runner finished, and the counts are back to zero.
    fn finish(pool: &Pool, jobs: usize, runners: Vec<thread::JoinHandle<()>>) {
        pool.wait_for(jobs);
        pool.shutdown();
        for runner in runners {
            runner.join().unwrap();
        }
        assert!(pool.queue.is_empty());
        assert_eq!(pool.sleepers.counts(), (0, 0), "(sleeping, searching)");
    }

    fn model(test: impl Fn() + Send + Sync + 'static) {
        let mut builder = ::loom::model::Builder::new();
        if builder.preemption_bound.is_none() {
            builder.preemption_bound = Some(2);
        }
        builder.check(test);
    }

    /// The classic race: the runner goes to sleep as the job comes in.
    #[test]
    fn loom_a_runner_falling_asleep_as_a_job_comes_in_runs_it() {
        model(|| {
            let pool = Pool::new();
            let runners = start_runners(&pool, 1);
            pool.schedule();
            finish(&pool, 1, runners);
        });
    }

    /// Two runners, and two jobs queued one after the other.
    #[test]
    fn loom_two_runners_run_every_job_queued() {
        model(|| {
            let pool = Pool::new();
            let runners = start_runners(&pool, 2);
            pool.schedule();
            pool.schedule();
            finish(&pool, 2, runners);
        });
    }

    /// Two producers queue a job each at once, while a runner woken for
    /// the first may be searching: the second wakes no one then, and the
    /// searcher must still see its job before it sleeps.
    #[test]
    fn loom_two_producers_at_once_while_a_runner_searches() {
        model(|| {
            let pool = Pool::new();
            let runners = start_runners(&pool, 2);
            let producer = {
                let pool = pool.clone();
                thread::spawn(move || pool.schedule())
            };
            pool.schedule();
            producer.join().unwrap();
            finish(&pool, 2, runners);
        });
    }

    /// A shutdown wakes every sleeper, and leaves the counts at zero,
    /// whether the runners are asleep yet or still falling asleep.
    #[test]
    fn loom_a_shutdown_wakes_every_sleeper() {
        model(|| {
            let pool = Pool::new();
            let runners = start_runners(&pool, 2);
            finish(&pool, 0, runners);
        });
    }
}
