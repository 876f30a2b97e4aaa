//! Shared by the targets: the first input byte picks how the call is made (output
//! room, in place or not); the rest is the text or the array.

use std::os::raw::c_char;

use taskengine::ffi::te_status;

/// Filled into outputs before a call: failures must leave it there.
pub const SENTINEL: u8 = 0xA5;

/// How a text call is made, decoded from one control byte.
pub struct Mode {
    /// Call with `out == in`.
    pub in_place: bool,
    /// Output room below what the result needs (by `short` bytes, at least 1).
    pub short: Option<usize>,
}

pub fn mode(control: u8) -> Mode {
    Mode { in_place: control & 1 != 0, short: (control & 6 == 6).then_some(1 + (control >> 3) as usize) }
}

/// Calls a text entry point on `input` with `cap` bytes of room (`out` must be
/// at least that long), in place if asked. Returns the status and `*out_len`.
pub fn call_text(
    f: unsafe extern "C" fn(*const c_char, usize, *mut c_char, usize, *mut usize) -> te_status,
    input: &[u8],
    out: &mut [u8],
    cap: usize,
    in_place: bool,
) -> (te_status, usize) {
    assert!(out.len() >= cap.max(input.len()) || !in_place);
    let mut out_len = usize::from_ne_bytes([SENTINEL; std::mem::size_of::<usize>()]);
    let st = if in_place {
        out[..input.len()].copy_from_slice(input);
        let p = out.as_mut_ptr().cast::<c_char>();
        // SAFETY: `out` holds the input and at least `cap` bytes; nothing else uses it.
        unsafe { f(p, input.len(), p, cap, &mut out_len) }
    } else {
        // SAFETY: both buffers live and long enough; `out` is ours alone.
        unsafe { f(input.as_ptr().cast(), input.len(), out.as_mut_ptr().cast(), cap, &mut out_len) }
    };
    (st, out_len)
}

pub fn untouched_len(out_len: usize) -> bool {
    out_len == usize::from_ne_bytes([SENTINEL; std::mem::size_of::<usize>()])
}

/// On failure the output is unchanged: the sentinel, or the input for an in-place call.
pub fn check_unchanged(out: &[u8], input: &[u8], in_place: bool, what: &str) {
    if in_place {
        assert_eq!(&out[..input.len()], input, "{what} changed its in-place input on failure");
        assert!(out[input.len()..].iter().all(|&b| b == SENTINEL), "{what} wrote past the input on failure");
    } else {
        assert!(out.iter().all(|&b| b == SENTINEL), "{what} wrote its output on failure");
    }
}
