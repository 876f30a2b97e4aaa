//! Alone in its own test binary: it measures the whole process's CPU time, which
//! tests running beside it would pollute.

mod common;

use std::time::Duration;

use common::*;
use taskengine::{Config, Engine};

fn fib(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

fn engine(workers: usize) -> Engine {
    Engine::new(Config::with_workers(workers)).unwrap()
}

#[test]
fn idle_engine_burns_no_cpu() {
    watchdog(30, "idle_cpu", || {
        let e = engine(2);
        // Wake it up, then let it settle into sleep.
        assert_eq!(fib(&e, 15), fib_serial(15));
        std::thread::sleep(Duration::from_millis(100));
        let cpu = || {
            // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is valid.
            let mut u: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
            let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
            t(u.ru_utime) + t(u.ru_stime)
        };
        let before = cpu();
        std::thread::sleep(Duration::from_secs(1));
        let used = cpu() - before;
        assert!(used < Duration::from_millis(20), "idle engine used {used:?} of CPU in a second");
        assert!(e.stats().sleeps > 0);
    });
}
