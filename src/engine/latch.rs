//! Latches: one-shot "this is done" flags that a waiter can sleep on.
//!
//! * [`SpinLatch`]: for a worker waiting on its own stolen `join` half. The waiter
//!   keeps working while it waits and sleeps only when there is nothing else to do.
//! * [`LockLatch`]: for a thread outside the pool, which just blocks.
//! * [`Event`]: many waiters (workers or outside threads) on a condition that lives
//!   elsewhere (a group's unfinished count, a handle's result).

use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::time::Instant;

use super::job::Latch;
use super::registry::{Registry, Waitable};
use super::sleep::Sleep;
use super::sync::{fence, lock, wait, wait_timeout, AtomicUsize, Condvar, Mutex};

const UNSET: usize = 0;
// 1 is unused: a waiter goes from UNSET straight to SLEEPING under its slot lock.
const SLEEPING: usize = 2;
const SET: usize = 3;

/// The state machine shared by latches whose waiter is a worker.
pub(crate) struct CoreLatch {
    state: AtomicUsize,
}

impl CoreLatch {
    pub(crate) fn new() -> Self {
        CoreLatch { state: AtomicUsize::new(UNSET) }
    }

    /// True once set. Acquire: pairs with the Release in `set` so the job's result,
    /// written before, is visible.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        self.state.load(Acquire) == SET
    }

    /// Called by the waiter (with its sleeper slot locked) just before it blocks.
    /// Returns true if the latch got set first, i.e. the sleep must be abandoned.
    pub(crate) fn register_sleep(&self) -> bool {
        match self.state.compare_exchange(UNSET, SLEEPING, SeqCst, SeqCst) {
            Ok(_) => false,
            Err(SET) => true,
            Err(other) => unreachable!("latch state {other} while registering a sleep"),
        }
    }

    /// Called by the waiter after its sleep: back to UNSET unless it got set.
    pub(crate) fn unregister_sleep(&self) {
        let _ = self.state.compare_exchange(SLEEPING, UNSET, SeqCst, SeqCst);
    }

    /// Sets the latch; returns true if the waiter was asleep and must be woken.
    /// AcqRel/SeqCst: Release publishes the job result; the swap is ordered with
    /// the waiter's CAS, so exactly one of them sees the other.
    #[inline]
    pub(crate) fn set_and_check_sleeping(&self) -> bool {
        self.state.swap(SET, SeqCst) == SLEEPING
    }
}

/// A worker waits on a latch by sleeping on it (registered in its state).
impl Waitable for CoreLatch {
    fn is_done(&self) -> bool {
        self.probe()
    }
    fn register(&self, _worker: usize) -> bool {
        self.register_sleep()
    }
    fn unregister(&self, _worker: usize) {
        self.unregister_sleep()
    }
}

/// A latch whose waiter is worker `target` of `registry`.
pub(crate) struct SpinLatch<'r> {
    pub(crate) core: CoreLatch,
    registry: &'r Registry,
    target: usize,
}

impl<'r> SpinLatch<'r> {
    pub(crate) fn new(registry: &'r Registry, target: usize) -> Self {
        SpinLatch { core: CoreLatch::new(), registry, target }
    }
}

impl Latch for SpinLatch<'_> {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is live until `core.set` publishes SET; everything we need
        // afterwards is copied out first. The registry outlives its workers, one of
        // which is waiting on this latch, so the reference stays valid.
        unsafe {
            let registry: &Registry = (*this).registry;
            let target = (*this).target;
            if (*this).core.set_and_check_sleeping() {
                registry.sleep.wake_specific(target);
            }
        }
    }
}

/// A latch for a thread outside the pool: a mutex and a condvar.
pub(crate) struct LockLatch {
    done: Mutex<bool>,
    condvar: Condvar,
}

impl LockLatch {
    pub(crate) fn new() -> Self {
        LockLatch { done: Mutex::new(false), condvar: Condvar::new() }
    }

    pub(crate) fn wait(&self) {
        let mut done = lock(&self.done);
        while !*done {
            done = wait(&self.condvar, done);
        }
    }
}

impl Latch for LockLatch {
    unsafe fn set(this: *const Self) {
        // SAFETY: the waiter cannot return (and free the latch) until it has taken
        // the lock after we release it, so `*this` is live for this whole block.
        unsafe {
            let mut done = lock(&(*this).done);
            *done = true;
            (*this).condvar.notify_all();
        }
    }
}

/// Waiters on a condition owned by something else (a group, a task handle).
///
/// The owner changes its condition (with a SeqCst or Release write), then calls
/// [`Event::notify`]. A waiter announces itself (`sleepers += 1`, SeqCst fence),
/// then re-checks the condition before blocking: one of the two sees the other.
pub(crate) struct Event {
    sleepers: AtomicUsize,
    /// Worker indices asleep on this event.
    workers: Mutex<Vec<usize>>,
    /// For outside threads, which block on `workers`' lock.
    condvar: Condvar,
}

impl Event {
    pub(crate) fn new() -> Self {
        Self::with_room_for(0)
    }

    /// An event whose list of sleeping workers holds `workers` without growing:
    /// for long-lived, recycled owners (group records), so that a worker going to
    /// sleep on one never allocates.
    pub(crate) fn with_room_for(workers: usize) -> Self {
        Event {
            sleepers: AtomicUsize::new(0),
            workers: Mutex::new(Vec::with_capacity(workers)),
            condvar: Condvar::new(),
        }
    }

    /// Wakes every waiter so it re-checks the condition. Cheap when nobody waits.
    pub(crate) fn notify(&self, registry: &Registry) {
        fence(SeqCst);
        self.notify_after_fence(registry);
    }

    /// [`Event::notify`] for a caller that has just issued a SeqCst fence after
    /// changing the condition (that fence is the one the pairing needs).
    #[inline]
    pub(crate) fn notify_after_fence(&self, registry: &Registry) {
        self.wake_waiters(&registry.sleep);
    }

    /// The waking part of [`Event::notify_after_fence`], on the registry's sleep
    /// state (apart so that loom can check it without a whole registry). Inlined
    /// for its first load: every spawn and finish of a group passes here, and
    /// almost always nobody sleeps.
    #[inline]
    fn wake_waiters(&self, sleep: &Sleep) {
        if self.sleepers.load(SeqCst) == 0 {
            return;
        }
        self.wake_sleepers(sleep);
    }

    #[cold]
    #[inline(never)]
    fn wake_sleepers(&self, sleep: &Sleep) {
        // Woken outside our lock (the sleeper takes its slot lock, then ours), in
        // batches through a stack buffer so that notifying never allocates.
        let mut first = true;
        loop {
            let mut batch = [0usize; 16];
            let n = {
                let mut workers = lock(&self.workers);
                if first {
                    self.condvar.notify_all();
                    first = false;
                }
                let n = workers.len().min(batch.len());
                let from = workers.len() - n;
                batch[..n].copy_from_slice(&workers[from..]);
                workers.truncate(from);
                n
            };
            for &worker in &batch[..n] {
                sleep.wake_specific(worker);
            }
            if n < batch.len() {
                return;
            }
        }
    }

    /// Worker side, called with the worker's slot lock held (from `register` of
    /// `Sleep::no_work_found`). Returns true if the wait is already over.
    pub(crate) fn register_worker(&self, worker: usize, is_done: &dyn Fn() -> bool) -> bool {
        lock(&self.workers).push(worker);
        self.sleepers.fetch_add(1, SeqCst);
        fence(SeqCst);
        is_done()
    }

    pub(crate) fn unregister_worker(&self, worker: usize) {
        let mut workers = lock(&self.workers);
        if let Some(pos) = workers.iter().position(|&w| w == worker) {
            workers.swap_remove(pos);
        }
        drop(workers);
        self.sleepers.fetch_sub(1, SeqCst);
    }

    /// Outside-thread side: blocks until `is_done()` or the deadline. Returns whether
    /// the condition holds.
    pub(crate) fn wait_external(&self, is_done: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool {
        if is_done() {
            return true;
        }
        let mut guard = lock(&self.workers);
        self.sleepers.fetch_add(1, SeqCst);
        fence(SeqCst);
        let result = loop {
            if is_done() {
                break true;
            }
            match deadline {
                None => {
                    guard = wait(&self.condvar, guard);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break is_done();
                    }
                    guard = wait_timeout(&self.condvar, guard, deadline - now);
                }
            }
        };
        self.sleepers.fetch_sub(1, Relaxed);
        drop(guard);
        result
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::engine::sleep::{IdleState, IdleWait};
    use crate::engine::sync::AtomicBool;
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::{AcqRel, Acquire};

    fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        builder.check(f);
    }

    /// What an owner does (a group going idle, a handle completing): change the
    /// condition with an RMW, then `notify`, whose first step is the fence.
    fn complete(done: &AtomicBool, event: &Event, sleep: &Sleep) {
        done.swap(true, AcqRel);
        fence(SeqCst);
        event.wake_waiters(sleep);
    }

    /// A worker waits on an event the way a group wait does (registered under its
    /// slot lock, then a last look at the condition); the owner completes: the
    /// worker must wake (loom reports a deadlock otherwise).
    #[test]
    fn loom_event_wakes_a_sleeping_worker() {
        model(3, || {
            let sleep = Arc::new(Sleep::new(1));
            let event = Arc::new(Event::new());
            let done = Arc::new(AtomicBool::new(false));
            let (s2, e2, d2) = (sleep.clone(), event.clone(), done.clone());
            let owner = loom::thread::spawn(move || complete(&d2, &e2, &s2));
            let mut idle = IdleState::new();
            while !done.load(Acquire) {
                let d = done.clone();
                sleep.no_work_found(
                    &mut idle,
                    IdleWait {
                        worker: 0,
                        spin_budget: 0,
                        general: false,
                        deadline: None,
                        register: &mut || event.register_worker(0, &|| d.load(Acquire)),
                        unregister: &mut || event.unregister_worker(0),
                    },
                );
            }
            owner.join().unwrap();
        });
    }

    /// A thread outside the pool blocks in `wait_external`; the owner completes: the
    /// wait must return true.
    #[test]
    fn loom_event_wakes_an_outside_waiter() {
        model(3, || {
            let sleep = Arc::new(Sleep::new(1));
            let event = Arc::new(Event::new());
            let done = Arc::new(AtomicBool::new(false));
            let (e2, d2) = (event.clone(), done.clone());
            let waiter = loom::thread::spawn(move || assert!(e2.wait_external(&|| d2.load(Acquire), None)));
            complete(&done, &event, &sleep);
            waiter.join().unwrap();
        });
    }
}
