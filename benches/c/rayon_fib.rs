//! The Rayon side of the patterns benchmark's fib(32): `rayon::join` in every
//! call, on a pool of TE_BENCH_THREADS threads (default 2), entered from the
//! main thread with `install` as the C versions enter their engine. Prints the
//! median of TE_BENCH_REPS runs (default 5) in milliseconds and the run count.

use std::hint::black_box;
use std::time::Instant;

fn fib(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = rayon::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn env_or(name: &str, fallback: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(fallback)
}

fn main() {
    let threads = env_or("TE_BENCH_THREADS", 2);
    let reps = env_or("TE_BENCH_REPS", 5).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("rayon pool");
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        let r = pool.install(|| fib(black_box(32)));
        times.push(start.elapsed().as_secs_f64() * 1e3);
        // F(32) = 2178309 (OEIS A000045).
        assert_eq!(r, 2_178_309, "fib(32)");
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let n = times.len();
    let median = if n % 2 == 1 { times[n / 2] } else { (times[n / 2 - 1] + times[n / 2]) / 2.0 };
    println!("{median:.3} {n}");
}
