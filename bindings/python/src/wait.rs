//! Waiting without the GIL, in slices, so that Ctrl-C is noticed.
//!
//! A native wait cannot be interrupted by a signal: CPython's handler only sets a
//! flag that the interpreter checks between bytecodes. So every potentially long
//! wait releases the GIL for at most one slice, then calls `check_signals`, which
//! runs the Python handler (raising `KeyboardInterrupt` for SIGINT) on the main
//! thread and returns at once on any other.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How long a wait stays in native code before it looks for signals: short enough
/// that Ctrl-C feels immediate, long enough that the check costs nothing.
pub(crate) const SLICE: Duration = Duration::from_millis(20);

/// Set by the `atexit` hook of the package: from then on, engine workers no
/// longer enter the interpreter. CPython before 3.14 ends a thread that takes
/// the GIL during finalization (`pthread_exit`), which would end an engine
/// worker in the middle of a task.
static FINALIZING: AtomicBool = AtomicBool::new(false);

/// Engine threads between deciding to enter the interpreter and having left it.
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// How long the exit hook waits for tasks already inside the interpreter.
/// Tasks are daemon-like (the process does not wait for them to finish): this
/// only lets one that is about to return do so before the teardown. One still
/// inside after it is parked, not crashed (see `task::call_parking_at_exit`).
const EXIT_GRACE: Duration = Duration::from_millis(250);

pub(crate) fn finalizing() -> bool {
    // Acquire: pairs with the store in `at_exit`.
    FINALIZING.load(Ordering::Acquire)
}

/// A pass into the interpreter for an engine thread; `None` once the exit hook
/// has run. Keep it until the thread has released the GIL.
pub(crate) fn enter() -> Option<Inside> {
    // SeqCst on both sides (here: count, then flag; in `at_exit`: flag, then
    // count) so that at least one side sees the other: either this thread sees
    // the flag and stays out, or the exit hook sees it counted and waits.
    INSIDE.fetch_add(1, Ordering::SeqCst);
    if FINALIZING.load(Ordering::SeqCst) {
        INSIDE.fetch_sub(1, Ordering::SeqCst);
        return None;
    }
    Some(Inside(()))
}

pub(crate) struct Inside(());

impl Drop for Inside {
    fn drop(&mut self) {
        INSIDE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The exit hook: no task enters the interpreter from now on (those not yet
/// started fail with `EngineShutdownError`), and tasks already inside get up to
/// `EXIT_GRACE` to leave, with the GIL released so that they can.
pub(crate) fn at_exit(py: Python<'_>) {
    FINALIZING.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + EXIT_GRACE;
    py.detach(|| {
        while INSIDE.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
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
