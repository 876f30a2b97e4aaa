//! The parallel forms against the serial kernels (and std) on engines with
//! 1, 2 and 4 workers, at lengths around the serial thresholds and chunk
//! sizes (sums/extrema: serial below 2^17 elements, chunks of 2^16; sort:
//! serial below 2^16, chunks of 2^17, buckets up to 2^16 per task; bytes:
//! serial below 2 MiB, chunks of 1 MiB).

mod common;

use std::cmp::Ordering;
use std::sync::OnceLock;

use proptest::prelude::*;
use taskengine::kernels::{self, par_sort_f64, par_sort_i64, par_sort_u64};
use taskengine::{Config, Engine, EngineError};

fn engines() -> &'static [Engine] {
    static ENGINES: OnceLock<Vec<Engine>> = OnceLock::new();
    ENGINES.get_or_init(|| [1, 2, 4].into_iter().map(|w| Engine::new(Config::with_workers(w)).unwrap()).collect())
}

/// xorshift64*: fast enough to fill big inputs in debug builds.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const REDUCE_LENS: [usize; 6] = [0, 131_071, 131_072, 131_073, 196_608, 196_609];
const SORT_LENS: [usize; 6] = [65_535, 65_536, 65_537, 131_072, 131_073, 262_145];

#[derive(Debug, Clone, Copy)]
enum Shape {
    Random,
    FewDistinct,
    Extremes,
    Sorted,
    Reversed,
    /// Nine in ten equal: one bucket holds most of the input at every level.
    Skewed,
    /// Small non-negative values: the top key bytes are all the same.
    Small,
    AllEqual,
}

const SHAPES: [Shape; 8] = [
    Shape::Random,
    Shape::FewDistinct,
    Shape::Extremes,
    Shape::Sorted,
    Shape::Reversed,
    Shape::Skewed,
    Shape::Small,
    Shape::AllEqual,
];

fn i64_input(len: usize, shape: Shape, seed: u64) -> Vec<i64> {
    let mut r = Rng(seed | 1);
    let mut v: Vec<i64> = (0..len)
        .map(|_| {
            let x = r.next();
            match shape {
                Shape::Random | Shape::Sorted | Shape::Reversed => x as i64,
                Shape::FewDistinct => (x % 5) as i64 - 2,
                Shape::Extremes => [i64::MIN, i64::MAX, 0, -1, 1][(x % 5) as usize],
                Shape::Skewed => {
                    if x % 10 == 0 {
                        r.next() as i64
                    } else {
                        -7
                    }
                }
                Shape::Small => (x % 100_000) as i64,
                Shape::AllEqual => 12345,
            }
        })
        .collect();
    match shape {
        Shape::Sorted => v.sort_unstable(),
        Shape::Reversed => v.sort_unstable_by(|a, b| b.cmp(a)),
        _ => {}
    }
    v
}

fn f64_input(len: usize, shape: Shape, seed: u64) -> Vec<f64> {
    let specials = [f64::NAN, -f64::NAN, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, 1.0, -1.0];
    let mut r = Rng(seed | 1);
    (0..len)
        .map(|_| {
            let x = r.next();
            match shape {
                Shape::Extremes => specials[(x % 8) as usize],
                Shape::FewDistinct => ((x % 5) as f64) - 2.0,
                // Finite values over many magnitudes, a few specials mixed in.
                _ if x % 97 == 0 => specials[(x >> 8) as usize % 8],
                _ => ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi((x % 40) as i32 - 20),
            }
        })
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn sums_and_extrema_equal_serial() {
    common::watchdog(120, "sums_and_extrema", || {
        for (i, &len) in REDUCE_LENS.iter().enumerate() {
            for shape in [Shape::Random, Shape::Extremes, Shape::Small] {
                let v = i64_input(len, shape, i as u64 + 11);
                let exact: i128 = v.iter().map(|&x| i128::from(x)).sum();
                let want_sum = i64::try_from(exact).map_err(|_| EngineError::Overflow);
                for e in engines() {
                    assert_eq!(kernels::par_sum_i64(e, &v), want_sum, "len {len} {shape:?}");
                    assert_eq!(kernels::par_min_i64(e, &v), kernels::min_i64(&v));
                    assert_eq!(kernels::par_max_i64(e, &v), kernels::max_i64(&v));
                }
                let f = f64_input(len, shape, i as u64 + 5);
                let serial = kernels::sum_f64(&f).unwrap();
                let mut per_engine = Vec::new();
                for e in engines() {
                    let got = kernels::par_sum_f64(e, &f).unwrap();
                    if serial.is_finite() {
                        let abs: f64 = f.iter().map(|x| x.abs()).sum();
                        let tol = 2.0 * f64::EPSILON * serial.abs() + 1e-25 * abs;
                        assert!((got - serial).abs() <= tol, "{got} vs {serial}");
                    } else {
                        assert!(got.to_bits() == serial.to_bits() || (got.is_nan() && serial.is_nan()));
                    }
                    per_engine.push(got.to_bits());
                    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
                    let (lo, hi) = (kernels::par_min_f64(e, &f), kernels::par_max_f64(e, &f));
                    match (kernels::min_f64(&f), lo) {
                        (Ok(a), Ok(b)) => assert!(same(a, b), "min {a} vs {b}"),
                        (a, b) => assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits)),
                    }
                    match (kernels::max_f64(&f), hi) {
                        (Ok(a), Ok(b)) => assert!(same(a, b), "max {a} vs {b}"),
                        (a, b) => assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits)),
                    }
                }
                // Reproducible: the same bits whatever the number of workers.
                assert!(per_engine.windows(2).all(|w| w[0] == w[1]), "len {len}: {per_engine:x?}");
            }
        }
    });
}

#[test]
fn i64_sum_overflow_is_global_not_per_chunk() {
    // The first half overflows on its own, the second brings it back.
    let mut v = vec![i64::MAX; 100_000];
    v.extend(vec![i64::MIN + 1; 100_000]);
    v.push(42);
    for e in engines() {
        assert_eq!(kernels::par_sum_i64(e, &v), Ok(42));
        v.push(i64::MAX);
        assert_eq!(
            kernels::par_sum_i64(e, &v),
            Ok(i64::MAX).and_then(|m| m.checked_add(42).ok_or(EngineError::Overflow))
        );
        v.pop();
    }
}

#[test]
fn f64_sum_overflowing_chunks_fall_back_to_serial() {
    // The first chunk's running sum overflows; the total is small and exact.
    let m = f64::MAX;
    let mut v = vec![0.0; 200_000];
    v[..4].copy_from_slice(&[m, m, -m, -m]);
    v[150_000] = 0.25;
    // Ill-conditioned beyond what compensation can resolve: parallel must
    // still give exactly the serial answer.
    let mut w = vec![m; 70_000];
    w.extend(vec![-m; 70_000]);
    w.push(0.25);
    let serial_w = kernels::sum_f64(&w).unwrap();
    for e in engines() {
        assert_eq!(kernels::par_sum_f64(e, &v), Ok(0.25));
        assert_eq!(kernels::par_sum_f64(e, &w).map(f64::to_bits), Ok(serial_w.to_bits()));
    }
}

#[test]
fn sorts_equal_std_for_every_shape_and_boundary() {
    common::watchdog(120, "sorts", || {
        for (i, &len) in SORT_LENS.iter().enumerate() {
            for (j, &shape) in SHAPES.iter().enumerate() {
                let seed = (i * 31 + j) as u64;
                let v = i64_input(len, shape, seed);
                let e = &engines()[(i + j) % 3];
                // Against std for i64; u64 and f64 against the serial kernel
                // (itself checked against std in kernels_array), bit for bit.
                let mut want = v.clone();
                want.sort_unstable();
                let mut got = v.clone();
                par_sort_i64(e, &mut got).unwrap();
                assert!(got == want, "i64 len {len} {shape:?} on {} workers", e.workers());

                let u: Vec<u64> = v.iter().map(|&x| x as u64).collect();
                let mut serial_u = u.clone();
                kernels::sort_u64(&mut serial_u).unwrap();
                let mut got_u = u;
                par_sort_u64(e, &mut got_u).unwrap();
                assert!(got_u == serial_u, "u64 len {len} {shape:?}");
                assert!(got_u.windows(2).all(|w| w[0] <= w[1]));

                let f = f64_input(len, shape, seed);
                let mut serial = f.clone();
                kernels::sort_f64(&mut serial).unwrap();
                let mut got_f = f.clone();
                par_sort_f64(e, &mut got_f).unwrap();
                assert!(bits(&got_f) == bits(&serial), "f64 len {len} {shape:?}");
                let nans = f.iter().filter(|x| x.is_nan()).count();
                let numbers = &serial[..f.len() - nans];
                assert!(numbers.windows(2).all(|w| w[0].total_cmp(&w[1]).is_le()), "f64 order");
                assert!(serial[f.len() - nans..].iter().all(|x| x.is_nan()), "NaNs last");
            }
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn parallel_sort_equals_serial_on_every_engine(
        len_at in 0..SORT_LENS.len(),
        delta in -2i64..=2,
        shape_at in 0..SHAPES.len(),
        seed in any::<u64>(),
    ) {
        let len = (SORT_LENS[len_at] as i64 + delta) as usize;
        let v = i64_input(len, SHAPES[shape_at], seed);
        let mut serial = v.clone();
        kernels::sort_i64(&mut serial).unwrap();
        for e in engines() {
            let mut got = v.clone();
            par_sort_i64(e, &mut got).unwrap();
            prop_assert!(got == serial, "len {} on {} workers", len, e.workers());
        }
    }
}

#[test]
fn copy_and_compare_equal_serial_around_byte_thresholds() {
    const MIB: usize = 1 << 20;
    let mut r = Rng(99);
    for len in [0, 2 * MIB - 1, 2 * MIB, 2 * MIB + 1, 3 * MIB + 5] {
        let src: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
        for e in engines() {
            let mut dst = vec![0u8; len];
            kernels::par_copy(e, &mut dst, &src).unwrap();
            assert!(dst == src, "copy of {len} bytes");
            assert_eq!(kernels::par_compare(e, &src, &dst), Ok(Ordering::Equal));
            for at in [0, len / 3, len.saturating_sub(1)] {
                if len == 0 {
                    continue;
                }
                let mut other = src.clone();
                other[at] ^= 0x80;
                assert_eq!(kernels::par_compare(e, &src, &other), kernels::compare(&src, &other), "diff at {at}");
                // A later difference in the other direction must not win.
                if at + 1 < len {
                    other[len - 1] = if src[len - 1] == 0 { 1 } else { src[len - 1] - 1 };
                    if at != len - 1 {
                        assert_eq!(kernels::par_compare(e, &src, &other), kernels::compare(&src, &other));
                    }
                }
            }
        }
    }
}

#[test]
fn overlapping_parallel_copy_matches_std_copy_within() {
    const MIB: usize = 1 << 20;
    let mut r = Rng(7);
    let base: Vec<u8> = (0..6 * MIB).map(|_| r.next() as u8).collect();
    let cases = [
        (0, 1, 5 * MIB),           // tiny gap forward: serial memmove
        (1, 0, 5 * MIB),           // tiny gap backward
        (0, MIB + 3, 4 * MIB),     // waves forward
        (MIB + 3, 0, 4 * MIB),     // waves backward
        (2 * MIB, 5, 3 * MIB + 7), // waves backward, ragged last wave
        (0, 3 * MIB, 3 * MIB),     // touching, disjoint
        (100, 100, 4 * MIB),       // onto itself
    ];
    for (from, to, len) in cases {
        let mut want = base.clone();
        want.copy_within(from..from + len, to);
        for e in engines() {
            let mut got = base.clone();
            kernels::par_copy_within(e, &mut got, from..from + len, to).unwrap();
            assert!(got == want, "{from} -> {to}, {len} bytes, {} workers", e.workers());
        }
    }
    let mut buf = vec![0u8; 10];
    assert!(matches!(kernels::par_copy_within(&engines()[0], &mut buf, 5..11, 0), Err(EngineError::Invalid(_))));
}

#[test]
fn a_shut_down_engine_is_reported_and_nothing_is_written() {
    // The only test in this binary that touches the default engine, which it
    // shuts down for good (each test binary is its own process).
    let handle = Engine::global().unwrap();
    Engine::shutdown_global().unwrap();
    assert!(!handle.is_alive());
    for len in [10, 200_000] {
        let mut v = i64_input(len, Shape::Random, 3);
        let orig = v.clone();
        assert_eq!(par_sort_i64(&handle, &mut v), Err(EngineError::Shutdown));
        assert!(v == orig, "unsorted after a failed sort");
        assert_eq!(kernels::par_sum_i64(&handle, &v), Err(EngineError::Shutdown));
        assert_eq!(kernels::par_max_i64(&handle, &v), Err(EngineError::Shutdown));
        let f = f64_input(len, Shape::Random, 4);
        assert_eq!(kernels::par_sum_f64(&handle, &f), Err(EngineError::Shutdown));
        let bytes = vec![1u8; len * 8];
        let mut dst = vec![0u8; len * 8];
        assert_eq!(kernels::par_copy(&handle, &mut dst, &bytes), Err(EngineError::Shutdown));
        assert!(dst.iter().all(|&b| b == 0));
        assert_eq!(kernels::par_compare(&handle, &bytes, &dst), Err(EngineError::Shutdown));
    }
}
