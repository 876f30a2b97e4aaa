//! OpenBLAS on the engine's workers (the adapter itself is `crate::openblas`).

use super::boundary::{catch_panic, status};
use super::engine::te_engine;
use super::ptr::try_ref;
use super::status::te_status;
use crate::openblas;

/// Makes every OpenBLAS build loaded in the process (0.3.27 or later: numpy's
/// and scipy's wheels, a system libopenblas, ...) run its threaded calls on
/// `engine`'s workers instead of its own threads. `engine` NULL: each call runs
/// on the engine of the task making it, else on the default engine.
///
/// Builds are found with the dynamic linker (no link-time dependency), under the
/// names `openblas_*`, `openblas_*64_` and `scipy_openblas*`, also when loaded
/// with RTLD_LOCAL (as numpy does). Each call's jobs run at the same time on
/// distinct threads (a team, so jobs that wait on each other never deadlock,
/// from inside a task or outside, with workers busy), with `thread_num`s unique
/// among all jobs in flight and below the build's MAX_THREADS. At most
/// te_openblas_max_threads() jobs run at once across all calls; a call that would
/// exceed that waits for running ones (concurrent calls from many tasks take
/// turns on all cores instead of oversubscribing them).
///
/// The callback is process-wide and OpenBLAS's setter takes no user data, so the
/// engine is kept in a global: attaching again replaces it. The adapter holds a
/// reference to the engine: te_engine_free on it is allowed while attached; BLAS
/// calls then still complete, on threads started for each call (attach another
/// engine or detach). Builds older than 0.3.27 found next to a newer one keep
/// their own threads.
///
/// Returns TE_OK; TE_ERR_NOT_FOUND when no OpenBLAS is loaded (load it first:
/// e.g. import numpy); TE_ERR_UNSUPPORTED when every OpenBLAS loaded is older
/// than 0.3.27; TE_ERR_SHUTDOWN when the engine (NULL: the default engine) is
/// shut down. te_last_error_message() says what was found. Nothing changes on
/// failure. Thread-safe; switches threading for the whole process (OpenBLAS
/// expects its setter to be called while no BLAS call runs).
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn te_openblas_attach(engine: *mut te_engine) -> te_status {
    status(|| {
        let engine = if engine.is_null() {
            None
        } else {
            // SAFETY: live (caller's contract).
            Some(&unsafe { try_ref(engine) }?.engine)
        };
        openblas::attach(engine).map(drop)
    })
}

/// Gives every OpenBLAS build attached its own threads back (its callback is
/// set to NULL, OpenBLAS's default), releases the engine, and returns once the
/// BLAS calls running on the engine have finished. A no-op when not attached.
/// Thread-safe; must not be called from inside a BLAS call.
#[no_mangle]
pub extern "C" fn te_openblas_detach() {
    catch_panic(openblas::detach)
}

/// How many OpenBLAS builds are attached (0: detached). Thread-safe.
#[no_mangle]
pub extern "C" fn te_openblas_attached() -> u32 {
    catch_panic(|| openblas::libraries().len() as u32)
}

/// Sets how many BLAS jobs may run on the engine at once, across all calls
/// (`max_threads` 0: the attached engine's worker count, the default). A call
/// with more jobs than that still runs, alone. Applies to calls that start
/// afterwards, and stays in force across attach/detach. Always TE_OK.
#[no_mangle]
pub extern "C" fn te_openblas_set_max_threads(max_threads: u32) -> te_status {
    status(|| {
        openblas::set_max_threads(max_threads as usize);
        Ok(())
    })
}

/// The limit in force: te_openblas_set_max_threads's value, else the attached
/// engine's worker count, else (detached) the default engine's (as configured:
/// asking does not start it). Thread-safe.
#[no_mangle]
pub extern "C" fn te_openblas_max_threads() -> u32 {
    catch_panic(|| u32::try_from(openblas::max_threads()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_without_openblas_is_not_found_and_changes_nothing() {
        // SAFETY: NULL is allowed.
        let st = unsafe { te_openblas_attach(std::ptr::null_mut()) };
        assert_eq!(st, te_status::TE_ERR_NOT_FOUND);
        assert!(super::super::last_error::get().contains("no OpenBLAS is loaded"));
        assert_eq!(te_openblas_attached(), 0);
        te_openblas_detach();
    }
}
