//! te_utf8_reverse against `str::from_utf8` + `chars().rev()`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskengine::ffi::{te_status, te_utf8_reverse};

#[path = "common.rs"]
mod common;
use common::*;

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else { return };
    let m = mode(control);
    let cap = m.short.map_or(input.len() + (control >> 5) as usize, |s| input.len().saturating_sub(s));
    let mut out = vec![SENTINEL; cap.max(input.len()) + 8];
    let (st, out_len) = call_text(te_utf8_reverse, input, &mut out, cap, m.in_place);
    match std::str::from_utf8(input) {
        Ok(s) if cap >= input.len() => {
            assert_eq!(st, te_status::TE_OK);
            let expected: String = s.chars().rev().collect();
            assert_eq!(out_len, input.len());
            assert_eq!(&out[..out_len], expected.as_bytes());
            assert!(out[cap.max(input.len())..].iter().all(|&b| b == SENTINEL), "wrote past out_cap");
        }
        Ok(_) => {
            assert_eq!(st, te_status::TE_ERR_BUFFER_TOO_SMALL);
            // The size needed, or nothing (issue 9 item 10 decides which).
            assert!(out_len == input.len() || untouched_len(out_len), "reported {out_len} needed");
            check_unchanged(&out, input, m.in_place, "te_utf8_reverse");
        }
        Err(_) => {
            // Invalid input with a short buffer may be reported either way.
            assert!(
                st == te_status::TE_ERR_UTF8 || (cap < input.len() && st == te_status::TE_ERR_BUFFER_TOO_SMALL),
                "{st:?} for invalid UTF-8"
            );
            if st == te_status::TE_ERR_UTF8 {
                assert!(untouched_len(out_len), "*out_len written on TE_ERR_UTF8");
            }
            check_unchanged(&out, input, m.in_place, "te_utf8_reverse");
        }
    }
});
