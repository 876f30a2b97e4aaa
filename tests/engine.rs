//! Integration tests of the scheduler, each under a watchdog.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::*;
use taskengine::{engine_config, Config, Engine, EngineError, SyncTask, TaskGroup};

fn engine(workers: usize) -> Engine {
    Engine::new(Config::with_workers(workers)).unwrap()
}

fn fib(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

#[test]
fn join_fib_25_matches_serial() {
    watchdog(60, "join_fib", || {
        for workers in [1, 2, 4] {
            let e = engine(workers);
            assert_eq!(fib(&e, 25), fib_serial(25), "{workers} workers");
        }
    });
}

#[test]
fn join_from_outside_and_inside() {
    watchdog(30, "join_out_in", || {
        let e = Arc::new(engine(2));
        // Outside: the caller blocks while a worker runs both halves.
        let (a, b) = e.join(|| 1 + 1, || "x".repeat(3));
        assert_eq!((a, b.as_str()), (2, "xxx"));
        // Inside: a task joins on its own engine.
        let e2 = Arc::clone(&e);
        let h = e.spawn(move || e2.join(|| 20, || 22)).unwrap();
        let (x, y) = h.wait().unwrap();
        assert_eq!(x + y, 42);
    });
}

#[test]
fn join_reraises_panics_and_engine_survives() {
    watchdog(30, "join_panics", || {
        let e = engine(2);
        for side in 0..2 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                e.join(
                    || {
                        if side == 0 {
                            panic!("left boom")
                        }
                    },
                    || {
                        if side == 1 {
                            panic!("right boom")
                        }
                    },
                )
            }));
            let payload = r.expect_err("panic must propagate");
            let msg = payload.downcast_ref::<&str>().copied().unwrap_or("");
            assert!(msg.contains("boom"), "{msg}");
        }
        assert_eq!(fib(&e, 15), fib_serial(15));
    });
}

#[test]
fn a_million_tasks_from_outside() {
    watchdog(120, "million", || {
        let e = engine(2);
        let g = TaskGroup::new(&e).unwrap();
        let sum = Arc::new(AtomicUsize::new(0));
        for i in 0..1_000_000usize {
            let sum = Arc::clone(&sum);
            g.spawn(move || {
                sum.fetch_add(i, Ordering::Relaxed);
            })
            .unwrap();
        }
        g.wait().unwrap();
        assert_eq!(sum.load(Ordering::Relaxed), (0..1_000_000usize).sum());
        let stats = e.stats();
        assert_eq!(stats.submitted, 1_000_000);
        assert_eq!(stats.completed, 1_000_000);
        assert_eq!(stats.pending, 0);
    });
}

#[test]
fn groups_nested_inside_tasks() {
    watchdog(60, "nested_groups", || {
        let e = Arc::new(engine(2));
        let count = Arc::new(AtomicUsize::new(0));
        let outer = TaskGroup::new(&e).unwrap();
        for _ in 0..50 {
            let (e, count) = (Arc::clone(&e), Arc::clone(&count));
            outer
                .spawn(move || {
                    let inner = TaskGroup::new(&e).unwrap();
                    for _ in 0..50 {
                        let count = Arc::clone(&count);
                        inner
                            .spawn(move || {
                                count.fetch_add(1, Ordering::Relaxed);
                            })
                            .unwrap();
                    }
                    inner.wait().unwrap();
                })
                .unwrap();
        }
        outer.wait().unwrap();
        assert_eq!(count.load(Ordering::Relaxed), 2500);
    });
}

#[test]
fn panics_in_one_percent_of_tasks_fail_the_group_not_the_workers() {
    watchdog(60, "panics", || {
        let e = engine(2);
        let g = TaskGroup::new(&e).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 0..10_000 {
            let ran = Arc::clone(&ran);
            g.spawn(move || {
                ran.fetch_add(1, Ordering::Relaxed);
                if i % 100 == 7 {
                    panic!("task {i} failed");
                }
            })
            .unwrap();
        }
        match g.wait() {
            Err(EngineError::Panic(msg)) => assert!(msg.starts_with("task ") && msg.ends_with(" failed"), "{msg}"),
            other => panic!("expected a panic failure, got {other:?}"),
        }
        assert_eq!(ran.load(Ordering::Relaxed), 10_000, "every task still ran");
        // The workers survived.
        assert_eq!(fib(&e, 18), fib_serial(18));
    });
}

#[test]
fn fallible_task_error_is_the_group_result() {
    watchdog(30, "fallible", || {
        let e = engine(2);
        let g = TaskGroup::new(&e).unwrap();
        g.spawn_fallible(|| Ok(())).unwrap();
        g.spawn_fallible(|| Err(EngineError::TaskFailed { code: 7, message: "seven".into() })).unwrap();
        assert_eq!(g.wait(), Err(EngineError::TaskFailed { code: 7, message: "seven".into() }));
        assert_eq!(g.failure().map(|f| f.code()), Some(8));
    });
}

#[test]
fn cancellation_in_flight_skips_pending_tasks_and_counts_them() {
    watchdog(60, "cancel", || {
        let e = engine(2);
        let g = Arc::new(TaskGroup::new(&e).unwrap());
        let started = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Barrier::new(3));
        // Two blockers occupy both workers until the test has cancelled.
        for _ in 0..2 {
            let gate = Arc::clone(&gate);
            let started = Arc::clone(&started);
            g.spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                gate.wait();
            })
            .unwrap();
        }
        while started.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        for _ in 0..1000 {
            let started = Arc::clone(&started);
            g.spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        g.cancel();
        gate.wait();
        assert_eq!(g.wait(), Err(EngineError::Cancelled));
        assert_eq!(g.skipped(), 1000);
        assert_eq!(started.load(Ordering::SeqCst), 2);
        assert!(matches!(g.spawn(|| {}), Err(EngineError::Cancelled)));
    });
}

#[test]
fn running_tasks_can_poll_cancellation() {
    watchdog(30, "poll_cancel", || {
        let e = engine(2);
        let g = TaskGroup::new(&e).unwrap();
        let observed = Arc::new(AtomicBool::new(false));
        let o = Arc::clone(&observed);
        g.spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if taskengine::current_task_cancelled() {
                    o.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(!taskengine::current_task_cancelled(), "false outside tasks");
        g.cancel();
        assert_eq!(g.wait(), Err(EngineError::Cancelled));
        assert!(observed.load(Ordering::SeqCst));
    });
}

#[test]
fn wait_timeout_times_out_then_succeeds() {
    watchdog(30, "wait_timeout", || {
        let e = engine(2);
        let g = TaskGroup::new(&e).unwrap();
        let release = Arc::new(AtomicBool::new(false));
        let r = Arc::clone(&release);
        g.spawn(move || {
            while !r.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
        let t0 = Instant::now();
        assert_eq!(g.wait_timeout(Duration::from_millis(50)), Err(EngineError::Timeout));
        assert!(t0.elapsed() >= Duration::from_millis(50));
        release.store(true, Ordering::SeqCst);
        assert_eq!(g.wait_timeout(Duration::from_secs(10)), Ok(()));
    });
}

#[test]
fn wait_timeout_from_inside_a_worker() {
    watchdog(30, "wait_timeout_inside", || {
        let e = Arc::new(engine(2));
        let e2 = Arc::clone(&e);
        let h = e
            .spawn(move || {
                let g = TaskGroup::new(&e2).unwrap();
                g.spawn(|| std::thread::sleep(Duration::from_millis(300))).unwrap();
                let first = g.wait_timeout(Duration::from_millis(10));
                let second = g.wait();
                (first, second)
            })
            .unwrap();
        let (first, second) = h.wait().unwrap();
        assert_eq!(first, Err(EngineError::Timeout));
        assert_eq!(second, Ok(()));
    });
}

#[test]
fn two_hundred_engines_with_work_in_flight_leave_no_threads() {
    watchdog(120, "engines_loop", || {
        // A unique prefix: other tests run engines in this process at the same time.
        let prefix = "e200loop";
        for i in 0..200 {
            let e = Engine::new(engine_config! { workers: 1 + i % 3, thread_name_prefix: prefix }).unwrap();
            // Threads name themselves once running: wait until all are visible.
            let t0 = Instant::now();
            while threads_named(prefix) != 1 + i % 3 {
                assert!(t0.elapsed() < Duration::from_secs(5), "workers never showed up");
                std::thread::yield_now();
            }
            let g = TaskGroup::new(&e).unwrap();
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..20 {
                let done = Arc::clone(&done);
                g.spawn(move || {
                    done.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            }
            // Drop with work still queued: it must all run first.
            drop(e);
            assert_eq!(done.load(Ordering::Relaxed), 20);
            assert_eq!(g.wait(), Ok(()));
        }
        assert_eq!(threads_named(prefix), 0, "threads left behind");
    });
}

#[test]
fn submission_after_shutdown_is_an_error() {
    watchdog(30, "after_shutdown", || {
        let e = engine(2);
        let g = TaskGroup::new(&e).unwrap();
        let handle = Engine::new(Config::with_workers(1)).unwrap();
        drop(handle);
        e.shutdown();
        assert!(matches!(g.spawn(|| {}), Err(EngineError::Shutdown)));
        assert_eq!(g.wait(), Ok(()));
    });
}

#[test]
fn scope_borrows_from_the_stack() {
    watchdog(30, "scope", || {
        let e = engine(2);
        let mut data = vec![0u64; 1000];
        let total = AtomicUsize::new(0);
        e.scope(|s| {
            for (i, chunk) in data.chunks_mut(100).enumerate() {
                let total = &total;
                s.spawn(move |_| {
                    for (j, x) in chunk.iter_mut().enumerate() {
                        *x = (i * 100 + j) as u64;
                    }
                    total.fetch_add(chunk.len(), Ordering::Relaxed);
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 1000);
        assert!(data.iter().enumerate().all(|(i, &x)| x == i as u64));
    });
}

#[test]
fn scope_nested_spawns_and_panics() {
    watchdog(30, "scope_panic", || {
        let e = engine(2);
        let count = AtomicUsize::new(0);
        e.scope(|s| {
            s.spawn(|s| {
                s.spawn(|_| {
                    count.fetch_add(1, Ordering::Relaxed);
                });
                count.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(count.load(Ordering::Relaxed), 2);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.scope(|s| {
                s.spawn(|_| panic!("scoped boom"));
                s.spawn(|_| {
                    count.fetch_add(1, Ordering::Relaxed);
                });
            })
        }));
        assert!(r.is_err());
        assert_eq!(count.load(Ordering::Relaxed), 3, "the sibling still ran");
    });
}

#[test]
fn one_worker_task_waiting_on_a_group_does_not_deadlock() {
    watchdog(30, "one_worker", || {
        let e = Arc::new(engine(1));
        let e2 = Arc::clone(&e);
        let h = e
            .spawn(move || {
                let g = TaskGroup::new(&e2).unwrap();
                let n = Arc::new(AtomicUsize::new(0));
                for _ in 0..100 {
                    let n = Arc::clone(&n);
                    g.spawn(move || {
                        n.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
                g.wait().unwrap();
                // A handle spawned and awaited from the only worker.
                let inner = e2.spawn(|| 5).unwrap();
                n.load(Ordering::Relaxed) + inner.wait().unwrap()
            })
            .unwrap();
        assert_eq!(h.wait().unwrap(), 105);
    });
}

fn nqueens_groups(e: &Arc<Engine>, n: usize, row: usize, cols: u32, d1: u32, d2: u32) -> usize {
    if row == n {
        return 1;
    }
    let count = Arc::new(AtomicUsize::new(0));
    let g = TaskGroup::new(e).unwrap();
    for c in 0..n {
        let (bc, b1, b2) = (1u32 << c, 1u32 << (row + c), 1u32 << (row + n - c));
        if cols & bc != 0 || d1 & b1 != 0 || d2 & b2 != 0 {
            continue;
        }
        let (e2, count) = (Arc::clone(e), Arc::clone(&count));
        g.spawn(move || {
            let found = nqueens_groups(&e2, n, row + 1, cols | bc, d1 | b1, d2 | b2);
            count.fetch_add(found, Ordering::Relaxed);
        })
        .unwrap();
    }
    g.wait().unwrap();
    count.load(Ordering::Relaxed)
}

#[test]
fn bushy_waits_do_not_overflow_a_small_stack() {
    // A group per node, waits that help: without a bound on helping, nested
    // steals pile frames until the stack overflows.
    watchdog(120, "nqueens_stack", || {
        for workers in [1, 2] {
            let cfg = engine_config! { workers: workers, stack_size: 256 * 1024 };
            let e = Arc::new(Engine::new(cfg).unwrap());
            let e2 = Arc::clone(&e);
            let h = e.spawn(move || nqueens_groups(&e2, 8, 0, 0, 0, 0)).unwrap();
            assert_eq!(h.wait().unwrap(), 92, "{workers} workers");
        }
    });
}

#[test]
fn isolated_wait_runs_only_its_own_tasks() {
    watchdog(30, "isolated", || {
        let e = Arc::new(engine(1));
        let lock = Arc::new(Mutex::new(0u32));
        // Unrelated work that takes the same lock: an isolated waiter that stole it
        // would deadlock on re-entering the mutex.
        let unrelated = TaskGroup::new(&e).unwrap();
        let (e2, l2) = (Arc::clone(&e), Arc::clone(&lock));
        let h = e
            .spawn(move || {
                let _held = l2.lock().unwrap();
                let own = TaskGroup::new(&e2).unwrap();
                let ran = Arc::new(AtomicUsize::new(0));
                for _ in 0..10 {
                    let ran = Arc::clone(&ran);
                    own.spawn(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                    })
                    .unwrap();
                }
                own.wait_isolated().unwrap();
                ran.load(Ordering::Relaxed)
            })
            .unwrap();
        for _ in 0..10 {
            let l = Arc::clone(&lock);
            unrelated
                .spawn(move || {
                    *l.lock().unwrap() += 1;
                })
                .unwrap();
        }
        assert_eq!(h.wait().unwrap(), 10);
        unrelated.wait().unwrap();
        assert_eq!(*lock.lock().unwrap(), 10);
    });
}

#[test]
fn spawn_handles_and_futures() {
    watchdog(30, "handles", || {
        let e = engine(2);
        let h = e.spawn(|| (1..=10u64).product::<u64>()).unwrap();
        assert_eq!(h.wait().unwrap(), 3_628_800);
        let bad = e.spawn(|| -> u32 { panic!("handle boom") }).unwrap();
        assert_eq!(bad.wait(), Err(EngineError::Panic("handle boom".into())));
        // A handle is a Future; block_on drives it from outside.
        let h = e.spawn(|| 7).unwrap();
        assert_eq!(taskengine::block_on(h), Ok(7));
        // An async task awaiting another handle, on the pool.
        let inner = e.spawn(|| 35).unwrap();
        let outer = e.spawn_future(async move { inner.await.unwrap() + 7 }).unwrap();
        assert_eq!(outer.wait(), Ok(42));
        // wait_timeout gives the handle back.
        let slow = e.spawn(|| std::thread::sleep(Duration::from_millis(200))).unwrap();
        let slow = slow.wait_timeout(Duration::from_millis(1)).expect_err("not done yet");
        assert_eq!(slow.wait(), Ok(()));
    });
}

struct Square(u64);
impl SyncTask for Square {
    type Output = u64;
    fn run(&self) -> taskengine::Result<u64> {
        Ok(self.0 * self.0)
    }
}

#[test]
fn task_trait_through_executor() {
    watchdog(30, "executor", || {
        let e = engine(2);
        let handles: Vec<_> = (0..100).map(|i| e.execute(Square(i)).unwrap()).collect();
        let got: Vec<u64> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_eq!(got, (0..100).map(|i| i * i).collect::<Vec<_>>());
    });
}

#[test]
fn parallel_for_covers_every_index_once() {
    watchdog(60, "parallel_for", || {
        for workers in [1, 2, 4] {
            let e = engine(workers);
            for (len, grain) in [(0, 0), (1, 0), (1000, 0), (100_003, 0), (100_003, 7), (5000, 5000), (10, 1)] {
                let hits: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
                e.parallel_for(0..len, grain, |r| {
                    if grain > 0 {
                        assert!(r.len() <= grain);
                    }
                    for i in r {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    }
                })
                .unwrap();
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "len {len} grain {grain}");
            }
        }
    });
}

#[test]
fn parallel_for_rejects_backwards_ranges_and_propagates_errors() {
    watchdog(30, "parallel_for_err", || {
        let e = engine(2);
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 10..5;
        assert!(matches!(e.parallel_for(backwards, 0, |_| {}), Err(EngineError::Invalid(_))));
        let r = e.try_parallel_for(0..1000, 10, |r| {
            if r.contains(&500) {
                Err(EngineError::TaskFailed { code: 3, message: "at 500".into() })
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(EngineError::TaskFailed { code: 3, message: "at 500".into() }));
    });
}

#[test]
fn parallel_reduce_sums_exactly() {
    watchdog(30, "reduce", || {
        let e = engine(2);
        let n = 1_000_000u64;
        let s = e.parallel_reduce(0..n as usize, 0, || 0u64, |r| r.map(|i| i as u64).sum(), |a, b| a + b).unwrap();
        assert_eq!(s, n * (n - 1) / 2);
        assert_eq!(e.parallel_reduce(5..5, 0, || 11u64, |_| 0, |a, b| a + b).unwrap(), 11);
    });
}

#[test]
fn deterministic_reduce_is_bitwise_identical_across_worker_counts() {
    watchdog(60, "deterministic", || {
        // Values spanning many magnitudes make float addition order-sensitive.
        let data: Vec<f64> = (0..200_001u64)
            .map(|i| {
                let x = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
                (x - 0.5) * 10f64.powi((i % 17) as i32 - 8)
            })
            .collect();
        let sum_with = |workers: usize, grain: usize| {
            let e = engine(workers);
            e.parallel_reduce_deterministic(
                0..data.len(),
                grain,
                || 0.0f64,
                |r| data[r].iter().sum::<f64>(),
                |a, b| a + b,
            )
            .unwrap()
            .to_bits()
        };
        for grain in [0, 1000] {
            let reference = sum_with(1, grain);
            for workers in [2, 3, 4, 8] {
                assert_eq!(sum_with(workers, grain), reference, "{workers} workers, grain {grain}");
            }
        }
        // Sanity: the fixed order really matters here (a different grouping differs).
        let forward: f64 = data.iter().sum();
        let backward: f64 = data.iter().rev().sum();
        assert_ne!(forward.to_bits(), backward.to_bits(), "test data not order-sensitive");
    });
}

#[test]
fn bounded_queue_try_spawn_reports_full_and_blocking_spawn_waits() {
    watchdog(30, "bounded", || {
        let e = Engine::new(engine_config! { workers: 1, queue_size: 4 }).unwrap();
        let g = Arc::new(TaskGroup::new(&e).unwrap());
        let release = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (r, s) = (Arc::clone(&release), Arc::clone(&started));
        g.spawn(move || {
            s.store(true, Ordering::SeqCst);
            while !r.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        for _ in 0..4 {
            g.try_spawn(|| {}).unwrap();
        }
        assert!(matches!(g.try_spawn(|| {}), Err(EngineError::QueueFull)));
        assert!(matches!(e.try_spawn(|| ()), Err(EngineError::QueueFull)));
        // A blocking spawn waits until the worker frees a slot.
        let r = Arc::clone(&release);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            r.store(true, Ordering::SeqCst);
        });
        let t0 = Instant::now();
        g.spawn(|| {}).unwrap();
        assert!(t0.elapsed() >= Duration::from_millis(30), "spawn should have waited for room");
        releaser.join().unwrap();
        g.wait().unwrap();
    });
}

#[test]
fn work_stealing_off_really_disables_stealing() {
    watchdog(30, "no_steal", || {
        let e = Engine::new(engine_config! { workers: 2, enable_work_stealing: false }).unwrap();
        assert_eq!(fib(&e, 20), fib_serial(20));
        let s = e.stats();
        assert_eq!(s.stolen, 0);
        assert_eq!(s.steal_attempts, 0);
        let e = Engine::new(Config::with_workers(2)).unwrap();
        for _ in 0..20 {
            fib(&e, 20);
        }
        assert!(e.stats().steal_attempts > 0, "stealing on should try to steal");
    });
}

#[test]
fn metrics_off_keeps_counters_at_zero() {
    watchdog(30, "metrics_off", || {
        let e = Engine::new(engine_config! { workers: 2, enable_metrics: false }).unwrap();
        let g = TaskGroup::new(&e).unwrap();
        for _ in 0..100 {
            g.spawn(|| {}).unwrap();
        }
        g.wait().unwrap();
        let s = e.stats();
        assert!(!s.metrics_enabled);
        assert_eq!((s.executed, s.submitted), (0, 0));
        assert_eq!(s.workers.len(), 2);
    });
}

#[test]
fn thread_names_hooks_and_stack_size() {
    watchdog(30, "hooks", || {
        let started = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let names = Arc::new(Mutex::new(Vec::new()));
        let mut cfg = engine_config! { workers: 3, thread_name_prefix: "pool", stack_size: 512 * 1024 };
        let (s, n) = (Arc::clone(&started), Arc::clone(&names));
        cfg.on_thread_start = Some(Arc::new(move |i| {
            s.lock().unwrap().push(i);
            n.lock().unwrap().push(std::thread::current().name().unwrap_or("").to_string());
        }));
        let st = Arc::clone(&stopped);
        cfg.on_thread_stop = Some(Arc::new(move |i| st.lock().unwrap().push(i)));
        let e = Engine::new(cfg).unwrap();
        let deep = e.spawn(Engine::current_worker_index).unwrap();
        assert!(deep.wait().unwrap().is_some_and(|i| i < 3));
        drop(e);
        // Drop returned: every stop hook has run.
        let mut s = stopped.lock().unwrap().clone();
        s.sort();
        assert_eq!(s, vec![0, 1, 2]);
        let mut st = started.lock().unwrap().clone();
        st.sort();
        assert_eq!(st, vec![0, 1, 2]);
        let mut nm = names.lock().unwrap().clone();
        nm.sort();
        assert_eq!(nm, vec!["pool-0", "pool-1", "pool-2"]);
        assert_eq!(Engine::current_worker_index(), None);
    });
}

#[test]
fn invalid_configs_are_rejected() {
    assert!(matches!(Engine::new(engine_config! { workers: 100_000 }), Err(EngineError::Invalid(_))));
    assert!(matches!(Engine::new(engine_config! { stack_size: 1024 }), Err(EngineError::Invalid(_))));
    assert!(matches!(Engine::new(engine_config! { thread_name_prefix: "a\0b" }), Err(EngineError::Invalid(_))));
}

#[test]
fn default_engine_is_shared() {
    watchdog(30, "default", || {
        let a = Engine::global().unwrap();
        let b = Engine::global().unwrap();
        assert_eq!(a.workers(), b.workers());
        assert_eq!(fib(&a, 15), fib_serial(15));
        // Inside a task, `current` is the task's own engine.
        let mine = engine(3);
        let h = mine.spawn(|| Engine::current().unwrap().workers()).unwrap();
        assert_eq!(h.wait().unwrap(), 3);
    });
}

/// Counts drops, to prove every task's closure is dropped exactly once, run or not.
struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn destructors_run_once_for_run_and_cancelled_tasks_small_and_large() {
    watchdog(30, "destructors", || {
        let e = engine(2);
        let drops = Arc::new(AtomicUsize::new(0));
        let g = TaskGroup::new(&e).unwrap();
        let gate = Arc::new(Barrier::new(3));
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let (gate, started) = (Arc::clone(&gate), Arc::clone(&started));
            g.spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                gate.wait();
            })
            .unwrap();
        }
        // Both workers busy, so everything below stays queued until the cancel.
        while started.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 0..200 {
            let d = DropCounter(Arc::clone(&drops));
            let ran = Arc::clone(&ran);
            if i % 2 == 0 {
                // Small: stored inline in the task record.
                g.spawn(move || {
                    let _keep = &d;
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            } else {
                // Large: boxed.
                let big = [7u64; 16];
                g.spawn(move || {
                    let _keep = (&d, big);
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            }
        }
        g.cancel();
        gate.wait();
        let _ = g.wait();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(drops.load(Ordering::SeqCst), 200, "each skipped closure dropped once");
        // And for tasks that do run.
        let g = TaskGroup::new(&e).unwrap();
        for i in 0..200 {
            let d = DropCounter(Arc::clone(&drops));
            let big = [i as u64; 16];
            if i % 2 == 0 {
                g.spawn(move || drop(d)).unwrap();
            } else {
                g.spawn(move || {
                    let _keep = (&d, big);
                })
                .unwrap();
            }
        }
        g.wait().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 400);
    });
}

#[test]
fn sleeping_workers_rejoin_fork_join_work_after_an_idle_period() {
    // After every worker has gone to sleep, one outside submission wakes one worker;
    // the fork it then pushes must wake another, or later runs stay serial. The
    // forking side holds its worker until the other half has run elsewhere, so the
    // test does not depend on how fast a sleeping thread gets a core.
    watchdog(60, "rejoin", || {
        let e = engine(2);
        for round in 0..5 {
            std::thread::sleep(Duration::from_millis(50));
            let before = e.stats().stolen;
            let other_half_ran = AtomicBool::new(false);
            let (seen, ()) = e.join(
                || {
                    let deadline = Instant::now() + Duration::from_secs(10);
                    while !other_half_ran.load(Ordering::Acquire) && Instant::now() < deadline {
                        std::thread::yield_now();
                    }
                    other_half_ran.load(Ordering::Acquire)
                },
                || other_half_ran.store(true, Ordering::Release),
            );
            assert!(seen, "round {round}: the forked half never ran, the other worker never woke");
            assert!(e.stats().stolen > before, "round {round}: the forked half was not stolen");
        }
    });
}

#[test]
fn outside_submissions_start_in_the_order_they_came_on_one_worker() {
    // The worker takes outside jobs in batches into its LIFO deque; the batch must
    // still start oldest first.
    watchdog(60, "fifo", || {
        let e = engine(1);
        let gate = Arc::new(Barrier::new(2));
        let order = Arc::new(Mutex::new(Vec::new()));
        let g = Arc::clone(&gate);
        let first = e
            .spawn(move || {
                g.wait();
            })
            .unwrap();
        let handles: Vec<_> = (0..200)
            .map(|i| {
                let order = Arc::clone(&order);
                e.spawn(move || order.lock().unwrap().push(i)).unwrap()
            })
            .collect();
        gate.wait();
        first.wait().unwrap();
        for h in handles {
            h.wait().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..200).collect::<Vec<_>>());
    });
}
