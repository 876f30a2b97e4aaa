//! Spawning without the heap: once an engine's pools are warm, 100,000 spawns make
//! no heap allocation on any thread — group tasks from C (`te_group_spawn`) and from
//! Rust, detached C tasks (`te_spawn`), and `Engine::spawn` of small closures with
//! their handles. A counting `#[global_allocator]` sees every allocation of the
//! process; one test function, so that nothing else runs while it counts.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::watchdog;
use taskengine::ffi::{
    te_engine, te_group, te_group_free, te_group_new, te_group_spawn, te_group_wait, te_join, te_spawn,
};
use taskengine::{Config, Engine, TaskGroup};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; counting touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SPAWNS: usize = 100_000;

/// Allocations made anywhere in the process while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    ALLOCATIONS.load(Ordering::SeqCst)
}

static C_TASKS_RUN: AtomicU64 = AtomicU64::new(0);

/// The task's argument: how much to add.
static ONE: u64 = 1;

fn one() -> *mut c_void {
    std::ptr::addr_of!(ONE).cast_mut().cast()
}

unsafe extern "C-unwind" fn c_task(arg: *mut c_void) -> i32 {
    // SAFETY: every spawn passes `one()`, a static u64.
    C_TASKS_RUN.fetch_add(unsafe { *arg.cast::<u64>() }, Ordering::Relaxed);
    0
}

const WORKERS: usize = 2;
static HOLD: AtomicBool = AtomicBool::new(false);
static HELD: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C-unwind" fn c_hold(_: *mut c_void) -> i32 {
    hold();
    0
}

fn hold() {
    HELD.fetch_add(1, Ordering::SeqCst);
    while HOLD.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    HELD.fetch_sub(1, Ordering::SeqCst);
}

/// Occupies every worker, so that a whole round of spawns is in flight at once:
/// a warm-up that reaches the largest backlog a measured round can have.
fn hold_workers(spawn_holder: impl Fn()) {
    HOLD.store(true, Ordering::SeqCst);
    for _ in 0..WORKERS {
        spawn_holder();
    }
    while HELD.load(Ordering::SeqCst) < WORKERS {
        std::thread::yield_now();
    }
}

fn hold_c_engine(engine: *mut te_engine) {
    // SAFETY: live engine; the holder touches only statics.
    hold_workers(|| assert_eq!(unsafe { te_spawn(engine, Some(c_hold), std::ptr::null_mut()) } as i32, 0));
}

fn hold_engine(engine: &Engine) {
    hold_workers(|| drop(engine.spawn(hold).unwrap()));
}

fn release_workers() {
    HOLD.store(false, Ordering::SeqCst);
}

/// Runs a round held (warm-up at its largest backlog), then free (warm-up), then
/// free again, measured: the allocations of that last round.
fn steady_state(mut round: impl FnMut(bool) -> usize) -> usize {
    round(true);
    round(false);
    round(false)
}

fn c_group_round(engine: *mut te_engine, held: bool) -> usize {
    let mut group: *mut te_group = std::ptr::null_mut();
    // Made outside the measured part: a group is a handle, not a spawn.
    // SAFETY: live engine, writable out-pointer.
    assert_eq!(unsafe { te_group_new(engine, &mut group) } as i32, 0);
    if held {
        hold_c_engine(engine);
    }
    let before = C_TASKS_RUN.load(Ordering::SeqCst);
    let allocations = allocations_during(|| {
        for _ in 0..SPAWNS {
            // SAFETY: live group; the task only touches a static.
            let status = unsafe { te_group_spawn(group, Some(c_task), one()) };
            assert_eq!(status as i32, 0);
        }
        release_workers();
        // SAFETY: live group.
        assert_eq!(unsafe { te_group_wait(group) } as i32, 0);
    });
    assert_eq!(C_TASKS_RUN.load(Ordering::SeqCst) - before, SPAWNS as u64);
    // SAFETY: live group, freed once.
    unsafe { te_group_free(group) };
    allocations
}

fn detached_c_round(engine: *mut te_engine, held: bool) -> usize {
    if held {
        hold_c_engine(engine);
    }
    let before = C_TASKS_RUN.load(Ordering::SeqCst);
    let allocations = allocations_during(|| {
        for _ in 0..SPAWNS {
            // SAFETY: live engine; the task only touches a static.
            let status = unsafe { te_spawn(engine, Some(c_task), one()) };
            assert_eq!(status as i32, 0);
        }
        release_workers();
        let deadline = Instant::now() + Duration::from_secs(60);
        while C_TASKS_RUN.load(Ordering::SeqCst) - before < SPAWNS as u64 && Instant::now() < deadline {
            std::thread::yield_now();
        }
    });
    assert_eq!(C_TASKS_RUN.load(Ordering::SeqCst) - before, SPAWNS as u64);
    allocations
}

fn rust_group_round(engine: &Engine, held: bool) -> usize {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let group = TaskGroup::new(engine).unwrap();
    if held {
        hold_engine(engine);
    }
    RUN.store(0, Ordering::SeqCst);
    let allocations = allocations_during(|| {
        for i in 0..SPAWNS {
            group
                .spawn(move || {
                    RUN.fetch_add(i % 3, Ordering::Relaxed);
                })
                .unwrap();
        }
        release_workers();
        group.wait().unwrap();
    });
    assert_eq!(RUN.load(Ordering::SeqCst), (0..SPAWNS).map(|i| i % 3).sum::<usize>());
    allocations
}

fn handle_round(engine: &Engine, handles: &mut Vec<taskengine::TaskHandle<u64>>, held: bool) -> usize {
    if held {
        hold_engine(engine);
    }
    let mut sum = 0u64;
    let allocations = allocations_during(|| {
        for i in 0..SPAWNS as u64 {
            let k = i * 7;
            handles.push(engine.spawn(move || k * k + 1).unwrap());
        }
        release_workers();
        for handle in handles.drain(..) {
            sum = sum.wrapping_add(handle.wait().unwrap());
        }
    });
    let expected = (0..SPAWNS as u64).map(|i| (i * 7) * (i * 7) + 1).fold(0u64, u64::wrapping_add);
    assert_eq!(sum, expected);
    allocations
}

/// `NODES` nodes the way C and C++ callers fork inside a task: a group made,
/// filled, waited for and freed per node (from C with the NULL engine, and from
/// Rust), and `te_join(NULL, ...)`; and a Rust scope per node.
fn nodes(current: &Engine) {
    const NODES: usize = 5_000;
    for _ in 0..NODES {
        let mut group: *mut te_group = std::ptr::null_mut();
        // SAFETY: NULL = this task's engine; writable out-pointer; the tasks only
        // touch a static; the group is freed once.
        unsafe {
            assert_eq!(te_group_new(std::ptr::null_mut(), &mut group) as i32, 0);
            assert_eq!(te_group_spawn(group, Some(c_task), one()) as i32, 0);
            assert_eq!(te_group_spawn(group, Some(c_task), one()) as i32, 0);
            assert_eq!(te_group_wait(group) as i32, 0);
            te_group_free(group);
        }
        let g = TaskGroup::new(current).unwrap();
        g.spawn(|| {
            C_TASKS_RUN.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        g.wait().unwrap();
        drop(g);
        // SAFETY: both callbacks only touch a static.
        let joined = unsafe { te_join(std::ptr::null_mut(), Some(c_task), one(), Some(c_task), one()) };
        assert_eq!(joined as i32, 0);
        // A scope per node: small closures live in the scope, not in boxes.
        let step = 1u64;
        current.scope(|s| {
            for _ in 0..2 {
                s.spawn(move |_| {
                    C_TASKS_RUN.fetch_add(step, Ordering::Relaxed);
                });
            }
        });
    }
}

/// A group per node from C, `WIDE` children each: past the group's slots, so
/// each node also queues tasks behind a ticket. The depth left rides in `arg`.
const WIDE: usize = 20;

unsafe extern "C-unwind" fn c_wide_node(arg: *mut c_void) -> i32 {
    C_TASKS_RUN.fetch_add(1, Ordering::Relaxed);
    let depth = arg as usize;
    if depth == 0 {
        return 0;
    }
    let mut group: *mut te_group = std::ptr::null_mut();
    // SAFETY: NULL = this task's engine; writable out-pointer; the children only
    // read their argument as a number; the group is freed once.
    unsafe {
        assert_eq!(te_group_new(std::ptr::null_mut(), &mut group) as i32, 0);
        for _ in 0..WIDE {
            assert_eq!(te_group_spawn(group, Some(c_wide_node), (depth - 1) as *mut c_void) as i32, 0);
        }
        assert_eq!(te_group_wait(group) as i32, 0);
        te_group_free(group);
    }
    0
}

/// A chain of groups one child each, `depth` deep: that many group handles
/// alive at once on one worker.
unsafe extern "C-unwind" fn c_chain_node(arg: *mut c_void) -> i32 {
    C_TASKS_RUN.fetch_add(1, Ordering::Relaxed);
    let depth = arg as usize;
    if depth == 0 {
        return 0;
    }
    let mut group: *mut te_group = std::ptr::null_mut();
    // SAFETY: as in `c_wide_node`.
    unsafe {
        assert_eq!(te_group_new(std::ptr::null_mut(), &mut group) as i32, 0);
        assert_eq!(te_group_spawn(group, Some(c_chain_node), (depth - 1) as *mut c_void) as i32, 0);
        assert_eq!(te_group_wait(group) as i32, 0);
        te_group_free(group);
    }
    0
}

/// The recursions C programs write (uts, nqueens): wide nodes three levels deep
/// and a chain 40 deep, from inside a task.
fn c_recursion_round(engine: &Engine) -> usize {
    const CHAIN: usize = 40;
    let before = C_TASKS_RUN.load(Ordering::SeqCst);
    let allocations = allocations_during(|| {
        engine.scope(|_| {
            // SAFETY: the callbacks take a number as their argument and touch statics.
            unsafe {
                assert_eq!(c_wide_node(3 as *mut c_void), 0);
                assert_eq!(c_chain_node(CHAIN as *mut c_void), 0);
            }
        })
    });
    let wide_nodes = 1 + WIDE + WIDE * WIDE + WIDE * WIDE * WIDE;
    assert_eq!(C_TASKS_RUN.load(Ordering::SeqCst) - before, (wide_nodes + CHAIN + 1) as u64);
    allocations
}

/// Each worker's spares warmed past what a measured round can need: a round's
/// chain of 40 may be split between workers by stealing, but no worker then
/// holds more than the whole chain and a wide node's levels at once.
fn warm_recursions_on_every_worker(engine: &Engine) {
    let barrier = std::sync::Barrier::new(WORKERS);
    engine.scope(|s| {
        for _ in 0..WORKERS {
            let barrier = &barrier;
            s.spawn(move |_| {
                barrier.wait();
                // SAFETY: as in `c_recursion_round`.
                unsafe {
                    assert_eq!(c_chain_node(60 as *mut c_void), 0);
                    assert_eq!(c_wide_node(3 as *mut c_void), 0);
                }
            });
        }
    });
}

/// Nodes on every worker at once (a barrier keeps the tasks on distinct
/// workers): each worker keeps its own spare group records, so warming up must
/// reach all of them.
fn warm_every_worker(engine: &Engine) {
    let barrier = std::sync::Barrier::new(WORKERS);
    engine.scope(|s| {
        for _ in 0..WORKERS {
            let barrier = &barrier;
            s.spawn(move |_| {
                barrier.wait();
                nodes(&Engine::current().unwrap());
            });
        }
    });
}

/// Two halves of nodes, on whichever workers take them.
fn nested_round(engine: &Engine) -> usize {
    let before = C_TASKS_RUN.load(Ordering::SeqCst);
    let allocations = allocations_during(|| {
        engine.scope(|_| {
            let current = Engine::current().unwrap();
            current.join(|| nodes(&current), || nodes(&current));
        })
    });
    assert_eq!(C_TASKS_RUN.load(Ordering::SeqCst) - before, 2 * 7 * 5_000);
    allocations
}

#[test]
fn spawning_in_steady_state_makes_no_heap_allocation() {
    watchdog(300, "spawn_no_heap", || {
        let engine = Engine::new(Config::with_workers(WORKERS)).unwrap();
        let mut raw = std::ptr::null_mut();
        let mut config = std::mem::MaybeUninit::uninit();
        // SAFETY: te_config_init fills the whole struct.
        let mut config = unsafe {
            taskengine::ffi::te_config_init(config.as_mut_ptr());
            config.assume_init()
        };
        config.workers = WORKERS as u32;
        // SAFETY: a filled config; writable out-pointer.
        assert_eq!(unsafe { taskengine::ffi::te_engine_new(&config, &mut raw) } as i32, 0);

        let c_group = steady_state(|held| c_group_round(raw, held));
        let detached = steady_state(|held| detached_c_round(raw, held));
        let rust_group = steady_state(|held| rust_group_round(&engine, held));
        let mut handles = Vec::with_capacity(SPAWNS);
        let with_handles = steady_state(|held| handle_round(&engine, &mut handles, held));
        warm_every_worker(&engine);
        warm_every_worker(&engine);
        let nested = steady_state(|_| nested_round(&engine));
        warm_recursions_on_every_worker(&engine);
        let recursion = steady_state(|_| c_recursion_round(&engine));

        // SAFETY: live engine, freed once.
        unsafe { taskengine::ffi::te_engine_free(raw) };
        assert_eq!(
            (c_group, detached, rust_group, with_handles),
            (0, 0, 0, 0),
            "allocations for {SPAWNS} te_group_spawn / te_spawn / TaskGroup::spawn / Engine::spawn"
        );
        assert_eq!(nested, 0, "allocations for groups and scopes per node and te_join(NULL) inside a task");
        assert_eq!(recursion, 0, "allocations for C recursions with a group per node, past the slots and 40 deep");

        // The control: the same rounds on an engine that keeps no records do
        // allocate, so the counter is really watching.
        let no_pool = Engine::new(Config { task_pool_capacity: 0, ..Config::with_workers(WORKERS) }).unwrap();
        let without_pool = steady_state(|held| handle_round(&no_pool, &mut handles, held));
        assert!(without_pool >= SPAWNS, "{without_pool} allocations for {SPAWNS} spawns without a pool");
    });
}
