//! Groups made and dropped inside tasks are recycled by the worker: a reused
//! group must start as a fresh one, whatever the last one went through
//! (cancellation, failure, panic, isolated or timed waits). Under a watchdog.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use taskengine::{Config, Engine, EngineError, TaskGroup};

/// What happened to one group, as the test expects it.
#[derive(Clone, Copy, Debug)]
enum Fate {
    Clean,
    Cancelled,
    Failed,
    Panicked,
    Isolated,
    Timed,
}

// A timed wait inside the pool runs no tasks itself (it must return on time), so
// with every worker waiting it could only time out: it gets a group of its own
// tasks already finished (see `one_group`).
const FATES: [Fate; 6] = [Fate::Clean, Fate::Cancelled, Fate::Failed, Fate::Panicked, Fate::Isolated, Fate::Timed];

/// Runs one group through `fate` on the current engine and checks everything it
/// reports against what was done to it.
fn one_group(fate: Fate, tasks: usize) {
    let engine = Engine::current().unwrap();
    let g = TaskGroup::new(&engine).unwrap();
    // A fresh group: nothing pending, nothing skipped, no failure, not cancelled.
    assert_eq!((g.pending(), g.skipped(), g.is_cancelled()), (0, 0, false), "{fate:?}: stale state");
    assert!(g.failure().is_none(), "{fate:?}: a stale failure");
    let ran = Arc::new(AtomicUsize::new(0));
    if let Fate::Cancelled = fate {
        g.cancel();
        assert!(matches!(g.spawn(|| {}), Err(EngineError::Cancelled)));
        assert_eq!(g.wait(), Err(EngineError::Cancelled));
        return;
    }
    for i in 0..tasks {
        let ran = Arc::clone(&ran);
        match fate {
            Fate::Failed if i == tasks / 2 => {
                g.spawn_fallible(move || {
                    ran.fetch_add(1, Ordering::Relaxed);
                    Err(EngineError::TaskFailed { code: 7, message: "seven".into() })
                })
                .unwrap();
            }
            Fate::Panicked if i == tasks / 2 => {
                g.spawn(move || {
                    ran.fetch_add(1, Ordering::Relaxed);
                    panic!("task {i}");
                })
                .unwrap();
            }
            _ => g
                .spawn(move || {
                    ran.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap(),
        }
    }
    let result = match fate {
        Fate::Isolated => g.wait_isolated(),
        Fate::Timed => {
            // Run the tasks first (a plain wait), then the timed wait on a done group.
            let first = g.wait();
            assert_eq!(g.wait_timeout(Duration::from_secs(60)), first);
            first
        }
        _ => g.wait(),
    };
    assert_eq!(ran.load(Ordering::Relaxed), tasks, "{fate:?}");
    match fate {
        Fate::Failed => assert!(matches!(result, Err(EngineError::TaskFailed { code: 7, .. })), "{result:?}"),
        Fate::Panicked => assert!(matches!(result, Err(EngineError::Panic(_))), "{result:?}"),
        _ => assert_eq!(result, Ok(()), "{fate:?}"),
    }
    assert_eq!(g.pending(), 0);
}

#[test]
fn recycled_groups_start_fresh_after_any_fate() {
    watchdog(120, "group-reuse", || {
        for workers in [1, 2, 3] {
            let e = Engine::new(Config::with_workers(workers)).unwrap();
            let outer = TaskGroup::new(&e).unwrap();
            for t in 0..8usize {
                outer
                    .spawn(move || {
                        for round in 0..300usize {
                            let fate = FATES[(round * 7 + t) % FATES.len()];
                            one_group(fate, 1 + (round + t) % 5);
                        }
                    })
                    .unwrap();
            }
            outer.wait().unwrap();
        }
    });
}

/// A group per node of a recursion, as C and C++ callers write fork-join:
/// correct counts with records recycled at every level.
fn fib_groups(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let engine = Engine::current().unwrap();
    let g = TaskGroup::new(&engine).unwrap();
    let left = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&left);
    g.spawn(move || l.store(fib_groups(n - 1) as usize, Ordering::Relaxed)).unwrap();
    let right = fib_groups(n - 2);
    g.wait().unwrap();
    left.load(Ordering::Relaxed) as u64 + right
}

#[test]
fn a_group_per_node_recursion_is_exact() {
    watchdog(120, "group-fib", || {
        for workers in [1, 2, 4] {
            let e = Engine::new(Config::with_workers(workers)).unwrap();
            let got = e.scope(|_| fib_groups(20));
            assert_eq!(got, fib_serial(20), "{workers} workers");
        }
    });
}
