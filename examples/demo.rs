//! `make demo`: real work, serial vs the engine, with the engine's own counters.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskengine::{kernels, Config, Engine, EngineStats, TaskGroup};

fn fib_serial(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

/// Below this, forking costs more than it gains: compute serially.
const FIB_CUTOFF: u64 = 20;

fn fib(e: &Engine, n: u64) -> u64 {
    if n <= FIB_CUTOFF {
        return fib_serial(n);
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
}

/// A small, real unit of work: a few rounds of a 64-bit mix.
#[inline(never)]
fn work(i: u64) -> u64 {
    let mut x = i ^ 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200 {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    }
    x >> 40
}

/// Best of three, so a stray hiccup of the machine does not decide the row.
fn time<R>(mut f: impl FnMut() -> R) -> (Duration, R) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.expect("ran at least once"))
}

struct Row {
    name: String,
    serial: Duration,
    engine: Duration,
    delta: EngineStats,
}

fn delta(after: &EngineStats, before: &EngineStats) -> EngineStats {
    EngineStats {
        executed: after.executed - before.executed,
        stolen: after.stolen - before.stolen,
        sleeps: after.sleeps - before.sleeps,
        ..after.clone()
    }
}

fn step<R: PartialEq + std::fmt::Debug>(
    e: &Engine,
    name: &str,
    serial: impl FnMut() -> R,
    parallel: impl FnMut() -> R,
) -> Row {
    print!("  running {name} ...\r");
    std::io::stdout().flush().ok();
    let (serial_t, want) = time(serial);
    let before = e.stats();
    let (engine_t, got) = time(parallel);
    assert_eq!(got, want, "{name}: engine and serial disagree");
    let delta = delta(&e.stats(), &before);
    print!("{:<100}\r", "");
    Row { name: name.to_string(), serial: serial_t, engine: engine_t, delta }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let engine = Engine::new(Config::default()).expect("engine");
    println!("taskengine demo: {} workers (best of 3 runs each; counters summed over the 3)\n", engine.workers());
    let mut rows = Vec::new();

    rows.push(step(
        &engine,
        "fork-join fib(38), a join per call above n = 20",
        || fib_serial(black_box(38)),
        || engine.scope(|_| fib(&engine, black_box(38))),
    ));

    const TASKS: u64 = 1_000_000;
    rows.push(step(
        &engine,
        "1,000,000 tasks (~1 us each) submitted from outside",
        || (0..TASKS).map(|i| black_box(work(black_box(i)))).fold(0u64, u64::wrapping_add),
        || {
            let total = Arc::new(AtomicU64::new(0));
            let group = TaskGroup::new(&engine).unwrap();
            for i in 0..TASKS {
                let total = Arc::clone(&total);
                group
                    .spawn(move || {
                        total.fetch_add(work(i), Ordering::Relaxed);
                    })
                    .unwrap();
            }
            group.wait().unwrap();
            total.load(Ordering::Relaxed)
        },
    ));

    let n = 50_000_000usize;
    let data: Vec<f64> = (0..n).map(|i| (i % 1000) as f64 * 0.001).collect();
    rows.push(step(
        &engine,
        "parallel_reduce: sum of sqrt over 5e7 doubles (deterministic)",
        || {
            let chunk = n.div_ceil(256);
            // The same fixed grouping the deterministic mode uses, so the bits match.
            fn tree(d: &[f64], lo: usize, hi: usize, leaf: usize) -> f64 {
                let leaves = (hi - lo).div_ceil(leaf);
                if leaves <= 1 {
                    return d[lo..hi].iter().map(|x| x.sqrt()).sum();
                }
                let mid = lo + (leaves / 2) * leaf;
                tree(d, lo, mid, leaf) + tree(d, mid, hi, leaf)
            }
            tree(&data, 0, n, chunk).to_bits()
        },
        || {
            engine
                .parallel_reduce_deterministic(
                    0..n,
                    0,
                    || 0.0,
                    |r| data[r].iter().map(|x| x.sqrt()).sum(),
                    |a, b| a + b,
                )
                .unwrap()
                .to_bits()
        },
    ));

    let ints: Vec<i64> = (0..100_000_000i64).map(|i| (i.wrapping_mul(0x9E37_79B9) % 1_000_003) - 500_000).collect();
    rows.push(step(
        &engine,
        "sum of 1e8 int64 (C kernel; the engine splits, C sums)",
        || kernels::sum_i64(&ints).unwrap(),
        || kernels::par_sum_i64(&engine, &ints).unwrap(),
    ));
    drop(ints);

    let unsorted: Vec<i64> =
        (0..10_000_000u64).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 7)) as i64).collect();
    rows.push(step(
        &engine,
        "sort of 1e7 random int64 (parallel radix sort)",
        || {
            let mut v = unsorted.clone();
            kernels::sort_i64(&mut v).unwrap();
            v
        },
        || {
            let mut v = unsorted.clone();
            kernels::par_sort_i64(&engine, &mut v).unwrap();
            v
        },
    ));

    println!(
        "{:<62} {:>10} {:>10} {:>8} {:>10} {:>8} {:>7}",
        "work", "serial", "engine", "speed-up", "executed", "stolen", "sleeps"
    );
    for r in &rows {
        println!(
            "{:<62} {:>10} {:>10} {:>7.2}x {:>10} {:>8} {:>7}",
            r.name,
            ms(r.serial),
            ms(r.engine),
            r.serial.as_secs_f64() / r.engine.as_secs_f64(),
            r.delta.executed,
            r.delta.stolen,
            r.delta.sleeps
        );
    }
}
