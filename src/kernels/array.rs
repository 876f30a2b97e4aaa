//! Sums and minimum/maximum of arrays (`csrc/te_array.h`).

use super::{check, parallel, raw};
use crate::{Engine, Result};

/// The exact sum. [`crate::EngineError::Overflow`] iff the true sum does not fit in
/// `i64`; the empty sum is 0.
pub fn sum_i64(data: &[i64]) -> Result<i64> {
    let mut out = 0;
    // SAFETY: `data` is a live slice (its pointer is non-null even when empty)
    // read for `len` elements; `out` is a writable i64.
    let st = unsafe { raw::te_k_sum_i64(data.as_ptr(), data.len(), &mut out) };
    check(st, "sum", 0).map(|()| out)
}

/// The exact sum as an `i128`, which cannot overflow for any slice.
pub(crate) fn sum_i64_wide(data: &[i64]) -> i128 {
    let (mut hi, mut lo) = (0i64, 0u64);
    // SAFETY: `data` is a live slice read for `len` elements; `hi` and `lo`
    // are writable.
    let st = unsafe { raw::te_k_sum_i64_wide(data.as_ptr(), data.len(), &mut hi, &mut lo) };
    debug_assert_eq!(st, raw::OK, "no pointer is null");
    (i128::from(hi) << 64) | i128::from(lo)
}

/// The compensated sum (error about one rounding of the exact sum). A zero
/// sum is `+0.0`, the empty one included; any NaN or both infinities give NaN;
/// otherwise an infinite element gives that infinity; finite elements whose
/// true sum is too large for `f64` give ±inf (a running sum that overflows
/// but comes back is no problem).
pub fn sum_f64(data: &[f64]) -> Result<f64> {
    let mut out = 0.0;
    // SAFETY: `data` is a live slice read for `len` elements; `out` is writable.
    let st = unsafe { raw::te_k_sum_f64(data.as_ptr(), data.len(), &mut out) };
    check(st, "sum", 0).map(|()| out)
}

/// A chunk's unrounded compensated sum `(s, c)`, for combining chunks with
/// [`sum_f64`] over all pairs; `None` when the chunk's running sum overflowed
/// on finite inputs (then the whole input must be summed serially).
pub(crate) fn sum_f64_parts(data: &[f64]) -> Option<[f64; 2]> {
    let (mut s, mut c) = (0.0, 0.0);
    // SAFETY: `data` is a live slice read for `len` elements; `s` and `c` are
    // writable.
    let st = unsafe { raw::te_k_sum_f64_parts(data.as_ptr(), data.len(), &mut s, &mut c) };
    debug_assert!(st == raw::OK || st == raw::ERR_OVERFLOW, "status {st}");
    (st == raw::OK).then_some([s, c])
}

/// A minimum or maximum: the serial form over the C kernel and its parallel
/// form on an engine (the same result; see `parallel::par_extremum`), from one
/// line per kernel.
macro_rules! extremum {
    ($(#[$doc:meta])* $name:ident, $par:ident, $t:ty, $raw:ident) => {
        $(#[$doc])*
        pub fn $name(data: &[$t]) -> Result<$t> {
            let mut out = <$t>::default();
            // SAFETY: `data` is a live slice read for `len` elements; `out` is
            // writable.
            let st = unsafe { raw::$raw(data.as_ptr(), data.len(), &mut out) };
            check(st, concat!(stringify!($name), " of an empty array"), 0).map(|()| out)
        }

        #[doc = concat!("[`", stringify!($name), "`] on the engine, in parallel for large inputs (the same")]
        /// result, NaN and signed-zero rules included).
        pub fn $par(engine: &Engine, data: &[$t]) -> Result<$t> {
            parallel::par_extremum(engine, data, parallel::REDUCE, $name)
        }
    };
}

extremum!(
    /// The smallest element; [`crate::EngineError::Invalid`] when `data` is empty.
    min_i64, par_min_i64, i64, te_k_min_i64
);
extremum!(
    /// The largest element; [`crate::EngineError::Invalid`] when `data` is empty.
    max_i64, par_max_i64, i64, te_k_max_i64
);
extremum!(
    /// The smallest element in `-inf < … < -0.0 < +0.0 < … < +inf` order,
    /// ignoring NaNs unless every element is NaN (then the first element);
    /// [`crate::EngineError::Invalid`] when `data` is empty.
    min_f64, par_min_f64, f64, te_k_min_f64
);
extremum!(
    /// The largest element in `-inf < … < -0.0 < +0.0 < … < +inf` order,
    /// ignoring NaNs unless every element is NaN (then the first element);
    /// [`crate::EngineError::Invalid`] when `data` is empty.
    max_f64, par_max_f64, f64, te_k_max_f64
);

/// The exact sum of `i32`s as an `i64`: [`crate::EngineError::Overflow`] iff it
/// does not fit (only possible past 2^32 elements); the empty sum is 0.
pub fn sum_i32(data: &[i32]) -> Result<i64> {
    let mut out = 0;
    // SAFETY: `data` is a live slice read for `len` elements; `out` is writable.
    let st = unsafe { raw::te_k_sum_i32(data.as_ptr(), data.len(), &mut out) };
    check(st, "sum", 0).map(|()| out)
}

/// The exact sum of `u32`s as a `u64`: [`crate::EngineError::Overflow`] iff it
/// does not fit (only possible past 2^32 elements); the empty sum is 0.
pub fn sum_u32(data: &[u32]) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `data` is a live slice read for `len` elements; `out` is writable.
    let st = unsafe { raw::te_k_sum_u32(data.as_ptr(), data.len(), &mut out) };
    check(st, "sum", 0).map(|()| out)
}

/// The compensated sum of `f32`s, computed on the values widened to `f64`
/// and returned as `f64` (not rounded to `f32`); the policies of [`sum_f64`]
/// (no finite `f32` input can overflow it).
pub fn sum_f32(data: &[f32]) -> Result<f64> {
    let mut out = 0.0;
    // SAFETY: `data` is a live slice read for `len` elements; `out` is writable.
    let st = unsafe { raw::te_k_sum_f32(data.as_ptr(), data.len(), &mut out) };
    check(st, "sum", 0).map(|()| out)
}

/// A chunk's unrounded compensated sum `(s, c)`, as [`sum_f64_parts`] (never
/// overflows).
pub(crate) fn sum_f32_parts(data: &[f32]) -> [f64; 2] {
    let (mut s, mut c) = (0.0, 0.0);
    // SAFETY: `data` is a live slice read for `len` elements; `s` and `c` are
    // writable.
    let st = unsafe { raw::te_k_sum_f32_parts(data.as_ptr(), data.len(), &mut s, &mut c) };
    debug_assert_eq!(st, raw::OK, "no pointer is null");
    [s, c]
}

extremum!(
    /// The smallest element; [`crate::EngineError::Invalid`] when `data` is empty.
    min_i32, par_min_i32, i32, te_k_min_i32
);
extremum!(
    /// The largest element; [`crate::EngineError::Invalid`] when `data` is empty.
    max_i32, par_max_i32, i32, te_k_max_i32
);
extremum!(
    /// The smallest element; [`crate::EngineError::Invalid`] when `data` is empty.
    min_u32, par_min_u32, u32, te_k_min_u32
);
extremum!(
    /// The largest element; [`crate::EngineError::Invalid`] when `data` is empty.
    max_u32, par_max_u32, u32, te_k_max_u32
);
extremum!(
    /// The smallest element, with the NaN and signed-zero rules of [`min_f64`];
    /// [`crate::EngineError::Invalid`] when `data` is empty.
    min_f32, par_min_f32, f32, te_k_min_f32
);
extremum!(
    /// The largest element, with the NaN and signed-zero rules of [`max_f64`];
    /// [`crate::EngineError::Invalid`] when `data` is empty.
    max_f32, par_max_f32, f32, te_k_max_f32
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineError;

    #[test]
    fn i64_sum_is_exact_through_intermediate_overflow() {
        let v = [i64::MAX, i64::MAX, i64::MIN, i64::MIN, 5];
        let exact: i128 = v.iter().map(|&x| i128::from(x)).sum();
        assert_eq!(sum_i64(&v), Ok(exact as i64));
        assert_eq!(sum_i64_wide(&v), exact);
        assert_eq!(sum_i64(&[i64::MAX, 1]), Err(EngineError::Overflow));
        assert_eq!(sum_i64(&[i64::MIN, -1]), Err(EngineError::Overflow));
        assert_eq!(sum_i64(&[i64::MIN]), Ok(i64::MIN));
        assert_eq!(sum_i64(&[]), Ok(0));
        let many = vec![i64::MIN; 1000];
        assert_eq!(sum_i64_wide(&many), 1000 * i128::from(i64::MIN));
    }

    #[test]
    fn f64_sum_policies() {
        let empty = sum_f64(&[]).unwrap();
        assert!(empty == 0.0 && empty.is_sign_positive());
        let inf = f64::INFINITY;
        assert!(sum_f64(&[1.0, inf, -inf]).unwrap().is_nan());
        assert!(sum_f64(&[1.0, f64::NAN]).unwrap().is_nan());
        assert_eq!(sum_f64(&[1.0, inf, 2.0]), Ok(inf));
        assert_eq!(sum_f64(&[-inf, 1e308, 1e308]), Ok(-inf));
        // Finite values whose running sum overflows but whose total fits.
        let m = f64::MAX;
        assert_eq!(sum_f64(&[m, m, -m, -m, 1.0]), Ok(1.0));
        assert_eq!(sum_f64(&[m, m, 3.0, -m]), Ok(m));
        assert_eq!(sum_f64(&[m, m]), Ok(inf));
        assert_eq!(sum_f64(&[-m, -m, 1.0]), Ok(-inf));
        assert_eq!(sum_f64_parts(&[m, m, -m]), None);
        // Compensation keeps what naive summation loses.
        assert_eq!(sum_f64(&[1.0, 1e100, 1.0, -1e100]), Ok(2.0));
    }

    #[test]
    fn extrema_policies() {
        assert!(matches!(min_i64(&[]), Err(EngineError::Invalid(_))));
        assert!(matches!(max_f64(&[]), Err(EngineError::Invalid(_))));
        let nan = f64::NAN;
        assert_eq!(min_f64(&[nan, 3.0, nan, -2.0]), Ok(-2.0));
        assert_eq!(max_f64(&[nan, 3.0, nan, -2.0]), Ok(3.0));
        assert!(min_f64(&[nan, -nan]).unwrap().is_nan());
        let lo = min_f64(&[0.0, -0.0, 0.0]).unwrap();
        let hi = max_f64(&[-0.0, 0.0, -0.0]).unwrap();
        assert!(lo == 0.0 && lo.is_sign_negative());
        assert!(hi == 0.0 && hi.is_sign_positive());
        assert_eq!(min_i64(&[i64::MAX, i64::MIN]), Ok(i64::MIN));
        assert_eq!(max_i64(&[i64::MIN]), Ok(i64::MIN));
    }
}
