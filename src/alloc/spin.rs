//! The free list's lock: a test-and-test-and-set spin lock that yields under contention.
//!
//! Why not `std::sync::Mutex`: a `GlobalAlloc` must never allocate, and std's mutex is
//! only guaranteed allocation-free where it is a futex word; on platforms where it wraps
//! a lazily boxed pthread mutex its first lock would allocate, re-entering the very
//! allocator that is taking it. This lock is one atomic flag everywhere. Its critical
//! sections are short list walks with no system calls, and waiters back off to
//! `yield_now` (crossbeam's `Backoff::snooze`), so a lock holder that was preempted on an
//! oversubscribed machine gets the CPU back instead of being spun against.
//!
//! Invariant: `locked` is true exactly while one `SpinGuard` exists.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_utils::Backoff;

/// A value protected by a spin lock.
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out at most one `&mut T` at a time (see `lock`), so sharing the
// lock between threads only ever moves access to `T` from one thread to another, which
// `T: Send` allows.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A new, unlocked lock; `const` so allocators can live in statics.
    pub(crate) const fn new(value: T) -> Self {
        SpinLock { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// Takes the lock, spinning and then yielding until it is free.
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        let backoff = Backoff::new();
        loop {
            // Read before trying so that waiters spin on a shared cache line instead of
            // bouncing it between cores with failed read-modify-writes.
            // Acquire on success pairs with the Release store in `SpinGuard::drop`: every
            // write made under the previous holder is visible to the next.
            if !self.locked.load(Ordering::Relaxed)
                && self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                return SpinGuard { lock: self };
            }
            backoff.snooze();
        }
    }

    /// Direct access when the caller holds `&mut self`, so no lock is needed.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// Proof that the lock is held; releases it on drop.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a guard exists only while `locked` is true and there is only one guard
        // (invariant at the top), so no `&mut T` can exist elsewhere.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` on the only guard makes this access unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        // Release publishes this holder's writes to the next `lock` (its Acquire CAS).
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn stress_counts_every_increment() {
        // Fewer rounds under Miri, which runs this a thousand times slower.
        let rounds = if cfg!(miri) { 100 } else { 10_000 };
        let lock = Arc::new(SpinLock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        // A non-atomic read-modify-write: lost updates would show if two
                        // threads were ever inside at once.
                        let mut g = lock.lock();
                        let v = *g;
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 4 * rounds);
    }
}
