//! te_ascii_upper against `<[u8]>::to_ascii_uppercase`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskengine::ffi::{te_ascii_upper, te_status};

#[path = "common.rs"]
mod common;
use common::*;

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else { return };
    let m = mode(control);
    let cap = m.short.map_or(input.len() + (control >> 5) as usize, |s| input.len().saturating_sub(s));
    let mut out = vec![SENTINEL; cap.max(input.len()) + 8];
    let (st, out_len) = call_text(te_ascii_upper, input, &mut out, cap, m.in_place);
    if cap >= input.len() {
        assert_eq!(st, te_status::TE_OK);
        assert_eq!(out_len, input.len());
        assert_eq!(&out[..out_len], &input.to_ascii_uppercase()[..]);
        assert!(out[cap.max(input.len())..].iter().all(|&b| b == SENTINEL), "wrote past out_cap");
    } else {
        assert_eq!(st, te_status::TE_ERR_BUFFER_TOO_SMALL);
        assert!(out_len == input.len() || untouched_len(out_len), "reported {out_len} needed");
        check_unchanged(&out, input, m.in_place, "te_ascii_upper");
    }
});
