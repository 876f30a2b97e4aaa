//! The kernels for 32-bit and narrower items through the C ABI, in the style of
//! `kernels.rs`: a parallel form (with an `engine` argument, NULL = the
//! current/default engine) and a `_serial` form of each, through the helpers
//! there.

use super::engine::te_engine;
use super::kernels::{reduce_here, reduce_on, sort_here, sort_on};
use super::status::te_status;
use crate::kernels;

/// Writes the exact sum of `data[0..len)`, as an int64_t, to `*out` (the same
/// for any number of workers). The sum of an empty array is 0. TE_ERR_OVERFLOW
/// when the true sum does not fit in int64_t (which takes more than 2^32
/// elements).
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_i32(engine: *mut te_engine, data: *const i32, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_sum_i32) }
}

/// As te_sum_i32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_i32_serial(data: *const i32, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::sum_i32) }
}

/// Writes the exact sum of `data[0..len)`, as a uint64_t, to `*out` (the same
/// for any number of workers). The sum of an empty array is 0. TE_ERR_OVERFLOW
/// when the true sum does not fit in uint64_t (which takes more than 2^32
/// elements).
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_u32(engine: *mut te_engine, data: *const u32, len: usize, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_sum_u32) }
}

/// As te_sum_u32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_u32_serial(data: *const u32, len: usize, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::sum_u32) }
}

/// Writes the compensated sum of `data[0..len)` to `*out` as a double: the
/// floats are widened to double (exactly) and summed as te_sum_f64 sums, and the
/// result is not rounded to float (round it yourself if you want np.sum's type).
/// The same bits for any number of workers. The sum of an empty array is +0.0;
/// any NaN, or both infinities, give NaN; otherwise an infinite element gives
/// that infinity. No finite input can overflow.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_f32(engine: *mut te_engine, data: *const f32, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_sum_f32) }
}

/// As te_sum_f32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_f32_serial(data: *const f32, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::sum_f32) }
}

/// Writes the largest element of `data[0..len)` to `*out`. TE_ERR_INVALID for
/// an empty array.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_i32(engine: *mut te_engine, data: *const i32, len: usize, out: *mut i32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_max_i32) }
}

/// As te_max_i32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_i32_serial(data: *const i32, len: usize, out: *mut i32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::max_i32) }
}

/// Writes the largest element of `data[0..len)` to `*out`. TE_ERR_INVALID for
/// an empty array.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_u32(engine: *mut te_engine, data: *const u32, len: usize, out: *mut u32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_max_u32) }
}

/// As te_max_u32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_u32_serial(data: *const u32, len: usize, out: *mut u32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::max_u32) }
}

/// Writes the largest element of `data[0..len)` to `*out`, in the order
/// -inf < ... < -0.0 < +0.0 < ... < +inf, ignoring NaNs unless every element is
/// NaN (then the first element). TE_ERR_INVALID for an empty array.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_f32(engine: *mut te_engine, data: *const f32, len: usize, out: *mut f32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_max_f32) }
}

/// As te_max_f32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_f32_serial(data: *const f32, len: usize, out: *mut f32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::max_f32) }
}

/// Writes the smallest element of `data[0..len)` to `*out`. TE_ERR_INVALID for
/// an empty array.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_i32(engine: *mut te_engine, data: *const i32, len: usize, out: *mut i32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_min_i32) }
}

/// As te_min_i32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_i32_serial(data: *const i32, len: usize, out: *mut i32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::min_i32) }
}

/// Writes the smallest element of `data[0..len)` to `*out`. TE_ERR_INVALID for
/// an empty array.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_u32(engine: *mut te_engine, data: *const u32, len: usize, out: *mut u32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_min_u32) }
}

/// As te_min_u32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_u32_serial(data: *const u32, len: usize, out: *mut u32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::min_u32) }
}

/// Writes the smallest element of `data[0..len)` to `*out`, in the order
/// -inf < ... < -0.0 < +0.0 < ... < +inf, ignoring NaNs unless every element is
/// NaN (then the first element). TE_ERR_INVALID for an empty array.
///
/// Large arrays are split across the workers of `engine` (NULL = the
/// current/default engine). TE_ERR_NULL for a NULL `out`, or a NULL `data` with
/// `len` > 0; TE_ERR_INVALID for a `len` no array can have or a misaligned
/// `data`. On failure `*out` is not written.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements not
/// written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_f32(engine: *mut te_engine, data: *const f32, len: usize, out: *mut f32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_min_f32) }
}

/// As te_min_f32, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_f32_serial(data: *const f32, len: usize, out: *mut f32) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::min_f32) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_i32_serial, bit
/// for bit. Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i32(engine: *mut te_engine, data: *mut i32, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_i32) }
}

/// As te_sort_i32, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i32_serial(data: *mut i32, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_i32) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_u32_serial, bit
/// for bit. Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u32(engine: *mut te_engine, data: *mut u32, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_u32) }
}

/// As te_sort_u32, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u32_serial(data: *mut u32, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_u32) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_f32_serial, bit
/// for bit.
/// The order is te_sort_f64's: -inf < ... < -0.0 < +0.0 < ... < +inf < NaN, NaNs
/// last and ordered among themselves by bit pattern (positive before negative). Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_f32(engine: *mut te_engine, data: *mut f32, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_f32) }
}

/// As te_sort_f32, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_f32_serial(data: *mut f32, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_f32) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_i16_serial, bit
/// for bit. Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i16(engine: *mut te_engine, data: *mut i16, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_i16) }
}

/// As te_sort_i16, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i16_serial(data: *mut i16, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_i16) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_u16_serial, bit
/// for bit. Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u16(engine: *mut te_engine, data: *mut u16, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_u16) }
}

/// As te_sort_u16, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u16_serial(data: *mut u16, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_u16) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_i8_serial, bit
/// for bit. Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i8(engine: *mut te_engine, data: *mut i8, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_i8) }
}

/// As te_sort_i8, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i8_serial(data: *mut i8, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_i8) }
}

/// Sorts `data[0..len)` ascending, in place: a radix sort on the engine's workers
/// (NULL = the current/default engine), the same result as te_sort_u8_serial, bit
/// for bit. Its scratch memory (one more array of `len` elements) comes from
/// the engine's cache, kept between calls (te_engine_set_scratch_limit); when none
/// can be had it sorts in place instead (slower, never a failure). TE_ERR_NULL for
/// a NULL `data` with `len` > 0; TE_ERR_INVALID for a `len` no array can have or a
/// misaligned `data`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` writable elements
/// that nothing else accesses during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u8(engine: *mut te_engine, data: *mut u8, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_u8) }
}

/// As te_sort_u8, on the calling thread only (its scratch memory is allocated
/// for the call).
///
/// # Safety
/// `data` must be NULL or `len` writable elements that nothing else accesses
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u8_serial(data: *mut u8, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_u8) }
}
