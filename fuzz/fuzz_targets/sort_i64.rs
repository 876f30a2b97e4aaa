//! te_sort_i64 / te_sort_i64_serial (and te_sort_u64) against `slice::sort`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskengine::ffi::{te_sort_i64, te_sort_i64_serial, te_sort_u64, te_status};

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else { return };
    let mut v: Vec<i64> = bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            // Short chunks give small values, so duplicates and runs are common.
            i64::from_le_bytes(w)
        })
        .collect();
    if control == 0xFF && bytes.first() == Some(&0xFF) && !v.is_empty() {
        // Large enough for the parallel path (over 2^17 elements).
        let n = v.len();
        v = (0..150_000).map(|i| v[i % n].wrapping_add((i / n) as i64)).collect();
    }
    let mut expected = v.clone();
    let st = match control % 3 {
        0 => {
            expected.sort_unstable();
            // SAFETY: `v` is ours for the call.
            unsafe { te_sort_i64(std::ptr::null_mut(), v.as_mut_ptr(), v.len()) }
        }
        1 => {
            expected.sort_unstable();
            // SAFETY: as above.
            unsafe { te_sort_i64_serial(v.as_mut_ptr(), v.len()) }
        }
        _ => {
            expected.sort_unstable_by_key(|&x| x as u64);
            // SAFETY: as above; i64 and u64 have the same layout.
            unsafe { te_sort_u64(std::ptr::null_mut(), v.as_mut_ptr().cast(), v.len()) }
        }
    };
    assert_eq!(st, te_status::TE_OK);
    assert!(v == expected, "sort differs from slice::sort (n = {})", v.len());
});
