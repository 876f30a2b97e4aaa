//! Teams: members run at the same time on distinct threads, so a barrier among
//! all of them passes; from outside, inside tasks, with every worker busy, nested;
//! failures; many teams in a loop. Everything runs under a watchdog: a member
//! queued behind other work would deadlock here.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::ThreadId;

use common::*;
use taskengine::{Config, Engine, EngineError, TaskGroup, MAX_TEAM_MEMBERS};

fn engine(workers: usize) -> Engine {
    Engine::new(Config::with_workers(workers)).unwrap()
}

/// Runs a team of `n` whose members all meet at a barrier (which only passes
/// when all `n` run at once) and checks each member ran once on its own thread.
fn barrier_team(e: &Engine, n: usize) {
    let barrier = Barrier::new(n);
    let seen = Mutex::new(Vec::new());
    let caller = std::thread::current().id();
    e.team(n, |member, members| {
        assert_eq!(members, n);
        barrier.wait();
        seen.lock().unwrap().push((member, std::thread::current().id()));
        Ok(())
    })
    .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort_by_key(|&(m, _)| m);
    assert_eq!(seen.iter().map(|&(m, _)| m).collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
    assert_eq!(seen[0].1, caller, "member 0 runs on the caller");
    let threads: HashSet<ThreadId> = seen.iter().map(|&(_, t)| t).collect();
    assert_eq!(threads.len(), n, "members on distinct threads");
}

/// Members that wait on each other by spinning on a shared counter (as OpenBLAS's
/// threads do, yielding between looks), rather than blocking.
fn spinning_team(e: &Engine, n: usize) {
    let arrived = AtomicUsize::new(0);
    e.team(n, |_, members| {
        arrived.fetch_add(1, Ordering::SeqCst);
        while arrived.load(Ordering::SeqCst) < members {
            std::thread::yield_now();
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn smoke_barrier_from_outside() {
    watchdog(60, "team_smoke", || {
        let e = engine(2);
        for n in 1..=8 {
            barrier_team(&e, n);
            spinning_team(&e, n);
        }
        // More members than workers or cores.
        barrier_team(&e, 33);
    });
}

#[test]
fn barrier_from_inside_tasks() {
    watchdog(60, "team_inside", || {
        let e = engine(2);
        e.scope(|s| {
            for _ in 0..4 {
                s.spawn(|_| {
                    barrier_team(&e, 4);
                    spinning_team(&e, 3);
                });
            }
        });
        // From a join half and a group task, with the NULL-engine style handle.
        e.join(|| barrier_team(&Engine::current().unwrap(), 3), || spinning_team(&Engine::current().unwrap(), 3));
    });
}

#[test]
fn every_worker_blocked_on_the_teams_outcome() {
    watchdog(60, "team_workers_blocked", || {
        for workers in [1, 2, 4] {
            let e = engine(workers);
            let done = Arc::new(AtomicBool::new(false));
            let started = Arc::new(Barrier::new(workers + 1));
            let group = TaskGroup::new(&e).unwrap();
            for _ in 0..workers {
                let (done, started) = (Arc::clone(&done), Arc::clone(&started));
                // Each worker blocks until the team below has finished.
                group
                    .spawn(move || {
                        started.wait();
                        while !done.load(Ordering::SeqCst) {
                            std::thread::yield_now();
                        }
                    })
                    .unwrap();
            }
            started.wait();
            barrier_team(&e, workers + 2);
            spinning_team(&e, workers + 2);
            done.store(true, Ordering::SeqCst);
            group.wait().unwrap();
        }
    });
}

#[test]
fn every_worker_running_a_team_at_once() {
    watchdog(60, "team_all_workers", || {
        let e = engine(3);
        // Every worker is inside a team whose members spin: none of them can help
        // with anything, so each team must get threads of its own.
        let all_in = Barrier::new(3);
        e.scope(|s| {
            for _ in 0..3 {
                s.spawn(|_| {
                    all_in.wait();
                    for _ in 0..20 {
                        spinning_team(&Engine::current().unwrap(), 4);
                    }
                });
            }
        });
    });
}

#[test]
fn nested_teams() {
    watchdog(60, "team_nested", || {
        let e = engine(2);
        let inner_runs = AtomicUsize::new(0);
        let outer = Barrier::new(3);
        e.team(3, |_, _| {
            // Each member runs a team of its own, then meets the others.
            barrier_team(&Engine::current().unwrap(), 3);
            inner_runs.fetch_add(1, Ordering::SeqCst);
            outer.wait();
            Ok(())
        })
        .unwrap();
        assert_eq!(inner_runs.load(Ordering::SeqCst), 3);
        // Three levels, from inside a task.
        e.scope(|s| {
            s.spawn(|_| {
                let here = Engine::current().unwrap();
                here.team(2, |_, _| {
                    Engine::current().unwrap().team(2, |_, _| {
                        spinning_team(&Engine::current().unwrap(), 2);
                        Ok(())
                    })
                })
                .unwrap();
            });
        });
    });
}

#[test]
fn failures_are_reported_after_every_member_ran() {
    watchdog(60, "team_failures", || {
        let e = engine(2);
        let called = AtomicUsize::new(0);
        let barrier = Barrier::new(4);
        let err = e
            .team(4, |member, _| {
                called.fetch_add(1, Ordering::SeqCst);
                barrier.wait();
                if member == 2 {
                    Err(EngineError::TaskFailed { code: 7, message: "member 2".into() })
                } else {
                    Ok(())
                }
            })
            .unwrap_err();
        assert_eq!(err, EngineError::TaskFailed { code: 7, message: "member 2".into() });
        assert_eq!(called.load(Ordering::SeqCst), 4);

        // A panic is re-raised on the caller once all members returned; the team
        // threads survive it.
        let called = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.team(3, |member, _| {
                called.fetch_add(1, Ordering::SeqCst);
                if member == 1 {
                    panic!("member one panicked");
                }
                Ok(())
            })
        }))
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"member one panicked"));
        assert_eq!(called.load(Ordering::SeqCst), 3);
        barrier_team(&e, 3);
    });
}

#[test]
fn many_teams_in_a_loop_reuse_their_threads() {
    watchdog(120, "team_loop", || {
        let e = engine(2);
        let calls = AtomicUsize::new(0);
        for _ in 0..10_000 {
            e.team(2, |_, _| {
                calls.fetch_add(1, Ordering::Relaxed);
                Ok(())
            })
            .unwrap();
        }
        for _ in 0..10_000 {
            spinning_team(&e, 4);
        }
        assert_eq!(calls.load(Ordering::Relaxed), 20_000);
        let stats = e.team_stats();
        assert_eq!(stats.runs, 20_000);
        // A member goes back to the cache before its caller hears it finished, so
        // one loop needs only as many threads as one team.
        assert_eq!(stats.threads_started, 3, "{stats:?}");
        assert_eq!(stats.threads_alive, 3);
        assert_eq!(stats.threads_parked, 3);
        // And from inside a task.
        e.scope(|s| {
            s.spawn(|_| {
                let here = Engine::current().unwrap();
                for _ in 0..10_000 {
                    here.team(2, |_, _| Ok(())).unwrap();
                }
            });
        });
    });
}

#[test]
fn invalid_sizes_and_shutdown() {
    watchdog(60, "team_invalid", || {
        let e = engine(1);
        let never = |_: usize, _: usize| -> taskengine::Result<()> { panic!("must not run") };
        assert!(matches!(e.team(0, never), Err(EngineError::Invalid(_))));
        assert!(matches!(e.team(MAX_TEAM_MEMBERS + 1, never), Err(EngineError::Invalid(_))));
        assert_eq!(e.team_stats().threads_started, 0);
        // A team of one runs on the caller only.
        let caller = std::thread::current().id();
        e.team(1, |m, n| {
            assert_eq!((m, n, std::thread::current().id()), (0, 1, caller));
            Ok(())
        })
        .unwrap();
        assert_eq!(e.team_stats().threads_started, 0);
        // A handle kept past shutdown gets Shutdown.
        let handle = e.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
        e.shutdown();
        assert_eq!(handle.team(2, never), Err(EngineError::Shutdown));
        assert_eq!(handle.team(1, never), Err(EngineError::Shutdown));
    });
}

#[test]
fn members_current_engine_is_the_teams() {
    watchdog(60, "team_current", || {
        let e = Engine::new(Config { workers: 3, thread_name_prefix: "tmcur".into(), ..Config::default() }).unwrap();
        let sums = Mutex::new(Vec::new());
        e.team(3, |member, _| {
            let here = Engine::current().unwrap();
            assert_eq!(here.workers(), 3, "member {member}");
            // A member cannot wait for its engine's shutdown (its caller waits for it).
            assert!(e.is_own_worker(), "member {member}");
            // A member may spawn into a group on it and wait: the workers are free.
            let group = TaskGroup::new(&here).unwrap();
            let total = Arc::new(AtomicUsize::new(0));
            for i in 0..100 {
                let total = Arc::clone(&total);
                group
                    .spawn(move || {
                        total.fetch_add(i, Ordering::SeqCst);
                    })
                    .unwrap();
            }
            group.wait().unwrap();
            let (a, b) = here.join(|| member, || member + 1);
            sums.lock().unwrap().push(total.load(Ordering::SeqCst) + a + b);
            Ok(())
        })
        .unwrap();
        let mut sums = sums.into_inner().unwrap();
        sums.sort();
        assert_eq!(sums, vec![4950 + 1, 4950 + 3, 4950 + 5]);
    });
}

#[test]
fn team_threads_are_named_and_joined_at_shutdown() {
    watchdog(60, "team_joined", || {
        let e = Engine::new(Config { workers: 1, thread_name_prefix: "tmjoin".into(), ..Config::default() }).unwrap();
        let names = Mutex::new(Vec::new());
        e.team(4, |_, _| {
            names.lock().unwrap().push(std::thread::current().name().map(str::to_owned));
            Ok(())
        })
        .unwrap();
        let names = names.into_inner().unwrap();
        assert_eq!(names.iter().filter(|n| n.as_deref() == Some("tmjoin-team")).count(), 3);
        assert_eq!(threads_named("tmjoin-team"), 3);
        drop(e);
        assert_eq!(threads_named_after_join("tmjoin-team"), 0, "team threads joined by the engine's drop");
    });
}

#[test]
fn cache_is_bounded_and_idle_threads_exit() {
    watchdog(120, "team_reap", || {
        // One worker: the cache keeps at most 8 parked threads.
        let e = Engine::new(Config { workers: 1, thread_name_prefix: "tmreap".into(), ..Config::default() }).unwrap();
        barrier_team(&e, 20);
        let stats = e.team_stats();
        assert_eq!(stats.threads_started, 19);
        assert_eq!((stats.threads_alive, stats.threads_parked), (8, 8), "{stats:?}");
        // Idle threads leave after TEAM_IDLE_REAP; wait for it (the watchdog
        // bounds the wait, nothing here depends on how long it takes).
        std::thread::sleep(taskengine::TEAM_IDLE_REAP);
        while e.team_stats().threads_alive > 0 || threads_named("tmreap-team") > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(e.team_stats().threads_parked, 0);
        // The next team starts threads again.
        barrier_team(&e, 3);
        assert_eq!(e.team_stats().threads_started, 21);
    });
}
