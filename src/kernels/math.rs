//! Integer and floating-point math (`csrc/te_math.h`).

use super::{check, raw};
use crate::Result;

/// `n!`. [`crate::EngineError::Overflow`] for `n > 20` (21! does not fit in `u64`).
pub fn factorial(n: u32) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `out` is a valid, writable u64 for the duration of the call.
    let st = unsafe { raw::te_k_factorial(n, &mut out) };
    check(st, "factorial", 0).map(|()| out)
}

/// The Fibonacci number `F(n)` with `F(0) = 0`, `F(1) = 1`.
/// [`crate::EngineError::Overflow`] for `n > 93`.
pub fn fibonacci(n: u32) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `out` is a valid, writable u64 for the duration of the call.
    let st = unsafe { raw::te_k_fibonacci(n, &mut out) };
    check(st, "fibonacci", 0).map(|()| out)
}

/// Greatest common divisor; `gcd(0, 0) = 0`. Never fails.
pub fn gcd(a: u64, b: u64) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `out` is a valid, writable u64 for the duration of the call.
    let st = unsafe { raw::te_k_gcd(a, b, &mut out) };
    check(st, "gcd", 0).map(|()| out)
}

/// Least common multiple; `lcm(a, 0) = 0`. [`crate::EngineError::Overflow`]
/// when it does not fit in `u64`.
pub fn lcm(a: u64, b: u64) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `out` is a valid, writable u64 for the duration of the call.
    let st = unsafe { raw::te_k_lcm(a, b, &mut out) };
    check(st, "lcm", 0).map(|()| out)
}

/// `floor(sqrt(x))`, exact for every `u64`. Never fails.
pub fn isqrt(x: u64) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `out` is a valid, writable u64 for the duration of the call.
    let st = unsafe { raw::te_k_isqrt(x, &mut out) };
    check(st, "isqrt", 0).map(|()| out)
}

/// The correctly rounded square root. A negative `x` or a NaN is
/// [`crate::EngineError::Invalid`]; `sqrt(-0.0) = -0.0`, `sqrt(inf) = inf`.
pub fn sqrt(x: f64) -> Result<f64> {
    let mut out = 0.0;
    // SAFETY: `out` is a valid, writable f64 for the duration of the call.
    let st = unsafe { raw::te_k_sqrt(x, &mut out) };
    check(st, "square root of a negative number or NaN", 0).map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineError;

    // Independent references: u128 arithmetic and Euclid's algorithm.
    fn gcd_ref(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }

    #[test]
    fn factorial_matches_u128_products_and_overflows_at_21() {
        let mut f: u128 = 1;
        for n in 0..=25u32 {
            if n > 0 {
                f *= u128::from(n);
            }
            match u64::try_from(f) {
                Ok(v) => assert_eq!(factorial(n), Ok(v), "n = {n}"),
                Err(_) => assert_eq!(factorial(n), Err(EngineError::Overflow), "n = {n}"),
            }
        }
        assert_eq!(factorial(u32::MAX), Err(EngineError::Overflow));
    }

    #[test]
    fn gcd_and_lcm_agree_with_euclid() {
        let vals = [0, 1, 2, 3, 6, 12, 18, 97, 1 << 40, 3 << 20, u64::MAX, u64::MAX - 1];
        for &a in &vals {
            for &b in &vals {
                let g = gcd_ref(a, b);
                assert_eq!(gcd(a, b), Ok(g), "gcd({a}, {b})");
                let l = if a == 0 || b == 0 { 0 } else { u128::from(a / g) * u128::from(b) };
                match u64::try_from(l) {
                    Ok(v) => assert_eq!(lcm(a, b), Ok(v), "lcm({a}, {b})"),
                    Err(_) => assert_eq!(lcm(a, b), Err(EngineError::Overflow)),
                }
            }
        }
    }

    #[test]
    fn isqrt_is_exact_near_squares() {
        for r in (0..=u64::from(u32::MAX)).step_by(65_521).chain([u64::from(u32::MAX)]) {
            let sq = r * r;
            assert_eq!(isqrt(sq), Ok(r));
            if sq > 0 {
                assert_eq!(isqrt(sq - 1), Ok(r - 1));
            }
            if r < u64::from(u32::MAX) {
                assert_eq!(isqrt(sq + 2 * r), Ok(r)); // (r+1)^2 - 1
            }
        }
        assert_eq!(isqrt(u64::MAX), Ok(u64::from(u32::MAX)));
        assert_eq!(isqrt(u64::MAX).unwrap(), u64::MAX.isqrt());
    }

    #[test]
    fn sqrt_domain() {
        assert_eq!(sqrt(2.0), Ok(2f64.sqrt()));
        assert_eq!(sqrt(f64::INFINITY), Ok(f64::INFINITY));
        let z = sqrt(-0.0).unwrap();
        assert!(z == 0.0 && z.is_sign_negative());
        assert!(matches!(sqrt(-1e-300), Err(EngineError::Invalid(_))));
        assert!(matches!(sqrt(f64::NEG_INFINITY), Err(EngineError::Invalid(_))));
        assert!(matches!(sqrt(f64::NAN), Err(EngineError::Invalid(_))));
    }
}
