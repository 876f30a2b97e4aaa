//! Integration tests of the scheduler, parallel loops and reductions; each under a watchdog.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use taskengine::EngineError;

#[test]
fn parallel_for_covers_every_index_once() {
    watchdog(60, "parallel_for", || {
        for workers in [1, 2, 4] {
            let e = engine(workers);
            for (len, grain) in [(0, 0), (1, 0), (1000, 0), (100_003, 0), (100_003, 7), (5000, 5000), (10, 1)] {
                let hits: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
                e.parallel_for(0..len, grain, |r| {
                    if grain > 0 {
                        assert!(r.len() <= grain);
                    }
                    for i in r {
                        hits[i].fetch_add(1, Ordering::Relaxed);
                    }
                })
                .unwrap();
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1), "len {len} grain {grain}");
            }
        }
    });
}

#[test]
fn parallel_for_rejects_backwards_ranges_and_propagates_errors() {
    watchdog(30, "parallel_for_err", || {
        let e = engine(2);
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 10..5;
        assert!(matches!(e.parallel_for(backwards, 0, |_| {}), Err(EngineError::Invalid(_))));
        let r = e.try_parallel_for(0..1000, 10, |r| {
            if r.contains(&500) {
                Err(EngineError::TaskFailed { code: 3, message: "at 500".into() })
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(EngineError::TaskFailed { code: 3, message: "at 500".into() }));
    });
}

#[test]
fn parallel_reduce_sums_exactly() {
    watchdog(30, "reduce", || {
        let e = engine(2);
        let n = 1_000_000u64;
        let s = e.parallel_reduce(0..n as usize, 0, || 0u64, |r| r.map(|i| i as u64).sum(), |a, b| a + b).unwrap();
        assert_eq!(s, n * (n - 1) / 2);
        assert_eq!(e.parallel_reduce(5..5, 0, || 11u64, |_| 0, |a, b| a + b).unwrap(), 11);
    });
}

#[test]
fn deterministic_reduce_is_bitwise_identical_across_worker_counts() {
    watchdog(60, "deterministic", || {
        // Values spanning many magnitudes make float addition order-sensitive.
        let data: Vec<f64> = (0..200_001u64)
            .map(|i| {
                let x = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
                (x - 0.5) * 10f64.powi((i % 17) as i32 - 8)
            })
            .collect();
        let sum_with = |workers: usize, grain: usize| {
            let e = engine(workers);
            e.parallel_reduce_deterministic(
                0..data.len(),
                grain,
                || 0.0f64,
                |r| data[r].iter().sum::<f64>(),
                |a, b| a + b,
            )
            .unwrap()
            .to_bits()
        };
        for grain in [0, 1000] {
            let reference = sum_with(1, grain);
            for workers in [2, 3, 4, 8] {
                assert_eq!(sum_with(workers, grain), reference, "{workers} workers, grain {grain}");
            }
        }
        // Sanity: the fixed order really matters here (a different grouping differs).
        let forward: f64 = data.iter().sum();
        let backward: f64 = data.iter().rev().sum();
        assert_ne!(forward.to_bits(), backward.to_bits(), "test data not order-sensitive");
    });
}
