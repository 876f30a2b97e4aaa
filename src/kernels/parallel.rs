//! Parallel forms of the kernels on the engine: the input is cut into fixed
//! chunks, the C kernels run on the chunks, and the chunk results are combined
//! by the same kernels, so the policies (overflow, NaN, signed zeros) are
//! those of the serial forms. Inputs below a size threshold run serially.
//!
//! The parallel sort lives with the serial one, in `sort/parallel.rs`; it
//! shares the chunking helpers here.

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::{array, mem};
use crate::{Engine, EngineError, Result};

/// Sizes that decide how work is cut: `chunk` elements per leaf, serial
/// below `serial_below` elements.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    pub(crate) chunk: usize,
    pub(crate) serial_below: usize,
}

/// Sums and extrema: 512 KiB chunks, serial below 1 MiB.
pub(crate) const REDUCE: Tuning = Tuning { chunk: 1 << 16, serial_below: 1 << 17 };
/// Copy and compare, in bytes: 1 MiB chunks, serial below 2 MiB.
pub(crate) const BYTES: Tuning = Tuning { chunk: 1 << 20, serial_below: 1 << 21 };

/// Every parallel form fails the same way on a shut-down engine, whatever
/// the input's size (small inputs would otherwise quietly run serially); a task
/// of that engine still running while it drains may use it to the end.
pub(super) fn alive(engine: &Engine) -> Result<()> {
    engine.registry().check_usable_here()
}

/// The element range of chunk `c`.
fn chunk_range(c: usize, chunk: usize, len: usize) -> Range<usize> {
    c * chunk..((c + 1) * chunk).min(len)
}

/// `f` on every chunk in parallel; the results in chunk order.
fn map_chunks<T, F>(engine: &Engine, len: usize, chunk: usize, f: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(Range<usize>) -> T + Sync + Send,
{
    let pieces = engine.parallel_reduce(
        0..len.div_ceil(chunk),
        0,
        Vec::new,
        |ids| ids.map(|c| (c, f(chunk_range(c, chunk, len)))).collect::<Vec<_>>(),
        |mut a, b| {
            a.extend(b);
            a
        },
    )?;
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None).take(len.div_ceil(chunk)).collect();
    for (c, v) in pieces {
        slots[c] = Some(v);
    }
    slots.into_iter().map(|v| v.ok_or_else(|| EngineError::invalid("a chunk result is missing"))).collect()
}

/// `f` on every chunk (its index and range) in parallel; the first error.
pub(super) fn for_chunks<F>(engine: &Engine, len: usize, chunk: usize, f: F) -> Result<()>
where
    F: Fn(usize, Range<usize>) -> Result<()> + Sync + Send,
{
    engine.try_parallel_for(0..len.div_ceil(chunk), 0, |mut ids| ids.try_for_each(|c| f(c, chunk_range(c, chunk, len))))
}

/// A raw pointer that parallel tasks may share. Each use states why the
/// tasks' accesses through it touch disjoint memory.
#[derive(Debug)]
pub(super) struct SendPtr<T>(pub(super) *mut T);

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}

// SAFETY: the pointer is only dereferenced by tasks that access disjoint
// elements (argued at each use), and `T: Send` lets the elements be handed to
// other threads.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above; sharing the pointer itself shares no access.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the `Send` wrapper and not
    /// its field).
    pub(super) fn get(self) -> *mut T {
        self.0
    }

    /// The pointer `i` elements further on.
    ///
    /// # Safety
    /// The result must stay inside (or one past) the allocation.
    pub(super) unsafe fn add(self, i: usize) -> Self {
        // SAFETY: forwarded from this function's contract.
        SendPtr(unsafe { self.0.add(i) })
    }
}

// ---- sums and extrema ---------------------------------------------------

/// [`sum_i64`](super::sum_i64) on the engine; the same result for any worker count.
pub fn par_sum_i64(engine: &Engine, data: &[i64]) -> Result<i64> {
    par_sum_i64_tuned(engine, data, REDUCE)
}

pub(crate) fn par_sum_i64_tuned(engine: &Engine, data: &[i64], t: Tuning) -> Result<i64> {
    alive(engine)?;
    if data.len() < t.serial_below {
        return array::sum_i64(data);
    }
    // Exact 128-bit partial sums: order does not matter and nothing can
    // overflow, so the result is exactly the serial one.
    let chunks = data.len().div_ceil(t.chunk);
    let total = engine.parallel_reduce(
        0..chunks,
        0,
        || 0i128,
        |ids| array::sum_i64_wide(&data[ids.start * t.chunk..(ids.end * t.chunk).min(data.len())]),
        |a, b| a + b,
    )?;
    i64::try_from(total).map_err(|_| EngineError::Overflow)
}

/// [`sum_f64`](super::sum_f64) on the engine. The chunks' unrounded compensated sums
/// are combined in chunk order, so the result is bitwise the same for any
/// number of workers (it can differ from the serial sum in the last bit).
pub fn par_sum_f64(engine: &Engine, data: &[f64]) -> Result<f64> {
    par_sum_f64_tuned(engine, data, REDUCE)
}

pub(crate) fn par_sum_f64_tuned(engine: &Engine, data: &[f64], t: Tuning) -> Result<f64> {
    alive(engine)?;
    if data.len() < t.serial_below {
        return array::sum_f64(data);
    }
    let parts = map_chunks(engine, data.len(), t.chunk, |r| array::sum_f64_parts(&data[r]))?;
    let mut flat = Vec::with_capacity(parts.len() * 2);
    for p in parts {
        match p {
            Some(pair) => flat.extend_from_slice(&pair),
            // A chunk overflowed on finite values: only the serial kernel's
            // rescaled pass gets the true total.
            None => return array::sum_f64(data),
        }
    }
    array::sum_f64(&flat)
}

/// A minimum or maximum on the engine: `serial` on every chunk, then on the
/// chunk results. Every chunk is non-empty, and the kernel itself combines the
/// chunk results, so NaN and signed-zero rules stay in one place. The
/// `par_min_*`/`par_max_*` forms are made beside the serial ones (`array.rs`).
pub(crate) fn par_extremum<T: Copy + Send + Sync>(
    engine: &Engine,
    data: &[T],
    t: Tuning,
    serial: fn(&[T]) -> Result<T>,
) -> Result<T> {
    alive(engine)?;
    if data.len() < t.serial_below {
        return serial(data);
    }
    let best = map_chunks(engine, data.len(), t.chunk, |r| serial(&data[r]))?;
    let best = best.into_iter().collect::<Result<Vec<T>>>()?;
    serial(&best)
}

/// [`sum_i32`](super::sum_i32) on the engine; the same result for any worker count.
pub fn par_sum_i32(engine: &Engine, data: &[i32]) -> Result<i64> {
    par_sum_i32_tuned(engine, data, REDUCE)
}

pub(crate) fn par_sum_i32_tuned(engine: &Engine, data: &[i32], t: Tuning) -> Result<i64> {
    alive(engine)?;
    if data.len() < t.serial_below {
        return array::sum_i32(data);
    }
    // A chunk's sum always fits in i64 (chunks are far below 2^32 items);
    // the total is exact in i128, so only it is checked.
    let chunks = data.len().div_ceil(t.chunk);
    let total = engine.parallel_reduce(
        0..chunks,
        0,
        || Ok(0i128),
        |ids| array::sum_i32(&data[ids.start * t.chunk..(ids.end * t.chunk).min(data.len())]).map(i128::from),
        |a: Result<i128>, b: Result<i128>| Ok(a? + b?),
    )??;
    i64::try_from(total).map_err(|_| EngineError::Overflow)
}

/// [`sum_u32`](super::sum_u32) on the engine; the same result for any worker count.
pub fn par_sum_u32(engine: &Engine, data: &[u32]) -> Result<u64> {
    par_sum_u32_tuned(engine, data, REDUCE)
}

pub(crate) fn par_sum_u32_tuned(engine: &Engine, data: &[u32], t: Tuning) -> Result<u64> {
    alive(engine)?;
    if data.len() < t.serial_below {
        return array::sum_u32(data);
    }
    let chunks = data.len().div_ceil(t.chunk);
    let total = engine.parallel_reduce(
        0..chunks,
        0,
        || Ok(0u128),
        |ids| array::sum_u32(&data[ids.start * t.chunk..(ids.end * t.chunk).min(data.len())]).map(u128::from),
        |a: Result<u128>, b: Result<u128>| Ok(a? + b?),
    )??;
    u64::try_from(total).map_err(|_| EngineError::Overflow)
}

/// [`sum_f32`](super::sum_f32) on the engine: the chunks' unrounded sums are
/// combined in chunk order, so the result is bitwise the same for any number
/// of workers (it can differ from the serial sum in the last bit).
pub fn par_sum_f32(engine: &Engine, data: &[f32]) -> Result<f64> {
    par_sum_f32_tuned(engine, data, REDUCE)
}

pub(crate) fn par_sum_f32_tuned(engine: &Engine, data: &[f32], t: Tuning) -> Result<f64> {
    alive(engine)?;
    if data.len() < t.serial_below {
        return array::sum_f32(data);
    }
    let parts = map_chunks(engine, data.len(), t.chunk, |r| array::sum_f32_parts(&data[r]))?;
    let flat: Vec<f64> = parts.into_iter().flatten().collect();
    array::sum_f64(&flat)
}

// ---- memory -------------------------------------------------------------

/// [`compare`](super::compare) on the engine: chunks past the first difference found so
/// far are skipped.
pub fn par_compare(engine: &Engine, a: &[u8], b: &[u8]) -> Result<Ordering> {
    par_compare_tuned(engine, a, b, BYTES)
}

pub(crate) fn par_compare_tuned(engine: &Engine, a: &[u8], b: &[u8], t: Tuning) -> Result<Ordering> {
    alive(engine)?;
    if a.len() != b.len() || a.len() < t.serial_below {
        return mem::compare(a, b);
    }
    let first_diff = AtomicUsize::new(usize::MAX);
    let found = engine.parallel_reduce(
        0..a.len().div_ceil(t.chunk),
        0,
        || Ok(None),
        |ids| {
            for c in ids {
                // Relaxed: only a hint for skipping; the reduction decides.
                if c > first_diff.load(AtomicOrdering::Relaxed) {
                    break;
                }
                let r = chunk_range(c, t.chunk, a.len());
                let ord = mem::compare(&a[r.clone()], &b[r])?;
                if ord != Ordering::Equal {
                    first_diff.fetch_min(c, AtomicOrdering::Relaxed);
                    return Ok(Some((c, ord)));
                }
            }
            Ok(None)
        },
        |x: Result<Option<(usize, Ordering)>>, y| match (x?, y?) {
            (Some(p), Some(q)) => Ok(Some(if p.0 <= q.0 { p } else { q })),
            (p, q) => Ok(p.or(q)),
        },
    )??;
    Ok(found.map_or(Ordering::Equal, |(_, ord)| ord))
}

/// [`copy`](super::copy) on the engine.
pub fn par_copy(engine: &Engine, dst: &mut [u8], src: &[u8]) -> Result<()> {
    if dst.len() < src.len() {
        return Err(EngineError::BufferTooSmall { needed: src.len() });
    }
    // SAFETY: `src` is readable and `dst` (exclusively borrowed, so not
    // overlapping `src`) writable for `src.len()` bytes.
    unsafe { par_copy_raw(engine, dst.as_mut_ptr(), src.as_ptr(), src.len()) }
}

/// [`copy_within`](super::copy_within) on the engine (overlapping ranges allowed).
pub fn par_copy_within(engine: &Engine, buf: &mut [u8], src: Range<usize>, dest: usize) -> Result<()> {
    let len = mem::checked_within(buf.len(), &src, dest)?;
    let base = buf.as_mut_ptr();
    // SAFETY: `checked_within` proved both ranges lie inside `buf`, which is
    // exclusively borrowed; `par_copy_raw` allows overlap.
    unsafe { par_copy_raw(engine, base.add(dest), base.add(src.start), len) }
}

/// Copies `len` bytes like `memmove` (the regions may overlap) on the engine.
///
/// Disjoint regions are copied in parallel chunks. Overlapping regions whose
/// distance `gap` is large are copied in waves of `gap` bytes, each wave in
/// parallel: a wave only overwrites bytes that earlier waves have already
/// read. A small gap is copied serially. `len == 0` accepts null pointers.
///
/// # Safety
/// When `len > 0`, `src` must be valid for reads and `dst` for writes of
/// `len` bytes, and no other thread may access `dst` meanwhile.
pub unsafe fn par_copy_raw(engine: &Engine, dst: *mut u8, src: *const u8, len: usize) -> Result<()> {
    // SAFETY: forwarded from this function's contract.
    unsafe { par_copy_raw_tuned(engine, dst, src, len, BYTES) }
}

/// [`par_copy_raw`] with the given sizes.
///
/// # Safety
/// As for [`par_copy_raw`].
pub(crate) unsafe fn par_copy_raw_tuned(
    engine: &Engine,
    dst: *mut u8,
    src: *const u8,
    len: usize,
    t: Tuning,
) -> Result<()> {
    alive(engine)?;
    if len < t.serial_below || dst.is_null() || src.is_null() {
        // SAFETY: the caller's contract; the kernel rejects null pointers.
        return unsafe { mem::copy_raw(dst, src, len) };
    }
    let gap = (dst as usize).abs_diff(src as usize);
    let (d, s) = (SendPtr(dst), SendPtr(src.cast_mut()));
    let wave = |start: usize, n: usize| {
        for_chunks(engine, n, t.chunk, |_, r| {
            // SAFETY: `start + r` lies in `0..len`; within one wave the source
            // and destination ranges are disjoint (the wave is at most `gap`
            // bytes) and different chunks touch different bytes.
            unsafe { mem::copy_raw(d.add(start + r.start).get(), s.add(start + r.start).get(), r.len()) }
        })
    };
    if gap >= len {
        wave(0, len)
    } else if gap < t.chunk {
        // SAFETY: the caller's contract; memmove handles the overlap.
        unsafe { mem::copy_raw(dst, src, len) }
    } else if (dst as usize) < (src as usize) {
        // Forward: wave k writes what wave k-1 read.
        let mut off = 0;
        while off < len {
            let n = gap.min(len - off);
            wave(off, n)?;
            off += n;
        }
        Ok(())
    } else {
        // Backward: waves from the end, each writing what the later one read.
        let mut end = len;
        while end > 0 {
            let n = gap.min(end);
            wave(end - n, n)?;
            end -= n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn engines() -> Vec<Engine> {
        [1, 2, 4].into_iter().map(|w| Engine::new(Config::with_workers(w)).unwrap()).collect()
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *seed ^ (*seed >> 29)
    }

    const TINY: Tuning = Tuning { chunk: 7, serial_below: 16 };

    #[test]
    fn sums_and_extrema_match_serial_across_chunk_boundaries() {
        let mut seed = 1;
        for e in engines() {
            for len in [0, 1, 6, 7, 8, 15, 16, 17, 48, 49, 50, 97, 300] {
                let v: Vec<i64> = (0..len).map(|_| lcg(&mut seed) as i64 >> (lcg(&mut seed) % 64)).collect();
                let exact: i128 = v.iter().map(|&x| i128::from(x)).sum();
                let want = i64::try_from(exact).map_err(|_| EngineError::Overflow);
                assert_eq!(par_sum_i64_tuned(&e, &v, TINY), want, "len {len}");
                assert_eq!(par_extremum(&e, &v, TINY, array::min_i64), array::min_i64(&v));
                assert_eq!(par_extremum(&e, &v, TINY, array::max_i64), array::max_i64(&v));
            }
        }
    }

    #[test]
    fn f64_sum_overflowing_chunk_falls_back_to_serial() {
        let m = f64::MAX;
        let mut v = vec![m; 7];
        v.extend(vec![-m; 7]);
        v.extend([1.5, 0.0, 0.0]);
        for e in engines() {
            assert_eq!(par_sum_f64_tuned(&e, &v, TINY), Ok(1.5));
        }
    }

    #[test]
    fn copy_and_compare_in_waves_and_chunks() {
        let t = Tuning { chunk: 8, serial_below: 16 };
        for e in engines() {
            let a: Vec<u8> = (0..100u8).collect();
            let mut b = a.clone();
            assert_eq!(par_compare_tuned(&e, &a, &b, t), Ok(Ordering::Equal));
            b[57] = 0;
            assert_eq!(par_compare_tuned(&e, &a, &b, t), Ok(Ordering::Greater));
            b[3] = 200;
            assert_eq!(par_compare_tuned(&e, &a, &b, t), Ok(Ordering::Less));

            // Overlapping moves both ways, with gaps below, at and above the
            // chunk size, against std's copy_within.
            for (from, to, len) in
                [(0, 3, 90), (3, 0, 90), (0, 8, 80), (8, 0, 80), (0, 20, 70), (25, 2, 70), (0, 50, 50)]
            {
                let mut want: Vec<u8> = (0..120u8).collect();
                want.copy_within(from..from + len, to);
                let mut got: Vec<u8> = (0..120u8).collect();
                let base = got.as_mut_ptr();
                // SAFETY: both ranges lie inside `got`, exclusively borrowed.
                unsafe { par_copy_raw_tuned(&e, base.add(to), base.add(from), len, t).unwrap() };
                assert_eq!(got, want, "{from} -> {to}, {len} bytes");
            }
        }
    }
}
