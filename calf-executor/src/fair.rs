//! Dividing the scheduler's threads between the pools of several hosted
//! runtimes (the tenants of `calf serve`) in proportion to their shares,
//! whatever their number of processes.
//!
//! Each pool's runners are tokio tasks on the same threads. A pool has a
//! *virtual time*: the runner time it used, divided by its share. A runner
//! that is running while another pool with an earlier virtual time waits
//! for a thread (a runner of it woken, or yielded at the end of its turn)
//! ends its turn early, at the next process it would poll, so that tokio
//! runs the waiting one. A pool that was idle does not bank the time it
//! did not use: when it starts again its virtual time is brought up to the
//! earliest of the busy pools', so it comes first but cannot then hold a
//! thread for longer than its share.
//!
//! This is stride scheduling with the pools as the clients, and the
//! processes of one pool still share its runners first in, first out.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The pools sharing a scheduler's threads.
#[derive(Default)]
pub struct Fairness {
    pools: Mutex<Vec<Arc<Part>>>,
    /// Runners of all the pools waiting for a thread: zero most of the
    /// time, and then a running runner looks no further.
    waiting: AtomicUsize,
}

/// One pool's part, as a handle: dropped, the pool no longer counts.
pub struct Share {
    fairness: Arc<Fairness>,
    part: Arc<Part>,
}

/// What `Fairness` knows of a pool (no way back to it: no cycle of
/// counts between the two).
struct Part {
    weight: AtomicU32,
    /// Nanoseconds of runner time, divided by the weight.
    virtual_ns: AtomicU64,
    /// Its runners waiting for a thread.
    waiting: AtomicUsize,
    /// Its runners polling processes now.
    running: AtomicUsize,
    /// Its runners asleep, with nothing to run.
    sleeping: AtomicUsize,
    /// How many runners it has.
    runners: usize,
}

impl Fairness {
    pub fn new() -> Arc<Fairness> {
        Arc::new(Fairness::default())
    }

    /// A new pool's share, of weight `weight` (at least 1), for a pool
    /// of `runners` runners.
    pub fn join(self: &Arc<Self>, weight: u32, runners: usize) -> Arc<Share> {
        let part = Arc::new(Part {
            weight: AtomicU32::new(weight.max(1)),
            virtual_ns: AtomicU64::new(self.earliest_busy(None).unwrap_or(0)),
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            runners: runners.max(1),
        });
        self.pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(part.clone());
        Arc::new(Share {
            fairness: self.clone(),
            part,
        })
    }

    /// The earliest virtual time of the pools (but `except`) that run or
    /// wait to.
    fn earliest_busy(&self, except: Option<&Part>) -> Option<u64> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .iter()
            .filter(|p| except.is_none_or(|e| !std::ptr::eq(Arc::as_ptr(p), e)))
            .filter(|p| p.running.load(Ordering::Relaxed) + p.waiting.load(Ordering::Relaxed) > 0)
            .map(|p| p.virtual_ns.load(Ordering::Relaxed))
            .min()
    }
}

impl Share {
    pub fn set_weight(&self, weight: u32) {
        self.part.weight.store(weight.max(1), Ordering::Relaxed);
    }

    /// A runner of this pool was woken, or yielded, and waits for a
    /// thread.
    pub fn wants_thread(&self) {
        self.part.waiting.fetch_add(1, Ordering::SeqCst);
        self.fairness.waiting.fetch_add(1, Ordering::SeqCst);
    }

    /// A runner counted by `wants_thread` no longer waits (it runs, or
    /// it is gone).
    pub fn stops_waiting(&self) {
        self.part.waiting.fetch_sub(1, Ordering::SeqCst);
        self.fairness.waiting.fetch_sub(1, Ordering::SeqCst);
    }

    /// A runner starts polling; `was_waiting` if it was counted by
    /// `wants_thread`.
    pub fn start_turn(&self, was_waiting: bool) {
        if was_waiting {
            self.stops_waiting();
        }
        self.part.running.fetch_add(1, Ordering::SeqCst);
    }

    /// A runner found nothing to run and sleeps.
    pub fn fell_asleep(&self) {
        self.part.sleeping.fetch_add(1, Ordering::SeqCst);
    }

    /// A runner that slept is woken. When all of them slept, the pool had
    /// nothing to run until now: it gets no credit for the time it did
    /// not use (a pool merely waiting for a thread keeps what it is owed).
    pub fn woke_up(&self) {
        if self.part.sleeping.fetch_sub(1, Ordering::SeqCst) == self.part.runners {
            if let Some(earliest) = self.fairness.earliest_busy(Some(&self.part)) {
                self.part.virtual_ns.fetch_max(earliest, Ordering::Relaxed);
            }
        }
    }

    /// A runner's turn ended after `used`.
    pub fn end_turn(&self, used: Duration) {
        let weight = u64::from(self.part.weight.load(Ordering::Relaxed));
        self.part
            .virtual_ns
            .fetch_add(used.as_nanos() as u64 / weight, Ordering::Relaxed);
        self.part.running.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether any runner of any pool waits for a thread: when none does,
    /// as most of the time, a running runner has nobody to yield to.
    pub fn anyone_waits(&self) -> bool {
        self.fairness.waiting.load(Ordering::Relaxed) > 0
    }

    /// Whether a runner of this pool, `used` into its turn, should let a
    /// waiting runner of another pool with an earlier virtual time have
    /// its thread.
    pub fn should_yield(&self, used: Duration) -> bool {
        if self.fairness.waiting.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let weight = u64::from(self.part.weight.load(Ordering::Relaxed));
        let mine = self.part.virtual_ns.load(Ordering::Relaxed) + used.as_nanos() as u64 / weight;
        let pools = self
            .fairness
            .pools
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pools.iter().any(|p| {
            !Arc::ptr_eq(p, &self.part)
                && p.waiting.load(Ordering::Relaxed) > 0
                && p.virtual_ns.load(Ordering::Relaxed) < mine
        })
    }
}

impl Drop for Share {
    /// The pool is gone: it no longer counts.
    fn drop(&mut self) {
        self.fairness
            .pools
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| !Arc::ptr_eq(p, &self.part));
        let waiting = self.part.waiting.swap(0, Ordering::SeqCst);
        self.fairness.waiting.fetch_sub(waiting, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_behind_in_virtual_time_gets_the_thread() {
        let fairness = Fairness::new();
        let busy = fairness.join(1, 1);
        let light = fairness.join(1, 1);
        busy.start_turn(false);
        assert!(!busy.should_yield(Duration::from_millis(1)), "nobody waits");
        light.wants_thread();
        assert!(busy.should_yield(Duration::from_millis(1)));
        light.start_turn(true);
        assert!(
            !busy.should_yield(Duration::from_millis(1)),
            "it got a thread"
        );
        busy.end_turn(Duration::from_millis(1));
        light.end_turn(Duration::from_micros(10));
        // `busy` is ahead now: it waits, and `light` keeps going.
        busy.wants_thread();
        assert!(!light.should_yield(Duration::from_micros(10)));
    }

    #[test]
    fn a_larger_share_is_charged_less_for_the_same_time() {
        let fairness = Fairness::new();
        let big = fairness.join(4, 1);
        let small = fairness.join(1, 1);
        big.start_turn(false);
        small.start_turn(false);
        small.end_turn(Duration::from_millis(4));
        small.wants_thread();
        // small: 4 ms of virtual time for its 4; big, still in its turn,
        // 1 ms for every 4 it runs.
        assert!(!big.should_yield(Duration::from_millis(8)));
        assert!(big.should_yield(Duration::from_millis(17)));
    }

    #[test]
    fn an_idle_pool_banks_no_credit() {
        let fairness = Fairness::new();
        let busy = fairness.join(1, 1);
        let idle = fairness.join(1, 1);
        idle.fell_asleep();
        busy.start_turn(false);
        busy.end_turn(Duration::from_secs(10));
        busy.start_turn(false);
        // Woken after sleeping through busy's 10 s: brought up to them.
        idle.woke_up();
        idle.start_turn(false);
        idle.end_turn(Duration::from_millis(1));
        assert!(
            idle.part.virtual_ns.load(Ordering::Relaxed)
                >= Duration::from_secs(10).as_nanos() as u64
        );
        busy.wants_thread();
        assert!(idle.should_yield(Duration::ZERO));
    }

    #[test]
    fn a_pool_waiting_for_a_thread_keeps_what_it_is_owed() {
        let fairness = Fairness::new();
        let busy = fairness.join(1, 1);
        let waiting = fairness.join(1, 1);
        waiting.wants_thread();
        busy.start_turn(false);
        busy.end_turn(Duration::from_secs(10));
        busy.start_turn(false);
        waiting.start_turn(true);
        waiting.end_turn(Duration::from_millis(1));
        // Still 10 s behind: it runs, and busy yields to it, until even.
        busy.wants_thread();
        waiting.start_turn(false);
        assert!(!waiting.should_yield(Duration::from_secs(9)));
        assert!(waiting.should_yield(Duration::from_secs(11)));
    }
}
