//! Retry from C: a group task that runs again when it fails.

use std::ffi::c_void;
use std::time::Duration;

use super::boundary::status;
use super::group::{group_ref, te_group};
use super::ptr::UserArg;
use super::status::te_status;
use super::task::{task_result, te_task_fn};
use crate::error::EngineError;
use crate::RetryPolicy;

/// The longest backoff of te_group_spawn_retry, as a multiple of `backoff_ms`.
const MAX_BACKOFF_FACTOR: u32 = 64;

/// Adds the task `fn(arg)` to `group`, running it again when it fails (returns
/// non-zero, or panics for a Rust callback), up to `max_attempts` runs in all.
/// Before the second run it waits `backoff_ms` milliseconds, doubling before each
/// later one (at most 64 x `backoff_ms`); 0 retries at once. A wait holds no
/// worker: the engine's timer queues the next run when it is due, and the group
/// counts the task as pending meanwhile (te_group_wait waits for the last run).
///
/// When every run failed the group fails with TE_ERR_TASK_FAILED (or
/// TE_ERR_PANIC): te_group_failure gives the last run's code and
/// te_group_failure_message says how many runs were made. A run is not retried
/// once the group is cancelled; a backoff still pending when the engine shuts
/// down ends the task with TE_ERR_SHUTDOWN.
///
/// TE_ERR_NULL if `group` or `fn` is NULL; TE_ERR_INVALID if `max_attempts` is 0;
/// TE_ERR_CANCELLED if the group was cancelled; TE_ERR_SHUTDOWN if its engine was
/// shut down. From outside the workers with a bounded `queue_capacity`, waits for
/// room (for the first run here, for later ones on the timer's thread).
///
/// # Safety
/// `group` must be a live group. `fn(arg)` must be safe to call up to
/// `max_attempts` times, one at a time, from any thread, and `arg` must stay
/// valid until the group has been waited for (te_group_wait).
#[no_mangle]
pub unsafe extern "C" fn te_group_spawn_retry(
    group: *mut te_group,
    r#fn: te_task_fn,
    arg: *mut c_void,
    max_attempts: u32,
    backoff_ms: u32,
) -> te_status {
    status(|| {
        // SAFETY: NULL or live (caller's contract).
        let group = unsafe { group_ref(group) }?;
        let Some(func) = r#fn else { return Err(EngineError::Null) };
        if max_attempts == 0 {
            return Err(EngineError::invalid("max_attempts must be at least 1"));
        }
        let initial = Duration::from_millis(u64::from(backoff_ms));
        let policy = RetryPolicy::new(max_attempts).exponential(initial, initial * MAX_BACKOFF_FACTOR);
        let arg = UserArg::new(arg);
        // SAFETY: the caller promised fn(arg) may run up to max_attempts times,
        // one at a time, on any thread, with arg valid until the group is waited for.
        group.spawn_with_retry(move || task_result(crate::alloc::task_scope(|| unsafe { func(arg.get()) })), policy)
    })
}
