//! Integration tests of the scheduler, engine lifetimes: many engines created and freed, use after shutdown, the default engine; each under a watchdog.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use taskengine::{engine_config, Config, Engine, EngineError, TaskGroup};

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
        assert_eq!(threads_named_after_join(prefix), 0, "threads left behind");
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
