//! c-blosc2's threads callback: Blosc's parallel (de)compression on the engine.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::boundary::catch_panic;
use super::engine::te_engine;
use super::last_error;
use super::ptr::{engine_arg, UserArg};
use crate::error::EngineError;

/// Runs c-blosc2's `numjobs` jobs, `dojob(jobdata + i * jobdata_elsize)` for i in
/// [0, numjobs), on the engine `callback_data` (a `te_engine *`; NULL = the
/// current worker's engine inside a task, else the default engine), and returns
/// when all have run. Install it with
/// `blosc2_set_threads_callback(te_blosc2_parallel_loop, engine)` before the
/// contexts that should use it start their threads (Blosc reads the callback
/// when a context's thread count is set); the library itself does not depend on
/// Blosc.
///
/// Blosc's jobs (one per thread context) do not wait on each other: they take
/// blocks from a shared counter or a static share. They run as a team of at
/// most the engine's worker count, each member taking jobs from a counter (the
/// calling thread is one member), rather than as a parallel loop: Blosc's
/// global-context calls (blosc2_compress, ...) hold a process-wide mutex across
/// the parallel region, and a waiting thread that helped with other tasks could
/// start one that takes that mutex again, on the same thread. Team members and
/// the waiting caller never run other work.
///
/// Every job runs exactly once, also when the engine cannot take them (shut
/// down): they then run on the calling thread. Nothing runs when `numjobs <= 0`,
/// nor when `dojob` or `jobdata` is NULL or the jobs' total size cannot exist
/// (te_last_error_message then says why).
///
/// # Safety
/// `callback_data` must be NULL or a live engine; `dojob` must be safe to call
/// from any thread, concurrently, on each of the `numjobs` elements of
/// `jobdata_elsize` bytes at `jobdata`.
#[no_mangle]
pub unsafe extern "C" fn te_blosc2_parallel_loop(
    callback_data: *mut c_void,
    dojob: Option<unsafe extern "C-unwind" fn(job: *mut c_void)>,
    numjobs: c_int,
    jobdata_elsize: usize,
    jobdata: *mut c_void,
) {
    catch_panic(|| {
        let Ok(n) = usize::try_from(numjobs) else { return };
        if n == 0 {
            return;
        }
        let (Some(dojob), false) = (dojob, jobdata.is_null()) else {
            last_error::set(&EngineError::Null);
            return;
        };
        if jobdata_elsize.checked_mul(n).is_none_or(|total| total > isize::MAX as usize) {
            last_error::set(&EngineError::invalid(format!("{n} jobs of {jobdata_elsize} bytes cannot exist")));
            return;
        }
        let base = UserArg::new(jobdata);
        // Claimed one at a time, so each job runs exactly once whoever takes it.
        // Relaxed: the counter only hands out indexes; the jobs' effects reach
        // the caller through the team's end (or run on the caller itself).
        let next = AtomicUsize::new(0);
        let drain = || loop {
            let i = next.fetch_add(1, Relaxed);
            if i >= n {
                break;
            }
            // SAFETY: i < n, and the n elements at `jobdata` exist (checked
            // size, caller's contract); `dojob` may run on any thread.
            unsafe { dojob(base.get().cast::<u8>().add(i * jobdata_elsize).cast()) };
        };
        if n > 1 {
            // SAFETY: NULL or live (caller's contract).
            if let Ok(engine) = unsafe { engine_arg(callback_data.cast_const().cast::<te_engine>()) } {
                let members = n.min(engine.workers().max(1));
                let _ = engine.team(members, |_, _| {
                    drain();
                    Ok(())
                });
            }
        }
        drain();
    })
}
