//! Waiting without the GIL, in slices, so that Ctrl-C is noticed.
//!
//! A native wait cannot be interrupted by a signal: CPython's handler only sets a
//! flag that the interpreter checks between bytecodes. So every potentially long
//! wait releases the GIL for at most one slice, then calls `check_signals`, which
//! runs the Python handler (raising `KeyboardInterrupt` for SIGINT) on the main
//! thread and returns at once on any other.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How long a wait stays in native code before it looks for signals: short enough
/// that Ctrl-C feels immediate, long enough that the check costs nothing.
pub(crate) const SLICE: Duration = Duration::from_millis(20);

/// Set by the `atexit` hook of the package: from then on, engine workers no
/// longer enter the interpreter (CPython 3.11 ends a thread that tries to take
/// the GIL during finalization, which would end an engine worker mid-task).
static FINALIZING: AtomicBool = AtomicBool::new(false);

pub(crate) fn finalizing() -> bool {
    // Acquire: pairs with the Release in `set_finalizing`.
    FINALIZING.load(Ordering::Acquire)
}

pub(crate) fn set_finalizing() {
    FINALIZING.store(true, Ordering::Release);
}

/// A deadline `timeout` seconds from now; `None` waits forever.
pub(crate) fn deadline(py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Instant>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_nan() => {
            Err(crate::errors::new_err(py, crate::errors::Kind::InvalidArgument, "timeout must not be NaN"))
        }
        // Negative: do not wait. Beyond what `Instant` can hold (inf): forever.
        Some(t) => Ok(Duration::try_from_secs_f64(t.max(0.0)).ok().and_then(|d| Instant::now().checked_add(d))),
    }
}

/// The next slice before `deadline`: `None` once it has passed.
pub(crate) fn next_slice(deadline: Option<Instant>) -> Option<Duration> {
    match deadline {
        None => Some(SLICE),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            (!left.is_zero()).then(|| left.min(SLICE))
        }
    }
}

/// Calls `step(slice)` with the GIL released until it returns `Some`, checking
/// for signals between calls. `Ok(None)` when `deadline` passed first.
pub(crate) fn wait_interruptibly<T, F>(py: Python<'_>, deadline: Option<Instant>, mut step: F) -> PyResult<Option<T>>
where
    T: Send,
    F: FnMut(Duration) -> Option<T> + Send,
{
    loop {
        let Some(slice) = next_slice(deadline) else { return Ok(None) };
        if let Some(value) = py.detach(|| step(slice)) {
            return Ok(Some(value));
        }
        py.check_signals()?;
    }
}
