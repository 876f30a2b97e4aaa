//! Fork-join, detached tasks and parallel loops with C callbacks.

use std::ffi::c_void;
use std::mem::size_of;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::boundary::{record_panic, status};
use super::engine::te_engine;
use super::ptr::{engine_arg, UserArg};
use super::status::te_status;
use crate::alloc::task_scope;
use crate::error::{EngineError, Result};
use crate::Engine;

/// A task: called once with its `arg`; returns 0 for success, anything else is a
/// failure code reported through TE_ERR_TASK_FAILED.
pub type te_task_fn = Option<unsafe extern "C-unwind" fn(arg: *mut c_void) -> i32>;

/// A loop body: handles the indexes [begin, end); returns 0 to go on, non-zero to
/// fail the loop (pieces not yet started are skipped).
pub type te_range_fn = Option<unsafe extern "C-unwind" fn(arg: *mut c_void, begin: usize, end: usize) -> i32>;

/// A reduction's map step: folds the indexes [begin, end) into `*acc`, which holds
/// a copy of the identity value when called. Returns 0, or non-zero to fail.
pub type te_reduce_map_fn =
    Option<unsafe extern "C-unwind" fn(arg: *mut c_void, begin: usize, end: usize, acc: *mut c_void) -> i32>;

/// A reduction's combine step: `*acc = *acc (+) *other`, for values that cover
/// adjacent index ranges, `acc`'s before `other`'s. Returns 0, or non-zero to fail.
pub type te_reduce_combine_fn =
    Option<unsafe extern "C-unwind" fn(arg: *mut c_void, acc: *mut c_void, other: *const c_void) -> i32>;

/// A callback's return code as a result.
#[inline]
pub(crate) fn task_result(code: i32) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(task_failed(code))
    }
}

#[cold]
#[inline(never)]
fn task_failed(code: i32) -> EngineError {
    EngineError::TaskFailed { code, message: format!("callback returned {code}") }
}

/// Runs `a(a_arg)` and `b(b_arg)`, potentially in parallel, and returns when both
/// have finished. Inside a task it allocates nothing: `b` waits on this stack for
/// an idle worker while `a` runs here. `engine` NULL = the current/default engine.
///
/// Returns TE_ERR_TASK_FAILED if either returned non-zero (`a`'s code is reported
/// if both did), TE_ERR_PANIC if either panicked (Rust callbacks), TE_ERR_NULL if
/// `a` or `b` is NULL, TE_ERR_SHUTDOWN if the engine was shut down, TE_ERR_STACK
/// (neither has run) when the calling worker's stack is nearly used up: recursion
/// through te_join deeper than the workers' `stack_size` allows is refused rather
/// than overflowing the stack (the reserve kept is an eighth of the stack, at
/// least 64 KiB, for the caller's own frames between two forks). Both have run
/// when the status is TE_OK or TE_ERR_TASK_FAILED; after a panic in `a`, `b` may
/// not have run. Neither is still running when te_join returns.
///
/// # Safety
/// `engine` must be NULL or a live engine. `a(a_arg)` and `b(b_arg)` must be safe
/// to call once each, on any thread, at the same time.
#[no_mangle]
pub unsafe extern "C" fn te_join(
    engine: *mut te_engine,
    a: te_task_fn,
    a_arg: *mut c_void,
    b: te_task_fn,
    b_arg: *mut c_void,
) -> te_status {
    // The common case, from a task on its own engine, takes the short way: no
    // engine lookup beyond the worker's thread-local, no Result in between. A
    // misaligned engine pointer goes the general way, which reports it (NULL
    // counts as aligned).
    if let (Some(fa), Some(fb), true) = (a, b, engine.is_aligned()) {
        // SAFETY: NULL or live (caller's contract), and aligned (checked).
        let given = unsafe { engine.as_ref() }.map(|handle| &handle.engine);
        let joined = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: each callback runs once, on any thread (caller's contract).
            let (a, b) = unsafe { (c_task(fa, a_arg), c_task(fb, b_arg)) };
            Engine::join_on_current_worker(given, a, b)
                // One word, not a pair: the pair went through memory as two 32-bit
                // stores read back as one 64-bit load, a store-forwarding stall that
                // cost a fifth of fib's time.
                .map(|(ra, rb)| (u64::from(ra as u32) << 32) | u64::from(rb as u32))
        }));
        match joined {
            // The common case first: both succeeded (this runs once per fork).
            Ok(Some(0)) => return te_status::TE_OK,
            Ok(Some(codes)) => {
                let (ra, rb) = ((codes >> 32) as u32 as i32, codes as u32 as i32);
                return status(|| task_result(ra).and(task_result(rb)));
            }
            Ok(None) => {}
            Err(payload) => {
                record_panic(payload);
                return te_status::TE_ERR_PANIC;
            }
        }
    }
    // SAFETY: the caller's contract, passed on.
    unsafe { join_general(engine, a, a_arg, b, b_arg) }
}

/// te_join from anywhere: outside the workers, on another engine, or refused.
///
/// # Safety
/// As te_join.
#[inline(never)]
unsafe fn join_general(
    engine: *mut te_engine,
    a: te_task_fn,
    a_arg: *mut c_void,
    b: te_task_fn,
    b_arg: *mut c_void,
) -> te_status {
    status(|| {
        let (Some(a), Some(b)) = (a, b) else { return Err(EngineError::Null) };
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        // SAFETY: each callback runs once, on any thread (caller's contract).
        let (a, b) = unsafe { (c_task(a, a_arg), c_task(b, b_arg)) };
        let (ra, rb) = engine.try_join(a, b)?;
        task_result(ra).and(task_result(rb))
    })
}

/// A join half that calls a C task in its own callback scope.
///
/// # Safety
/// `f(arg)` must be safe to call once, on any thread.
#[inline]
unsafe fn c_task(f: unsafe extern "C-unwind" fn(*mut c_void) -> i32, arg: *mut c_void) -> impl FnOnce() -> i32 + Send {
    let arg = UserArg::new(arg);
    // SAFETY: forwarded from the contract.
    move || task_scope(|| unsafe { f(arg.get()) })
}

/// Runs `fn(arg)` on `engine` (NULL = the current/default engine) some time soon,
/// without a way to wait for it: its return value and any failure are dropped
/// (use a group to observe them). te_engine_free still runs it before returning.
/// From outside the workers, with a bounded `queue_capacity`, waits for room.
/// TE_ERR_NULL if `fn` is NULL, TE_ERR_SHUTDOWN if the engine was shut down (the
/// task then never runs).
///
/// # Safety
/// `engine` must be NULL or a live engine. `fn(arg)` must be safe to call once from
/// any thread, and `arg` must stay valid until it has run.
#[no_mangle]
pub unsafe extern "C" fn te_spawn(engine: *mut te_engine, r#fn: te_task_fn, arg: *mut c_void) -> te_status {
    status(|| {
        let Some(func) = r#fn else { return Err(EngineError::Null) };
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        // SAFETY: runs once on some worker (caller's contract).
        let task = unsafe { c_task(func, arg) };
        // Its code is dropped on purpose: a detached task has nobody to report to.
        engine.spawn(move || {
            let _ = task();
        })?;
        Ok(())
    })
}

/// Calls `body(arg, b, e)` on disjoint pieces [b, e) that together cover
/// [begin, end), in parallel, and returns when all have finished. `grain` is the
/// largest piece; 0 = automatic (about one piece per worker, split further where
/// workers run idle). `engine` NULL = the current/default engine.
///
/// Returns TE_ERR_TASK_FAILED with the first non-zero code a body returned (pieces
/// not started then are skipped), TE_ERR_PANIC if a body panicked, TE_ERR_INVALID if
/// `begin > end`, TE_ERR_NULL if `body` is NULL. An empty range calls nothing.
///
/// # Safety
/// `engine` must be NULL or a live engine. `body` must be safe to call from several
/// threads at once with `arg`.
#[no_mangle]
pub unsafe extern "C" fn te_parallel_for(
    engine: *mut te_engine,
    begin: usize,
    end: usize,
    grain: usize,
    body: te_range_fn,
    arg: *mut c_void,
) -> te_status {
    status(|| {
        let Some(body) = body else { return Err(EngineError::Null) };
        let arg = UserArg::new(arg);
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        engine.try_parallel_for(begin..end, grain, move |r| {
            // SAFETY: concurrent calls with `arg` are allowed (caller's contract).
            task_result(task_scope(|| unsafe { body(arg.get(), r.start, r.end) }))
        })
    })
}

/// Storage for one reduction value, aligned like C's max_align_t.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct Slot([u8; 16]);

/// One partial result of a reduction: `size` bytes in aligned storage.
struct Value(Vec<Slot>);

impl Value {
    fn from_bytes(bytes: *const u8, size: usize) -> Result<Value> {
        let slots = size.div_ceil(size_of::<Slot>());
        let mut storage = Vec::new();
        storage.try_reserve_exact(slots).map_err(|_| EngineError::NoMemory)?;
        storage.resize(slots, Slot([0; 16]));
        // SAFETY: `bytes` is readable for `size` bytes (identity or another Value,
        // checked by the caller), the storage holds at least `size` bytes, and the
        // two do not overlap (fresh allocation).
        unsafe { std::ptr::copy_nonoverlapping(bytes, storage.as_mut_ptr().cast::<u8>(), size) };
        Ok(Value(storage))
    }

    fn ptr(&mut self) -> *mut c_void {
        self.0.as_mut_ptr().cast()
    }
}

/// What both reductions share: checks, the map and combine steps, the output.
///
/// # Safety
/// As te_parallel_reduce.
#[allow(clippy::too_many_arguments)]
unsafe fn reduce_with(
    engine: *mut te_engine,
    range: Range<usize>,
    grain: usize,
    identity: *const c_void,
    value_size: usize,
    map: te_reduce_map_fn,
    combine: te_reduce_combine_fn,
    arg: *mut c_void,
    out: *mut c_void,
    deterministic: bool,
) -> Result<()> {
    let (Some(map), Some(combine)) = (map, combine) else { return Err(EngineError::Null) };
    if identity.is_null() || out.is_null() {
        return Err(EngineError::Null);
    }
    if value_size == 0 || value_size > isize::MAX as usize / 2 {
        return Err(EngineError::invalid(format!("value_size {value_size} is not a usable value size")));
    }
    let identity = UserArg::new(identity.cast_mut());
    let arg = UserArg::new(arg);
    // SAFETY: NULL or live (caller's contract).
    let engine = unsafe { engine_arg(engine) }?;
    let fresh = move || Value::from_bytes(identity.get().cast_const().cast(), value_size);
    let map_piece = move |r: Range<usize>| -> Result<Value> {
        let mut acc = fresh()?;
        // SAFETY: `acc` is a private, aligned value of `value_size` bytes;
        // concurrent calls with `arg` are allowed (caller's contract).
        task_result(task_scope(|| unsafe { map(arg.get(), r.start, r.end, acc.ptr()) }))?;
        Ok(acc)
    };
    let combine_two = move |mut a: Value, mut b: Value| -> Result<Value> {
        // SAFETY: two distinct values of `value_size` bytes; as above for `arg`.
        task_result(task_scope(|| unsafe { combine(arg.get(), a.ptr(), b.ptr()) }))?;
        Ok(a)
    };
    let mut value = if deterministic {
        engine.try_parallel_reduce_deterministic(range, grain, fresh, map_piece, combine_two)?
    } else {
        engine.try_parallel_reduce(range, grain, fresh, map_piece, combine_two)?
    };
    // SAFETY: `out` is writable for `value_size` bytes (caller's contract) and
    // cannot overlap our private value.
    unsafe { std::ptr::copy_nonoverlapping(value.ptr().cast::<u8>(), out.cast::<u8>(), value_size) };
    Ok(())
}

/// Reduces [begin, end) to one value of `value_size` bytes: each piece starts from
/// a copy of `*identity`, `map` folds the piece's indexes into it, and `combine`
/// merges adjacent pieces' values, in index order. The result is copied to `*out`
/// (only on success). `grain` as in te_parallel_for. An empty range gives the
/// identity. Value buffers are aligned for any C type.
///
/// Returns TE_ERR_TASK_FAILED with the first non-zero callback code (after which
/// no piece is started any more), TE_ERR_PANIC,
/// TE_ERR_NULL if a callback, `identity` or `out` is NULL, TE_ERR_INVALID if
/// `begin > end` or `value_size` is 0 or absurd, TE_ERR_NO_MEMORY.
///
/// # Safety
/// `engine` must be NULL or a live engine; `identity` readable and `out` writable
/// for `value_size` bytes; the callbacks safe to call from several threads at once
/// with `arg`.
#[no_mangle]
pub unsafe extern "C" fn te_parallel_reduce(
    engine: *mut te_engine,
    begin: usize,
    end: usize,
    grain: usize,
    identity: *const c_void,
    value_size: usize,
    map: te_reduce_map_fn,
    combine: te_reduce_combine_fn,
    arg: *mut c_void,
    out: *mut c_void,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { reduce_with(engine, begin..end, grain, identity, value_size, map, combine, arg, out, false) })
}

/// As te_parallel_reduce, but the pieces (of `grain` indexes, or 1/256 of the range
/// when 0) and the order they are combined in depend only on the range and grain,
/// never on the number of workers or on timing: a floating-point sum gives the
/// same bits on every run and every machine.
///
/// # Safety
/// As te_parallel_reduce.
#[no_mangle]
pub unsafe extern "C" fn te_parallel_reduce_deterministic(
    engine: *mut te_engine,
    begin: usize,
    end: usize,
    grain: usize,
    identity: *const c_void,
    value_size: usize,
    map: te_reduce_map_fn,
    combine: te_reduce_combine_fn,
    arg: *mut c_void,
    out: *mut c_void,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { reduce_with(engine, begin..end, grain, identity, value_size, map, combine, arg, out, true) })
}
