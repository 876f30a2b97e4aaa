//! `make demo`: real work, serial vs the engine, with the engine's own counters.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskengine::{Config, Engine, EngineStats, TaskGroup};

fn fib_serial(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib_serial(n - 1) + fib_serial(n - 2)
    }
}

fn fib(e: &Engine, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    a + b
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
    print!("{:<60}\r", "");
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
        "fork-join fib(32), one task per call",
        || fib_serial(black_box(32)),
        || engine.scope(|_| fib(&engine, black_box(32))),
    ));

    const TASKS: u64 = 1_000_000;
    let work = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 60;
    rows.push(step(
        &engine,
        "1,000,000 tasks submitted from outside",
        || (0..TASKS).map(|i| black_box(work(i))).sum::<u64>(),
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
