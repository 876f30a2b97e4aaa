//! Misuse and hostile input from Rust: each test once hung, crashed or drifted.
//! Every test runs under a watchdog.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use taskengine::{block_on, engine_config, Config, Engine, EngineError, TaskGroup};

fn engine(workers: usize) -> Engine {
    Engine::new(Config::with_workers(workers)).unwrap()
}

/// A chain of `depth` nested joins; the first refusal is passed up.
fn chain(e: &Engine, depth: usize) -> Result<usize, EngineError> {
    if depth == 0 {
        return Ok(0);
    }
    let (below, ()) = e.try_join(|| chain(e, depth - 1), || ())?;
    Ok(below? + 1)
}

#[test]
fn a_join_chain_deeper_than_the_stack_is_refused_not_an_overflow() {
    watchdog(120, "deep-join", || {
        for stack in [0, 256 * 1024] {
            let e = Engine::new(engine_config! { workers: 2, stack_size: stack }).unwrap();
            let top = e.try_join(|| chain(&e, 100_000), || ()).unwrap().0;
            assert!(matches!(top, Err(EngineError::StackExhausted { .. })), "{top:?}");
            // Shallow chains still work afterwards.
            assert_eq!(e.try_join(|| chain(&e, 50), || ()).unwrap().0, Ok(50));
        }
    });
}

#[test]
fn a_failing_body_stops_the_loop_even_over_the_whole_range() {
    watchdog(60, "loop-stop", || {
        let e = engine(2);
        let calls = AtomicUsize::new(0);
        let result = e.try_parallel_for(0..usize::MAX, 1, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(EngineError::TaskFailed { code: 3, message: "no".into() })
        });
        assert!(matches!(result, Err(EngineError::TaskFailed { code: 3, .. })), "{result:?}");
        assert!(calls.load(Ordering::Relaxed) < 10_000);
        // The lowest failing piece is the one reported, even if it ran second.
        let result = e.try_parallel_reduce(
            0..1000,
            1,
            || Ok(0u64),
            |r| if r.start == 0 || r.start == 999 { Err(EngineError::invalid(r.start)) } else { Ok(1) },
            |a, b| Ok(a + b),
        );
        assert!(matches!(result, Err(EngineError::Invalid(_))), "{result:?}");
        // A panicking body stops the loop too, and is re-raised.
        let calls = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.try_parallel_for(0..usize::MAX, 1, |_| {
                calls.fetch_add(1, Ordering::Relaxed);
                panic!("body");
            })
        }));
        assert!(caught.is_err());
        assert!(calls.load(Ordering::Relaxed) < 10_000);
        // And a loop with no failure still covers everything, exactly.
        let sum = e.try_parallel_reduce(0..10_000, 7, || Ok(0u64), |r| Ok(r.map(|i| i as u64).sum()), |a, b| Ok(a + b));
        assert_eq!(sum, Ok((0..10_000u64).sum()));
        let sum =
            e.try_parallel_reduce_deterministic(0..10_000, 0, || Ok(0u64), |r| Ok(r.len() as u64), |a, b| Ok(a + b));
        assert_eq!(sum, Ok(10_000));
    });
}

#[test]
fn a_task_waiting_for_its_own_group_gets_invalid() {
    watchdog(60, "own-group", || {
        let e = engine(2);
        let g = Arc::new(TaskGroup::new(&e).unwrap());
        let inner = Arc::clone(&g);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        g.spawn(move || {
            let mut s = s.lock().unwrap();
            s.push(inner.wait());
            s.push(inner.wait_isolated());
            s.push(inner.wait_timeout(Duration::from_secs(60)));
        })
        .unwrap();
        g.wait().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|r| matches!(r, Err(EngineError::Invalid(_)))), "{seen:?}");
    });
}

#[test]
fn an_engine_dropped_by_its_own_task_shuts_down_without_deadlock() {
    watchdog(60, "own-drop", || {
        let owner = Arc::new(std::sync::Mutex::new(None::<Engine>));
        let e = engine(2);
        let slot = Arc::clone(&owner);
        let stolen = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stolen);
        // The owning engine is dropped in the stolen half of a join while the
        // other worker waits for that half: joining the workers would deadlock.
        let handle = e
            .spawn(move || {
                let current = Engine::current().unwrap();
                current.join(
                    || {
                        for _ in 0..2000 {
                            if s2.load(Ordering::SeqCst) {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    },
                    || {
                        s2.store(true, Ordering::SeqCst);
                        let owned = loop {
                            if let Some(owned) = slot.lock().unwrap().take() {
                                break owned;
                            }
                            std::thread::yield_now();
                        };
                        drop(owned);
                    },
                );
            })
            .unwrap();
        *owner.lock().unwrap() = Some(e);
        handle.wait().unwrap();
        assert!(stolen.load(Ordering::SeqCst));
        assert!(owner.lock().unwrap().is_none());
    });
}

#[test]
fn stats_stay_consistent_under_cancellation_refusals_and_scopes() {
    watchdog(60, "stats", || {
        // Cancelled from outside: skipped tasks count as completed.
        let e = engine(2);
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
        while started.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        for _ in 0..500 {
            g.spawn(|| {}).unwrap();
        }
        g.cancel();
        gate.wait();
        assert_eq!(g.wait(), Err(EngineError::Cancelled));
        let s = e.stats();
        assert_eq!(s.submitted, 502);
        assert_eq!(s.completed, 502, "{s:?}");
        assert_eq!(s.pending, 0);

        // Refused with QueueFull: not counted as submitted.
        let e = Engine::new(engine_config! { workers: 1, queue_size: 2 }).unwrap();
        let g = TaskGroup::new(&e).unwrap();
        let release = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (r, st) = (Arc::clone(&release), Arc::clone(&started));
        g.spawn(move || {
            st.store(true, Ordering::SeqCst);
            while !r.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .unwrap();
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        g.try_spawn(|| {}).unwrap();
        g.try_spawn(|| {}).unwrap();
        for _ in 0..10 {
            assert!(matches!(g.try_spawn(|| {}), Err(EngineError::QueueFull)));
            assert!(matches!(e.try_spawn(|| ()), Err(EngineError::QueueFull)));
        }
        release.store(true, Ordering::SeqCst);
        g.wait().unwrap();
        let s = e.stats();
        assert_eq!((s.submitted, s.completed, s.pending), (3, 3, 0), "{s:?}");

        // Scope spawns are submissions too, and complete.
        let e = engine(2);
        let mut hits = [0u8; 64];
        e.scope(|s| {
            for h in hits.iter_mut() {
                s.spawn(move |_| *h = 1);
            }
        });
        assert!(hits.iter().all(|&h| h == 1));
        let s = e.stats();
        assert_eq!((s.submitted, s.completed, s.pending), (64, 64, 0), "{s:?}");

        // A handle whose task a waiter outside the pool ran itself still completes.
        let e = engine(1);
        for _ in 0..100 {
            e.spawn(|| ()).unwrap().wait().unwrap();
        }
        let s = e.stats();
        assert_eq!((s.submitted, s.completed, s.pending), (100, 100, 0), "{s:?}");
    });
}

#[test]
fn block_on_in_a_task_sleeps_in_the_engines_wait() {
    watchdog(60, "block-on", || {
        let e = engine(1);
        // `scope`'s closure runs on the worker. A future completed by a task of the
        // same one-worker engine: the waiting worker must run that task itself.
        let v = e.scope(|_| {
            assert!(Engine::current_worker_index().is_some());
            let h = Engine::current().unwrap().spawn(|| 21 * 2).unwrap();
            block_on(h).unwrap()
        });
        assert_eq!(v, 42);
        // A future completed from outside after a while: the worker sleeps (a
        // counted sleep and wake) instead of polling.
        let other = Engine::new(Config::with_workers(1)).unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let handle = other
            .spawn(move || {
                rx.recv().unwrap();
                7
            })
            .unwrap();
        let e = Arc::new(e);
        // Sleeps counted when the worker entered block_on (+1; 0 = not yet).
        let entered = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (watched, seen) = (Arc::clone(&e), Arc::clone(&entered));
        // Completes the future once the worker has gone to sleep inside block_on
        // (or after 10 s, when the assertion below fails): in the scope's closure
        // the worker can sleep nowhere else.
        let sender = std::thread::spawn(move || {
            for _ in 0..10_000 {
                let at_entry = seen.load(Ordering::SeqCst);
                if at_entry != 0 && watched.stats().sleeps + 1 > at_entry {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            tx.send(()).unwrap();
        });
        let (v, at_entry, at_exit) = e.scope(|_| {
            let at_entry = Engine::current().unwrap().stats().sleeps;
            entered.store(at_entry + 1, Ordering::SeqCst);
            let v = block_on(handle).unwrap();
            (v, at_entry, Engine::current().unwrap().stats().sleeps)
        });
        sender.join().unwrap();
        assert_eq!(v, 7);
        assert!(at_exit > at_entry, "the worker never slept in block_on ({at_entry} -> {at_exit})");
    });
}

#[test]
fn thousands_of_workers_start_and_stop_and_more_than_the_maximum_are_refused() {
    // Start-up used to be quadratic (4,096 workers: 48 s); now well under a second
    // here. The watchdog is generous: this is a hang check, not a timing test.
    watchdog(120, "many-workers", || {
        let e = Engine::new(engine_config! { workers: 4096, stack_size: 256 * 1024 }).unwrap();
        assert_eq!(e.workers(), 4096);
        let sum = e.parallel_reduce(0..100_000, 0, || 0u64, |r| r.map(|i| i as u64).sum(), |a, b| a + b).unwrap();
        assert_eq!(sum, (0..100_000u64).sum());
        drop(e);
        assert!(matches!(Engine::new(Config::with_workers(4097)), Err(EngineError::Invalid(_))));
    });
}
