//! The handles the C API made and has not released yet, by kind: a `_free`
//! checks its pointer here before reading through it, so that a second free, or
//! a pointer the library never made, is refused instead of crashing the host.
//! A forked child inherits the sets with the handles; their lock is one the fork
//! handler releases in the child.

use std::cell::UnsafeCell;

use crate::engine::LIVE_HANDLES_LOCK;
use crate::error::{EngineError, Result};

/// Addresses of live handles of one kind, kept sorted.
pub(crate) struct LiveSet(UnsafeCell<Vec<usize>>);

// SAFETY: the Vec is only touched inside `with`, which holds the lock.
unsafe impl Sync for LiveSet {}

impl LiveSet {
    pub(crate) const fn new() -> LiveSet {
        LiveSet(UnsafeCell::new(Vec::new()))
    }

    fn with<R>(&self, f: impl FnOnce(&mut Vec<usize>) -> R) -> R {
        // SAFETY: we hold the lock: no other reference to the Vec exists.
        LIVE_HANDLES_LOCK.with(|| f(unsafe { &mut *self.0.get() }))
    }

    /// Boxes `value` and records the box as a live handle (`NoMemory`, with
    /// `value` dropped, when there is no room to record it).
    pub(crate) fn make<T>(&self, value: T) -> Result<*mut T> {
        let handle = Box::into_raw(Box::new(value));
        let key = handle as usize;
        let recorded = self.with(|live| {
            if live.try_reserve(1).is_err() {
                return false;
            }
            let at = live.binary_search(&key).unwrap_or_else(|at| at);
            live.insert(at, key);
            true
        });
        if !recorded {
            // SAFETY: made just above and never handed out.
            drop(unsafe { Box::from_raw(handle) });
            return Err(EngineError::NoMemory);
        }
        Ok(handle)
    }

    /// None if `handle` is not live. Else asks `release` (under the lock, so two
    /// racing frees cannot both win) and forgets the handle if it says true.
    pub(crate) fn remove_if<T>(&self, handle: *const T, release: impl FnOnce() -> bool) -> Option<bool> {
        let handle = handle as usize;
        self.with(|live| {
            let at = live.binary_search(&handle).ok()?;
            let released = release();
            if released {
                live.remove(at);
            }
            Some(released)
        })
    }
}
