//! The Rust side of the C benchmark's fib(32): `Engine::join` with one task per
//! call, on an engine with one worker per CPU (TE_BENCH_THREADS workers when set,
//! as the patterns benchmark sets it), started from outside the pool as
//! benches/c/bench.c starts te_join. Prints the best of TE_BENCH_REPS runs
//! (default 5) in milliseconds; bench.c runs it right after its own fib runs.

use std::hint::black_box;
use std::time::Instant;

use taskengine::{Config, Engine};

fn fib(e: &Engine, n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

fn main() {
    let workers = std::env::var("TE_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let engine = Engine::new(Config { workers, ..Config::default() }).expect("engine");
    let n = std::env::var("TE_BENCH_FIB_N").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let reps = std::env::var("TE_BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let start = Instant::now();
        let r = fib(&engine, black_box(n));
        let ms = start.elapsed().as_secs_f64() * 1e3;
        // F(32) = 2178309 (OEIS A000045).
        assert!(n != 32 || r == 2_178_309, "fib(32) = {r}");
        best = best.min(ms);
    }
    println!("{best:.3}");
}
