//! Scratch memory through the C ABI: a task's own (`te_task_scratch`) and the
//! kernels' cache kept by each engine.

use std::ffi::c_void;

use super::boundary::{catch_panic, fail, status};
use super::engine::te_engine;
use super::ptr::{engine_arg, Out};
use super::status::te_status;

/// Returns `size` bytes of scratch memory for the running task, aligned to 64
/// bytes, uninitialised, from the calling worker's own bump arena: a pointer
/// bump, no lock, no malloc. The memory stays valid until the callback that
/// asked for it returns (a task, a te_parallel_for body, a reduction step, either
/// side of te_join); then it is taken back automatically, never to be freed by
/// the caller. The task may hand it to tasks it waits for. Tasks that run on the
/// same thread while this one waits get memory of their own after it.
///
/// Returns NULL and sets the last error (te_last_error_message) when called
/// outside a callback the engine runs (TE_ERR_INVALID), for `size` 0
/// (TE_ERR_INVALID: ask for at least one byte), or when the thread's arena
/// cannot hold `size` more bytes (TE_ERR_NO_MEMORY: each thread holds at most
/// 64 MiB of scratch memory at once). Pages touched beyond the first 1 MiB are
/// handed back to the system once no task on the thread holds scratch memory.
///
/// # Safety
/// None beyond using the memory only for `size` bytes and only until the
/// callback returns.
#[no_mangle]
pub unsafe extern "C" fn te_task_scratch(size: usize) -> *mut c_void {
    catch_panic(|| match crate::alloc::task_alloc(size) {
        Ok(p) => p.as_ptr().cast(),
        Err(err) => {
            fail(&err);
            std::ptr::null_mut()
        }
    })
}

/// As te_task_scratch, with a status: writes the block's address to `*out` and
/// returns TE_OK; else TE_ERR_INVALID (outside a task, or `size` 0),
/// TE_ERR_NO_MEMORY (the thread's arena cannot hold it) or TE_ERR_NULL (`out`
/// NULL), and `*out` is not written.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_task_scratch_alloc(size: usize, out: *mut *mut c_void) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        out.write(crate::alloc::task_alloc(size)?.as_ptr().cast());
        Ok(())
    })
}

/// Unmaps the scratch memory `engine` (NULL = the current/default engine) keeps
/// between kernel calls: the second buffer of its parallel sorts (an array as
/// large as the one sorted) and their histograms. Buffers in use by a running
/// sort are not touched (they are kept or unmapped when it returns, by the
/// limit). Thread-safe. TE_ERR_SHUTDOWN if the default engine was shut down.
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn te_engine_trim_scratch(engine: *const te_engine) -> te_status {
    status(|| {
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        engine.trim_scratch();
        Ok(())
    })
}

/// Sets how many bytes of scratch memory `engine` (NULL = the current/default
/// engine) keeps between kernel calls; the default is 256 MiB, enough for the
/// sorts of arrays up to 256 MiB. A sort takes a cached buffer if one is large
/// enough (two sorts at once each get their own) and gives it back when it
/// returns; a buffer larger than the limit is unmapped instead, and the smallest
/// cached buffers are unmapped while the cache holds more than the limit. 0 keeps
/// nothing (each sort maps and unmaps its own memory). Cached memory above the new
/// limit is unmapped now; a shut-down engine keeps none. Thread-safe.
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn te_engine_set_scratch_limit(engine: *const te_engine, bytes: usize) -> te_status {
    status(|| {
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        engine.set_scratch_limit(bytes);
        Ok(())
    })
}

/// Writes to `*out` how many bytes of scratch memory `engine` (NULL = the
/// current/default engine) keeps cached now, between kernel calls (buffers in use
/// by a running sort are not counted). TE_ERR_NULL if `out` is NULL. Thread-safe.
///
/// # Safety
/// `engine` must be NULL or a live engine; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_engine_scratch_cached(engine: *const te_engine, out: *mut usize) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        out.write(engine.scratch_cached_bytes());
        Ok(())
    })
}
