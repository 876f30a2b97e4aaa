//! Scheduler benchmarks: taskengine beside Rayon and serial code, in one run.
//!
//! fib(30) with a task per call by `join`; 1,000,000 tiny tasks submitted from
//! outside the pool then waited (and the same with task records from the heap
//! instead of the engine's pools); nqueens(12) with a task per placement;
//! `parallel_for` over 1e7 doubles. Each taskengine benchmark also runs on a
//! one-worker engine (`taskengine@1w`), so `make bench` prints how it scales.
//! Ratios: `make bench` prints them (see `scripts/bench_summary.py`).

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rayon::prelude::*;
use taskengine::{Config, Engine, TaskGroup};

fn workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

fn fib_serial(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

fn fib_te(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib_te(e, n - 1), || fib_te(e, n - 2));
    a + b
}

fn fib_rayon(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1), || fib_rayon(n - 2));
    a + b
}

fn bench_fib(c: &mut Criterion, te: &Engine, te1: &Engine, pool: &rayon::ThreadPool) {
    let mut g = c.benchmark_group("fib30");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.bench_function("serial", |b| b.iter(|| fib_serial(black_box(30))));
    // Run from inside the pool on both sides, as fork-join code does.
    // All workers, then one: `make bench` prints the speed-up.
    for (name, te) in [("taskengine", te), ("taskengine@1w", te1)] {
        g.bench_function(name, |b| {
            b.iter(|| te.spawn_and_wait_inside(|| fib_te(te, black_box(30))));
        });
    }
    g.bench_function("rayon", |b| b.iter(|| pool.install(|| fib_rayon(black_box(30)))));
    g.finish();
}

/// Runs `f` on one of the engine's workers and returns its value.
trait InsideExt {
    fn spawn_and_wait_inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R;
}
impl InsideExt for Engine {
    fn spawn_and_wait_inside<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        // `scope` runs its closure on a worker and returns its value.
        self.scope(|_| f())
    }
}

const TASKS: usize = 1_000_000;

fn bench_spawn(c: &mut Criterion, te: &Engine, te1: &Engine, pool: &rayon::ThreadPool) {
    let mut g = c.benchmark_group("spawn_1m_external");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let counter = Arc::new(AtomicUsize::new(0));
    g.bench_function("serial", |b| {
        b.iter(|| {
            for i in 0..TASKS {
                let f = black_box(|| counter.fetch_add(black_box(i) & 1, Ordering::Relaxed));
                f();
            }
        })
    });
    // All workers, then one: `make bench` prints the speed-up.
    for (name, te) in [("taskengine", te), ("taskengine@1w", te1)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let group = TaskGroup::new(te).unwrap();
                for i in 0..TASKS {
                    let counter = Arc::clone(&counter);
                    group
                        .spawn(move || {
                            counter.fetch_add(black_box(i) & 1, Ordering::Relaxed);
                        })
                        .unwrap();
                }
                group.wait().unwrap();
            })
        });
    }
    g.bench_function("rayon_spawn", |b| {
        b.iter(|| {
            let done = Arc::new((Mutex::new(0usize), Condvar::new()));
            let remaining = Arc::new(AtomicUsize::new(TASKS));
            for i in 0..TASKS {
                let counter = Arc::clone(&counter);
                let (done, remaining) = (Arc::clone(&done), Arc::clone(&remaining));
                pool.spawn(move || {
                    counter.fetch_add(black_box(i) & 1, Ordering::Relaxed);
                    if remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
                        *done.0.lock().unwrap() = 1;
                        done.1.notify_all();
                    }
                });
            }
            let mut d = done.0.lock().unwrap();
            while *d == 0 {
                d = done.1.wait(d).unwrap();
            }
        })
    });
    g.bench_function("rayon_scope", |b| {
        b.iter(|| {
            pool.scope(|s| {
                for i in 0..TASKS {
                    let counter = &counter;
                    s.spawn(move |_| {
                        counter.fetch_add(black_box(i) & 1, Ordering::Relaxed);
                    });
                }
            })
        })
    });
    g.finish();
}

/// 1,000,000 spawns from outside, with task records and queue blocks recycled (the
/// default) and taken from the heap (`task_pool_capacity: 0`, how spawning worked
/// before the pools): a group of small closures, and detached `Engine::spawn`s.
fn bench_spawn_records(c: &mut Criterion, n: usize) {
    static DONE: AtomicUsize = AtomicUsize::new(0);
    let pooled = Engine::new(Config::with_workers(n)).unwrap();
    let heap = Engine::new(Config { task_pool_capacity: 0, ..Config::with_workers(n) }).unwrap();
    let mut g = c.benchmark_group("spawn_1m_group_records");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for (name, engine) in [("taskengine", &pooled), ("heap_records", &heap)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let group = TaskGroup::new(engine).unwrap();
                for i in 0..TASKS {
                    group
                        .spawn(move || {
                            DONE.fetch_add(black_box(i) & 1, Ordering::Relaxed);
                        })
                        .unwrap();
                }
                group.wait().unwrap();
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("spawn_1m_detached_records");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for (name, engine) in [("taskengine", &pooled), ("heap_records", &heap)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                DONE.store(0, Ordering::SeqCst);
                for _ in 0..TASKS {
                    drop(engine.spawn(|| DONE.fetch_add(1, Ordering::AcqRel)).unwrap());
                }
                while DONE.load(Ordering::Acquire) < TASKS {
                    std::thread::yield_now();
                }
            })
        });
    }
    g.finish();
}

fn nq_ok(cols: u32, d1: u32, d2: u32, n: usize, row: usize, c: usize) -> Option<(u32, u32, u32)> {
    let (bc, b1, b2) = (1u32 << c, 1u32 << (row + c), 1u32 << (row + n - c));
    if cols & bc != 0 || d1 & b1 != 0 || d2 & b2 != 0 {
        None
    } else {
        Some((cols | bc, d1 | b1, d2 | b2))
    }
}

fn nq_serial(n: usize, row: usize, cols: u32, d1: u32, d2: u32) -> usize {
    if row == n {
        return 1;
    }
    (0..n).filter_map(|c| nq_ok(cols, d1, d2, n, row, c)).map(|(a, b, d)| nq_serial(n, row + 1, a, b, d)).sum()
}

fn nq_te(e: &Engine, n: usize, row: usize, cols: u32, d1: u32, d2: u32) -> usize {
    if row == n {
        return 1;
    }
    let counts: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    e.scope(|s| {
        for (c, slot) in counts.iter().enumerate() {
            if let Some((a, b, d)) = nq_ok(cols, d1, d2, n, row, c) {
                s.spawn(move |_| slot.store(nq_te(e, n, row + 1, a, b, d), Ordering::Relaxed));
            }
        }
    });
    counts.iter().map(|x| x.load(Ordering::Relaxed)).sum()
}

fn nq_rayon(n: usize, row: usize, cols: u32, d1: u32, d2: u32) -> usize {
    if row == n {
        return 1;
    }
    let counts: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    rayon::scope(|s| {
        for (c, slot) in counts.iter().enumerate() {
            if let Some((a, b, d)) = nq_ok(cols, d1, d2, n, row, c) {
                s.spawn(move |_| slot.store(nq_rayon(n, row + 1, a, b, d), Ordering::Relaxed));
            }
        }
    });
    counts.iter().map(|x| x.load(Ordering::Relaxed)).sum()
}

fn bench_nqueens(c: &mut Criterion, te: &Engine, te1: &Engine, pool: &rayon::ThreadPool) {
    assert_eq!(nq_serial(12, 0, 0, 0, 0), 14200);
    let mut g = c.benchmark_group("nqueens12");
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    g.bench_function("serial", |b| b.iter(|| nq_serial(black_box(12), 0, 0, 0, 0)));
    // All workers, then one: `make bench` prints the speed-up.
    for (name, te) in [("taskengine", te), ("taskengine@1w", te1)] {
        g.bench_function(name, |b| b.iter(|| nq_te(te, black_box(12), 0, 0, 0, 0)));
    }
    g.bench_function("rayon", |b| b.iter(|| pool.install(|| nq_rayon(black_box(12), 0, 0, 0, 0))));
    g.finish();
}

const N_DOUBLES: usize = 10_000_000;

/// Compute-bound on purpose (a few dependent square roots per element): a loop that
/// only streams memory is capped by bandwidth, not by the scheduler; the sum kernel
/// benchmark covers that case.
#[inline]
fn kernel(x: f64) -> f64 {
    let mut y = x;
    for _ in 0..8 {
        y = (y * 1.000_000_1 + 0.5).sqrt();
    }
    y
}

fn bench_parallel_for(c: &mut Criterion, te: &Engine, te1: &Engine, pool: &rayon::ThreadPool) {
    let mut data = vec![1.0f64; N_DOUBLES];
    let mut g = c.benchmark_group("parallel_for_1e7");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.bench_function("serial", |b| {
        b.iter(|| {
            for x in data.iter_mut() {
                *x = kernel(*x);
            }
        })
    });
    // All workers, then one: `make bench` prints the speed-up.
    for (name, te) in [("taskengine", te), ("taskengine@1w", te1)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let base = SendPtr(data.as_mut_ptr());
                te.parallel_for(0..N_DOUBLES, 0, |r| {
                    let base = &base;
                    // SAFETY: pieces are disjoint sub-ranges of `data`, which outlives the call.
                    let piece = unsafe { std::slice::from_raw_parts_mut(base.0.add(r.start), r.len()) };
                    for x in piece {
                        *x = kernel(*x);
                    }
                })
                .unwrap()
            })
        });
    }
    g.bench_function("rayon", |b| b.iter(|| pool.install(|| data.par_iter_mut().for_each(|x| *x = kernel(*x)))));
    g.finish();
}

struct SendPtr(*mut f64);
// SAFETY: used only to hand disjoint pieces of one buffer to workers.
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

fn benches(c: &mut Criterion) {
    let n = workers();
    let te = Engine::new(Config::with_workers(n)).unwrap();
    // The same benchmarks on one worker, for the scaling table.
    let te1 = Engine::new(Config::with_workers(1)).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
    bench_fib(c, &te, &te1, &pool);
    bench_spawn(c, &te, &te1, &pool);
    bench_spawn_records(c, n);
    bench_nqueens(c, &te, &te1, &pool);
    bench_parallel_for(c, &te, &te1, &pool);
}

criterion_group!(engine, benches);
criterion_main!(engine);
