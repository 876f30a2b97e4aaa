//! Panic plumbing: catching a task's panic, and aborting where unwinding would leave
//! the scheduler's invariants broken.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use crate::error::EngineError;

/// Why a task (a group's task, a team member) failed: its own error, or a panic
/// whose payload is kept so that it can be re-raised or described.
pub(crate) enum TaskFailure {
    Error(EngineError),
    Panic(Box<dyn Any + Send>),
}

/// Runs `f`, turning a panic into `Err(payload)`.
pub(crate) fn halt_unwinding<F, R>(f: F) -> Result<R, Box<dyn Any + Send>>
where
    F: FnOnce() -> R,
{
    // AssertUnwindSafe: the payload is handed to whoever waits on the task, who sees
    // the task as failed; no state of ours is observed half-done through it.
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// Re-raises a panic caught on another thread.
pub(crate) fn resume_unwinding(payload: Box<dyn Any + Send>) -> ! {
    panic::resume_unwind(payload)
}

/// Aborts the process if dropped during unwinding. Held across scheduler code that
/// must not unwind (a panic there would strand latches other threads wait on).
pub(crate) struct AbortIfPanic;

impl Drop for AbortIfPanic {
    fn drop(&mut self) {
        eprintln!("taskengine: internal error: the scheduler panicked, aborting");
        std::process::abort();
    }
}
