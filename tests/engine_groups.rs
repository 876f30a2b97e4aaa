//! Integration tests of the scheduler, task groups: nesting, failures, cancellation, timed and isolated waits, bounded helping, destructors; each under a watchdog.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::*;
use taskengine::{engine_config, Engine, EngineError, TaskGroup};

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
