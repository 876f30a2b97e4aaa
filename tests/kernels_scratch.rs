//! The kernels' scratch cache: kept between sorts, bounded by the limit,
//! trimmed on request and at shutdown, never shared by two sorts at once.

mod common;

use std::sync::{Arc, Barrier};

use taskengine::kernels as k;
use taskengine::{Config, Engine, EngineError};

fn data(n: usize, seed: u64) -> Vec<i64> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as i64
        })
        .collect()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

#[test]
fn repeated_sorts_reuse_the_cached_buffer_within_the_limit() {
    common::watchdog(120, "reuse", || {
        let e = Engine::new(Config::with_workers(2)).unwrap();
        assert_eq!(e.scratch_cached_bytes(), 0);
        assert_eq!(e.scratch_limit(), k::DEFAULT_SCRATCH_LIMIT);
        let v = data(500_000, 1);
        let want = sorted(v.clone());
        let mut a = v.clone();
        k::par_sort_i64(&e, &mut a).unwrap();
        assert_eq!(a, want);
        let cached = e.scratch_cached_bytes();
        assert!(cached >= 500_000 * 8, "{cached}");
        // A smaller sort of another type takes the same block back.
        let mut f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        let mut want_f = f.clone();
        want_f.sort_by(|a, b| a.total_cmp(b));
        k::par_sort_f32(&e, &mut f).unwrap();
        assert_eq!(f, want_f);
        assert_eq!(e.scratch_cached_bytes(), cached);
        e.trim_scratch();
        assert_eq!(e.scratch_cached_bytes(), 0);
        // Limit 0: nothing kept, sorts still right.
        e.set_scratch_limit(0);
        let mut b = v.clone();
        k::par_sort_i64(&e, &mut b).unwrap();
        assert_eq!(b, want);
        assert_eq!(e.scratch_cached_bytes(), 0);
        // A limit below the block's size keeps nothing either.
        e.set_scratch_limit(1 << 20);
        let mut c = v;
        k::par_sort_i64(&e, &mut c).unwrap();
        assert_eq!((c == want, e.scratch_cached_bytes()), (true, 0));
    });
}

#[test]
fn concurrent_sorts_on_one_engine_each_get_their_own_buffer() {
    common::watchdog(300, "concurrent", || {
        let e = Arc::new(Engine::new(Config::with_workers(3)).unwrap());
        let threads = 4;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (e, barrier) = (Arc::clone(&e), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    for round in 0..6 {
                        let v = data(200_000 + 1000 * t, (t * 100 + round) as u64 + 7);
                        let want = sorted(v.clone());
                        let mut got = v;
                        barrier.wait();
                        k::par_sort_i64(&e, &mut got).unwrap();
                        assert_eq!(got, want, "thread {t} round {round}");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // At most one block per sort that ran at once.
        assert!(e.scratch_cached_bytes() <= threads * (4 << 20), "{}", e.scratch_cached_bytes());
    });
}

#[test]
fn a_sort_racing_shutdown_finishes_or_moves_nothing() {
    common::watchdog(300, "shutdown race", || {
        for round in 0..8 {
            let owner = Engine::new(Config::with_workers(2)).unwrap();
            // A second handle to the same engine (not its owner), for the sorter.
            let e = owner.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
            let probe = owner.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
            let v = data(300_000, round + 3);
            let want = sorted(v.clone());
            let sorter = {
                std::thread::spawn(move || {
                    let mut outcomes = Vec::new();
                    loop {
                        let mut got = v.clone();
                        match k::par_sort_i64(&e, &mut got) {
                            Ok(()) => outcomes.push(got == want),
                            Err(EngineError::Shutdown) => {
                                outcomes.push(got == v);
                                return outcomes;
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                })
            };
            std::thread::sleep(std::time::Duration::from_millis(5 * round));
            // Shut the engine down under the sorter, which holds another handle.
            owner.shutdown();
            let outcomes = sorter.join().unwrap();
            assert!(outcomes.iter().all(|&ok| ok), "round {round}: {outcomes:?}");
            assert_eq!(probe.scratch_cached_bytes(), 0, "a shut-down engine keeps no scratch memory");
        }
    });
}
