//! Shared test helpers.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use taskengine::{Config, Engine};

/// An engine of its own with `workers` threads.
pub fn engine(workers: usize) -> Engine {
    Engine::new(Config::with_workers(workers)).unwrap()
}

/// Fibonacci by fork-join on `e`, for a workload of many tiny joins.
pub fn fib(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

/// Runs `f` on its own thread and aborts the whole test process if it has not
/// finished within `secs`: a deadlock fails fast instead of hanging CI.
pub fn watchdog<F, R>(secs: u64, name: &str, f: F) -> R
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("test-{name}"))
        .spawn(move || {
            let r = f();
            let _ = tx.send(());
            r
        })
        .unwrap();
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => handle.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            eprintln!("watchdog: test `{name}` did not finish within {secs} s (deadlock?)");
            std::process::abort();
        }
    }
}

/// Threads of this process right now.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
}

pub fn fib_serial(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

/// Threads of this process whose name starts with `prefix` (names as the kernel
/// keeps them: at most 15 bytes).
pub fn threads_named(prefix: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0 };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

/// `threads_named(prefix)` once threads already joined have left the kernel's
/// list: a join returns when the thread has finished, a moment before its
/// `/proc` entry goes. Polls for up to a second (far less than any thread of
/// ours lingers when nobody joined it).
pub fn threads_named_after_join(prefix: &str) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let n = threads_named(prefix);
        if n == 0 || std::time::Instant::now() >= deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// SplitMix64: a small deterministic generator for stress and shuffle tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// For binaries whose global allocator is under test: prints panic messages
/// straight to stderr without a backtrace (symbolising one needs far more memory
/// than a test heap has, which would turn a failed assertion into an unreadable
/// allocation failure).
pub fn plain_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let msg = format!("{info}\n");
            // SAFETY: writes an initialised buffer of the given length to stderr.
            unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        }))
    });
}

/// Aborts the process if the test has not finished in `secs`. Allocates nothing
/// once started: a hang inside the global allocator would block an allocating one.
pub fn abort_after(secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        let msg = b"watchdog: the global-allocator test did not finish in time\n";
        // SAFETY: writes a static buffer of the given length to stderr.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        std::process::abort();
    });
}
