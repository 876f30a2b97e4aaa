//! FFTW's threads callback: FFTW's parallel loops on the engine's workers.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::boundary::catch_panic;
use super::engine::te_engine;
use super::last_error;
use super::ptr::{engine_arg, UserArg};
use crate::error::EngineError;

/// Runs FFTW's `njobs` jobs, `work(jobdata + i * elsize)` for i in [0, njobs), on
/// the engine `data` (a `te_engine *`; NULL = the current worker's engine inside
/// a task, else the default engine), and returns when all have run. Install it
/// with `fftw_threads_set_callback(te_fftw_parallel_loop, engine)` (FFTW 3.3.9
/// or later; `fftwf_`/`fftwl_` likewise); the library itself does not depend on
/// FFTW. FFTW's jobs do not wait on each other, so they are spread over the
/// workers like a parallel loop (never on extra threads), and a plan executed
/// from inside a task, or a job that executes a plan itself, is safe: the
/// waiting thread runs jobs meanwhile.
///
/// Every job runs exactly once even when the engine cannot take them (it was shut
/// down, or a worker's stack is nearly used up): those run on the calling thread.
/// `work`'s return value is ignored, as FFTW does. Nothing runs when `njobs <= 0`
/// (an empty loop), nor when `work` or `jobdata` is NULL or the jobs' total size
/// cannot exist (te_last_error_message then says why).
///
/// # Safety
/// `data` must be NULL or a live engine; `work` must be safe to call from any
/// thread, concurrently, on each of the `njobs` elements of `elsize` bytes at
/// `jobdata`.
#[no_mangle]
pub unsafe extern "C" fn te_fftw_parallel_loop(
    work: Option<unsafe extern "C-unwind" fn(job: *mut c_char) -> *mut c_void>,
    jobdata: *mut c_char,
    elsize: usize,
    njobs: c_int,
    data: *mut c_void,
) {
    catch_panic(|| {
        let Ok(n) = usize::try_from(njobs) else { return };
        if n == 0 {
            return;
        }
        let Some(work) = work else {
            last_error::set(&EngineError::Null);
            return;
        };
        if jobdata.is_null() {
            last_error::set(&EngineError::Null);
            return;
        }
        if elsize.checked_mul(n).is_none_or(|total| total > isize::MAX as usize) {
            last_error::set(&EngineError::invalid(format!("{n} jobs of {elsize} bytes cannot exist")));
            return;
        }
        let base = UserArg::new(jobdata.cast());
        // SAFETY: i < n, and the n elements of `elsize` bytes at `jobdata` exist
        // (checked size, caller's contract); `work` may run on any thread.
        let run = |i: usize| unsafe { work(base.get().cast::<c_char>().add(i * elsize)) };
        // Jobs are claimed one at a time from a counter, so each runs exactly
        // once whoever takes it: the loop's pieces, then this thread for any the
        // engine could not run. Relaxed: the counter only hands out indexes; the
        // jobs' effects reach us through the parallel loop's join.
        let next = AtomicUsize::new(0);
        let drain = || loop {
            let i = next.fetch_add(1, Relaxed);
            if i >= n {
                break;
            }
            run(i);
        };
        if n > 1 {
            // SAFETY: NULL or live (caller's contract).
            if let Ok(engine) = unsafe { engine_arg(data.cast_const().cast::<te_engine>()) } {
                let _ = engine.parallel_for(0..n, 1, |_| drain());
            }
        }
        drain();
    })
}
