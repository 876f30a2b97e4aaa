//! Admission of outside submissions into a bounded engine (`Config::queue_capacity`):
//! a task submitted from outside the pool holds a slot until it starts; with every
//! slot taken a submitter waits for room (`spawn`) or fails with `QueueFull`
//! (`try_spawn`).

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Relaxed, SeqCst};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::sync::{std_lock, std_wait_timeout};
use crate::error::{EngineError, Result};

pub(crate) struct Admission {
    /// Outside tasks pending at most; 0 = unbounded (no count kept).
    capacity: usize,
    /// Tasks submitted from outside that have not started.
    pending: AtomicUsize,
    waiters: AtomicUsize,
    room: (Mutex<()>, Condvar),
}

impl Admission {
    pub(crate) fn new(capacity: usize) -> Self {
        Admission {
            capacity,
            pending: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            room: (Mutex::new(()), Condvar::new()),
        }
    }

    /// Takes a slot for one outside task when the queue is bounded (waiting for
    /// one if `block`, else failing with `QueueFull`; `Shutdown` once `is_alive`
    /// says so) and returns true: the task gives it back with `release` when it
    /// starts. Unbounded: false, and no shared counter to bounce.
    #[inline]
    pub(crate) fn reserve(&self, block: bool, is_alive: &dyn Fn() -> bool) -> Result<bool> {
        // The default, unbounded, costs a test in the spawning call: every task
        // spawned from outside the pool passes here.
        if self.capacity == 0 {
            return Ok(false);
        }
        self.reserve_slot(block, is_alive)
    }

    #[inline(never)]
    fn reserve_slot(&self, block: bool, is_alive: &dyn Fn() -> bool) -> Result<bool> {
        loop {
            let pending = self.pending.load(Relaxed);
            if pending < self.capacity {
                if self.pending.compare_exchange_weak(pending, pending + 1, AcqRel, Relaxed).is_ok() {
                    return Ok(true);
                }
                continue;
            }
            if !block {
                return Err(EngineError::QueueFull);
            }
            if !is_alive() {
                return Err(EngineError::Shutdown);
            }
            let guard = std_lock(&self.room.0);
            self.waiters.fetch_add(1, SeqCst);
            std::sync::atomic::fence(SeqCst);
            // Re-check after announcing ourselves (pairs with `release`).
            if self.pending.load(SeqCst) >= self.capacity && is_alive() {
                drop(std_wait_timeout(&self.room.1, guard, Duration::from_millis(100)));
            }
            self.waiters.fetch_sub(1, SeqCst);
        }
    }

    /// An outside task started (or was dropped): make room for the next one.
    pub(crate) fn release(&self) {
        self.pending.fetch_sub(1, SeqCst);
        std::sync::atomic::fence(SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            self.wake_all();
        }
    }

    /// Wakes every waiting submitter (to see room, or a shut-down engine).
    pub(crate) fn wake_all(&self) {
        let _guard = std_lock(&self.room.0);
        self.room.1.notify_all();
    }
}
