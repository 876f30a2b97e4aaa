//! After `fork()`, the child gets a working default engine, and an engine inherited
//! from the parent reports `Shutdown` instead of hanging on threads that do not exist.

mod common;

use std::time::{Duration, Instant};

use common::*;
use taskengine::{Config, Engine, EngineError, TaskGroup};

fn fib(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

/// Runs `child` in a forked process and returns its exit code (None = killed
/// after the timeout, i.e. it hung).
fn in_child(timeout: Duration, child: impl FnOnce() -> i32) -> Option<i32> {
    // SAFETY: fork has no memory-safety preconditions; the child only runs `child`
    // then `_exit`s without unwinding into the parent's frames.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        // SAFETY: terminating the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let deadline = Instant::now() + timeout;
    loop {
        let mut status = 0;
        // SAFETY: waiting on our own child pid with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return if libc::WIFEXITED(status) { Some(libc::WEXITSTATUS(status)) } else { Some(-1) };
        }
        if Instant::now() > deadline {
            // SAFETY: killing and reaping our own hung child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn fork_child_gets_a_working_default_engine_and_parent_engines_report_shutdown() {
    watchdog(60, "fork", || {
        // Warm both engines up in the parent so their threads exist before fork.
        let parent_default = Engine::global().unwrap();
        assert_eq!(fib(&parent_default, 15), fib_serial(15));
        let explicit = Engine::new(Config::with_workers(2)).unwrap();
        assert_eq!(fib(&explicit, 15), fib_serial(15));
        let group = TaskGroup::new(&explicit).unwrap();

        let code = in_child(Duration::from_secs(20), || {
            // The inherited explicit engine: an error, never a hang.
            if !matches!(explicit.try_join(|| 1, || 2), Err(EngineError::Shutdown)) {
                return 2;
            }
            if !matches!(group.spawn(|| {}), Err(EngineError::Shutdown)) {
                return 3;
            }
            if !matches!(explicit.spawn(|| 1), Err(EngineError::Shutdown)) {
                return 4;
            }
            // The inherited handle to the default engine is the parent's: shut down.
            if parent_default.is_alive() {
                return 5;
            }
            // The default engine is rebuilt in the child and works.
            let fresh = match Engine::global() {
                Ok(e) => e,
                Err(_) => return 6,
            };
            if fib(&fresh, 18) != fib_serial(18) {
                return 7;
            }
            let g = TaskGroup::new(&fresh).unwrap();
            for _ in 0..1000 {
                g.spawn(|| {}).unwrap();
            }
            if g.wait().is_err() {
                return 8;
            }
            // Dropping the inherited engine must not try to join missing threads.
            drop(explicit);
            0
        });
        assert_eq!(code, Some(0), "child failed (None = hung)");
        // The parent's engines are unaffected.
        assert_eq!(fib(&parent_default, 16), fib_serial(16));
    });
}
