//! Sums, extrema and sorts against independent references: i128 sums, an
//! exact floating-point sum (Shewchuk's partials), std's `sort_unstable` and
//! `f64::total_cmp`.

use std::cmp::Ordering;

use proptest::collection::vec;
use proptest::prelude::*;
use taskengine::kernels::{max_f64, max_i64, min_f64, min_i64, sort_f64, sort_i64, sort_u64, sum_f64, sum_i64};
use taskengine::EngineError;

// ---- strategies: random and adversarial shapes ----------------------------

/// Random values, extremes only, few distinct, all equal, sorted, reversed.
fn i64_vecs(max_len: usize) -> impl Strategy<Value = Vec<i64>> {
    let extremes = prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), Just(-1), Just(1), Just(i64::MIN + 1)];
    prop_oneof![
        vec(any::<i64>(), 0..max_len),
        vec(extremes, 0..max_len),
        vec(-2i64..3, 0..max_len),
        (any::<i64>(), 0..max_len).prop_map(|(x, n)| vec![x; n]),
        vec(any::<i64>(), 0..max_len).prop_map(|mut v| {
            v.sort_unstable();
            v
        }),
        vec(any::<i64>(), 0..max_len).prop_map(|mut v| {
            v.sort_unstable_by(|a, b| b.cmp(a));
            v
        }),
        vec(any::<i64>().prop_map(|x| x >> 40), 0..max_len),
    ]
}

fn special_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(-f64::NAN),
        Just(f64::from_bits(0x7ff0_0000_0000_0001)), // signalling-pattern NaN
        Just(f64::from_bits(0xfff8_0000_dead_beef)), // negative NaN with payload
        Just(0.0),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(-f64::MIN_POSITIVE),
        Just(f64::from_bits(1)),
        Just(-f64::from_bits(1)),
        Just(1.0),
        Just(-1.0),
    ]
}

/// Finite values over a wide range of magnitudes (no overflow in any sum
/// of a few thousand of them).
fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1e6f64..1e6),
        (any::<i32>(), -300i32..300).prop_map(|(m, e)| f64::from(m) * 10f64.powi(e)),
        any::<f64>().prop_filter("finite and not huge", |x| x.is_finite() && x.abs() < 1e300),
    ]
}

fn f64_vecs(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        vec(finite_f64(), 0..max_len),
        vec(prop_oneof![3 => finite_f64(), 1 => special_f64()], 0..max_len),
        vec(special_f64(), 0..max_len),
        (special_f64(), 0..max_len).prop_map(|(x, n)| vec![x; n]),
        vec(-2i32..3, 0..max_len).prop_map(|v| v.into_iter().map(f64::from).collect()),
    ]
}

// ---- references ----------------------------------------------------------

/// Shewchuk's exact summation (as in Python's `math.fsum`): the partials
/// always add up to the exact sum of the values seen; finite inputs only.
fn exact_sum(data: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &x in data {
        let mut x = x;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        partials.push(x);
    }
    // Non-overlapping partials, largest last: adding from the top rounds
    // once (up to the rare half-way case, which the tolerance covers).
    partials.iter().rev().fold(0.0, |acc, &p| acc + p)
}

/// NaN if any NaN or both infinities; else the infinity; else None.
fn nonfinite_sum(data: &[f64]) -> Option<f64> {
    let nan = data.iter().any(|x| x.is_nan());
    let pinf = data.contains(&f64::INFINITY);
    let ninf = data.contains(&f64::NEG_INFINITY);
    match (nan || (pinf && ninf), pinf, ninf) {
        (true, _, _) => Some(f64::NAN),
        (false, true, false) => Some(f64::INFINITY),
        (false, false, true) => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// The documented order: NaNs last, otherwise `total_cmp` (-0.0 < +0.0).
fn key_order(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.total_cmp(b),
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => Ordering::Equal,
    }
}

/// Sorted output equals the reference: non-NaN prefix bit for bit, and the
/// NaN tail the same bit patterns (their mutual order is the kernel's own).
fn assert_f64_sorted_like_reference(got: &[f64], input: &[f64]) {
    let mut want = input.to_vec();
    want.sort_by(key_order);
    let nans = want.iter().filter(|x| x.is_nan()).count();
    let split = want.len() - nans;
    let bits = |s: &[f64]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got[..split]), bits(&want[..split]));
    assert!(got[split..].iter().all(|x| x.is_nan()), "NaNs last");
    let (mut g, mut w) = (bits(&got[split..]), bits(&want[split..]));
    g.sort_unstable();
    w.sort_unstable();
    assert_eq!(g, w, "NaN bit patterns kept");
}

// ---- properties ----------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sum_i64_is_exact_or_overflow(v in i64_vecs(600)) {
        let exact: i128 = v.iter().map(|&x| i128::from(x)).sum();
        match i64::try_from(exact) {
            Ok(s) => prop_assert_eq!(sum_i64(&v), Ok(s)),
            Err(_) => prop_assert_eq!(sum_i64(&v), Err(EngineError::Overflow)),
        }
    }

    #[test]
    fn sum_f64_is_compensated(v in f64_vecs(600)) {
        let got = sum_f64(&v).unwrap();
        if let Some(want) = nonfinite_sum(&v) {
            prop_assert!(same_f64(got, want), "got {got}, want {want}");
        } else if !exact_sum(&v).is_finite() {
            // Near f64::MAX the reference itself overflows: sum exactly at a
            // smaller scale (exact for values this large), then the true sum is
            // beyond the range, so the kernel must give the infinity of its sign
            // (or f64::MAX when the true sum sits within an ulp of the edge).
            let scale = 2f64.powi(-16);
            let scaled = exact_sum(&v.iter().map(|x| x * scale).collect::<Vec<_>>());
            let bound = f64::MAX * scale;
            prop_assert!(scaled.abs() >= bound * (1.0 - 4.0 * f64::EPSILON), "reference overflowed below the range edge");
            prop_assert!(got.abs() >= f64::MAX && got.signum() == scaled.signum(), "got {got}, true sum {scaled:e} * 2^16");
        } else {
            let exact = exact_sum(&v);
            let abs: f64 = v.iter().map(|x| x.abs()).sum();
            let u = f64::EPSILON / 2.0;
            let n = v.len() as f64;
            // About one rounding of the exact sum, plus the n*u^2 term of
            // compensated summation; far inside pairwise's log2(n)*u*sum|x|.
            let tol = 2.0 * u * exact.abs() + 4.0 * (n + 2.0) * u * u * abs + f64::from_bits(1);
            prop_assert!((got - exact).abs() <= tol, "got {got:e}, exact {exact:e}, tol {tol:e}");
            if v.is_empty() {
                prop_assert!(got.to_bits() == 0, "the empty sum is +0.0");
            }
        }
    }

    #[test]
    fn extrema_i64_match_std(v in i64_vecs(600)) {
        match (v.iter().min(), v.iter().max()) {
            (Some(&lo), Some(&hi)) => {
                prop_assert_eq!(min_i64(&v), Ok(lo));
                prop_assert_eq!(max_i64(&v), Ok(hi));
            }
            _ => {
                prop_assert!(matches!(min_i64(&v), Err(EngineError::Invalid(_))));
                prop_assert!(matches!(max_i64(&v), Err(EngineError::Invalid(_))));
            }
        }
    }

    #[test]
    fn extrema_f64_ignore_nan_and_order_zeros(v in f64_vecs(600)) {
        if v.is_empty() {
            prop_assert!(matches!(min_f64(&v), Err(EngineError::Invalid(_))));
            prop_assert!(matches!(max_f64(&v), Err(EngineError::Invalid(_))));
        } else {
            let numbers: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            let lo = numbers.iter().copied().min_by(f64::total_cmp).unwrap_or(f64::NAN);
            let hi = numbers.iter().copied().max_by(f64::total_cmp).unwrap_or(f64::NAN);
            let (got_lo, got_hi) = (min_f64(&v).unwrap(), max_f64(&v).unwrap());
            prop_assert!(same_f64(got_lo, lo), "min {got_lo} want {lo}");
            prop_assert!(same_f64(got_hi, hi), "max {got_hi} want {hi}");
        }
    }

    #[test]
    fn sort_i64_matches_std(v in i64_vecs(1200)) {
        let mut want = v.clone();
        want.sort_unstable();
        let mut got = v.clone();
        sort_i64(&mut got).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn sort_u64_matches_std(v in i64_vecs(1200)) {
        let v: Vec<u64> = v.into_iter().map(|x| x as u64).collect();
        let mut want = v.clone();
        want.sort_unstable();
        let mut got = v.clone();
        sort_u64(&mut got).unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn sort_f64_nans_last_zeros_ordered(v in f64_vecs(800)) {
        let mut got = v.clone();
        sort_f64(&mut got).unwrap();
        assert_f64_sorted_like_reference(&got, &v);
    }
}

// ---- fixed cases -----------------------------------------------------------

#[test]
fn sum_f64_beats_naive_on_cancellation() {
    // Naive left-to-right summation gives 0 for both.
    assert_eq!(sum_f64(&[1e16, 1.0, -1e16]), Ok(1.0));
    assert_eq!(sum_f64(&[1.0, 1e100, 1.0, -1e100]), Ok(2.0));
    // 0.1 ten thousand times: naive drifts in the 12th digit.
    let v = vec![0.1; 10_000];
    let got = sum_f64(&v).unwrap();
    assert_eq!(got, exact_sum(&v));
}

#[test]
fn sum_f64_overflow_policy() {
    let m = f64::MAX;
    assert_eq!(sum_f64(&[m, m]), Ok(f64::INFINITY));
    assert_eq!(sum_f64(&[-m, -m]), Ok(f64::NEG_INFINITY));
    // The running sum overflows, the total does not.
    assert_eq!(sum_f64(&[m, m, -m, -m, 0.5]), Ok(0.5));
    assert_eq!(sum_f64(&[m, m, -m]), Ok(m));
    let z = sum_f64(&[]).unwrap();
    assert!(z == 0.0 && z.is_sign_positive());
    let nz = sum_f64(&[-0.0]).unwrap();
    assert!(nz == 0.0 && nz.is_sign_positive(), "compensated sums start from +0.0");
}

#[test]
fn sort_f64_exact_order_of_specials() {
    let mut v = vec![f64::NAN, 1.0, -0.0, f64::INFINITY, 0.0, -f64::NAN, f64::NEG_INFINITY, -1.0, 0.0, -0.0];
    sort_f64(&mut v).unwrap();
    let head: Vec<u64> = v[..8].iter().map(|x| x.to_bits()).collect();
    let want: Vec<u64> =
        [f64::NEG_INFINITY, -1.0, -0.0, -0.0, 0.0, 0.0, 1.0, f64::INFINITY].iter().map(|x| x.to_bits()).collect();
    assert_eq!(head, want);
    assert!(v[8].is_nan() && v[9].is_nan());
}

#[test]
fn sorts_around_the_radix_threshold() {
    // The radix sort hands short inputs to insertion/introsort; cover both
    // sides and the sizes where introsort's partitioning starts.
    let mut seed = 0x1234_5678u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for len in (0..40).chain(180..200).chain([255, 256, 257, 1000, 4096, 70_000]) {
        let v: Vec<i64> = (0..len).map(|_| next() as i64).collect();
        let mut want = v.clone();
        want.sort_unstable();
        let mut got = v;
        sort_i64(&mut got).unwrap();
        assert_eq!(got, want, "len {len}");
    }
}

#[test]
fn sum_f64_of_finite_values_past_the_range_is_an_infinity() {
    // Found by the property test: the exact sum is below -f64::MAX.
    let v = [-2.3509789000000016e307, -1.5625952450000009e308];
    assert_eq!(sum_f64(&v).unwrap(), f64::NEG_INFINITY);
    assert_eq!(sum_f64(&[f64::MAX, f64::MAX]).unwrap(), f64::INFINITY);
    // Cancelling after the overflow point must not poison the result.
    assert_eq!(sum_f64(&[f64::MAX, f64::MAX, -f64::MAX]).unwrap(), f64::MAX);
}
