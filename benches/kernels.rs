//! Kernel benchmarks, each beside its baselines, in one run:
//! - sum of 1e8 i64 (GB/s): the parallel kernel, the serial kernel, a plain
//!   single-thread loop, and a 2-thread memory-read-bandwidth probe;
//! - sort of 1e7 random i64: the parallel radix sort, the serial one,
//!   `slice::sort_unstable` and Rayon's `par_sort_unstable`; and the parallel
//!   sort's first call on an engine (its scratch memory mapped fresh, as every
//!   call did before the engine kept it) beside a repeated one;
//! - sort of 1e7 random f32 and i32 against the same baselines.
//!
//! The parallel kernels also run on a one-worker engine (`...@1w`), for the
//! scaling table `make bench` prints.
//!
//! After criterion's own report a summary prints the ratios the project
//! tracks, read back from criterion's estimates of this run.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput};
use rayon::slice::ParallelSliceMut;
use taskengine::kernels;
use taskengine::{Config, Engine};

const SUM_LEN: usize = 100_000_000;
const SORT_LEN: usize = 10_000_000;

/// SplitMix64: a reproducible stream of random 64-bit values.
fn random_i64(len: usize, mut seed: u64) -> Vec<i64> {
    (0..len)
        .map(|_| {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as i64
        })
        .collect()
}

/// Reads every element once, as fast as the core can (the compiler vectorises
/// the wrapping sum), to measure memory read bandwidth.
fn read_probe(data: &[i64]) -> i64 {
    data.iter().fold(0i64, |a, &x| a.wrapping_add(x))
}

fn bench_sum(c: &mut Criterion, engine: &Engine, one: &Engine) {
    // Small values so the exact sum fits: every variant does the full work.
    let data: Vec<i64> = random_i64(SUM_LEN, 1).into_iter().map(|x| x >> 20).collect();
    let want: i128 = data.iter().map(|&x| i128::from(x)).sum();
    assert_eq!(kernels::par_sum_i64(engine, &data).map(i128::from), Ok(want));

    let mut g = c.benchmark_group("sum_i64_1e8");
    g.throughput(Throughput::Bytes((SUM_LEN * 8) as u64));
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    // Two persistent threads (Rayon's pool, already warm) each reading half:
    // the bandwidth two cores can draw, whatever the scheduler does.
    g.bench_function("read_bandwidth_2_threads", |b| {
        b.iter(|| {
            let (lo, hi) = data.split_at(data.len() / 2);
            let (a, h) = rayon::join(|| read_probe(black_box(lo)), || read_probe(black_box(hi)));
            black_box(a.wrapping_add(h))
        })
    });
    g.bench_function("plain_loop_1_thread", |b| b.iter(|| read_probe(black_box(&data))));
    g.bench_function("kernel_serial", |b| b.iter(|| kernels::sum_i64(black_box(&data)).expect("fits")));
    g.bench_function("kernel_parallel", |b| b.iter(|| kernels::par_sum_i64(engine, black_box(&data)).expect("fits")));
    g.bench_function("kernel_parallel@1w", |b| b.iter(|| kernels::par_sum_i64(one, black_box(&data)).expect("fits")));
    g.finish();
}

fn bench_sort(c: &mut Criterion, engine: &Engine, one: &Engine) {
    let data = random_i64(SORT_LEN, 2);
    let mut check = data.clone();
    kernels::par_sort_i64(engine, &mut check).expect("sorts");
    assert!(check.windows(2).all(|w| w[0] <= w[1]));

    let mut g = c.benchmark_group("sort_i64_1e7");
    g.throughput(Throughput::Elements(SORT_LEN as u64));
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    g.bench_function("std_sort_unstable", |b| {
        b.iter_batched_ref(|| data.clone(), |v| v.sort_unstable(), BatchSize::LargeInput)
    });
    g.bench_function("rayon_par_sort_unstable", |b| {
        b.iter_batched_ref(|| data.clone(), |v| v.par_sort_unstable(), BatchSize::LargeInput)
    });
    g.bench_function("kernel_serial", |b| {
        b.iter_batched_ref(|| data.clone(), |v| kernels::sort_i64(v).expect("sorts"), BatchSize::LargeInput)
    });
    g.bench_function("kernel_parallel", |b| {
        b.iter_batched_ref(|| data.clone(), |v| kernels::par_sort_i64(engine, v).expect("sorts"), BatchSize::LargeInput)
    });
    // Every call a first call: the cached scratch memory is dropped (untimed)
    // before each, so the sort maps and faults in fresh pages.
    g.bench_function("kernel_parallel_first_call", |b| {
        b.iter_batched_ref(
            || {
                engine.trim_scratch();
                data.clone()
            },
            |v| kernels::par_sort_i64(engine, v).expect("sorts"),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("kernel_parallel@1w", |b| {
        b.iter_batched_ref(|| data.clone(), |v| kernels::par_sort_i64(one, v).expect("sorts"), BatchSize::LargeInput)
    });
    g.finish();
}

/// Sorts of 1e7 32-bit items: ours against Rayon and std on the same data
/// (floats compared by `total_cmp`, the order closest to ours).
fn bench_sort_32(c: &mut Criterion, engine: &Engine, one: &Engine) {
    let ints: Vec<i32> = random_i64(SORT_LEN, 3).into_iter().map(|x| x as i32).collect();
    let floats: Vec<f32> = random_i64(SORT_LEN, 4).into_iter().map(|x| (x >> 40) as f32 * 1e-3).collect();
    let mut check = floats.clone();
    kernels::par_sort_f32(engine, &mut check).expect("sorts");
    assert!(check.windows(2).all(|w| w[0] <= w[1]));

    let mut g = c.benchmark_group("sort_i32_1e7");
    g.throughput(Throughput::Elements(SORT_LEN as u64));
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    g.bench_function("std_sort_unstable", |b| {
        b.iter_batched_ref(|| ints.clone(), |v| v.sort_unstable(), BatchSize::LargeInput)
    });
    g.bench_function("rayon_par_sort_unstable", |b| {
        b.iter_batched_ref(|| ints.clone(), |v| v.par_sort_unstable(), BatchSize::LargeInput)
    });
    g.bench_function("kernel_parallel", |b| {
        b.iter_batched_ref(|| ints.clone(), |v| kernels::par_sort_i32(engine, v).expect("sorts"), BatchSize::LargeInput)
    });
    g.bench_function("kernel_parallel@1w", |b| {
        b.iter_batched_ref(|| ints.clone(), |v| kernels::par_sort_i32(one, v).expect("sorts"), BatchSize::LargeInput)
    });
    g.finish();

    let mut g = c.benchmark_group("sort_f32_1e7");
    g.throughput(Throughput::Elements(SORT_LEN as u64));
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    g.bench_function("std_sort_unstable", |b| {
        b.iter_batched_ref(|| floats.clone(), |v| v.sort_unstable_by(f32::total_cmp), BatchSize::LargeInput)
    });
    g.bench_function("rayon_par_sort_unstable", |b| {
        b.iter_batched_ref(|| floats.clone(), |v| v.par_sort_unstable_by(f32::total_cmp), BatchSize::LargeInput)
    });
    g.bench_function("kernel_parallel", |b| {
        b.iter_batched_ref(
            || floats.clone(),
            |v| kernels::par_sort_f32(engine, v).expect("sorts"),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("kernel_parallel@1w", |b| {
        b.iter_batched_ref(|| floats.clone(), |v| kernels::par_sort_f32(one, v).expect("sorts"), BatchSize::LargeInput)
    });
    g.finish();
}

/// Criterion's output directory (as criterion itself finds it).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// The mean time in ns of one benchmark, if it ran in this process (files
/// left by earlier runs are older than `since`).
fn mean_ns(group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir().join(group).join(bench).join("new").join("estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    // {"mean":{"confidence_interval":{...},"point_estimate":X,...},...}
    let mean = &text[text.find("\"mean\"")?..];
    let rest = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

fn summary(workers: usize, since: SystemTime) {
    println!("\n== kernels summary ({workers} workers) ==");
    let gbps = |bench| mean_ns("sum_i64_1e8", bench, since).map(|ns| (SUM_LEN * 8) as f64 / ns);
    if let (Some(probe), Some(par), Some(ser), Some(plain)) =
        (gbps("read_bandwidth_2_threads"), gbps("kernel_parallel"), gbps("kernel_serial"), gbps("plain_loop_1_thread"))
    {
        println!("sum 1e8 i64: parallel {par:.1} GB/s, serial {ser:.1} GB/s, plain loop {plain:.1} GB/s");
        println!(
            "             2-thread read bandwidth {probe:.1} GB/s; parallel/bandwidth = {:.0}%",
            100.0 * par / probe
        );
    }
    let ms = |bench| mean_ns("sort_i64_1e7", bench, since).map(|ns| ns / 1e6);
    if let (Some(par), Some(ser), Some(std), Some(rayon)) =
        (ms("kernel_parallel"), ms("kernel_serial"), ms("std_sort_unstable"), ms("rayon_par_sort_unstable"))
    {
        println!(
            "sort 1e7 i64: parallel {par:.1} ms, serial radix {ser:.1} ms, sort_unstable {std:.1} ms, rayon {rayon:.1} ms"
        );
        println!(
            "              speed-up over rayon par_sort_unstable = {:.2}x, over sort_unstable = {:.2}x",
            rayon / par,
            std / par
        );
    }
    if let (Some(first), Some(again)) = (ms("kernel_parallel_first_call"), ms("kernel_parallel")) {
        println!(
            "              first call (fresh scratch) {first:.1} ms, repeated (cached) {again:.1} ms: {:.2}x",
            first / again
        );
    }
    for (group, label) in [("sort_i32_1e7", "i32"), ("sort_f32_1e7", "f32")] {
        let ms = |bench| mean_ns(group, bench, since).map(|ns| ns / 1e6);
        if let (Some(par), Some(std), Some(rayon)) =
            (ms("kernel_parallel"), ms("std_sort_unstable"), ms("rayon_par_sort_unstable"))
        {
            println!(
                "sort 1e7 {label}: parallel {par:.1} ms, rayon {rayon:.1} ms ({:.2}x), sort_unstable {std:.1} ms ({:.2}x)",
                rayon / par,
                std / par
            );
        }
    }
}

fn main() {
    let since = SystemTime::now();
    let engine = Engine::new(Config::default()).expect("engine");
    let one = Engine::new(Config::with_workers(1)).expect("engine");
    let mut c = Criterion::default().configure_from_args();
    bench_sum(&mut c, &engine, &one);
    bench_sort(&mut c, &engine, &one);
    bench_sort_32(&mut c, &engine, &one);
    c.final_summary();
    summary(engine.workers(), since);
}
