//! The synchronization primitives used by the wake-up protocols.
//!
//! Under `--cfg loom` they are loom's model-checked versions, so the sleep and latch
//! protocols can be checked exhaustively on small cases; otherwise std's.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};
#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use crossbeam_utils::Backoff;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};

/// Under loom a spin-wait must yield to the model's scheduler, or the waiting thread
/// would spin forever without letting the thread it waits for run.
#[cfg(loom)]
pub(crate) struct Backoff;

#[cfg(loom)]
impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff
    }
    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
}

/// An `UnsafeCell` whose accesses loom checks for data races (std's otherwise):
/// pointers to the contents are only handed to a closure.
pub(crate) struct UnsafeCell<T>(#[cfg(not(loom))] std::cell::UnsafeCell<T>, #[cfg(loom)] loom::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    /// Only loom's cells need constructing (the queue writes std's in place).
    #[cfg(loom)]
    pub(crate) fn new(value: T) -> Self {
        UnsafeCell(loom::cell::UnsafeCell::new(value))
    }

    /// Reads through the pointer (loom: a read access).
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.0.get());
        #[cfg(loom)]
        return self.0.with(f);
    }

    /// Writes through the pointer (loom: a write access).
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        return f(self.0.get());
        #[cfg(loom)]
        return self.0.with_mut(f);
    }
}
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

use std::time::Duration;

/// Locks without poisoning: a panic elsewhere must not wedge the scheduler, and no
/// state guarded by these mutexes is left half-updated by a panic (they guard flags).
///
/// `lock`, `wait` and `wait_timeout` take this module's (loom-capable) types;
/// the `std_` ones take std's, for the parts that loom does not model. Outside
/// loom both are std's; under loom the compiler keeps them apart.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `cv`, ignoring poison as [`lock`] does.
pub(crate) fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on `cv` for at most `dur`, ignoring poison as [`lock`] does. Whether it
/// timed out is left to the caller's own condition and clock.
pub(crate) fn wait_timeout<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>, dur: Duration) -> MutexGuard<'a, T> {
    cv.wait_timeout(guard, dur).unwrap_or_else(|poisoned| poisoned.into_inner()).0
}

/// [`lock`] for std's Mutex.
pub(crate) fn std_lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// [`wait`] for std's Condvar.
pub(crate) fn std_wait<'a, T>(
    cv: &std::sync::Condvar,
    guard: std::sync::MutexGuard<'a, T>,
) -> std::sync::MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// [`wait_timeout`] for std's Condvar.
pub(crate) fn std_wait_timeout<'a, T>(
    cv: &std::sync::Condvar,
    guard: std::sync::MutexGuard<'a, T>,
    dur: Duration,
) -> std::sync::MutexGuard<'a, T> {
    cv.wait_timeout(guard, dur).unwrap_or_else(std::sync::PoisonError::into_inner).0
}
