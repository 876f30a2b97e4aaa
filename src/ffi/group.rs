//! Task groups: spawn C tasks, wait, cancel, read the first failure.

use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use super::boundary::{catch_panic, status};
use super::engine::te_engine;
use super::last_error;
use super::ptr::{engine_arg, Out, UserArg};
use super::status::te_status;
use super::task::{task_result, te_task_fn};
use crate::error::{EngineError, Result};
use crate::TaskGroup;

/// A set of tasks that are waited for, cancelled and reported on together. Made by
/// te_group_new, released by te_group_free. All group functions may be called from
/// any thread, concurrently, including from the group's own tasks: there a wait
/// returns TE_ERR_INVALID (it would wait for itself) and te_group_free releases the
/// handle without waiting.
pub struct te_group {
    group: TaskGroup,
    /// The first failure's message as C text, made once on request.
    message: OnceLock<CString>,
    /// The owner's pointer (te_group_user_data); NULL in a new group.
    user_data: AtomicPtr<c_void>,
    /// Set while the handle waits among a worker's spares after te_group_free:
    /// its memory is still ours then, so a second free or a late call through
    /// the stale pointer is refused instead of handing one handle to two owners.
    freed: AtomicBool,
}

/// Creates an empty group on `engine` (NULL = the current/default engine) and
/// stores it in `*out`. TE_ERR_NULL if `out` is NULL; TE_ERR_SHUTDOWN if the engine
/// was shut down. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_group_new(engine: *mut te_engine, out: *mut *mut te_group) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        out.write(spare_handles::make(&engine)?);
        Ok(())
    })
}

/// Handles freed on a worker, kept there with their group records for the next
/// te_group_new: a group per node of a recursion then costs no allocation, and
/// handle and record are recycled in one step.
mod spare_handles {
    use std::cell::RefCell;
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicBool, AtomicPtr};
    use std::sync::OnceLock;

    use super::te_group;
    use crate::error::Result;
    use crate::per_thread;
    use crate::{Engine, TaskGroup};

    /// As many as the engine keeps spare group records: a recursion nests one
    /// handle per level, and one deeper than the spares allocates a box per node.
    const SPARES: usize = 64;

    /// This worker's spare handles, reached through `PerThread::spare_handles`
    /// (no thread-local lookup of their own). Boxes, not values: each is a handle
    /// address C holds on to. Each holds a parked group (`TaskGroup::park`),
    /// renewed before it is handed out.
    #[allow(clippy::vec_box)]
    type Spares = RefCell<Vec<Box<te_group>>>;

    /// Drops this thread's spare handles when it ends.
    struct SparesGuard;

    impl Drop for SparesGuard {
        fn drop(&mut self) {
            // SAFETY: the slot only ever holds `Spares` (`with_spares`), and the
            // thread's own code, which borrows it, has returned.
            per_thread::with(|t| unsafe { t.spare_handles.close::<Spares>() });
        }
    }

    thread_local! {
        static SPARES_GUARD: SparesGuard = const { SparesGuard };
    }

    /// Runs `f` on this worker's spare handles; `None` off the workers, once the
    /// thread is ending, or if they are already borrowed.
    #[inline]
    fn with_spares<R>(f: impl FnOnce(&mut Vec<Box<te_group>>) -> R) -> Option<R> {
        // Off the workers there are none: handles there are freed at once.
        Engine::current_worker_index()?;
        per_thread::with(|t| {
            // Touching the guard registers its destructor, once per thread.
            let arm = || SPARES_GUARD.try_with(|_| ()).is_ok();
            // SAFETY: the slot only ever holds `Spares`.
            let spares = unsafe { t.spare_handles.get_or_make::<Spares>(arm) }?;
            let mut spares = spares.try_borrow_mut().ok()?;
            Some(f(&mut spares))
        })
    }

    /// A new, empty group on `engine`, in a spare handle when this worker has one.
    pub(super) fn make(engine: &Engine) -> Result<*mut te_group> {
        if let Some(mut handle) = with_spares(Vec::pop).flatten() {
            // A failure drops the spare: its group goes as any dropped group does.
            handle.group.renew(engine)?;
            *handle.freed.get_mut() = false;
            return Ok(Box::into_raw(handle));
        }
        Ok(Box::into_raw(Box::new(te_group {
            group: TaskGroup::new(engine)?,
            message: OnceLock::new(),
            user_data: AtomicPtr::new(std::ptr::null_mut::<c_void>()),
            freed: AtomicBool::new(false),
        })))
    }

    /// Keeps the handle, with its group parked, or frees it.
    ///
    /// # Safety
    /// `handle` came from `make` and is released exactly once.
    pub(super) unsafe fn release(handle: *mut te_group) {
        // SAFETY: a live handle from `make` (caller's contract), ours from now on.
        let mut handle = unsafe { Box::from_raw(handle) };
        with_spares(|s| {
            if s.len() < SPARES {
                handle.group.park();
                handle.message = OnceLock::new();
                *handle.user_data.get_mut() = std::ptr::null_mut();
                *handle.freed.get_mut() = true;
                s.push(handle);
            }
        });
    }
}

/// The handle behind `group`, or None for NULL, a misaligned pointer, or a handle
/// already freed that a worker keeps as a spare (a freed handle given back to the
/// allocator cannot be told apart). No error is built: every group call passes
/// here, four per C++ group of one task.
///
/// # Safety
/// `group` must be NULL or a live group.
#[inline]
unsafe fn live_handle<'a>(group: *const te_group) -> Option<&'a te_group> {
    if group.is_null() || !group.is_aligned() {
        return None;
    }
    // SAFETY: non-NULL and aligned (tested), and live or a kept spare (the
    // caller's contract).
    let handle = unsafe { &*group };
    // Relaxed: only the freeing thread writes it, and using a handle while it is
    // freed is already outside the contract; this catches calls after the free.
    if handle.freed.load(Ordering::Relaxed) {
        return None;
    }
    Some(handle)
}

/// As live_handle, with the reason for a refusal.
///
/// # Safety
/// As live_handle.
#[inline]
unsafe fn handle_ref<'a>(group: *const te_group) -> Result<&'a te_group> {
    // SAFETY: forwarded contract.
    match unsafe { live_handle(group) } {
        Some(handle) => Ok(handle),
        None => Err(bad_handle(group)),
    }
}

#[cold]
#[inline(never)]
fn bad_handle(group: *const te_group) -> EngineError {
    if group.is_null() {
        EngineError::Null
    } else if !group.is_aligned() {
        EngineError::invalid(format!("group is not aligned to {} bytes", std::mem::align_of::<te_group>()))
    } else {
        EngineError::invalid("this group was already released by te_group_free")
    }
}

/// # Safety
/// `group` must be NULL or a live group.
#[inline]
pub(super) unsafe fn group_ref<'a>(group: *const te_group) -> Result<&'a TaskGroup> {
    // SAFETY: forwarded contract.
    unsafe { handle_ref(group) }.map(|g| &g.group)
}

/// Adds the task `fn(arg)` to `group`; it runs on one of the engine's workers.
/// A non-zero return fails the group with TE_ERR_TASK_FAILED (the first failure
/// is kept: te_group_failure). From outside the workers, with a bounded
/// `queue_capacity`, waits for room.
///
/// TE_ERR_NULL if `group` or `fn` is NULL; TE_ERR_CANCELLED if the group was
/// cancelled; TE_ERR_SHUTDOWN if its engine was shut down. A task that was not
/// added never runs.
///
/// # Safety
/// `group` must be a live group. `fn(arg)` must be safe to call once from any
/// thread, and `arg` must stay valid until the task has run (te_group_wait).
#[no_mangle]
pub unsafe extern "C" fn te_group_spawn(group: *mut te_group, r#fn: te_task_fn, arg: *mut c_void) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { spawn(group, r#fn, arg, true) })
}

/// As te_group_spawn, but when a bounded submission queue is full returns
/// TE_ERR_QUEUE_FULL at once instead of waiting (the task is not added).
///
/// # Safety
/// As te_group_spawn.
#[no_mangle]
pub unsafe extern "C" fn te_group_try_spawn(group: *mut te_group, r#fn: te_task_fn, arg: *mut c_void) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { spawn(group, r#fn, arg, false) })
}

/// The most bytes te_group_spawn_inline copies into a task.
pub const TE_INLINE_TASK_BYTES: usize = 32;
const _: () = assert!(TE_INLINE_TASK_BYTES == crate::engine::INLINE_TASK_BYTES);

/// As te_group_spawn, but the argument is `size` bytes at `data`, copied into the
/// task itself (no allocation, and nothing to keep alive or free): `fn` gets a
/// pointer to its own copy, aligned to 8 bytes, valid while it runs. For plain
/// data only (bit-copied, never destroyed): a struct of pointers and numbers, or
/// a trivially copyable C++ callable. TE_ERR_INVALID if `size` is above
/// TE_INLINE_TASK_BYTES; TE_ERR_NULL if `group` or `fn` is NULL, or `data` is NULL
/// with a non-zero `size`.
///
/// # Safety
/// `group` must be a live group; `data` readable for `size` bytes during the
/// call; `fn` safe to call once from any thread with a copy of those bytes.
#[no_mangle]
pub unsafe extern "C" fn te_group_spawn_inline(
    group: *mut te_group,
    r#fn: te_task_fn,
    data: *const c_void,
    size: usize,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { spawn_inline(group, r#fn, data, size, true) })
}

/// As te_group_spawn_inline, but when a bounded submission queue is full returns
/// TE_ERR_QUEUE_FULL at once (the task is not added).
///
/// # Safety
/// As te_group_spawn_inline.
#[no_mangle]
pub unsafe extern "C" fn te_group_try_spawn_inline(
    group: *mut te_group,
    r#fn: te_task_fn,
    data: *const c_void,
    size: usize,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { spawn_inline(group, r#fn, data, size, false) })
}

/// # Safety
/// As te_group_spawn_inline.
#[inline]
unsafe fn spawn_inline(
    group: *mut te_group,
    func: te_task_fn,
    data: *const c_void,
    size: usize,
    block: bool,
) -> Result<()> {
    // SAFETY: NULL or live (caller's contract).
    let group = unsafe { group_ref(group) }?;
    let Some(func) = func else { return Err(EngineError::Null) };
    if size > TE_INLINE_TASK_BYTES {
        return Err(too_many_inline_bytes(size));
    }
    if data.is_null() && size > 0 {
        return Err(EngineError::Null);
    }
    // SAFETY: `data` is readable for `size` bytes (caller's contract; NULL only
    // with 0), `size` fits (checked above), and the caller promised fn may run
    // once on any thread with a copy of the bytes (te_group_spawn_inline's
    // contract).
    unsafe { group.spawn_bytes(func, data.cast::<u8>(), size, block) }
}

/// Out of line, so that spawn_inline stays small enough to inline into the
/// exports (a C++ `TaskGroup::spawn` goes through it on every task).
#[cold]
#[inline(never)]
fn too_many_inline_bytes(size: usize) -> EngineError {
    EngineError::invalid(format!("{size} bytes is more than TE_INLINE_TASK_BYTES ({TE_INLINE_TASK_BYTES})"))
}

/// The pointer stored with te_group_user_data_init, or NULL (also for a NULL
/// group). A slot for the group's owner, e.g. a language binding's per-group
/// state that its tasks reach through the group. Thread-safe.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_user_data(group: *const te_group) -> *mut c_void {
    catch_panic(|| {
        // SAFETY: NULL or live (caller's contract).
        match unsafe { live_handle(group) } {
            // Acquire: pairs with the Release of the store, so what the pointer
            // points at is visible.
            Some(g) => g.user_data.load(Ordering::Acquire),
            None => std::ptr::null_mut(),
        }
    })
}

/// Stores `value` as the group's user data if none is stored yet, and returns
/// what is stored after the call: `value`, or the pointer another thread stored
/// first (then `value` was not stored: free it). NULL for a NULL group. The
/// library never reads or frees the pointer. Thread-safe.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_user_data_init(group: *mut te_group, value: *mut c_void) -> *mut c_void {
    catch_panic(|| {
        // SAFETY: NULL or live (caller's contract).
        let Some(g) = (unsafe { live_handle(group) }) else { return std::ptr::null_mut() };
        // AcqRel: publish `value`'s pointee, or see the winner's.
        match g.user_data.compare_exchange(std::ptr::null_mut(), value, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => value,
            Err(current) => current,
        }
    })
}

/// Frees a task's argument: called once, on any thread.
pub type te_cleanup_fn = Option<unsafe extern "C-unwind" fn(arg: *mut c_void)>;

/// A task argument owned by the library, handed to its cleanup when dropped.
struct OwnedArg {
    arg: UserArg,
    cleanup: unsafe extern "C-unwind" fn(*mut c_void),
}

impl Drop for OwnedArg {
    fn drop(&mut self) {
        // This drop can run inside the engine's cancellation loop, which must not
        // unwind; a panicking Rust cleanup is contained (and its arg leaked).
        // SAFETY: te_group_spawn_with_cleanup's contract: cleanup(arg) may be called
        // once, on any thread; this is the once.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (self.cleanup)(self.arg.get()) }));
    }
}

/// As te_group_spawn, but the group owns `arg` from this call on: `cleanup(arg)`
/// runs exactly once, after `fn(arg)` returns, or instead of it when the task
/// never runs (the group was cancelled before it started, or this call failed).
/// Use it for per-task arguments allocated on the heap, which would otherwise
/// leak when a cancellation skips their task. Costs one small allocation more
/// than te_group_spawn. TE_ERR_NULL if `group`, `fn` or `cleanup` is NULL (a
/// non-NULL `cleanup` still runs then).
///
/// # Safety
/// As te_group_spawn; `cleanup(arg)` must be safe to call once from any thread.
#[no_mangle]
pub unsafe extern "C" fn te_group_spawn_with_cleanup(
    group: *mut te_group,
    r#fn: te_task_fn,
    arg: *mut c_void,
    cleanup: te_cleanup_fn,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { spawn_owned(group, r#fn, arg, cleanup, true) })
}

/// As te_group_spawn_with_cleanup, but when a bounded submission queue is full
/// returns TE_ERR_QUEUE_FULL at once (and `cleanup(arg)` has run).
///
/// # Safety
/// As te_group_spawn_with_cleanup.
#[no_mangle]
pub unsafe extern "C" fn te_group_try_spawn_with_cleanup(
    group: *mut te_group,
    r#fn: te_task_fn,
    arg: *mut c_void,
    cleanup: te_cleanup_fn,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { spawn_owned(group, r#fn, arg, cleanup, false) })
}

/// # Safety
/// As te_group_spawn_with_cleanup.
unsafe fn spawn_owned(
    group: *mut te_group,
    func: te_task_fn,
    arg: *mut c_void,
    cleanup: te_cleanup_fn,
    block: bool,
) -> Result<()> {
    let Some(cleanup) = cleanup else { return Err(EngineError::Null) };
    // Owned from here on: every early return below runs the cleanup.
    let owned = OwnedArg { arg: UserArg::new(arg), cleanup };
    let Some(func) = func else { return Err(EngineError::Null) };
    // SAFETY: NULL or live (caller's contract).
    let group = unsafe { group_ref(group) }?;
    let task = move || {
        // SAFETY: runs once on some worker (caller's contract); `owned` is dropped
        // right after, calling the cleanup.
        let code = crate::alloc::task_scope(|| unsafe { func(owned.arg.get()) });
        drop(owned);
        task_result(code)
    };
    if block {
        group.spawn_fallible(task)
    } else {
        group.try_spawn_fallible(task)
    }
}

/// # Safety
/// As te_group_spawn.
unsafe fn spawn(group: *mut te_group, func: te_task_fn, arg: *mut c_void, block: bool) -> Result<()> {
    // SAFETY: NULL or live (caller's contract).
    let group = unsafe { group_ref(group) }?;
    let Some(func) = func else { return Err(EngineError::Null) };
    // SAFETY: the caller promised func(arg) may run once on any thread while the
    // group is alive and `arg` valid (te_group_spawn's contract).
    unsafe { group.spawn_raw(func, arg, block) }
}

/// Waits until every task of `group` has finished (or been skipped by
/// cancellation). On a worker thread the caller runs tasks meanwhile.
///
/// Returns TE_OK; else the group's first failure: TE_ERR_TASK_FAILED (a task
/// returned non-zero), TE_ERR_PANIC; else TE_ERR_CANCELLED if it was cancelled;
/// TE_ERR_SHUTDOWN for a group inherited through fork(). May be called again.
/// Called from one of the group's own tasks (or from code such a task runs on its
/// thread) while the group is not done, it returns TE_ERR_INVALID at once instead
/// of waiting for itself forever; the same holds for the timed and isolated waits.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_wait(group: *mut te_group) -> te_status {
    // SAFETY: NULL or live (caller's contract).
    status(|| unsafe { group_ref(group) }?.wait())
}

/// As te_group_wait, giving up with TE_ERR_TIMEOUT after `timeout_ms`
/// milliseconds; the tasks keep running and the group can be waited for again.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_wait_timeout(group: *mut te_group, timeout_ms: u64) -> te_status {
    // SAFETY: NULL or live (caller's contract).
    status(|| unsafe { group_ref(group) }?.wait_timeout(Duration::from_millis(timeout_ms)))
}

/// As te_group_wait, but a worker that waits here runs only this group's own
/// tasks, never unrelated work: a task holding a lock can wait without the lock
/// being re-entered by stolen work.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_wait_isolated(group: *mut te_group) -> te_status {
    // SAFETY: NULL or live (caller's contract).
    status(|| unsafe { group_ref(group) }?.wait_isolated())
}

/// Cancels `group`: tasks not started yet never run (they are counted by
/// te_group_skipped), running tasks can poll te_current_task_cancelled, later
/// spawns fail with TE_ERR_CANCELLED and waits return TE_ERR_CANCELLED (unless a
/// task failed first). TE_ERR_NULL if `group` is NULL.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_cancel(group: *mut te_group) -> te_status {
    status(|| {
        // SAFETY: NULL or live (caller's contract).
        unsafe { group_ref(group) }?.cancel();
        Ok(())
    })
}

/// Whether te_group_cancel was called on `group`; false for NULL.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_is_cancelled(group: *const te_group) -> bool {
    // SAFETY: NULL or live (caller's contract).
    catch_panic(|| unsafe { live_handle(group) }.is_some_and(|g| g.group.is_cancelled()))
}

/// How many tasks of `group` were dropped unrun because it was cancelled; 0 for
/// NULL.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_skipped(group: *const te_group) -> usize {
    // SAFETY: NULL or live (caller's contract).
    catch_panic(|| unsafe { live_handle(group) }.map_or(0, |g| g.group.skipped()))
}

/// How many tasks of `group` were added and have not finished yet; 0 for NULL.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_pending(group: *const te_group) -> usize {
    // SAFETY: NULL or live (caller's contract).
    catch_panic(|| unsafe { live_handle(group) }.map_or(0, |g| g.group.pending()))
}

/// Reports the group's first failure so far: `*out_status` receives its status
/// (TE_OK if no task failed, else TE_ERR_TASK_FAILED or TE_ERR_PANIC) and
/// `*out_code` the non-zero code the task returned (0 if none, or for a panic).
/// Cancellation is not a failure. TE_ERR_NULL if any pointer is NULL.
///
/// # Safety
/// `group` must be NULL or a live group; the outputs NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_group_failure(
    group: *const te_group,
    out_status: *mut te_status,
    out_code: *mut i32,
) -> te_status {
    status(|| {
        // SAFETY: NULL or live (caller's contract).
        let group = unsafe { group_ref(group) }?;
        // SAFETY: NULL or writable (caller's contract).
        let (out_status, out_code) = unsafe { (Out::new(out_status)?, Out::new(out_code)?) };
        let failure = group.failure();
        // A retried task's failure reports its last attempt's code.
        let (s, code) = match failure.as_ref().map(EngineError::root) {
            None => (te_status::TE_OK, 0),
            Some(err @ EngineError::TaskFailed { code, .. }) => (te_status::from(err), *code),
            Some(err) => (te_status::from(err), 0),
        };
        out_status.write(s);
        out_code.write(code);
        Ok(())
    })
}

/// The message of the group's first failure as NUL-terminated UTF-8, or NULL if
/// no task has failed (or `group` is NULL). The text belongs to the group and
/// stays valid until te_group_free.
///
/// # Safety
/// `group` must be NULL or a live group.
#[no_mangle]
pub unsafe extern "C" fn te_group_failure_message(group: *const te_group) -> *const c_char {
    catch_panic(|| {
        // SAFETY: NULL or live (caller's contract).
        let Some(handle) = (unsafe { live_handle(group) }) else { return std::ptr::null() };
        // The first failure never changes once set, so caching its text is exact.
        let Some(err) = handle.group.failure() else { return std::ptr::null() };
        let text = handle.message.get_or_init(|| {
            let mut bytes = err.to_string().into_bytes();
            bytes.retain(|&b| b != 0);
            CString::new(bytes).unwrap_or_default()
        });
        text.as_ptr()
    })
}

/// Releases `group`. First waits for every task already added to finish (their
/// results are dropped: read them with te_group_wait before), so no task still
/// uses its `arg` when this returns. NULL is a no-op. Called from one of the
/// group's own tasks it cannot wait for itself: it releases the handle at once and
/// the group's other tasks still run.
///
/// A handle freed on a worker thread is kept for that worker's next te_group_new.
/// Until then calls through it are refused: a second te_group_free does nothing
/// (te_last_error_message() says why), calls that return a status return
/// TE_ERR_INVALID, the others NULL, 0 or false. Once handed out again, or when
/// freed elsewhere, its address belongs to another group or to the allocator,
/// as with free().
///
/// # Safety
/// `group` must be NULL or come from te_group_new and not have been freed; no
/// other thread may use it during or after this call.
#[no_mangle]
pub unsafe extern "C" fn te_group_free(group: *mut te_group) {
    catch_panic(|| {
        // SAFETY: NULL, live, or a freed handle still kept as a spare (the
        // caller's contract, with the misuse live_handle catches).
        let Some(handle) = (unsafe { live_handle(group) }) else {
            if !group.is_null() {
                last_error::set(&bad_handle(group));
            }
            return;
        };
        // Only its completion matters here, not its result.
        let _ = handle.group.wait();
        // SAFETY: from te_group_new and not freed before (the caller's contract;
        // a second free of a kept spare was refused above): ownership comes back
        // exactly once.
        unsafe { spare_handles::release(group) };
    })
}
