//! The worker that makes a group spawns its first tasks straight onto its own
//! deque. Those tasks must keep every guarantee queued ones have: counted
//! exactly once whoever runs them (the owner's wait, a thief, a waiter on
//! another thread), skipped by cancellation, run after the group is dropped
//! unwaited, and mixed with the queue once the owner has spawned many. Under a
//! watchdog: a task stranded on a busy worker's deque would hang.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use common::*;
use taskengine::{Config, Engine, EngineError, TaskGroup};

fn spin_until(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
}

#[test]
fn many_spawns_from_the_owner_and_its_tasks_are_each_run_once() {
    watchdog(120, "group-slots-many", || {
        for workers in [1, 2, 3] {
            let e = Engine::new(Config::with_workers(workers)).unwrap();
            let total: usize = e.scope(|_| {
                let engine = Engine::current().unwrap();
                let g = Arc::new(TaskGroup::new(&engine).unwrap());
                let hits: Arc<Vec<AtomicUsize>> = Arc::new((0..300).map(|_| AtomicUsize::new(0)).collect());
                // Three waves from the owner, a wait after each: the first tasks
                // take the group's slots, the rest go through its queue.
                for wave in 0..3 {
                    for i in 0..100 {
                        let hits = Arc::clone(&hits);
                        g.spawn(move || {
                            hits[wave * 100 + i].fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                    }
                    g.wait().unwrap();
                    assert_eq!(g.pending(), 0);
                }
                let wrong: Vec<(usize, usize)> =
                    hits.iter().map(|h| h.load(Ordering::Relaxed)).enumerate().filter(|&(_, n)| n != 1).collect();
                assert!(wrong.is_empty(), "{workers} workers: (task, runs) not run once: {wrong:?}");
                hits.len()
            });
            assert_eq!(total, 300);
        }
    });
}

#[test]
fn cancellation_skips_the_owners_unstarted_tasks() {
    watchdog(120, "group-slots-cancel", || {
        // One worker: nothing runs the tasks before the cancel.
        let e = Engine::new(Config::with_workers(1)).unwrap();
        let (ran, skipped, result) = e.scope(|_| {
            let engine = Engine::current().unwrap();
            let g = TaskGroup::new(&engine).unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..10 {
                let ran = Arc::clone(&ran);
                g.spawn(move || {
                    ran.fetch_add(1, Ordering::Relaxed);
                })
                .unwrap();
            }
            g.cancel();
            assert_eq!(g.skipped(), 10, "cancel skips what has not started at once");
            let result = g.wait();
            (ran.load(Ordering::Relaxed), g.skipped(), result)
        });
        assert_eq!((ran, skipped, result), (0, 10, Err(EngineError::Cancelled)));

        // Two workers, a task cancelling its siblings: each runs or is skipped.
        let e = Engine::new(Config::with_workers(2)).unwrap();
        for round in 0..200 {
            let (ran, skipped, spawned) = e.scope(|_| {
                let engine = Engine::current().unwrap();
                let g = Arc::new(TaskGroup::new(&engine).unwrap());
                let ran = Arc::new(AtomicUsize::new(0));
                let mut spawned = 0;
                for i in 0..12 {
                    let ran = Arc::clone(&ran);
                    let group = Arc::clone(&g);
                    // The other worker may already have run the cancelling task:
                    // a cancelled group refuses new tasks.
                    match g.spawn(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                        if i == round % 12 {
                            group.cancel();
                        }
                    }) {
                        Ok(()) => spawned += 1,
                        Err(EngineError::Cancelled) => assert!(g.is_cancelled()),
                        Err(other) => panic!("spawn: {other:?}"),
                    }
                }
                let result = g.wait();
                assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
                (ran.load(Ordering::Relaxed), g.skipped(), spawned)
            });
            assert!(spawned > round % 12, "round {round}: the cancelling task was spawned");
            assert_eq!(ran + skipped, spawned, "round {round}: ran {ran}, skipped {skipped} of {spawned}");
        }
    });
}

/// The owner is busy (spinning on a flag, outside any wait) with its group's
/// task still on its deque; the task must be run by another worker's wait.
fn waiter_elsewhere_runs_the_owners_task(isolated: bool) {
    let e = Engine::new(Config::with_workers(2)).unwrap();
    let outer = TaskGroup::new(&e).unwrap();
    let (send, recv) = mpsc::channel::<Arc<TaskGroup>>();
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    outer
        .spawn(move || {
            let engine = Engine::current().unwrap();
            let g = Arc::new(TaskGroup::new(&engine).unwrap());
            let done = Arc::clone(&f);
            g.spawn(move || done.store(true, Ordering::Release)).unwrap();
            send.send(Arc::clone(&g)).unwrap();
            spin_until(&f);
            g.wait().unwrap();
        })
        .unwrap();
    let g = recv.recv().unwrap();
    // This task can only run on the other worker: the owner spins.
    outer
        .spawn(move || {
            if isolated {
                g.wait_isolated().unwrap();
            } else {
                g.wait().unwrap();
            }
        })
        .unwrap();
    outer.wait().unwrap();
    assert!(flag.load(Ordering::Acquire));
}

#[test]
fn an_isolated_waiter_on_another_worker_runs_the_owners_task() {
    watchdog(120, "group-slots-isolated-elsewhere", || {
        for _ in 0..50 {
            waiter_elsewhere_runs_the_owners_task(true);
        }
    });
}

#[test]
fn a_waiter_on_another_worker_runs_the_owners_task() {
    watchdog(120, "group-slots-waiter-elsewhere", || {
        for _ in 0..50 {
            waiter_elsewhere_runs_the_owners_task(false);
        }
    });
}

#[test]
fn an_outside_waiter_sees_the_owners_task_stolen_and_finished() {
    watchdog(120, "group-slots-outside-waiter", || {
        for _ in 0..50 {
            let e = Engine::new(Config::with_workers(2)).unwrap();
            let outer = TaskGroup::new(&e).unwrap();
            let (send, recv) = mpsc::channel::<Arc<TaskGroup>>();
            let flag = Arc::new(AtomicBool::new(false));
            let f = Arc::clone(&flag);
            outer
                .spawn(move || {
                    let engine = Engine::current().unwrap();
                    let g = Arc::new(TaskGroup::new(&engine).unwrap());
                    let done = Arc::clone(&f);
                    g.spawn(move || done.store(true, Ordering::Release)).unwrap();
                    send.send(g).unwrap();
                    // Only an idle worker stealing from our deque can set it.
                    spin_until(&f);
                })
                .unwrap();
            let g = recv.recv().unwrap();
            g.wait().unwrap();
            assert!(flag.load(Ordering::Acquire));
            outer.wait().unwrap();
        }
    });
}

#[test]
fn groups_dropped_unwaited_still_run_their_tasks_once() {
    watchdog(120, "group-slots-dropped", || {
        for workers in [1, 2, 4] {
            let e = Engine::new(Config::with_workers(workers)).unwrap();
            let ran = Arc::new(AtomicUsize::new(0));
            let rounds = 2000;
            let per_group = 5;
            let r = Arc::clone(&ran);
            e.scope(move |_| {
                let engine = Engine::current().unwrap();
                for round in 0..rounds {
                    let g = TaskGroup::new(&engine).unwrap();
                    for _ in 0..per_group {
                        let r = Arc::clone(&r);
                        g.spawn(move || {
                            r.fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                    }
                    if round % 3 == 0 {
                        // Some of them run before the drop, the rest after.
                        let first = TaskGroup::new(&engine).unwrap();
                        first.spawn(|| {}).unwrap();
                        first.wait().unwrap();
                    }
                    drop(g);
                }
            });
            // The dropped groups' tasks run on (or are stolen from) the deques.
            while ran.load(Ordering::Relaxed) < rounds * per_group {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(ran.load(Ordering::Relaxed), rounds * per_group);
            drop(e);
            assert_eq!(ran.load(Ordering::Relaxed), rounds * per_group, "a task ran twice");
        }
    });
}
