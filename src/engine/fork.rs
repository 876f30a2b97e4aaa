//! Fork safety: the generation a registry belongs to, the handler that starts a
//! new generation in a forked child, and the default engine's slot, which that
//! handler unlocks and a child's first use empties.
//!
//! A child of `fork()` has one thread. Registries from an older generation belong
//! to the parent, whose threads do not exist here: they report `Shutdown` (see
//! `Registry::is_alive`), and the default engine is rebuilt on first use.

use std::cell::UnsafeCell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Once;

/// Bumped in every child after `fork()`.
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

/// The lock of the default engine's slot (`ProcessSlot`). A spin lock rather than a
/// Mutex so that the child handler can release it: a lock another parent thread
/// held at fork time would never be released in the child.
pub(crate) static DEFAULT_ENGINE_LOCK: ForkLock = ForkLock(AtomicBool::new(false));

/// The lock of the C API's sets of live handles (a `_free` checks its pointer
/// against them), for the same reason.
pub(crate) static LIVE_HANDLES_LOCK: ForkLock = ForkLock(AtomicBool::new(false));

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: atomic stores only.
    FORK_GENERATION.fetch_add(1, SeqCst);
    DEFAULT_ENGINE_LOCK.0.store(false, Release);
    LIVE_HANDLES_LOCK.0.store(false, Release);
}

/// This process's generation: 0 in the original process, bumped in each child.
/// The first call installs the fork handler.
pub(crate) fn fork_generation() -> u64 {
    ATFORK.call_once(|| {
        // SAFETY: registering a plain extern "C" function with no captured state;
        // pthread_atfork only stores the pointer.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    FORK_GENERATION.load(Acquire)
}

/// This process's generation, for a caller that knows the fork handler is
/// installed (every registry installed it when it was built): one load.
#[inline]
pub(crate) fn installed_fork_generation() -> u64 {
    FORK_GENERATION.load(Acquire)
}

/// A spin lock that the fork handler releases in the child (only the ones
/// declared in this file are).
pub(crate) struct ForkLock(AtomicBool);

impl ForkLock {
    /// Runs `f` holding the lock (held briefly: it spins).
    pub(crate) fn with<R>(&self, f: impl FnOnce() -> R) -> R {
        // The handler that releases it in a child must be in place before the
        // lock is first taken.
        fork_generation();
        let backoff = crossbeam_utils::Backoff::new();
        // Acquire/Release: the usual lock pairing for what it guards.
        while self.0.compare_exchange_weak(false, true, Acquire, Relaxed).is_err() {
            backoff.snooze();
        }
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.store(false, Release);
            }
        }
        let _unlock = Unlock(&self.0);
        f()
    }
}

/// A process-wide value of one fork generation (the default engine's registry):
/// built on first use, taken out by shutdown, and left behind, unfreed, when a
/// child first looks at its parent's (its destructor would join threads that do
/// not exist in the child).
pub(crate) struct ProcessSlot<T: 'static> {
    lock: &'static ForkLock,
    state: UnsafeCell<SlotState<T>>,
}

/// What [`ProcessSlot::with_lock`] hands out.
pub(crate) struct SlotState<T> {
    pub(crate) value: Option<T>,
    /// Shut down in this process: not rebuilt (until a fork).
    pub(crate) shut_down: bool,
    generation: u64,
}

// SAFETY: `state` is only accessed inside `with_lock`, which holds `lock`; the
// value moves between threads that way, hence `T: Send`.
unsafe impl<T: Send> Sync for ProcessSlot<T> {}

impl<T> ProcessSlot<T> {
    pub(crate) const fn new(lock: &'static ForkLock) -> Self {
        ProcessSlot { lock, state: UnsafeCell::new(SlotState { value: None, shut_down: false, generation: 0 }) }
    }

    pub(crate) fn with_lock<R>(&self, f: impl FnOnce(&mut SlotState<T>) -> R) -> R {
        self.lock.with(|| {
            // `with` installed the fork handler: one load.
            let generation = installed_fork_generation();
            // SAFETY: we hold the lock.
            let state = unsafe { &mut *self.state.get() };
            if state.generation != generation {
                // A forked child: the parent's value has no threads here. Leak it
                // (its destructor would try to join threads that do not exist).
                if let Some(old) = state.value.take() {
                    std::mem::forget(old);
                }
                state.shut_down = false;
                state.generation = generation;
            }
            f(state)
        })
    }
}
