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
        self.searching.fetch_sub(1, Ordering::SeqCst);
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

    /// The wakers of every sleeping runner, each taken off: the pool
    /// stops. The caller wakes them.
    pub(super) fn wake_all(&self) -> Vec<W> {
        let mut waiting = self.lock();
        waiting.drain(..).map(|(_, waker)| waker).collect()
    }

    /// How many runners sleep, and how many search.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize) {
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
}
