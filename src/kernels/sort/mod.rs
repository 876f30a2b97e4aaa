//! Sorting (`csrc/te_array.h`): a radix sort with scratch memory (MSD passes
//! down to cache-sized buckets, LSD passes inside them), and an in-place
//! introsort when scratch memory cannot be had; its parallel form on the engine
//! in `parallel`.

pub(crate) mod parallel;

use super::{check, raw};
use crate::{Engine, Result};
use std::ffi::{c_int, c_uint};
use std::mem::MaybeUninit;

/// The element types the radix kernels handle, with their raw entry points.
/// Keys: `i64` with the sign bit flipped, `u64` as is, `f64` in the order
/// `-inf < … < -0.0 < +0.0 < … < +inf < NaN` (a bijection on bit patterns).
pub(crate) trait Radix: Copy + Send + Sync + 'static {
    /// The bytes of the key that can vary (the element's size): the sort
    /// starts below them.
    const KEY_BYTES: u32;

    /// `te_k_sort_*`: radix sort with `scratch`, introsort when it is null.
    ///
    /// # Safety
    /// `data` is valid for reads and writes of `len` elements; `scratch` is
    /// null or valid for writes of `len` elements and does not overlap `data`.
    unsafe fn sort(data: *mut Self, len: usize, scratch: *mut Self) -> c_int;

    /// `te_k_radix_hist_*`: the histogram of key byte `byte`, and the AND and
    /// OR of all keys.
    ///
    /// # Safety
    /// `data` is valid for reads of `len` elements; `hist` for writes of 256;
    /// `bits` for writes of 2.
    unsafe fn hist(data: *const Self, len: usize, byte: c_uint, hist: *mut usize, bits: *mut u64) -> c_int;

    /// `te_k_radix_scatter_*`: stable scatter by key byte `byte`, writing
    /// bucket `v` only inside `dst[offsets[v]..ends[v])`, all of it (what
    /// `src` no longer fills, if it changed since it was counted, is zeroed).
    ///
    /// # Safety
    /// `src` is valid for reads of `len` elements; `offsets` for reads and
    /// writes of 256, `ends` for reads of 256; every `dst[offsets[v]..ends[v])`
    /// is valid for writes and overlaps neither `src`, `offsets` nor `ends`.
    unsafe fn scatter(
        src: *const Self,
        len: usize,
        byte: c_uint,
        offsets: *mut usize,
        ends: *const usize,
        dst: *mut Self,
    ) -> c_int;

    /// `te_k_radix_sort_*`: sorts `data` whose keys agree from byte `nbytes`
    /// up; the result in `tmp` if `result_in_tmp`.
    ///
    /// # Safety
    /// `data` is valid for reads and writes of `len` initialised elements,
    /// `tmp` for writes (then reads) of `len` elements; they do not overlap.
    unsafe fn radix_sort(data: *mut Self, tmp: *mut Self, len: usize, nbytes: c_uint, result_in_tmp: c_int) -> c_int;
}

macro_rules! radix_impl {
    ($t:ty, $sort:ident, $hist:ident, $scatter:ident, $radix:ident) => {
        impl Radix for $t {
            const KEY_BYTES: u32 = std::mem::size_of::<$t>() as u32;

            unsafe fn sort(data: *mut Self, len: usize, scratch: *mut Self) -> c_int {
                // SAFETY: forwarded from this function's contract.
                unsafe { raw::$sort(data, len, scratch) }
            }
            unsafe fn hist(data: *const Self, len: usize, byte: c_uint, hist: *mut usize, bits: *mut u64) -> c_int {
                // SAFETY: forwarded from this function's contract.
                unsafe { raw::$hist(data, len, byte, hist, bits) }
            }
            unsafe fn scatter(
                src: *const Self,
                len: usize,
                byte: c_uint,
                offsets: *mut usize,
                ends: *const usize,
                dst: *mut Self,
            ) -> c_int {
                // SAFETY: forwarded from this function's contract.
                unsafe { raw::$scatter(src, len, byte, offsets, ends, dst) }
            }
            unsafe fn radix_sort(
                data: *mut Self,
                tmp: *mut Self,
                len: usize,
                nbytes: c_uint,
                result_in_tmp: c_int,
            ) -> c_int {
                // SAFETY: forwarded from this function's contract.
                unsafe { raw::$radix(data, tmp, len, nbytes, result_in_tmp) }
            }
        }
    };
}

radix_impl!(i64, te_k_sort_i64, te_k_radix_hist_i64, te_k_radix_scatter_i64, te_k_radix_sort_i64);
radix_impl!(u64, te_k_sort_u64, te_k_radix_hist_u64, te_k_radix_scatter_u64, te_k_radix_sort_u64);
radix_impl!(f64, te_k_sort_f64, te_k_radix_hist_f64, te_k_radix_scatter_f64, te_k_radix_sort_f64);
radix_impl!(i32, te_k_sort_i32, te_k_radix_hist_i32, te_k_radix_scatter_i32, te_k_radix_sort_i32);
radix_impl!(u32, te_k_sort_u32, te_k_radix_hist_u32, te_k_radix_scatter_u32, te_k_radix_sort_u32);
radix_impl!(f32, te_k_sort_f32, te_k_radix_hist_f32, te_k_radix_scatter_f32, te_k_radix_sort_f32);
radix_impl!(i16, te_k_sort_i16, te_k_radix_hist_i16, te_k_radix_scatter_i16, te_k_radix_sort_i16);
radix_impl!(u16, te_k_sort_u16, te_k_radix_hist_u16, te_k_radix_scatter_u16, te_k_radix_sort_u16);
radix_impl!(i8, te_k_sort_i8, te_k_radix_hist_i8, te_k_radix_scatter_i8, te_k_radix_sort_i8);
radix_impl!(u8, te_k_sort_u8, te_k_radix_hist_u8, te_k_radix_scatter_u8, te_k_radix_sort_u8);

/// Which algorithm a sort used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortPath {
    /// Radix sort with scratch memory.
    Radix,
    /// In-place introsort (no scratch memory).
    InPlace,
}

/// Scratch memory for `len` elements, or `None` when it cannot be had (the
/// caller then sorts in place instead of failing).
pub(crate) fn try_scratch<T>(len: usize) -> Option<Vec<MaybeUninit<T>>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize_with(len, MaybeUninit::uninit);
    advise_huge_pages(&mut v);
    Some(v)
}

/// Asks Linux to back a large buffer with transparent huge pages: touching
/// 80 MB of fresh scratch memory otherwise costs 20 000 page faults, a good
/// part of a sort's time. Only advice: failure changes nothing.
fn advise_huge_pages<T>(buf: &mut [MaybeUninit<T>]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buf.as_mut_ptr().cast::<u8>();
        let bytes = std::mem::size_of_val(buf);
        let skip = (start as usize).next_multiple_of(HUGE) - start as usize;
        if bytes >= skip + HUGE {
            let len = (bytes - skip) / HUGE * HUGE;
            // SAFETY: `start + skip .. + len` lies inside `buf`, memory this
            // process owns; MADV_HUGEPAGE changes how the kernel backs the
            // pages, never their contents or validity.
            unsafe { libc::madvise(start.add(skip).cast(), len, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

/// Sorts with the given scratch (at least `data.len()` elements), or in place.
pub(crate) fn sort_with<T: Radix>(data: &mut [T], scratch: Option<&mut [MaybeUninit<T>]>) -> Result<SortPath> {
    let (ptr, path) = match scratch {
        Some(s) => {
            assert!(s.len() >= data.len(), "scratch shorter than the data");
            (s.as_mut_ptr().cast::<T>(), SortPath::Radix)
        }
        None => (std::ptr::null_mut(), SortPath::InPlace),
    };
    // SAFETY: `data` is a live, exclusively borrowed slice; `ptr` is null or
    // points to an exclusively borrowed scratch slice of at least `len`
    // elements, which cannot overlap `data` (both are `&mut`). The kernel only
    // writes scratch before reading it, so it may start uninitialised.
    let st = unsafe { T::sort(data.as_mut_ptr(), data.len(), ptr) };
    check(st, "sort", 0).map(|()| path)
}

/// Sorts `data`, getting scratch memory from `alloc` and sorting in place when
/// it gives none.
pub(crate) fn sort_serial<T: Radix>(
    data: &mut [T],
    alloc: impl FnOnce(usize) -> Option<Vec<MaybeUninit<T>>>,
) -> Result<SortPath> {
    if data.len() < 2 {
        return Ok(SortPath::InPlace);
    }
    let mut scratch = alloc(data.len());
    sort_with(data, scratch.as_deref_mut())
}

/// The sorts, one line per element type: the serial form (on the calling
/// thread: a radix sort, or an in-place introsort when its scratch buffer, one
/// more `data.len()`, cannot be allocated; never fails) and the parallel form on
/// an engine (`sort/parallel.rs`).
macro_rules! sorts {
    ($($(#[$doc:meta])* $name:ident, $par:ident: $t:ty;)*) => {$(
        $(#[$doc])*
        pub fn $name(data: &mut [$t]) -> Result<()> {
            sort_serial(data, try_scratch::<$t>).map(|_| ())
        }

        #[doc = concat!("[`", stringify!($name), "`] on the engine, in parallel for large inputs. The result is")]
        /// the serial one, bit for bit; it falls back to the serial in-place sort
        /// when no scratch memory can be had. The second buffer and the histograms
        /// come from the engine's scratch cache ([`Engine::set_scratch_limit`]), so
        /// a repeated sort maps no new memory.
        pub fn $par(engine: &Engine, data: &mut [$t]) -> Result<()> {
            parallel::par_sort_with(engine, data, parallel::SORT, parallel::ScratchFrom::Engine).map(|_| ())
        }
    )*};
}

sorts! {
    /// Sorts ascending: a radix sort, or an in-place introsort when the scratch
    /// buffer (one more `data.len()`) cannot be allocated. Never fails.
    sort_i64, par_sort_i64: i64;
    /// Sorts ascending; see [`sort_i64`].
    sort_u64, par_sort_u64: u64;
    /// Sorts ascending in the order `-inf < … < -0.0 < +0.0 < … < +inf < NaN`
    /// (NaNs last, ordered among themselves by bit pattern); see [`sort_i64`].
    sort_f64, par_sort_f64: f64;
    /// Sorts ascending; see [`sort_i64`].
    sort_i32, par_sort_i32: i32;
    /// Sorts ascending; see [`sort_i64`].
    sort_u32, par_sort_u32: u32;
    /// Sorts ascending in the order of [`sort_f64`] (NaNs last, ordered among
    /// themselves by bit pattern: positive NaNs before negative ones).
    sort_f32, par_sort_f32: f32;
    /// Sorts ascending; see [`sort_i64`].
    sort_i16, par_sort_i16: i16;
    /// Sorts ascending; see [`sort_i64`].
    sort_u16, par_sort_u16: u16;
    /// Sorts ascending; see [`sort_i64`].
    sort_i8, par_sort_i8: i8;
    /// Sorts ascending; see [`sort_i64`].
    sort_u8, par_sort_u8: u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed ^ (*seed >> 29)
    }

    #[test]
    fn failed_scratch_allocation_falls_back_to_in_place() {
        let mut seed = 7;
        let orig: Vec<i64> = (0..5000).map(|_| lcg(&mut seed) as i64).collect();
        let mut want = orig.clone();
        want.sort_unstable();

        let mut a = orig.clone();
        assert_eq!(sort_serial(&mut a, |_| None), Ok(SortPath::InPlace));
        assert_eq!(a, want);

        let mut b = orig.clone();
        assert_eq!(sort_serial(&mut b, try_scratch::<i64>), Ok(SortPath::Radix));
        assert_eq!(b, want);

        // The real allocator reports failure instead of aborting.
        assert!(try_scratch::<u64>(usize::MAX / 4).is_none());
    }

    #[test]
    fn in_place_sort_survives_adversarial_patterns() {
        // Organ pipe, sawtooth, few distinct and all equal would make a plain
        // quicksort quadratic; the depth limit and the balanced partition of
        // equal keys keep them fast and right.
        let n = 20_000i64;
        let shapes: Vec<Vec<i64>> = vec![
            (0..n).chain((0..n).rev()).collect(),
            (0..n).map(|i| i % 17).collect(),
            (0..n).map(|i| if i % 2 == 0 { i } else { n - i }).collect(),
            vec![5; 30_000],
            (0..n).rev().collect(),
        ];
        for v in shapes {
            let mut want = v.clone();
            want.sort_unstable();
            let mut got = v.clone();
            assert_eq!(sort_serial(&mut got, |_| None), Ok(SortPath::InPlace));
            assert_eq!(got, want);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn in_place_matches_radix(v in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..700),
                                  small in proptest::collection::vec(0u64..4, 0..700)) {
            for input in [v, small] {
                let mut a = input.clone();
                let mut b = input.clone();
                let mut want = input;
                want.sort_unstable();
                sort_serial(&mut a, |_| None).unwrap();
                sort_serial(&mut b, try_scratch::<u64>).unwrap();
                proptest::prop_assert_eq!(&a, &want);
                proptest::prop_assert_eq!(&b, &want);
            }
        }

        #[test]
        fn in_place_f64_matches_radix(bits in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..700)) {
            // Every bit pattern, NaNs of both signs included: both paths use
            // the same key order, so they must give the same bits.
            let input: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
            let mut a = input.clone();
            let mut b = input;
            sort_serial(&mut a, |_| None).unwrap();
            sort_serial(&mut b, try_scratch::<f64>).unwrap();
            let (a, b): (Vec<u64>, Vec<u64>) = (a.iter().map(|x| x.to_bits()).collect(), b.iter().map(|x| x.to_bits()).collect());
            proptest::prop_assert_eq!(a, b);
        }
    }
}
