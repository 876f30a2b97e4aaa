//! The C kernels' declarations, exactly as in `csrc/te_*.h`. Private: the
//! safe wrappers beside this module are the only callers.

use std::ffi::{c_char, c_int, c_uint, c_void};

/// `TE_K_OK` and the error statuses a kernel can return (`csrc/te_kcommon.h`);
/// the same numbers as [`crate::EngineError::code`].
pub(super) const OK: c_int = 0;
pub(super) const ERR_NULL: c_int = 1;
pub(super) const ERR_INVALID: c_int = 2;
pub(super) const ERR_OVERFLOW: c_int = 3;
pub(super) const ERR_UTF8: c_int = 10;
pub(super) const ERR_BUFFER_TOO_SMALL: c_int = 12;

extern "C" {
    // te_math.h
    pub(super) fn te_k_factorial(n: u32, out: *mut u64) -> c_int;
    pub(super) fn te_k_fibonacci(n: u32, out: *mut u64) -> c_int;
    pub(super) fn te_k_gcd(a: u64, b: u64, out: *mut u64) -> c_int;
    pub(super) fn te_k_lcm(a: u64, b: u64, out: *mut u64) -> c_int;
    pub(super) fn te_k_isqrt(x: u64, out: *mut u64) -> c_int;
    pub(super) fn te_k_sqrt(x: f64, out: *mut f64) -> c_int;

    // te_array.h: sums and extrema
    pub(super) fn te_k_sum_i64(data: *const i64, len: usize, out: *mut i64) -> c_int;
    pub(super) fn te_k_sum_i64_wide(data: *const i64, len: usize, hi: *mut i64, lo: *mut u64) -> c_int;
    pub(super) fn te_k_sum_f64(data: *const f64, len: usize, out: *mut f64) -> c_int;
    pub(super) fn te_k_sum_f64_parts(data: *const f64, len: usize, s: *mut f64, c: *mut f64) -> c_int;
    pub(super) fn te_k_min_i64(data: *const i64, len: usize, out: *mut i64) -> c_int;
    pub(super) fn te_k_max_i64(data: *const i64, len: usize, out: *mut i64) -> c_int;
    pub(super) fn te_k_min_f64(data: *const f64, len: usize, out: *mut f64) -> c_int;
    pub(super) fn te_k_max_f64(data: *const f64, len: usize, out: *mut f64) -> c_int;

    // te_array.h: sorting
    pub(super) fn te_k_sort_i64(data: *mut i64, len: usize, scratch: *mut i64) -> c_int;
    pub(super) fn te_k_sort_u64(data: *mut u64, len: usize, scratch: *mut u64) -> c_int;
    pub(super) fn te_k_sort_f64(data: *mut f64, len: usize, scratch: *mut f64) -> c_int;
    pub(super) fn te_k_radix_hist_i64(
        data: *const i64,
        len: usize,
        byte: c_uint,
        hist: *mut usize,
        bits: *mut u64,
    ) -> c_int;
    pub(super) fn te_k_radix_hist_u64(
        data: *const u64,
        len: usize,
        byte: c_uint,
        hist: *mut usize,
        bits: *mut u64,
    ) -> c_int;
    pub(super) fn te_k_radix_hist_f64(
        data: *const f64,
        len: usize,
        byte: c_uint,
        hist: *mut usize,
        bits: *mut u64,
    ) -> c_int;
    pub(super) fn te_k_radix_scatter_i64(
        src: *const i64,
        len: usize,
        byte: c_uint,
        offsets: *mut usize,
        ends: *const usize,
        dst: *mut i64,
    ) -> c_int;
    pub(super) fn te_k_radix_scatter_u64(
        src: *const u64,
        len: usize,
        byte: c_uint,
        offsets: *mut usize,
        ends: *const usize,
        dst: *mut u64,
    ) -> c_int;
    pub(super) fn te_k_radix_scatter_f64(
        src: *const f64,
        len: usize,
        byte: c_uint,
        offsets: *mut usize,
        ends: *const usize,
        dst: *mut f64,
    ) -> c_int;
    pub(super) fn te_k_radix_sort_i64(
        data: *mut i64,
        tmp: *mut i64,
        len: usize,
        nbytes: c_uint,
        result_in_tmp: c_int,
    ) -> c_int;
    pub(super) fn te_k_radix_sort_u64(
        data: *mut u64,
        tmp: *mut u64,
        len: usize,
        nbytes: c_uint,
        result_in_tmp: c_int,
    ) -> c_int;
    pub(super) fn te_k_radix_sort_f64(
        data: *mut f64,
        tmp: *mut f64,
        len: usize,
        nbytes: c_uint,
        result_in_tmp: c_int,
    ) -> c_int;

    // te_text.h
    pub(super) fn te_k_utf8_reverse(
        input: *const c_char,
        len: usize,
        out: *mut c_char,
        out_cap: usize,
        out_len: *mut usize,
    ) -> c_int;
    pub(super) fn te_k_ascii_upper(
        input: *const c_char,
        len: usize,
        out: *mut c_char,
        ascii_prefix: *mut usize,
    ) -> c_int;
    pub(super) fn te_k_fnv1a64(data: *const c_void, len: usize, out: *mut u64) -> c_int;

    // te_mem.h
    pub(super) fn te_k_mem_copy(dst: *mut c_void, src: *const c_void, len: usize) -> c_int;
    pub(super) fn te_k_mem_compare(a: *const c_void, b: *const c_void, len: usize, out: *mut c_int) -> c_int;
}

extern "C" {
    // te_array.h: 32-bit sums and extrema
    pub(super) fn te_k_sum_i32(data: *const i32, len: usize, out: *mut i64) -> c_int;
    pub(super) fn te_k_sum_u32(data: *const u32, len: usize, out: *mut u64) -> c_int;
    pub(super) fn te_k_sum_f32(data: *const f32, len: usize, out: *mut f64) -> c_int;
    pub(super) fn te_k_sum_f32_parts(data: *const f32, len: usize, s: *mut f64, c: *mut f64) -> c_int;
    pub(super) fn te_k_min_i32(data: *const i32, len: usize, out: *mut i32) -> c_int;
    pub(super) fn te_k_max_i32(data: *const i32, len: usize, out: *mut i32) -> c_int;
    pub(super) fn te_k_min_u32(data: *const u32, len: usize, out: *mut u32) -> c_int;
    pub(super) fn te_k_max_u32(data: *const u32, len: usize, out: *mut u32) -> c_int;
    pub(super) fn te_k_min_f32(data: *const f32, len: usize, out: *mut f32) -> c_int;
    pub(super) fn te_k_max_f32(data: *const f32, len: usize, out: *mut f32) -> c_int;
}

/// The sort kernels of one narrower element type (`TE_K_RADIX_DECL` in te_array.h).
macro_rules! radix_externs {
    ($t:ty, $sort:ident, $hist:ident, $scatter:ident, $radix:ident) => {
        extern "C" {
            pub(super) fn $sort(data: *mut $t, len: usize, scratch: *mut $t) -> c_int;
            pub(super) fn $hist(data: *const $t, len: usize, byte: c_uint, hist: *mut usize, bits: *mut u64) -> c_int;
            pub(super) fn $scatter(
                src: *const $t,
                len: usize,
                byte: c_uint,
                offsets: *mut usize,
                ends: *const usize,
                dst: *mut $t,
            ) -> c_int;
            pub(super) fn $radix(
                data: *mut $t,
                tmp: *mut $t,
                len: usize,
                nbytes: c_uint,
                result_in_tmp: c_int,
            ) -> c_int;
        }
    };
}

radix_externs!(i32, te_k_sort_i32, te_k_radix_hist_i32, te_k_radix_scatter_i32, te_k_radix_sort_i32);
radix_externs!(u32, te_k_sort_u32, te_k_radix_hist_u32, te_k_radix_scatter_u32, te_k_radix_sort_u32);
radix_externs!(f32, te_k_sort_f32, te_k_radix_hist_f32, te_k_radix_scatter_f32, te_k_radix_sort_f32);
radix_externs!(i16, te_k_sort_i16, te_k_radix_hist_i16, te_k_radix_scatter_i16, te_k_radix_sort_i16);
radix_externs!(u16, te_k_sort_u16, te_k_radix_hist_u16, te_k_radix_scatter_u16, te_k_radix_sort_u16);
radix_externs!(i8, te_k_sort_i8, te_k_radix_hist_i8, te_k_radix_scatter_i8, te_k_radix_sort_i8);
radix_externs!(u8, te_k_sort_u8, te_k_radix_hist_u8, te_k_radix_scatter_u8, te_k_radix_sort_u8);
