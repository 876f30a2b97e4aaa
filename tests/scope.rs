//! Scopes: the owner's small closures live in the scope itself, counted apart
//! from other threads' spawns until the scope's closure returns. Every closure
//! must run (and be dropped) exactly once whichever path it took: a slot, a box
//! (too big, or past the slots), a spawn from another worker, or a spawn by a
//! job the owner runs after the closure has returned. Under a watchdog.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use taskengine::{Config, Engine};

/// Counts its drops, so a closure run twice (or never) shows.
struct Token(Arc<AtomicUsize>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn every_spawn_runs_and_drops_once_whatever_its_path() {
    watchdog(120, "scope-paths", || {
        for workers in [1, 2, 3] {
            let e = Engine::new(Config::with_workers(workers)).unwrap();
            for round in 0..200usize {
                let hits: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(0)).collect();
                let drops = Arc::new(AtomicUsize::new(0));
                e.scope(|s| {
                    for i in 0..(round % 24) {
                        let hits = &hits;
                        let token = Token(Arc::clone(&drops));
                        if i % 5 == 4 {
                            // Too big for a slot: boxed.
                            let big = [i; 16];
                            s.spawn(move |_| {
                                let _token = token;
                                hits[big[15]].fetch_add(1, Ordering::Relaxed);
                            });
                        } else {
                            s.spawn(move |s| {
                                let _token = token;
                                hits[i].fetch_add(1, Ordering::Relaxed);
                                // A nested spawn: from the owner after the scope's
                                // closure returned, or from another worker.
                                if i % 3 == 0 {
                                    s.spawn(move |_| {
                                        hits[32 + i].fetch_add(1, Ordering::Relaxed);
                                    });
                                }
                            });
                        }
                    }
                });
                let n = round % 24;
                for i in 0..n {
                    assert_eq!(hits[i].load(Ordering::Relaxed), 1, "round {round}: task {i}");
                    let nested = usize::from(i % 5 != 4 && i % 3 == 0);
                    assert_eq!(hits[32 + i].load(Ordering::Relaxed), nested, "round {round}: nested {i}");
                }
                assert_eq!(drops.load(Ordering::Relaxed), n, "round {round}: drops");
            }
        }
    });
}

#[test]
fn a_panic_in_a_slot_job_is_raised_once_all_have_run() {
    watchdog(120, "scope-panic", || {
        plain_panics();
        let e = Engine::new(Config::with_workers(2)).unwrap();
        let ran = AtomicUsize::new(0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.scope(|s| {
                for i in 0..12 {
                    let ran = &ran;
                    s.spawn(move |_| {
                        ran.fetch_add(1, Ordering::Relaxed);
                        if i == 3 {
                            panic!("slot job {i}");
                        }
                    });
                }
            })
        }));
        assert!(result.is_err(), "the panic was lost");
        assert_eq!(ran.load(Ordering::Relaxed), 12, "the scope returned before its jobs had run");
    });
}

#[test]
fn a_scope_per_node_recursion_is_exact() {
    fn fib(n: u64, out: &AtomicUsize) {
        if n < 2 {
            out.fetch_add(n as usize, Ordering::Relaxed);
            return;
        }
        let engine = Engine::current().unwrap();
        engine.scope(|inner| {
            inner.spawn(move |_| fib(n - 1, out));
            fib(n - 2, out);
        });
    }
    watchdog(120, "scope-fib", || {
        for workers in [1, 2, 4] {
            let e = Engine::new(Config::with_workers(workers)).unwrap();
            let out = AtomicUsize::new(0);
            e.scope(|_| fib(20, &out));
            assert_eq!(out.load(Ordering::Relaxed) as u64, fib_serial(20), "{workers} workers");
        }
    });
}
