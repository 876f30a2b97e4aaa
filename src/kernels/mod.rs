//! The bundled C compute kernels (`csrc/`), wrapped safely, and their parallel
//! forms on the engine.
//!
//! Every wrapper returns [`crate::Result`]; the C kernels report failure
//! through the same status numbers as [`EngineError::code`], and write their
//! outputs only on success, so a failed call leaves its output untouched
//! unless a function says otherwise.
//!
//! Policies, chosen once and tested against independent references:
//! - `i64` sums are exact: [`EngineError::Overflow`] iff the true sum does not
//!   fit in `i64` (an intermediate overflow that later cancels is fine).
//! - `f64` sums are compensated; a zero sum is `+0.0`; any NaN, or both
//!   infinities, give NaN; otherwise an infinite input gives that infinity.
//! - `f64` order is `-inf < … < -0.0 < +0.0 < … < +inf < NaN`: sorts put NaNs
//!   last; `min`/`max` ignore NaNs unless all elements are NaN (then NaN).
//! - Empty input has no minimum or maximum: [`EngineError::Invalid`].
//! - 32-bit items: `i32` sums are exact in `i64` and `u32` sums in `u64`
//!   ([`EngineError::Overflow`] iff the true sum does not fit there, which
//!   takes more than 2^32 items); `f32` sums follow the `f64` policy on the
//!   values widened to `f64` and return `f64` (never rounded to `f32`); `f32`
//!   order and min/max follow the `f64` rules. Sorts also take `i16`, `u16`,
//!   `i8` and `u8`; every sort's result is the serial kernel's, bit for bit.
//!
//! The `par_*` forms take an [`Engine`](crate::Engine), cut large inputs into
//! chunks with the C kernels as leaves and give the serial result (the `f64`
//! sum: the same result for any number of workers); small inputs run
//! serially on the calling thread.

mod array;
pub mod catalog;
mod math;
mod mem;
mod parallel;
pub(crate) mod scratch;
mod sort;
mod task;
mod text;

/// cbindgen:ignore
mod raw;

pub use array::{max_f32, max_i32, max_u32, min_f32, min_i32, min_u32, sum_f32, sum_i32, sum_u32};
pub use array::{max_f64, max_i64, min_f64, min_i64, sum_f64, sum_i64};
pub use array::{par_max_f32, par_max_i32, par_max_u32, par_min_f32, par_min_i32, par_min_u32};
pub use array::{par_max_f64, par_max_i64, par_min_f64, par_min_i64};
pub use math::{factorial, fibonacci, gcd, isqrt, lcm, sqrt};
pub use mem::{compare, compare_raw, copy, copy_raw, copy_within};
pub use parallel::{par_compare, par_copy, par_copy_raw, par_copy_within};
pub use parallel::{par_sum_f32, par_sum_f64, par_sum_i32, par_sum_i64, par_sum_u32};
pub use scratch::DEFAULT_SCRATCH_LIMIT;
pub use sort::{par_sort_f32, par_sort_i16, par_sort_i32, par_sort_i8, par_sort_u16, par_sort_u32, par_sort_u8};
pub use sort::{par_sort_f64, par_sort_i64, par_sort_u64};
pub use sort::{sort_f32, sort_i16, sort_i32, sort_i8, sort_u16, sort_u32, sort_u8};
pub use sort::{sort_f64, sort_i64, sort_u64};
pub use task::{MathArg, MathOperation, MathTask, MathValue};
pub use text::{ascii_upper, fnv1a64, upper, upper_string, utf8_reverse, utf8_reverse_string};

use crate::{EngineError, Result};
use std::ffi::c_int;

/// Maps a kernel status onto the crate's error. `what` explains an invalid
/// argument; `detail` is the `*out_len` a text kernel writes with an error.
fn check(status: c_int, what: &str, detail: usize) -> Result<()> {
    match status {
        raw::OK => Ok(()),
        raw::ERR_NULL => Err(EngineError::Null),
        raw::ERR_INVALID => Err(EngineError::invalid(what)),
        raw::ERR_OVERFLOW => Err(EngineError::Overflow),
        raw::ERR_UTF8 => Err(EngineError::Utf8 { valid_up_to: detail }),
        raw::ERR_BUFFER_TOO_SMALL => Err(EngineError::BufferTooSmall { needed: detail }),
        // Not a status the kernels define: the C side broke its contract.
        other => Err(EngineError::Ffi { message: format!("kernel returned unknown status {other} ({what})") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_use_engine_error_numbering() {
        for status in [raw::ERR_NULL, raw::ERR_INVALID, raw::ERR_OVERFLOW, raw::ERR_UTF8, raw::ERR_BUFFER_TOO_SMALL] {
            let err = check(status, "x", 7).unwrap_err();
            assert_eq!(err.code(), status);
        }
        assert_eq!(check(raw::OK, "x", 0), Ok(()));
        assert!(matches!(check(99, "x", 0), Err(EngineError::Ffi { .. })));
    }
}
