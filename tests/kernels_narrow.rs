//! The 32-bit and narrower kernels (sort for i32/u32/f32/i16/u16/i8/u8; sum,
//! min and max for i32/u32/f32), serial and parallel on 1, 2 and 4 workers,
//! against std: `sort_unstable` (ints), a comparator written from the
//! documented float order, checked i64/u64 sums, exact fixed-point sums.

mod common;

use std::sync::OnceLock;

use taskengine::kernels as k;
use taskengine::{Config, Engine, EngineError};

fn engines() -> &'static [Engine] {
    static ENGINES: OnceLock<Vec<Engine>> = OnceLock::new();
    ENGINES.get_or_init(|| [1, 2, 4].into_iter().map(|w| Engine::new(Config::with_workers(w)).unwrap()).collect())
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Lengths around the thresholds: radix minimum (192), LSD leaf (2^16), the
/// parallel MSD pass (serial below 2^16, chunks of 2^17).
const LENS: [usize; 9] = [0, 1, 2, 191, 193, 5000, 65_535, 65_537, 300_001];

/// Random values, a few distinct values, all equal, and mostly one value with
/// the type's extremes mixed in.
fn shapes<T: Copy>(len: usize, seed: u64, from_bits: impl Fn(u64) -> T, extremes: &[T]) -> Vec<Vec<T>> {
    let mut r = Rng(seed | 1);
    let random: Vec<T> = (0..len).map(|_| from_bits(r.next())).collect();
    let few: Vec<T> = (0..len).map(|_| from_bits(r.next() % 5)).collect();
    let same = vec![from_bits(7); len];
    let skewed: Vec<T> = (0..len)
        .map(|i| if r.next() % 8 == 0 { extremes[i % extremes.len()] } else { from_bits(r.next() % 3) })
        .collect();
    vec![random, few, same, skewed]
}

macro_rules! int_sort_test {
    ($name:ident, $t:ty, $serial:path, $par:path) => {
        #[test]
        fn $name() {
            common::watchdog(300, stringify!($name), || {
                for len in LENS {
                    for v in shapes::<$t>(len, len as u64 + 11, |b| b as $t, &[<$t>::MIN, <$t>::MAX, 0]) {
                        let mut want = v.clone();
                        want.sort_unstable();
                        let mut got = v.clone();
                        $serial(&mut got).unwrap();
                        assert_eq!(got, want, "serial, len {len}");
                        for e in engines() {
                            let mut got = v.clone();
                            $par(e, &mut got).unwrap();
                            assert_eq!(got, want, "parallel on {} workers, len {len}", e.workers());
                        }
                    }
                }
            });
        }
    };
}

int_sort_test!(sort_i32_matches_std, i32, k::sort_i32, k::par_sort_i32);
int_sort_test!(sort_u32_matches_std, u32, k::sort_u32, k::par_sort_u32);
int_sort_test!(sort_i16_matches_std, i16, k::sort_i16, k::par_sort_i16);
int_sort_test!(sort_u16_matches_std, u16, k::sort_u16, k::par_sort_u16);
int_sort_test!(sort_i8_matches_std, i8, k::sort_i8, k::par_sort_i8);
int_sort_test!(sort_u8_matches_std, u8, k::sort_u8, k::par_sort_u8);

/// The documented float order, written independently of the kernels' key:
/// numbers by IEEE total order (-0.0 before +0.0), then positive NaNs, then
/// negative NaNs, each group by `total_cmp` (so every sort gives the same bits).
fn float_rank_f32(a: &f32, b: &f32) -> std::cmp::Ordering {
    let class = |x: &f32| (x.is_nan(), x.is_nan() && x.is_sign_negative());
    class(a).cmp(&class(b)).then(a.total_cmp(b))
}

fn float_rank_f64(a: &f64, b: &f64) -> std::cmp::Ordering {
    let class = |x: &f64| (x.is_nan(), x.is_nan() && x.is_sign_negative());
    class(a).cmp(&class(b)).then(a.total_cmp(b))
}

fn bits32(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn sort_f32_follows_the_f64_order_bit_for_bit() {
    common::watchdog(300, "sort_f32", || {
        let specials = [
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7fc0_0001),
            f32::from_bits(0xffff_ffff),
            f32::from_bits(0x7f80_0001),
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::MAX,
            f32::MIN,
        ];
        for len in LENS {
            let mut all = shapes::<f32>(len, len as u64 + 3, |b| f32::from_bits(b as u32), &specials);
            // Ordinary numbers too (random bit patterns are mostly huge or tiny).
            let mut r = Rng(len as u64 + 99);
            all.push((0..len).map(|_| (r.next() as i32 >> 8) as f32 * 0.25).collect());
            for v in all {
                let mut want = v.clone();
                want.sort_by(float_rank_f32);
                let mut got = v.clone();
                k::sort_f32(&mut got).unwrap();
                assert_eq!(bits32(&got), bits32(&want), "serial, len {len}");
                for e in engines() {
                    let mut got = v.clone();
                    k::par_sort_f32(e, &mut got).unwrap();
                    assert_eq!(bits32(&got), bits32(&want), "parallel, len {len}");
                }
            }
        }
    });
}

#[test]
fn f64_sort_uses_the_same_order() {
    // The rule sort_f32 copies, checked on the existing f64 kernel.
    let mut r = Rng(5);
    let mut v: Vec<f64> = (0..20_000).map(|_| f64::from_bits(r.next())).collect();
    v.extend([f64::NAN, -f64::NAN, 0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::from_bits(u64::MAX)]);
    let mut want = v.clone();
    want.sort_by(float_rank_f64);
    k::sort_f64(&mut v).unwrap();
    assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
}

#[test]
fn sums_are_exact_for_32_bit_integers() {
    let mut r = Rng(17);
    for len in [0usize, 1, 7, 8, 9, 131_071, 131_072, 400_003] {
        let v: Vec<i32> = (0..len).map(|_| r.next() as i32).collect();
        let want = v.iter().try_fold(0i64, |a, &x| a.checked_add(i64::from(x))).unwrap();
        assert_eq!(k::sum_i32(&v), Ok(want), "len {len}");
        let u: Vec<u32> = (0..len).map(|_| r.next() as u32).collect();
        let want_u = u.iter().try_fold(0u64, |a, &x| a.checked_add(u64::from(x))).unwrap();
        assert_eq!(k::sum_u32(&u), Ok(want_u), "len {len}");
        for e in engines() {
            assert_eq!(k::par_sum_i32(e, &v), Ok(want));
            assert_eq!(k::par_sum_u32(e, &u), Ok(want_u));
        }
    }
    // Extremes: every item at the limit, far past what an i32/u32 holds.
    let big = vec![i32::MIN; 300_000];
    let small = vec![u32::MAX; 300_000];
    for e in engines() {
        assert_eq!(k::par_sum_i32(e, &big), Ok(300_000 * i64::from(i32::MIN)));
        assert_eq!(k::par_sum_u32(e, &small), Ok(300_000 * u64::from(u32::MAX)));
    }
    assert_eq!(
        k::sum_i32(&[i32::MAX, i32::MAX, i32::MIN]),
        Ok(i64::from(i32::MAX) - 1 + 1 + i64::from(i32::MIN) + i64::from(i32::MAX))
    );
    assert_eq!(k::sum_u32(&[]), Ok(0));
}

#[test]
fn f32_sums_are_compensated_in_f64() {
    // Items k * 2^-20 with |k| < 2^24 are exact in f32; their exact sum is an
    // integer count of 2^-20 (exact in i128), and exact in f64 when below 2^53.
    let mut r = Rng(23);
    for len in [0usize, 1, 15, 16, 17, 131_072, 300_001] {
        let ks: Vec<i64> = (0..len).map(|_| (r.next() as i64) >> 40).collect();
        let v: Vec<f32> = ks.iter().map(|&k| k as f32 * 2f32.powi(-20)).collect();
        let exact: i128 = ks.iter().map(|&k| i128::from(k)).sum();
        let want = exact as f64 * 2f64.powi(-20);
        assert_eq!(k::sum_f32(&v), Ok(want), "len {len}");
        for e in engines() {
            assert_eq!(k::par_sum_f32(e, &v), Ok(want), "len {len}");
        }
    }
    // Cancellation that f32 arithmetic loses entirely.
    assert_eq!(k::sum_f32(&[1e30, 1.0, -1e30]), Ok(1.0));
    // Far past f32's range: still finite in f64.
    let huge = vec![f32::MAX; 300_000];
    let want = f64::from(f32::MAX) * 300_000.0;
    for e in engines() {
        assert_eq!(k::par_sum_f32(e, &huge), Ok(want));
    }
    let empty = k::sum_f32(&[]).unwrap();
    assert!(empty == 0.0 && empty.is_sign_positive());
    assert_eq!(k::sum_f32(&[-0.0]).map(f64::is_sign_positive), Ok(true));
    assert!(k::sum_f32(&[1.0, f32::NAN]).unwrap().is_nan());
    assert!(k::sum_f32(&[f32::INFINITY, f32::NEG_INFINITY]).unwrap().is_nan());
    assert_eq!(k::sum_f32(&[f32::NEG_INFINITY, 1.0]), Ok(f64::NEG_INFINITY));
}

#[test]
fn extrema_of_32_bit_items() {
    let mut r = Rng(31);
    for len in [1usize, 2, 9, 131_072, 300_001] {
        let v: Vec<i32> = (0..len).map(|_| r.next() as i32).collect();
        let u: Vec<u32> = (0..len).map(|_| r.next() as u32).collect();
        let f: Vec<f32> = (0..len).map(|_| (r.next() as i32 >> 4) as f32 / 3.0).collect();
        let fmin = f.iter().copied().fold(f32::INFINITY, f32::min);
        let fmax = f.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for e in [None].into_iter().chain(engines().iter().map(Some)) {
            let (mi, ma) = match e {
                None => (k::min_i32(&v), k::max_i32(&v)),
                Some(e) => (k::par_min_i32(e, &v), k::par_max_i32(e, &v)),
            };
            assert_eq!((mi, ma), (Ok(*v.iter().min().unwrap()), Ok(*v.iter().max().unwrap())));
            let (mi, ma) = match e {
                None => (k::min_u32(&u), k::max_u32(&u)),
                Some(e) => (k::par_min_u32(e, &u), k::par_max_u32(e, &u)),
            };
            assert_eq!((mi, ma), (Ok(*u.iter().min().unwrap()), Ok(*u.iter().max().unwrap())));
            let (mi, ma) = match e {
                None => (k::min_f32(&f), k::max_f32(&f)),
                Some(e) => (k::par_min_f32(e, &f), k::par_max_f32(e, &f)),
            };
            assert_eq!((mi, ma), (Ok(fmin), Ok(fmax)));
        }
    }
    assert!(matches!(k::min_i32(&[]), Err(EngineError::Invalid(_))));
    assert!(matches!(k::max_u32(&[]), Err(EngineError::Invalid(_))));
    assert!(matches!(k::max_f32(&[]), Err(EngineError::Invalid(_))));
    assert!(matches!(k::par_min_f32(&engines()[1], &[]), Err(EngineError::Invalid(_))));
    assert_eq!(k::min_i32(&[i32::MAX, i32::MIN]), Ok(i32::MIN));
    assert_eq!(k::max_u32(&[0, u32::MAX]), Ok(u32::MAX));
    let nan = f32::NAN;
    assert_eq!(k::min_f32(&[nan, 3.0, nan, -2.0]), Ok(-2.0));
    assert_eq!(k::max_f32(&[nan, 3.0, nan, -2.0, f32::INFINITY]), Ok(f32::INFINITY));
    assert_eq!(k::min_f32(&[nan, -nan]).map(|x| x.to_bits()), Ok(nan.to_bits()));
    let lo = k::min_f32(&[0.0, -0.0, 0.0]).unwrap();
    let hi = k::max_f32(&[-0.0, 0.0, -0.0]).unwrap();
    assert!(lo == 0.0 && lo.is_sign_negative());
    assert!(hi == 0.0 && hi.is_sign_positive());
}
