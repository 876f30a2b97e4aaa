//! Text kernels against std (`str::from_utf8`, `chars().rev()`,
//! `str::to_uppercase`, `char::to_uppercase`) and the published FNV-1a 64
//! test vectors.

use proptest::collection::vec;
use proptest::prelude::*;
use taskengine::kernels::{ascii_upper, fnv1a64, upper, upper_string, utf8_reverse, utf8_reverse_string};
use taskengine::EngineError;

/// std's verdict on `bytes`, as the kernels report it.
fn std_utf8(bytes: &[u8]) -> Result<&str, EngineError> {
    std::str::from_utf8(bytes).map_err(|e| EngineError::Utf8 { valid_up_to: e.valid_up_to() })
}

/// Sequences every strict decoder must reject (Unicode table 3-7).
const INVALID: &[&[u8]] = &[
    b"\x80",                 // lone continuation byte
    b"\xBF",                 // lone continuation byte
    b"\xC0\x80",             // overlong NUL
    b"\xC1\xBF",             // overlong 2-byte
    b"\xE0\x80\x80",         // overlong 3-byte
    b"\xE0\x9F\xBF",         // overlong 3-byte (U+07FF)
    b"\xF0\x80\x80\x80",     // overlong 4-byte
    b"\xF0\x8F\xBF\xBF",     // overlong 4-byte (U+FFFF)
    b"\xED\xA0\x80",         // surrogate U+D800
    b"\xED\xBF\xBF",         // surrogate U+DFFF
    b"\xF4\x90\x80\x80",     // U+110000
    b"\xF5\x80\x80\x80",     // lead byte beyond U+10FFFF
    b"\xF8\x88\x80\x80\x80", // old 5-byte form
    b"\xFF",
    b"\xFE",
    b"\xC2",             // truncated 2-byte
    b"\xE2\x82",         // truncated 3-byte (euro sign cut short)
    b"\xF0\x9F\x98",     // truncated 4-byte (emoji cut short)
    b"\xE2\x28\xA1",     // bad second byte
    b"\xE2\x82\x28",     // bad third byte
    b"\xF0\x9F\x98\x28", // bad fourth byte
];

fn text_bytes() -> impl Strategy<Value = Vec<u8>> {
    let valid = any::<String>().prop_map(String::into_bytes);
    let with_invalid =
        (any::<String>(), 0..INVALID.len(), any::<String>(), any::<prop::sample::Index>()).prop_map(|(a, k, b, at)| {
            let mut v = a.into_bytes();
            // Insert at a char boundary of `a` so the only fault is the sequence.
            let s = std::str::from_utf8(&v).unwrap().to_string();
            let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
            let pos = bounds[at.index(bounds.len())];
            v.splice(pos..pos, INVALID[k].iter().copied());
            v.extend_from_slice(b.as_bytes());
            v
        });
    prop_oneof![3 => valid, 3 => with_invalid, 1 => vec(any::<u8>(), 0..64)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn reverse_matches_std(bytes in text_bytes()) {
        let want = std_utf8(&bytes).map(|s| s.chars().rev().collect::<String>());
        prop_assert_eq!(utf8_reverse_string(&bytes), want.clone());
        let mut out = vec![0u8; bytes.len() + 3];
        match want {
            Ok(w) => {
                prop_assert_eq!(utf8_reverse(&bytes, &mut out), Ok(w.len()));
                prop_assert_eq!(&out[..w.len()], w.as_bytes());
                if !bytes.is_empty() {
                    let mut short = vec![0u8; bytes.len() - 1];
                    prop_assert_eq!(
                        utf8_reverse(&bytes, &mut short),
                        Err(EngineError::BufferTooSmall { needed: bytes.len() })
                    );
                    prop_assert!(short.iter().all(|&b| b == 0), "nothing written on failure");
                }
            }
            Err(e) => {
                prop_assert_eq!(utf8_reverse(&bytes, &mut out), Err(e));
                prop_assert!(out.iter().all(|&b| b == 0), "nothing written on failure");
            }
        }
    }

    #[test]
    fn upper_matches_std(bytes in text_bytes()) {
        let want = std_utf8(&bytes).map(str::to_uppercase);
        prop_assert_eq!(upper_string(&bytes), want.clone());
        if let Ok(w) = want {
            // Per char too: the mapping has no context.
            let per_char: String = std::str::from_utf8(&bytes).unwrap().chars().flat_map(char::to_uppercase).collect();
            prop_assert_eq!(&w, &per_char);
            let mut out = vec![0u8; w.len()];
            prop_assert_eq!(upper(&bytes, &mut out), Ok(w.len()));
            prop_assert_eq!(&out[..], w.as_bytes());
            if !w.is_empty() {
                let mut short = vec![0u8; w.len() - 1];
                prop_assert_eq!(upper(&bytes, &mut short), Err(EngineError::BufferTooSmall { needed: w.len() }));
            }
        }
    }

    #[test]
    fn ascii_upper_matches_std(bytes in vec(any::<u8>(), 0..300)) {
        let mut out = vec![0u8; bytes.len()];
        ascii_upper(&bytes, &mut out).unwrap();
        prop_assert_eq!(out, bytes.to_ascii_uppercase());
    }
}

#[test]
fn every_invalid_sequence_is_reported_where_it_starts() {
    for seq in INVALID {
        for prefix in ["", "ab", "\u{e9}", "\u{20ac}x", "\u{1f600}"] {
            let mut bytes = prefix.as_bytes().to_vec();
            bytes.extend_from_slice(seq);
            bytes.extend_from_slice(b"tail");
            let want = Err(EngineError::Utf8 { valid_up_to: prefix.len() });
            assert_eq!(std_utf8(&bytes).map(|_| ()), want.clone(), "std disagrees on {seq:x?}");
            let mut out = vec![0u8; bytes.len()];
            assert_eq!(utf8_reverse(&bytes, &mut out), want.clone().map(|()| 0), "{seq:x?} after {prefix:?}");
            assert_eq!(upper_string(&bytes), want.map(|()| String::new()));
        }
    }
}

#[test]
fn reverse_edges() {
    assert_eq!(utf8_reverse_string(b""), Ok(String::new()));
    assert_eq!(utf8_reverse(b"", &mut []), Ok(0));
    assert_eq!(utf8_reverse_string("a\u{e9}\u{20ac}\u{1f600}".as_bytes()), Ok("\u{1f600}\u{20ac}\u{e9}a".to_string()));
    // The largest scalar values of each length are valid.
    let edge = "\u{7f}\u{7ff}\u{ffff}\u{10ffff}\u{d7ff}\u{e000}";
    assert_eq!(utf8_reverse_string(edge.as_bytes()), Ok(edge.chars().rev().collect()));
}

#[test]
fn upper_special_mappings() {
    let cases = ["stra\u{df}e", "\u{fb03}", "\u{149}", "\u{1f0}", "i\u{307}", "\u{3b0}", "caf\u{e9}", "\u{1c5}"];
    for s in cases {
        assert_eq!(upper_string(s.as_bytes()), Ok(s.to_uppercase()), "{s:?}");
    }
    // Long ASCII runs (the C fast path's block loop) with a late non-ASCII char.
    let long = format!("{}\u{e9}{}", "abcXYZ019 ".repeat(40), "tail");
    assert_eq!(upper_string(long.as_bytes()), Ok(long.to_uppercase()));
}

#[test]
fn fnv1a64_published_vectors() {
    // From the FNV reference test suite (FNV-1a, 64-bit).
    let vectors: [(&[u8], u64); 12] = [
        (b"", 0xcbf29ce484222325),
        (b"a", 0xaf63dc4c8601ec8c),
        (b"b", 0xaf63df4c8601f1a5),
        (b"c", 0xaf63de4c8601eff2),
        (b"d", 0xaf63d94c8601e773),
        (b"e", 0xaf63d84c8601e5c0),
        (b"f", 0xaf63db4c8601ead9),
        (b"fo", 0x08985907b541d342),
        (b"foo", 0xdcb27518fed9d577),
        (b"foob", 0xdd120e790c2512af),
        (b"fooba", 0xcac165afa2fef40a),
        (b"foobar", 0x85944171f73967e8),
    ];
    for (input, want) in vectors {
        assert_eq!(fnv1a64(input), Ok(want), "{:?}", String::from_utf8_lossy(input));
    }
}
