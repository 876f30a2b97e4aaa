//! te_sort_f64 / te_sort_f64_serial against `slice::sort_by(f64::total_cmp)`, with
//! NaNs (of any sign and payload) moved last: the documented order is
//! -inf < ... < -0.0 < +0.0 < ... < +inf < NaN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskengine::ffi::{te_sort_f64, te_sort_f64_serial, te_status};

fuzz_target!(|data: &[u8]| {
    let Some((&control, bytes)) = data.split_first() else { return };
    let mut v: Vec<f64> = bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[8 - c.len()..].copy_from_slice(c);
            f64::from_bits(u64::from_be_bytes(w))
        })
        .collect();
    if control == 0xFF && bytes.first() == Some(&0xFF) && !v.is_empty() {
        let n = v.len();
        v = (0..150_000).map(|i| v[i % n]).collect();
    }
    let mut expected: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    expected.sort_by(f64::total_cmp);
    let nans = v.len() - expected.len();
    let st = if control & 1 == 0 {
        // SAFETY: `v` is ours for the call.
        unsafe { te_sort_f64(std::ptr::null_mut(), v.as_mut_ptr(), v.len()) }
    } else {
        // SAFETY: as above.
        unsafe { te_sort_f64_serial(v.as_mut_ptr(), v.len()) }
    };
    assert_eq!(st, te_status::TE_OK);
    let (head, tail) = v.split_at(v.len() - nans);
    assert!(tail.iter().all(|x| x.is_nan()), "NaNs not last");
    assert!(
        head.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()),
        "sort differs from total_cmp (n = {})",
        v.len()
    );
});
