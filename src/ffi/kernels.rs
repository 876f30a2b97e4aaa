//! The bundled kernels through the C ABI: each array and memory kernel in a
//! parallel form (with an `engine` argument, NULL = the current/default engine)
//! and a `_serial` form (on the calling thread), plus math, hashing and text.
//! The element types of each array kernel are listed once, in
//! [`crate::kernels::catalog`]; a test checks this surface, the header, the C++
//! wrapper and the Python binding against that list.

use std::ffi::{c_char, c_void};

use super::boundary::status;
use super::engine::te_engine;
use super::ptr::{check_len, engine_arg, slice, slice_mut, Out};
use super::status::te_status;
use crate::error::{EngineError, Result};
use crate::kernels;
use crate::Engine;

/// The bytes `[p, p + len)` as a slice; `(NULL, 0)` is empty.
///
/// # Safety
/// As [`slice`].
unsafe fn bytes<'a>(p: *const c_void, len: usize) -> Result<&'a [u8]> {
    // SAFETY: forwarded contract.
    unsafe { slice(p.cast::<u8>(), len) }
}

/// A reduction on the engine: checks, resolves the engine, writes the result
/// (whose type may differ from the items': a sum of `i32`s is an `i64`).
///
/// # Safety
/// As the exports (`engine` NULL or live, `data` NULL or `len` readable
/// elements, `out` NULL or writable).
pub(super) unsafe fn reduce_on<T, R>(
    engine: *mut te_engine,
    data: *const T,
    len: usize,
    out: *mut R,
    kernel: fn(&Engine, &[T]) -> Result<R>,
) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (data, out) = unsafe { (slice(data, len)?, Out::new(out)?) };
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        out.write(kernel(&engine, data)?);
        Ok(())
    })
}

/// A reduction on the calling thread.
///
/// # Safety
/// As [`reduce_on`], without the engine.
pub(super) unsafe fn reduce_here<T, R>(
    data: *const T,
    len: usize,
    out: *mut R,
    kernel: fn(&[T]) -> Result<R>,
) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (data, out) = unsafe { (slice(data, len)?, Out::new(out)?) };
        out.write(kernel(data)?);
        Ok(())
    })
}

/// Writes the exact sum of `data[0..len)` to `*out`. The sum of an empty array
/// is 0. TE_ERR_OVERFLOW when the true sum does not fit in int64_t (an
/// intermediate overflow that cancels out is fine).
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
pub unsafe extern "C" fn te_sum_i64(engine: *mut te_engine, data: *const i64, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_sum_i64) }
}

/// As te_sum_i64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_i64_serial(data: *const i64, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::sum_i64) }
}

/// Writes the compensated sum of `data[0..len)` to `*out` (close to the exact
/// sum rounded once; the same bits for any number of workers). The sum of an
/// empty array is +0.0; any NaN, or both infinities, give NaN; otherwise an
/// infinite element gives that infinity.
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
pub unsafe extern "C" fn te_sum_f64(engine: *mut te_engine, data: *const f64, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_sum_f64) }
}

/// As te_sum_f64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sum_f64_serial(data: *const f64, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::sum_f64) }
}

/// Writes the largest element of `data[0..len)` to `*out`. TE_ERR_INVALID for
/// an empty array (it has no maximum).
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
pub unsafe extern "C" fn te_max_i64(engine: *mut te_engine, data: *const i64, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_max_i64) }
}

/// As te_max_i64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_i64_serial(data: *const i64, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::max_i64) }
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
pub unsafe extern "C" fn te_min_i64(engine: *mut te_engine, data: *const i64, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_min_i64) }
}

/// As te_min_i64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_i64_serial(data: *const i64, len: usize, out: *mut i64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::min_i64) }
}

/// Writes the largest element of `data[0..len)` to `*out`, in the order
/// -inf < ... < -0.0 < +0.0 < ... < +inf, ignoring NaNs unless every element is
/// NaN (then NaN). TE_ERR_INVALID for an empty array.
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
pub unsafe extern "C" fn te_max_f64(engine: *mut te_engine, data: *const f64, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_max_f64) }
}

/// As te_max_f64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_max_f64_serial(data: *const f64, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::max_f64) }
}

/// Writes the smallest element of `data[0..len)` to `*out`, in the order of
/// te_max_f64, ignoring NaNs unless every element is NaN (then NaN).
/// TE_ERR_INVALID for an empty array.
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
pub unsafe extern "C" fn te_min_f64(engine: *mut te_engine, data: *const f64, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_on(engine, data, len, out, kernels::par_min_f64) }
}

/// As te_min_f64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements not written during the call; `out` NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn te_min_f64_serial(data: *const f64, len: usize, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { reduce_here(data, len, out, kernels::min_f64) }
}

/// A sort on the engine.
///
/// # Safety
/// As the exports (`engine` NULL or live, `data` NULL or `len` elements nobody
/// else uses during the call).
pub(super) unsafe fn sort_on<T>(
    engine: *mut te_engine,
    data: *mut T,
    len: usize,
    kernel: fn(&Engine, &mut [T]) -> Result<()>,
) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let data = unsafe { slice_mut(data, len) }?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        kernel(&engine, data)
    })
}

/// A sort on the calling thread.
///
/// # Safety
/// As [`sort_on`], without the engine.
pub(super) unsafe fn sort_here<T>(data: *mut T, len: usize, kernel: fn(&mut [T]) -> Result<()>) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let data = unsafe { slice_mut(data, len) }?;
        kernel(data)
    })
}

/// Sorts `data[0..len)` ascending, in place: a radix sort (in place, without
/// extra memory, when none can be had).
///
/// Large arrays are sorted in parallel on `engine` (NULL = the current/default
/// engine). TE_ERR_NULL for a NULL `data` with `len` > 0; TE_ERR_INVALID for a
/// `len` no array can have or a misaligned `data` (the data is then untouched).
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements that
/// nobody else reads or writes during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i64(engine: *mut te_engine, data: *mut i64, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_i64) }
}

/// As te_sort_i64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements that nobody else reads or writes during
/// the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_i64_serial(data: *mut i64, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_i64) }
}

/// Sorts `data[0..len)` ascending, in place; see te_sort_i64.
///
/// Large arrays are sorted in parallel on `engine` (NULL = the current/default
/// engine). TE_ERR_NULL for a NULL `data` with `len` > 0; TE_ERR_INVALID for a
/// `len` no array can have or a misaligned `data` (the data is then untouched).
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements that
/// nobody else reads or writes during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u64(engine: *mut te_engine, data: *mut u64, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_u64) }
}

/// As te_sort_u64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements that nobody else reads or writes during
/// the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_u64_serial(data: *mut u64, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_u64) }
}

/// Sorts `data[0..len)` ascending, in place, in the order -inf < ... < -0.0 <
/// +0.0 < ... < +inf < NaN (NaNs last); see te_sort_i64.
///
/// Large arrays are sorted in parallel on `engine` (NULL = the current/default
/// engine). TE_ERR_NULL for a NULL `data` with `len` > 0; TE_ERR_INVALID for a
/// `len` no array can have or a misaligned `data` (the data is then untouched).
///
/// # Safety
/// `engine` must be NULL or a live engine; `data` NULL or `len` elements that
/// nobody else reads or writes during the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_f64(engine: *mut te_engine, data: *mut f64, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_on(engine, data, len, kernels::par_sort_f64) }
}

/// As te_sort_f64, on the calling thread only.
///
/// # Safety
/// `data` must be NULL or `len` elements that nobody else reads or writes during
/// the call.
#[no_mangle]
pub unsafe extern "C" fn te_sort_f64_serial(data: *mut f64, len: usize) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { sort_here(data, len, kernels::sort_f64) }
}

/// Checks a `(dst, src, len)` copy request and gives the pointers as bytes.
fn copy_args(dst: *mut c_void, src: *const c_void, len: usize) -> Result<(*mut u8, *const u8)> {
    if len > 0 && (dst.is_null() || src.is_null()) {
        return Err(EngineError::Null);
    }
    check_len::<u8>(len)?;
    Ok((dst.cast(), src.cast()))
}

/// Copies `len` bytes from `src` to `dst`, like memmove: the regions may overlap.
/// Large copies run in parallel on `engine` (NULL = the current/default engine).
/// `len` 0 copies nothing (NULL pointers allowed then). TE_ERR_NULL if a pointer
/// is NULL with `len` > 0, TE_ERR_INVALID for a `len` no object can have.
///
/// # Safety
/// `engine` must be NULL or a live engine; when `len` > 0, `src` must be readable
/// and `dst` writable for `len` bytes, and nobody else may use `dst` meanwhile.
#[no_mangle]
pub unsafe extern "C" fn te_mem_copy(
    engine: *mut te_engine,
    dst: *mut c_void,
    src: *const c_void,
    len: usize,
) -> te_status {
    status(|| {
        let (dst, src) = copy_args(dst, src, len)?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        // SAFETY: readable/writable for `len` bytes (caller's contract); the
        // kernel allows overlap.
        unsafe { kernels::par_copy_raw(&engine, dst, src, len) }
    })
}

/// As te_mem_copy, on the calling thread only.
///
/// # Safety
/// As te_mem_copy (without the engine).
#[no_mangle]
pub unsafe extern "C" fn te_mem_copy_serial(dst: *mut c_void, src: *const c_void, len: usize) -> te_status {
    status(|| {
        let (dst, src) = copy_args(dst, src, len)?;
        // SAFETY: as in te_mem_copy.
        unsafe { kernels::copy_raw(dst, src, len) }
    })
}

fn ordering_code(ord: std::cmp::Ordering) -> i32 {
    ord as i32
}

/// Compares `len` bytes of `a` and `b` as unsigned values, like memcmp, and
/// writes -1, 0 or 1 to `*out`. Large buffers are compared in parallel on
/// `engine` (NULL = the current/default engine). `len` 0 compares equal (NULL
/// pointers allowed then). TE_ERR_NULL for a NULL pointer with `len` > 0 or a
/// NULL `out`.
///
/// # Safety
/// `engine` must be NULL or a live engine; `a` and `b` readable for `len` bytes
/// and not written during the call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_mem_compare(
    engine: *mut te_engine,
    a: *const c_void,
    b: *const c_void,
    len: usize,
    out: *mut i32,
) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (a, b, out) = unsafe { (bytes(a, len)?, bytes(b, len)?, Out::new(out)?) };
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        out.write(ordering_code(kernels::par_compare(&engine, a, b)?));
        Ok(())
    })
}

/// As te_mem_compare, on the calling thread only.
///
/// # Safety
/// As te_mem_compare (without the engine).
#[no_mangle]
pub unsafe extern "C" fn te_mem_compare_serial(
    a: *const c_void,
    b: *const c_void,
    len: usize,
    out: *mut i32,
) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (a, b, out) = unsafe { (bytes(a, len)?, bytes(b, len)?, Out::new(out)?) };
        out.write(ordering_code(kernels::compare(a, b)?));
        Ok(())
    })
}

/// A math kernel's result into an out-parameter.
///
/// # Safety
/// `out` must be NULL or writable.
unsafe fn compute<T>(out: *mut T, kernel: impl FnOnce() -> Result<T>) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        out.write(kernel()?);
        Ok(())
    })
}

/// Writes n! to `*out`; 0! = 1. TE_ERR_OVERFLOW for n > 20 (21! does not fit
/// in uint64_t).
/// TE_ERR_NULL for a NULL `out`; nothing is written on failure. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_factorial(n: u32, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { compute(out, || kernels::factorial(n)) }
}

/// Writes the Fibonacci number F(n) to `*out`, with F(0) = 0 and F(1) = 1.
/// TE_ERR_OVERFLOW for n > 93.
/// TE_ERR_NULL for a NULL `out`; nothing is written on failure. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_fibonacci(n: u32, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { compute(out, || kernels::fibonacci(n)) }
}

/// Writes the greatest common divisor of `a` and `b` to `*out`; gcd(0, 0) = 0.
/// TE_ERR_NULL for a NULL `out`; nothing is written on failure. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_gcd(a: u64, b: u64, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { compute(out, || kernels::gcd(a, b)) }
}

/// Writes the least common multiple of `a` and `b` to `*out`; lcm(a, 0) = 0.
/// TE_ERR_OVERFLOW when it does not fit in uint64_t.
/// TE_ERR_NULL for a NULL `out`; nothing is written on failure. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_lcm(a: u64, b: u64, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { compute(out, || kernels::lcm(a, b)) }
}

/// Writes floor(sqrt(x)) to `*out`, exact for every uint64_t.
/// TE_ERR_NULL for a NULL `out`; nothing is written on failure. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_isqrt(x: u64, out: *mut u64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { compute(out, || kernels::isqrt(x)) }
}

/// Writes the correctly rounded square root of `x` to `*out`; sqrt(-0.0) is
/// -0.0 and sqrt(+inf) is +inf. TE_ERR_INVALID for a negative `x` or a NaN.
/// TE_ERR_NULL for a NULL `out`; nothing is written on failure. Thread-safe.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_sqrt(x: f64, out: *mut f64) -> te_status {
    // SAFETY: forwarded contract.
    unsafe { compute(out, || kernels::sqrt(x)) }
}

/// Writes the 64-bit FNV-1a hash of the `len` bytes at `data` to `*out` (the
/// hash of no bytes is 0xcbf29ce484222325).
///
/// # Safety
/// `data` must be NULL or readable for `len` bytes; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_hash_fnv1a64(data: *const c_void, len: usize, out: *mut u64) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (data, out) = unsafe { (bytes(data, len)?, Out::new(out)?) };
        out.write(kernels::fnv1a64(data)?);
        Ok(())
    })
}

/// Runs a text kernel from `(input, len)` into `(out, out_cap)`, writing the
/// result's length to `*out_len` on success, and the size needed on
/// TE_ERR_BUFFER_TOO_SMALL: the one failure that writes an out-parameter (the
/// API rules in the header say so). Every other failure writes nothing, neither
/// `*out_len` nor `out`. `out` may overlap `input` (the input is copied first
/// then).
///
/// # Safety
/// As te_utf8_reverse.
unsafe fn text_into(
    input: *const c_char,
    len: usize,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
    kernel: fn(&[u8], &mut [u8]) -> Result<usize>,
) -> Result<()> {
    // SAFETY: NULL or writable (caller's contract).
    let out_len = unsafe { Out::new(out_len) }?;
    // Checked before any slice exists: Rust must never see `input` and `out`
    // as a shared and a mutable slice over the same bytes.
    if len > 0 && input.is_null() {
        return Err(EngineError::Null);
    }
    check_len::<u8>(len)?;
    let overlap = len > 0
        && out_cap > 0
        && (input as usize) < (out as usize).saturating_add(out_cap)
        && (out as usize) < (input as usize).saturating_add(len);
    let copied;
    let input: &[u8] = if overlap {
        // SAFETY: readable for `len` bytes (caller's contract); copied before
        // `out` is borrowed mutably.
        copied = unsafe { bytes(input.cast(), len) }?.to_vec();
        &copied
    } else {
        // SAFETY: readable for `len` bytes and disjoint from `out`.
        unsafe { bytes(input.cast(), len) }?
    };
    // SAFETY: writable for `out_cap` bytes (caller's contract); disjoint from
    // `input`'s slice (checked above, or `input` is our copy).
    let out = unsafe { slice_mut(out.cast::<u8>(), out_cap) }?;
    match kernel(input, out) {
        Ok(n) => {
            out_len.write(n);
            Ok(())
        }
        Err(EngineError::BufferTooSmall { needed }) => {
            // The one output a failure writes, as the header promises.
            out_len.write(needed);
            Err(EngineError::BufferTooSmall { needed })
        }
        Err(err) => Err(err),
    }
}

/// Reverses the UTF-8 text `in[0..len)` by code point (not by byte) into
/// `out`, and writes the number of bytes written (always `len`) to `*out_len`.
/// No NUL is added. `out` may be `in` itself (in-place reversal).
///
/// TE_ERR_UTF8 for invalid UTF-8 (overlong forms, surrogates, values above
/// U+10FFFF, stray or missing continuation bytes), with nothing written;
/// TE_ERR_BUFFER_TOO_SMALL if `out_cap` < `len`, and then `*out_len` receives the
/// size needed (the exception to "nothing written on failure"); any other failure
/// writes nothing. TE_ERR_NULL for a NULL `out_len`, or a NULL buffer with a length.
///
/// # Safety
/// `in` must be NULL or readable for `len` bytes, `out` NULL or writable for
/// `out_cap` bytes, `out_len` NULL or writable; no other thread may write them.
/// If one writes `in` anyway, the result is unspecified (TE_ERR_UTF8 may then
/// come after part of `out` was written), but nothing outside the buffers is
/// touched.
#[no_mangle]
pub unsafe extern "C" fn te_utf8_reverse(
    r#in: *const c_char,
    len: usize,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { text_into(r#in, len, out, out_cap, out_len, kernels::utf8_reverse) })
}

/// Upper-cases the UTF-8 text `in[0..len)` with the full Unicode mapping into
/// `out` and writes the result's length to `*out_len`. The result can be longer
/// than the input ("ß" becomes "SS"; at most 3 times `len`). No NUL is added.
/// `out` may overlap `in`.
///
/// TE_ERR_UTF8 for invalid UTF-8; TE_ERR_BUFFER_TOO_SMALL when `out_cap` is too
/// small, and then `*out_len` receives the size needed (the exception to "nothing
/// written on failure"); as te_utf8_reverse otherwise.
///
/// # Safety
/// As te_utf8_reverse.
#[no_mangle]
pub unsafe extern "C" fn te_utf8_upper(
    r#in: *const c_char,
    len: usize,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { text_into(r#in, len, out, out_cap, out_len, kernels::upper) })
}

fn ascii_upper(input: &[u8], out: &mut [u8]) -> Result<usize> {
    kernels::ascii_upper(input, out).map(|()| input.len())
}

/// Upper-cases the ASCII letters of `in[0..len)` into `out`, copying every
/// other byte (UTF-8 included) unchanged, and writes `len` to `*out_len`. Any
/// bytes are accepted. `out` may be `in` itself (in place).
/// TE_ERR_BUFFER_TOO_SMALL if `out_cap` < `len`, and then `*out_len` receives `len`
/// (the exception to "nothing written on failure"); as te_utf8_reverse otherwise.
///
/// # Safety
/// As te_utf8_reverse.
#[no_mangle]
pub unsafe extern "C" fn te_ascii_upper(
    r#in: *const c_char,
    len: usize,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> te_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { text_into(r#in, len, out, out_cap, out_len, ascii_upper) })
}
