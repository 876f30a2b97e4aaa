//! te_utf8_upper against `str::from_utf8` + `to_uppercase`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskengine::ffi::{te_status, te_utf8_upper};

#[path = "common.rs"]
mod common;
use common::*;

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else { return };
    let m = mode(control);
    let expected = std::str::from_utf8(input).ok().map(str::to_uppercase);
    let needed = expected.as_ref().map_or(input.len(), String::len);
    let cap = m.short.map_or(needed + (control >> 5) as usize, |s| needed.saturating_sub(s));
    let mut out = vec![SENTINEL; cap.max(input.len()) + 8];
    let (st, out_len) = call_text(te_utf8_upper, input, &mut out, cap, m.in_place);
    match expected {
        Some(up) if cap >= up.len() => {
            assert_eq!(st, te_status::TE_OK);
            assert_eq!(&out[..out_len], up.as_bytes());
            assert!(out[cap.max(input.len())..].iter().all(|&b| b == SENTINEL), "wrote past out_cap");
        }
        Some(up) => {
            assert_eq!(st, te_status::TE_ERR_BUFFER_TOO_SMALL);
            assert!(out_len == up.len() || untouched_len(out_len), "reported {out_len} needed, not {}", up.len());
            check_unchanged(&out, input, m.in_place, "te_utf8_upper");
        }
        None => {
            assert_eq!(st, te_status::TE_ERR_UTF8, "invalid UTF-8");
            assert!(untouched_len(out_len), "*out_len written on TE_ERR_UTF8");
            check_unchanged(&out, input, m.in_place, "te_utf8_upper");
        }
    }
});
