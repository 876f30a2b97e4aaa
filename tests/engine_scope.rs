//! Integration tests of the scheduler, scopes: borrowing from the stack, nested spawns, panics; each under a watchdog.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;

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
