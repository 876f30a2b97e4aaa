mod common;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use taskengine::{Config, Engine, TaskGroup};

fn fib(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

#[test]
fn smoke_join() {
    watchdog(20, "smoke_join", || {
        let e = Engine::new(Config::with_workers(2)).unwrap();
        assert_eq!(fib(&e, 25), fib_serial(25));
    });
}

#[test]
fn smoke_group() {
    watchdog(20, "smoke_group", || {
        let e = Engine::new(Config::with_workers(2)).unwrap();
        let g = TaskGroup::new(&e).unwrap();
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..100_000 {
            let n = n.clone();
            g.spawn(move || {
                n.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
        }
        g.wait().unwrap();
        assert_eq!(n.load(Ordering::Relaxed), 100_000);
    });
}
