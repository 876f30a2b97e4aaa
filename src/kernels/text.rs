//! Text kernels (`csrc/te_text.h`): UTF-8 reversal, upper-casing, FNV-1a.

use super::{check, raw};
use crate::{EngineError, Result};

/// Reverses UTF-8 text by code point into `out`, returning the number of
/// bytes written (`input.len()`).
///
/// Invalid UTF-8 (overlong forms, surrogates, values above U+10FFFF, stray
/// continuation bytes, truncated sequences) is [`EngineError::Utf8`] with the
/// length of the valid prefix; an `out` shorter than `input` is
/// [`EngineError::BufferTooSmall`]. `out` is written only on success.
pub fn utf8_reverse(input: &[u8], out: &mut [u8]) -> Result<usize> {
    let mut out_len = 0;
    // SAFETY: `input` is a live slice read for `len` bytes; `out` is an
    // exclusive slice written for at most `out.len()` bytes (it cannot
    // overlap `input`); `out_len` is writable.
    let st = unsafe {
        raw::te_k_utf8_reverse(input.as_ptr().cast(), input.len(), out.as_mut_ptr().cast(), out.len(), &mut out_len)
    };
    check(st, "utf8_reverse", out_len).map(|()| out_len)
}

/// [`utf8_reverse`] into a new `String`.
pub fn utf8_reverse_string(input: &[u8]) -> Result<String> {
    let mut out = vec![0u8; input.len()];
    let n = utf8_reverse(input, &mut out)?;
    out.truncate(n);
    into_string(out)
}

/// Upper-cases ASCII letters into `out[..input.len()]`, copying every other
/// byte unchanged (like `u8::to_ascii_uppercase`); `out` may not be shorter
/// than `input` ([`EngineError::BufferTooSmall`]).
pub fn ascii_upper(input: &[u8], out: &mut [u8]) -> Result<()> {
    if out.len() < input.len() {
        return Err(EngineError::BufferTooSmall { needed: input.len() });
    }
    ascii_upper_prefix(input, &mut out[..input.len()]).map(|_| ())
}

/// Runs the C kernel; returns the length of the leading ASCII run.
fn ascii_upper_prefix(input: &[u8], out: &mut [u8]) -> Result<usize> {
    debug_assert_eq!(input.len(), out.len());
    let mut prefix = 0;
    // SAFETY: `input` is read and `out` (an exclusive slice of the same
    // length, so not overlapping) written for `input.len()` bytes; `prefix`
    // is writable.
    let st = unsafe { raw::te_k_ascii_upper(input.as_ptr().cast(), input.len(), out.as_mut_ptr().cast(), &mut prefix) };
    check(st, "ascii_upper", 0).map(|()| prefix)
}

/// Upper-cases UTF-8 text with the full Unicode mapping of
/// [`str::to_uppercase`] (so `"ß"` becomes `"SS"`): the leading ASCII run in
/// C, the rest through Rust's std. [`EngineError::Utf8`] on invalid input.
pub fn upper_string(input: &[u8]) -> Result<String> {
    // `input` is read once, by the C kernel; everything after works on `out`,
    // which is ours. `input` may be a caller's buffer that another thread
    // writes meanwhile (from C or Python, against their contract): text
    // validated in `input` could then change under a `&str`, whose decoding
    // trusts it, while our copy cannot.
    let mut out = vec![0u8; input.len()];
    let prefix = ascii_upper_prefix(input, &mut out)?;
    if prefix >= out.len() {
        return into_string(out);
    }
    // ASCII upper-casing keeps UTF-8 validity and every offset, so the copy's
    // errors are the input's; and upper-casing maps each char on its own (no
    // context, unlike lower-casing's final sigma), so the tail can be done
    // separately. Its ASCII letters are upper case already, which changes
    // nothing. The prefix came from the kernel's own read: a char boundary
    // at or before it keeps slicing sound even if the input changed.
    let text = std::str::from_utf8(&out).map_err(|e| EngineError::Utf8 { valid_up_to: e.valid_up_to() })?;
    let start = (0..=prefix).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let tail = text[start..].to_uppercase();
    let mut s = String::with_capacity(start + tail.len());
    s.push_str(&text[..start]);
    s.push_str(&tail);
    Ok(s)
}

/// [`upper_string`] into `out`, returning the number of bytes written. The
/// result can be longer than the input (up to three times);
/// [`EngineError::BufferTooSmall`] says how long. `out` is written only on
/// success.
pub fn upper(input: &[u8], out: &mut [u8]) -> Result<usize> {
    let s = upper_string(input)?;
    let dst = out.get_mut(..s.len()).ok_or(EngineError::BufferTooSmall { needed: s.len() })?;
    dst.copy_from_slice(s.as_bytes());
    Ok(s.len())
}

/// The 64-bit FNV-1a hash of `data`. Never fails.
pub fn fnv1a64(data: &[u8]) -> Result<u64> {
    let mut out = 0;
    // SAFETY: `data` is a live slice read for `len` bytes; `out` is writable.
    let st = unsafe { raw::te_k_fnv1a64(data.as_ptr().cast(), data.len(), &mut out) };
    check(st, "fnv1a64", 0).map(|()| out)
}

/// Checks rather than trusts the kernels' UTF-8 output.
fn into_string(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| EngineError::Utf8 { valid_up_to: e.utf8_error().valid_up_to() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_checks_input_before_buffer_and_writes_nothing_on_error() {
        let mut out = [0xAAu8; 4];
        assert_eq!(utf8_reverse(b"ab\xC0\x80", &mut out[..1]), Err(EngineError::Utf8 { valid_up_to: 2 }));
        assert_eq!(utf8_reverse("h\u{e9}".as_bytes(), &mut out[..2]), Err(EngineError::BufferTooSmall { needed: 3 }));
        assert_eq!(out, [0xAA; 4]);
        assert_eq!(utf8_reverse("h\u{e9}".as_bytes(), &mut out), Ok(3));
        assert_eq!(&out[..3], "\u{e9}h".as_bytes());
    }

    #[test]
    fn upper_mixes_ascii_and_unicode() {
        assert_eq!(upper_string(b"abc XYZ 09"), Ok("ABC XYZ 09".to_string()));
        assert_eq!(upper_string("stra\u{df}e".as_bytes()), Ok("STRASSE".to_string()));
        let mut small = [0u8; 6];
        assert_eq!(upper("stra\u{df}e".as_bytes(), &mut small), Err(EngineError::BufferTooSmall { needed: 7 }));
        assert_eq!(small, [0; 6]);
        assert_eq!(upper_string(b"a\xFF"), Err(EngineError::Utf8 { valid_up_to: 1 }));
        let mut out = [0u8; 3];
        assert_eq!(ascii_upper(b"a\xFFz", &mut out), Ok(()));
        assert_eq!(out, *b"A\xFFZ");
    }
}
