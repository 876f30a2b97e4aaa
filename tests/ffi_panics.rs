//! A Rust callback that panics through the C ABI: every entry point that runs
//! callbacks reports `TE_ERR_PANIC` (never an abort, never a hang), the message is
//! kept, and the engine keeps working afterwards.

mod common;

use std::ffi::{c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use taskengine::ffi::*;

unsafe extern "C-unwind" fn panicking_task(_arg: *mut c_void) -> i32 {
    panic!("task exploded");
}

unsafe extern "C-unwind" fn counting_task(arg: *mut c_void) -> i32 {
    // SAFETY: every caller passes a pointer to a live AtomicUsize.
    unsafe { &*(arg as *const AtomicUsize) }.fetch_add(1, Ordering::Relaxed);
    0
}

unsafe extern "C-unwind" fn panicking_range(_arg: *mut c_void, begin: usize, _end: usize) -> i32 {
    if begin == 0 {
        panic!("loop body exploded");
    }
    0
}

unsafe extern "C-unwind" fn panicking_map(_arg: *mut c_void, _b: usize, _e: usize, _acc: *mut c_void) -> i32 {
    panic!("map exploded");
}

unsafe extern "C-unwind" fn adding_map(_arg: *mut c_void, b: usize, e: usize, acc: *mut c_void) -> i32 {
    // SAFETY: the accumulator is a u64 (value_size 8, aligned by the library).
    unsafe { *(acc as *mut u64) += (e - b) as u64 };
    0
}

unsafe extern "C-unwind" fn panicking_combine(_arg: *mut c_void, _acc: *mut c_void, _other: *const c_void) -> i32 {
    panic!("combine exploded");
}

fn last_error() -> String {
    // SAFETY: te_last_error_message never returns NULL.
    unsafe { CStr::from_ptr(te_last_error_message()) }.to_string_lossy().into_owned()
}

fn engine(workers: u32) -> *mut te_engine {
    let mut cfg = std::mem::MaybeUninit::<te_config>::uninit();
    let mut engine = ptr::null_mut();
    // SAFETY: te_config_init fills the whole struct; out-pointer is valid.
    unsafe {
        te_config_init(cfg.as_mut_ptr());
        let mut cfg = cfg.assume_init();
        cfg.workers = workers;
        assert_eq!(te_engine_new(&cfg, &mut engine), te_status::TE_OK);
    }
    engine
}

#[test]
fn panics_in_group_tasks_fail_the_group() {
    watchdog(30, "group_panic", || {
        let e = engine(2);
        let count = AtomicUsize::new(0);
        let arg = &count as *const AtomicUsize as *mut c_void;
        let mut group = ptr::null_mut();
        // SAFETY: live engine and group; `count` outlives the group (freed below).
        unsafe {
            assert_eq!(te_group_new(e, &mut group), te_status::TE_OK);
            for _ in 0..50 {
                assert_eq!(te_group_spawn(group, Some(counting_task), arg), te_status::TE_OK);
            }
            assert_eq!(te_group_spawn(group, Some(panicking_task), ptr::null_mut()), te_status::TE_OK);
            assert_eq!(te_group_wait(group), te_status::TE_ERR_PANIC);
            assert!(last_error().contains("task exploded"), "{}", last_error());
            let (mut status, mut code) = (te_status::TE_OK, -1);
            assert_eq!(te_group_failure(group, &mut status, &mut code), te_status::TE_OK);
            assert_eq!((status, code), (te_status::TE_ERR_PANIC, 0));
            let message = CStr::from_ptr(te_group_failure_message(group));
            assert!(message.to_str().unwrap().contains("task exploded"));
            te_group_free(group);
        }
        assert_eq!(count.load(Ordering::Relaxed), 50);
        // The workers survived: the engine still runs work.
        // SAFETY: live engine; `count` is alive for the call.
        unsafe {
            assert_eq!(te_join(e, Some(counting_task), arg, Some(counting_task), arg), te_status::TE_OK);
            te_engine_free(e);
        }
        assert_eq!(count.load(Ordering::Relaxed), 52);
    });
}

#[test]
fn panics_in_join_halves() {
    watchdog(30, "join_panic", || {
        let e = engine(2);
        let count = AtomicUsize::new(0);
        let arg = &count as *const AtomicUsize as *mut c_void;
        // SAFETY: live engine; `count` lives across the calls.
        unsafe {
            assert_eq!(
                te_join(e, Some(panicking_task), ptr::null_mut(), Some(counting_task), arg),
                te_status::TE_ERR_PANIC
            );
            assert_eq!(
                te_join(e, Some(counting_task), arg, Some(panicking_task), ptr::null_mut()),
                te_status::TE_ERR_PANIC
            );
            assert!(last_error().contains("task exploded"));
            te_engine_free(e);
        }
        // When `a` panics, `b` runs only if a thief had taken it already; when `b`
        // panics, `a` has run. Either way nothing is still running on return.
        let ran = count.load(Ordering::Relaxed);
        assert!((1..=2).contains(&ran), "{ran}");
    });
}

/// What a task that forks with te_join from inside the pool saw.
struct InnerJoin {
    count: AtomicUsize,
    /// The two statuses, as i32 (0 = not run yet).
    statuses: [std::sync::atomic::AtomicI32; 2],
    message_ok: std::sync::atomic::AtomicBool,
}

/// A task that forks from a worker (te_join's short way), with `a` and then `b`
/// panicking, with the current engine (NULL) as C tasks write it.
unsafe extern "C-unwind" fn join_panicking_halves_inside(arg: *mut c_void) -> i32 {
    // SAFETY: `arg` is the InnerJoin of the test, alive until the group is waited.
    let inner = unsafe { &*(arg as *const InnerJoin) };
    let count = &inner.count as *const AtomicUsize as *mut c_void;
    // SAFETY: the callbacks are safe to run on any thread with these args.
    let first = unsafe { te_join(ptr::null_mut(), Some(panicking_task), ptr::null_mut(), Some(counting_task), count) };
    inner.message_ok.store(last_error().contains("task exploded"), Ordering::SeqCst);
    // SAFETY: as above.
    let second = unsafe { te_join(ptr::null_mut(), Some(counting_task), count, Some(panicking_task), ptr::null_mut()) };
    inner.statuses[0].store(first as i32, Ordering::SeqCst);
    inner.statuses[1].store(second as i32, Ordering::SeqCst);
    0
}

#[test]
fn panics_in_join_halves_from_inside_the_pool() {
    watchdog(30, "join_panic_inside", || {
        for workers in 1..=2 {
            let e = engine(workers);
            let inner = InnerJoin {
                count: AtomicUsize::new(0),
                statuses: [std::sync::atomic::AtomicI32::new(0), std::sync::atomic::AtomicI32::new(0)],
                message_ok: std::sync::atomic::AtomicBool::new(false),
            };
            let arg = &inner as *const InnerJoin as *mut c_void;
            // SAFETY: live engine; `inner` outlives the wait.
            unsafe {
                let mut group = ptr::null_mut();
                assert_eq!(te_group_new(e, &mut group), te_status::TE_OK);
                assert_eq!(te_group_spawn(group, Some(join_panicking_halves_inside), arg), te_status::TE_OK);
                assert_eq!(te_group_wait(group), te_status::TE_OK, "the task itself returned 0");
                te_group_free(group);
                te_engine_free(e);
            }
            let panic = te_status::TE_ERR_PANIC as i32;
            assert_eq!(inner.statuses[0].load(Ordering::SeqCst), panic, "{workers} workers, `a` panicked");
            assert_eq!(inner.statuses[1].load(Ordering::SeqCst), panic, "{workers} workers, `b` panicked");
            assert!(inner.message_ok.load(Ordering::SeqCst), "the panic's message is the last error");
            // `a` panicking: `b` runs only if a thief took it first; `b`
            // panicking: `a` has run.
            let ran = inner.count.load(Ordering::SeqCst);
            assert!((1..=2).contains(&ran), "{ran}");
        }
    });
}

#[test]
fn panics_in_loops_and_reductions() {
    watchdog(30, "loop_panic", || {
        let e = engine(2);
        let zero = 0u64;
        let identity = &zero as *const u64 as *const c_void;
        let mut out = 99u64;
        let out_ptr = &mut out as *mut u64 as *mut c_void;
        // SAFETY: live engine; identity/out are u64s of value_size 8.
        unsafe {
            assert_eq!(
                te_parallel_for(e, 0, 1000, 10, Some(panicking_range), ptr::null_mut()),
                te_status::TE_ERR_PANIC
            );
            assert!(last_error().contains("loop body exploded"));
            assert_eq!(
                te_parallel_reduce(
                    e,
                    0,
                    1000,
                    10,
                    identity,
                    8,
                    Some(panicking_map),
                    Some(panicking_combine),
                    ptr::null_mut(),
                    out_ptr
                ),
                te_status::TE_ERR_PANIC
            );
            assert_eq!(
                te_parallel_reduce_deterministic(
                    e,
                    0,
                    1000,
                    10,
                    identity,
                    8,
                    Some(adding_map),
                    Some(panicking_combine),
                    ptr::null_mut(),
                    out_ptr
                ),
                te_status::TE_ERR_PANIC
            );
            assert!(last_error().contains("combine exploded"));
            // The output was not touched by the failed calls.
            assert_eq!(*(out_ptr as *const u64), 99);
            assert_eq!(
                te_parallel_reduce(
                    e,
                    0,
                    1000,
                    10,
                    identity,
                    8,
                    Some(adding_map),
                    Some(add_u64),
                    ptr::null_mut(),
                    out_ptr
                ),
                te_status::TE_OK
            );
            te_engine_free(e);
        }
        assert_eq!(out, 1000);
    });
}

unsafe extern "C-unwind" fn add_u64(_arg: *mut c_void, acc: *mut c_void, other: *const c_void) -> i32 {
    // SAFETY: both are u64 values (value_size 8).
    unsafe { *(acc as *mut u64) += *(other as *const u64) };
    0
}

#[test]
fn a_panicking_detached_task_is_contained() {
    watchdog(30, "spawn_panic", || {
        let e = engine(1);
        let count = AtomicUsize::new(0);
        let arg = &count as *const AtomicUsize as *mut c_void;
        // SAFETY: live engine; `count` outlives te_engine_free, which runs both.
        unsafe {
            assert_eq!(te_spawn(e, Some(panicking_task), ptr::null_mut()), te_status::TE_OK);
            assert_eq!(te_spawn(e, Some(counting_task), arg), te_status::TE_OK);
            te_engine_free(e);
        }
        assert_eq!(count.load(Ordering::Relaxed), 1);
    });
}

unsafe extern "C-unwind" fn panicking_hook(_arg: *mut c_void, _index: u32) {
    panic!("hook exploded");
}

#[test]
fn a_panicking_thread_hook_does_not_kill_the_worker() {
    watchdog(30, "hook_panic", || {
        let mut cfg = std::mem::MaybeUninit::<te_config>::uninit();
        let mut e = ptr::null_mut();
        let count = AtomicUsize::new(0);
        let arg = &count as *const AtomicUsize as *mut c_void;
        // SAFETY: an initialised config; live engine for the calls in between.
        unsafe {
            te_config_init(cfg.as_mut_ptr());
            let mut cfg = cfg.assume_init();
            cfg.workers = 1;
            cfg.on_thread_start = Some(panicking_hook);
            cfg.on_thread_stop = Some(panicking_hook);
            assert_eq!(te_engine_new(&cfg, &mut e), te_status::TE_OK);
            assert_eq!(te_join(e, Some(counting_task), arg, Some(counting_task), arg), te_status::TE_OK);
            te_engine_free(e);
        }
        assert_eq!(count.load(Ordering::Relaxed), 2);
    });
}
