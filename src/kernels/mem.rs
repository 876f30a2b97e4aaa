//! Memory kernels (`csrc/te_mem.h`): overlap-safe copy and compare.

use super::{check, raw};
use crate::{EngineError, Result};
use std::cmp::Ordering;
use std::ops::Range;

/// Copies `src` into `dst[..src.len()]`; [`EngineError::BufferTooSmall`] when
/// `dst` is shorter.
pub fn copy(dst: &mut [u8], src: &[u8]) -> Result<()> {
    if dst.len() < src.len() {
        return Err(EngineError::BufferTooSmall { needed: src.len() });
    }
    // SAFETY: both slices are live for `src.len()` bytes (checked above).
    unsafe { copy_raw(dst.as_mut_ptr(), src.as_ptr(), src.len()) }
}

/// Copies `buf[src]` to `buf[dest..]` within one buffer; the ranges may
/// overlap (memmove). [`EngineError::Invalid`] when either is out of bounds.
pub fn copy_within(buf: &mut [u8], src: Range<usize>, dest: usize) -> Result<()> {
    let len = checked_within(buf.len(), &src, dest)?;
    let base = buf.as_mut_ptr();
    // SAFETY: `checked_within` proved `src` and `dest..dest + len` lie inside
    // `buf`, which is exclusively borrowed; the kernel allows overlap.
    unsafe { copy_raw(base.add(dest), base.add(src.start), len) }
}

/// Validates a `copy_within` request and returns its length.
pub(crate) fn checked_within(buf_len: usize, src: &Range<usize>, dest: usize) -> Result<usize> {
    if src.start > src.end || src.end > buf_len {
        return Err(EngineError::invalid("copy_within: source range out of bounds"));
    }
    let len = src.end - src.start;
    if dest > buf_len - len {
        return Err(EngineError::invalid("copy_within: destination out of bounds"));
    }
    Ok(len)
}

/// Copies `len` bytes from `src` to `dst` like `memmove`: the regions may
/// overlap. `len == 0` accepts any pointers, null included.
///
/// # Safety
/// When `len > 0`, `src` must be valid for reads and `dst` for writes of
/// `len` bytes, and no other thread may access `dst` meanwhile.
pub unsafe fn copy_raw(dst: *mut u8, src: *const u8, len: usize) -> Result<()> {
    // SAFETY: the caller's contract is the kernel's; it checks for null and
    // does nothing for `len == 0`.
    let st = unsafe { raw::te_k_mem_copy(dst.cast(), src.cast(), len) };
    check(st, "copy", 0)
}

/// Compares two buffers of equal length byte by byte as unsigned values (the
/// sign of `memcmp`); [`EngineError::Invalid`] when the lengths differ.
pub fn compare(a: &[u8], b: &[u8]) -> Result<Ordering> {
    if a.len() != b.len() {
        return Err(EngineError::invalid("compare: buffers of different lengths"));
    }
    // SAFETY: both slices are live for `a.len()` bytes.
    unsafe { compare_raw(a.as_ptr(), b.as_ptr(), a.len()) }
}

/// Compares `len` bytes like `memcmp`. `len == 0` accepts any pointers.
///
/// # Safety
/// When `len > 0`, `a` and `b` must be valid for reads of `len` bytes.
pub unsafe fn compare_raw(a: *const u8, b: *const u8, len: usize) -> Result<Ordering> {
    let mut out = 0;
    // SAFETY: the caller's contract is the kernel's; `out` is writable.
    let st = unsafe { raw::te_k_mem_compare(a.cast(), b.cast(), len, &mut out) };
    check(st, "compare", 0).map(|()| out.cmp(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_within_overlaps_both_ways() {
        let mut v: Vec<u8> = (0..10).collect();
        copy_within(&mut v, 0..6, 3).unwrap();
        assert_eq!(v, [0, 1, 2, 0, 1, 2, 3, 4, 5, 9]);
        let mut w: Vec<u8> = (0..10).collect();
        copy_within(&mut w, 3..9, 1).unwrap();
        assert_eq!(w, [0, 3, 4, 5, 6, 7, 8, 7, 8, 9]);
        assert!(copy_within(&mut w, 5..11, 0).is_err());
        assert!(copy_within(&mut w, 0..5, 6).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 6..5;
        assert!(copy_within(&mut w, backwards, 0).is_err());
    }

    #[test]
    fn raw_forms_accept_null_for_zero_length() {
        // SAFETY: len 0 touches no memory.
        unsafe {
            assert_eq!(copy_raw(std::ptr::null_mut(), std::ptr::null(), 0), Ok(()));
            assert_eq!(compare_raw(std::ptr::null(), std::ptr::null(), 0), Ok(Ordering::Equal));
            assert_eq!(copy_raw(std::ptr::null_mut(), [1u8].as_ptr(), 1), Err(EngineError::Null));
        }
    }
}
