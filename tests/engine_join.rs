//! Integration tests of the scheduler, fork-join: `join` from inside and outside the pool, panics re-raised, sleeping workers rejoining; each under a watchdog.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

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
