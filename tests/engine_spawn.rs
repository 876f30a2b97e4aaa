//! Integration tests of the scheduler, spawned tasks: handles, futures, the Task trait, the bounded queue, submission order; each under a watchdog.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use common::*;
use taskengine::{engine_config, Engine, EngineError, SyncTask, TaskGroup};

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

/// A worker spawns tens of thousands of tasks onto its own deque, whose buffer
/// grows far past its first size and shrinks back as the tasks are taken, round
/// after round, while three other workers steal from it: every task runs exactly
/// once (counted per task, not in total).
#[test]
fn a_deque_grown_and_shrunk_under_thieves_runs_each_task_once() {
    watchdog(120, "deque grow and shrink", || {
        const TASKS: usize = 40_000;
        let e = engine(4);
        for round in 0..6 {
            let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
            let finished = Arc::new(AtomicUsize::new(0));
            let spawner = {
                let (runs, finished) = (Arc::clone(&runs), Arc::clone(&finished));
                e.spawn(move || {
                    // This worker's engine, without shutting it down on drop.
                    let e2 = Engine::current().unwrap();
                    for i in 0..TASKS {
                        let (runs, finished) = (Arc::clone(&runs), Arc::clone(&finished));
                        // Detached tasks spawned on a worker go to its own deque.
                        e2.spawn(move || {
                            runs[i].fetch_add(1, Ordering::Relaxed);
                            finished.fetch_add(1, Ordering::Release);
                        })
                        .unwrap();
                    }
                })
                .unwrap()
            };
            spawner.wait().unwrap();
            while finished.load(Ordering::Acquire) < TASKS {
                std::thread::yield_now();
            }
            let wrong: Vec<usize> = (0..TASKS).filter(|&i| runs[i].load(Ordering::Relaxed) != 1).collect();
            assert!(
                wrong.is_empty(),
                "round {round}: {} tasks ran other than once, first {:?}",
                wrong.len(),
                &wrong[..wrong.len().min(5)]
            );
        }
    });
}
