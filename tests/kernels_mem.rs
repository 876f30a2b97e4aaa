//! Memory kernels against libc's `memcmp` and std's `copy_from_slice` /
//! `copy_within`.

use std::cmp::Ordering;

use proptest::collection::vec;
use proptest::prelude::*;
use taskengine::kernels::{compare, copy, copy_within};
use taskengine::EngineError;

fn libc_memcmp(a: &[u8], b: &[u8]) -> Ordering {
    assert_eq!(a.len(), b.len());
    if a.is_empty() {
        return Ordering::Equal;
    }
    // SAFETY: both slices are live for `a.len()` bytes.
    let r = unsafe { libc::memcmp(a.as_ptr().cast(), b.as_ptr().cast(), a.len()) };
    r.cmp(&0)
}

/// Pairs of equal-length buffers that are equal, or differ at one place (in
/// either direction, including bytes >= 0x80 that a signed compare gets wrong).
fn buffer_pairs() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    (vec(any::<u8>(), 0..400), any::<prop::sample::Index>(), any::<u8>(), any::<bool>()).prop_map(
        |(a, at, byte, same)| {
            let mut b = a.clone();
            if !same && !b.is_empty() {
                let i = at.index(b.len());
                b[i] = byte;
            }
            (a, b)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn compare_matches_libc((a, b) in buffer_pairs()) {
        prop_assert_eq!(compare(&a, &b), Ok(libc_memcmp(&a, &b)));
        prop_assert_eq!(compare(&b, &a), Ok(libc_memcmp(&b, &a)));
    }

    #[test]
    fn copy_matches_std(src in vec(any::<u8>(), 0..400), extra in 0usize..8) {
        let mut dst = vec![0xAAu8; src.len() + extra];
        copy(&mut dst, &src).unwrap();
        prop_assert_eq!(&dst[..src.len()], &src[..]);
        prop_assert!(dst[src.len()..].iter().all(|&b| b == 0xAA));
    }

    #[test]
    fn copy_within_matches_std(
        buf in vec(any::<u8>(), 1..400),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        d in any::<prop::sample::Index>(),
    ) {
        let (x, y) = (a.index(buf.len() + 1), b.index(buf.len() + 1));
        let src = x.min(y)..x.max(y);
        let dest = d.index(buf.len() - src.len() + 1);
        let mut want = buf.clone();
        want.copy_within(src.clone(), dest);
        let mut got = buf;
        copy_within(&mut got, src, dest).unwrap();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn compare_is_unsigned_and_normalised() {
    assert_eq!(compare(b"\x80", b"\x7f"), Ok(Ordering::Greater));
    assert_eq!(compare(b"\x00\xff", b"\x01\x00"), Ok(Ordering::Less));
    assert_eq!(compare(b"", b""), Ok(Ordering::Equal));
    assert_eq!(compare(b"abc", b"abd"), Ok(libc_memcmp(b"abc", b"abd")));
    assert!(matches!(compare(b"ab", b"abc"), Err(EngineError::Invalid(_))));
}

#[test]
fn copy_errors_leave_the_destination_alone() {
    let mut dst = [1u8; 3];
    assert_eq!(copy(&mut dst, b"abcd"), Err(EngineError::BufferTooSmall { needed: 4 }));
    assert_eq!(dst, [1; 3]);
    assert!(matches!(copy_within(&mut dst, 1..4, 0), Err(EngineError::Invalid(_))));
    assert!(matches!(copy_within(&mut dst, 0..2, 2), Err(EngineError::Invalid(_))));
    assert_eq!(dst, [1; 3]);
}
