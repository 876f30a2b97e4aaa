//! Parallel forms of the kernels on the engine: the input is cut into fixed
//! chunks, the C kernels run on the chunks, and the chunk results are combined
//! by the same kernels, so the policies (overflow, NaN, signed zeros) are
//! those of the serial forms. Inputs below a size threshold run serially.
//!
//! The sort is a parallel MSD radix pass (per-chunk histograms, then a
//! parallel scatter into 256 buckets at per-chunk offsets, stable) followed
//! by the buckets sorted in parallel: small ones by the C radix sort in
//! cache, large ones by another parallel MSD pass on the next byte. Its
//! result is the serial sort's, bit for bit (the key order is total).

use std::cmp::Ordering;
use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::scratch::{self, ScratchBlock};
use super::sort::{self, Radix, SortPath};
use super::{array, check, mem};
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

/// The sort's sizes: `chunk` per histogram/scatter leaf, serial (LSD) below
/// `serial_below`, and buckets up to `leaf_max` elements sorted by one task
/// with the C LSD sort (its two buffers of 64 Ki elements fit a core's 1 MiB
/// L2 cache); larger buckets get another parallel MSD pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SortTuning {
    pub(crate) chunk: usize,
    pub(crate) serial_below: usize,
    pub(crate) leaf_max: usize,
}

pub(crate) const SORT: SortTuning = SortTuning { chunk: 1 << 17, serial_below: 1 << 16, leaf_max: 1 << 16 };

/// Every parallel form fails the same way on a shut-down engine, whatever
/// the input's size (small inputs would otherwise quietly run serially); a task
/// of that engine still running while it drains may use it to the end.
fn alive(engine: &Engine) -> Result<()> {
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
fn for_chunks<F>(engine: &Engine, len: usize, chunk: usize, f: F) -> Result<()>
where
    F: Fn(usize, Range<usize>) -> Result<()> + Sync + Send,
{
    engine.try_parallel_for(0..len.div_ceil(chunk), 0, |mut ids| ids.try_for_each(|c| f(c, chunk_range(c, chunk, len))))
}

/// A raw pointer that parallel tasks may share. Each use states why the
/// tasks' accesses through it touch disjoint memory.
#[derive(Debug)]
struct SendPtr<T>(*mut T);

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
    fn get(self) -> *mut T {
        self.0
    }

    /// The pointer `i` elements further on.
    ///
    /// # Safety
    /// The result must stay inside (or one past) the allocation.
    unsafe fn add(self, i: usize) -> Self {
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

macro_rules! par_extremum {
    ($(#[$doc:meta])* $name:ident, $tuned:ident, $t:ty, $serial:path) => {
        $(#[$doc])*
        pub fn $name(engine: &Engine, data: &[$t]) -> Result<$t> {
            $tuned(engine, data, REDUCE)
        }

        pub(crate) fn $tuned(engine: &Engine, data: &[$t], t: Tuning) -> Result<$t> {
            alive(engine)?;
            if data.len() < t.serial_below {
                return $serial(data);
            }
            // Every chunk is non-empty; the kernel itself combines the chunk
            // results, so NaN and signed-zero rules stay in one place.
            let best = map_chunks(engine, data.len(), t.chunk, |r| $serial(&data[r]))?;
            let best = best.into_iter().collect::<Result<Vec<$t>>>()?;
            $serial(&best)
        }
    };
}

par_extremum!(
    /// [`min_i64`](super::min_i64) on the engine.
    par_min_i64, par_min_i64_tuned, i64, array::min_i64
);
par_extremum!(
    /// [`max_i64`](super::max_i64) on the engine.
    par_max_i64, par_max_i64_tuned, i64, array::max_i64
);
par_extremum!(
    /// [`min_f64`](super::min_f64) on the engine (same NaN and signed-zero rules).
    par_min_f64, par_min_f64_tuned, f64, array::min_f64
);
par_extremum!(
    /// [`max_f64`](super::max_f64) on the engine (same NaN and signed-zero rules).
    par_max_f64, par_max_f64_tuned, f64, array::max_f64
);

par_extremum!(
    /// [`min_i32`](super::min_i32) on the engine.
    par_min_i32, par_min_i32_tuned, i32, array::min_i32
);
par_extremum!(
    /// [`max_i32`](super::max_i32) on the engine.
    par_max_i32, par_max_i32_tuned, i32, array::max_i32
);
par_extremum!(
    /// [`min_u32`](super::min_u32) on the engine.
    par_min_u32, par_min_u32_tuned, u32, array::min_u32
);
par_extremum!(
    /// [`max_u32`](super::max_u32) on the engine.
    par_max_u32, par_max_u32_tuned, u32, array::max_u32
);
par_extremum!(
    /// [`min_f32`](super::min_f32) on the engine (same NaN and signed-zero rules).
    par_min_f32, par_min_f32_tuned, f32, array::min_f32
);
par_extremum!(
    /// [`max_f32`](super::max_f32) on the engine (same NaN and signed-zero rules).
    par_max_f32, par_max_f32_tuned, f32, array::max_f32
);

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

// ---- sort -----------------------------------------------------------------

/// [`sort_i64`](super::sort_i64) on the engine; falls back to the serial in-place sort
/// when no scratch memory can be had. The result is the serial one. The second
/// buffer and the histograms come from the engine's scratch cache
/// ([`Engine::set_scratch_limit`]), so a repeated sort maps no new memory.
pub fn par_sort_i64(engine: &Engine, data: &mut [i64]) -> Result<()> {
    par_sort_with(engine, data, SORT, ScratchFrom::Engine).map(|_| ())
}

/// [`sort_u64`](super::sort_u64) on the engine; see [`par_sort_i64`].
pub fn par_sort_u64(engine: &Engine, data: &mut [u64]) -> Result<()> {
    par_sort_with(engine, data, SORT, ScratchFrom::Engine).map(|_| ())
}

/// [`sort_f64`](super::sort_f64) on the engine (NaNs last); see [`par_sort_i64`].
pub fn par_sort_f64(engine: &Engine, data: &mut [f64]) -> Result<()> {
    par_sort_with(engine, data, SORT, ScratchFrom::Engine).map(|_| ())
}

macro_rules! par_narrow_sorts {
    ($($(#[$doc:meta])* $name:ident: $t:ty;)*) => {$(
        $(#[$doc])*
        pub fn $name(engine: &Engine, data: &mut [$t]) -> Result<()> {
            par_sort_with(engine, data, SORT, ScratchFrom::Engine).map(|_| ())
        }
    )*};
}

par_narrow_sorts! {
    /// [`sort_i32`](super::sort_i32) on the engine; see [`par_sort_i64`].
    par_sort_i32: i32;
    /// [`sort_u32`](super::sort_u32) on the engine; see [`par_sort_i64`].
    par_sort_u32: u32;
    /// [`sort_f32`](super::sort_f32) on the engine (NaNs last); see [`par_sort_i64`].
    par_sort_f32: f32;
    /// [`sort_i16`](super::sort_i16) on the engine; see [`par_sort_i64`].
    par_sort_i16: i16;
    /// [`sort_u16`](super::sort_u16) on the engine; see [`par_sort_i64`].
    par_sort_u16: u16;
    /// [`sort_i8`](super::sort_i8) on the engine; see [`par_sort_i64`].
    par_sort_i8: i8;
    /// [`sort_u8`](super::sort_u8) on the engine; see [`par_sort_i64`].
    par_sort_u8: u8;
}

/// Where a parallel sort gets its scratch memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))] // the other sources serve the tests
pub(crate) enum ScratchFrom {
    /// The engine's cache (kept between calls).
    Engine,
    /// A fresh mapping, unmapped when the sort returns (every call faults its
    /// pages in again).
    Fresh,
    /// None: the in-place sort.
    Nothing,
}

/// One chunk's histogram pass: the counts of each key byte value, where the
/// chunk's share of each bucket starts, and the AND and OR of its keys.
#[repr(C)]
struct HistSlot {
    counts: [usize; 256],
    offsets: [usize; 256],
    bits: [u64; 2],
}

/// Histogram slots shared by every MSD pass of one sort: each pass takes a
/// run of them (one per chunk) with one atomic step.
struct Slots {
    base: SendPtr<HistSlot>,
    cap: usize,
    next: AtomicUsize,
}

impl Slots {
    /// How many slots a sort of `n` items can need: a pass over `m > leaf_max`
    /// items takes `ceil(m / chunk)` slots, the passes of one MSD level cover
    /// disjoint ranges (so at most `n / chunk + n / (leaf_max + 1) + 1` slots
    /// per level), and each level consumes at least one key byte.
    fn needed(n: usize, key_bytes: u32, t: SortTuning) -> usize {
        (n.div_ceil(t.chunk) + n / (t.leaf_max + 1) + 1) * key_bytes as usize
    }

    /// `k` slots of its own for one pass, or `None` if the bound above was
    /// wrong (the pass then allocates its own).
    fn take(&self, k: usize) -> Option<SendPtr<HistSlot>> {
        // Relaxed: the counter only partitions the slots; the pass's parallel
        // loop orders the slots' writes before their reads.
        let at = self.next.fetch_add(k, AtomicOrdering::Relaxed);
        // SAFETY: `at + k <= cap`, inside the slots' memory.
        (at.checked_add(k)? <= self.cap).then(|| unsafe { self.base.add(at) })
    }
}

pub(crate) fn par_sort_with<T: Radix>(
    engine: &Engine,
    data: &mut [T],
    t: SortTuning,
    from: ScratchFrom,
) -> Result<SortPath> {
    alive(engine)?;
    let n = data.len();
    if n < t.serial_below.max(2) {
        return match from {
            ScratchFrom::Nothing => sort::sort_serial(data, |_| None),
            _ => sort::sort_serial(data, sort::try_scratch::<T>),
        };
    }
    let slots = Slots::needed(n, T::KEY_BYTES, t);
    let block = match (from, scratch::split_layout::<T, HistSlot>(n, slots)) {
        (ScratchFrom::Engine, Some((_, total))) => engine.registry().kernel_scratch.take(total),
        (ScratchFrom::Fresh, Some((_, total))) => ScratchBlock::fresh(total),
        _ => None,
    };
    let Some(mut block) = block else {
        return sort::sort_with(data, None);
    };
    let (base, len) = block.raw();
    let (slot_start, total) = scratch::split_layout::<T, HistSlot>(n, slots).expect("computed above");
    assert!(len >= total, "scratch block shorter than asked");
    let a = SendPtr(data.as_mut_ptr());
    let b = SendPtr(base.as_ptr().cast::<T>());
    // SAFETY: `slot_start + slots * size_of::<HistSlot>() <= len`: the slots
    // lie inside the block, after the second buffer, aligned for `HistSlot`
    // (the block is page aligned and `slot_start` a multiple of its alignment).
    let slots = Slots {
        base: SendPtr(unsafe { base.as_ptr().add(slot_start) }.cast::<HistSlot>()),
        cap: slots,
        next: AtomicUsize::new(0),
    };
    // One entry into the pool for the whole sort: on a worker the nested
    // parallel loops cannot fail, so a sort is never left half done (the
    // only failure, a shut-down engine, happens before anything moved).
    engine.try_scope(|_| {
        // SAFETY: `a` is `data` (exclusively borrowed) and `b` the first `n`
        // items of the scratch block (held here), disjoint, and neither is
        // touched by anything else until the scope ends.
        unsafe { msd_sort(engine, a, b, n, T::KEY_BYTES, false, t, &slots) }
    })?
}

/// Sorts the `n` elements at `src`, whose keys agree from byte `nbytes` up,
/// using `other` as the second buffer; the result ends at `other` when
/// `result_in_other`, else at `src`.
///
/// # Safety
/// `src` holds `n` initialised elements; `other` is valid for writes (and
/// reads after writing) of `n` elements, may be uninitialised, and does not
/// overlap `src`; nothing else accesses either region during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn msd_sort<T: Radix>(
    engine: &Engine,
    src: SendPtr<T>,
    other: SendPtr<T>,
    n: usize,
    nbytes: u32,
    result_in_other: bool,
    t: SortTuning,
    slots: &Slots,
) -> Result<SortPath> {
    if n <= t.leaf_max {
        // SAFETY: the contract of this function is the kernel's: disjoint
        // buffers of `n` elements; the kernel writes `other` before reading it.
        let st = unsafe { T::radix_sort(src.get(), other.get(), n, nbytes, c_int::from(result_in_other)) };
        return check(st, "sort", 0).map(|()| SortPath::Radix);
    }

    let chunks = n.div_ceil(t.chunk);
    // This pass's slots: from the sort's block, or (never expected) its own.
    let mut own: Vec<MaybeUninit<HistSlot>> = Vec::new();
    let slot = match slots.take(chunks) {
        Some(p) => p,
        None => {
            own.resize_with(chunks, MaybeUninit::uninit);
            SendPtr(own.as_mut_ptr().cast::<HistSlot>())
        }
    };

    // Pass 1: per chunk, the histogram of the highest byte that may vary and
    // the AND and OR of the keys (which say where they really differ).
    let histogram = |byte: u32| {
        for_chunks(engine, n, t.chunk, |c, r| {
            // SAFETY: `r` lies in `0..n`, so the chunk is initialised and only
            // read (no task writes `src` in this pass); slot `c` is this
            // chunk's alone and lies inside the pass's `chunks` slots.
            let st = unsafe {
                let s = slot.add(c).get();
                // Defined contents before the slot is ever viewed as a whole.
                std::ptr::addr_of_mut!((*s).offsets).write([0; 256]);
                T::hist(
                    src.add(r.start).get(),
                    r.len(),
                    byte,
                    std::ptr::addr_of_mut!((*s).counts).cast(),
                    std::ptr::addr_of_mut!((*s).bits).cast(),
                )
            };
            check(st, "sort", 0)
        })
    };
    let mut guess = nbytes.saturating_sub(1);
    histogram(guess)?;
    // SAFETY: the parallel loop has returned, so every slot of this pass is
    // written (each chunk's counts and bits) and no task touches them now.
    let hists = unsafe { std::slice::from_raw_parts_mut(slot.get(), chunks) };
    let (all, any) = hists.iter().fold((!0u64, 0u64), |(a, o), s| (a & s.bits[0], o | s.bits[1]));
    let low_bytes = if nbytes >= 8 { !0 } else { (1u64 << (8 * nbytes)) - 1 };
    let varying = (all ^ any) & low_bytes;
    if varying == 0 {
        // All keys are equal: already in order.
        if result_in_other {
            for_chunks(engine, n, t.chunk, |_, r| {
                // SAFETY: `r` lies in `0..n`; the buffers are disjoint and
                // different chunks write different elements of `other`.
                unsafe { std::ptr::copy_nonoverlapping(src.add(r.start).get(), other.add(r.start).get(), r.len()) };
                Ok(())
            })?;
        }
        return Ok(SortPath::Radix);
    }
    let byte = (63 - varying.leading_zeros()) / 8;
    if byte != guess {
        // Leading bytes shared by every key (small numbers, say): count the
        // byte that really splits them.
        guess = byte;
        histogram(guess)?;
    }
    // SAFETY: as above, after the second loop.
    let hists = unsafe { std::slice::from_raw_parts_mut(slot.get(), chunks) };

    // Where each bucket starts, and where each chunk's share of it starts.
    let mut starts = [0usize; 257];
    for v in 0..256 {
        starts[v + 1] = starts[v] + hists.iter().map(|s| s.counts[v]).sum::<usize>();
    }
    let mut running: [usize; 256] = starts[..256].try_into().expect("256 entries");
    for s in hists.iter_mut() {
        s.offsets = running;
        for (o, c) in running.iter_mut().zip(&s.counts) {
            *o += c;
        }
    }

    // Pass 2: scatter every chunk into `other` at its own offsets (stable).
    for_chunks(engine, n, t.chunk, |c, r| {
        // SAFETY: slot `c` was completed above and is only read now.
        let s = unsafe { &*slot.add(c).get() };
        let mut off = s.offsets;
        let mut ends = off;
        for (e, count) in ends.iter_mut().zip(&s.counts) {
            *e += count;
        }
        // SAFETY: the chunk `r` of `src` is only read. Chunk `c` writes the
        // elements of `other` at `offsets[c][v] .. offsets[c][v] + h_c[v]`
        // for each digit `v`, where `h_c` is its histogram: by the prefix sums
        // above these ranges are disjoint between chunks and digits and lie
        // in `0..n`. The kernel writes nothing outside them even if `src`
        // changed since it was counted (another thread writing a caller's
        // buffer it should not): the counts are `ends`, not a second read.
        let st =
            unsafe { T::scatter(src.add(r.start).get(), r.len(), byte, off.as_mut_ptr(), ends.as_ptr(), other.get()) };
        check(st, "sort", 0)
    })?;

    // The buckets now lie in `other`; sort each into place with the roles of
    // the buffers swapped. Their keys agree from byte `byte` up.
    engine.try_parallel_for(0..256, 1, |ids| {
        for v in ids {
            let r = starts[v]..starts[v + 1];
            if r.is_empty() {
                continue;
            }
            // SAFETY: buckets are disjoint ranges of `0..n`, each handed to
            // exactly one task; `other` holds its (initialised) elements and
            // `src` is free to be its second buffer.
            unsafe {
                msd_sort(engine, other.add(r.start), src.add(r.start), r.len(), byte, !result_in_other, t, slots)?
            };
        }
        Ok(())
    })?;
    Ok(SortPath::Radix)
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
    const TINY_SORT: SortTuning = SortTuning { chunk: 50, serial_below: 64, leaf_max: 40 };

    #[test]
    fn sums_and_extrema_match_serial_across_chunk_boundaries() {
        let mut seed = 1;
        for e in engines() {
            for len in [0, 1, 6, 7, 8, 15, 16, 17, 48, 49, 50, 97, 300] {
                let v: Vec<i64> = (0..len).map(|_| lcg(&mut seed) as i64 >> (lcg(&mut seed) % 64)).collect();
                let exact: i128 = v.iter().map(|&x| i128::from(x)).sum();
                let want = i64::try_from(exact).map_err(|_| EngineError::Overflow);
                assert_eq!(par_sum_i64_tuned(&e, &v, TINY), want, "len {len}");
                assert_eq!(par_min_i64_tuned(&e, &v, TINY), array::min_i64(&v));
                assert_eq!(par_max_i64_tuned(&e, &v, TINY), array::max_i64(&v));
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
    fn sort_matches_std_with_tiny_chunks_and_skewed_buckets() {
        let mut seed = 3;
        for e in engines() {
            for len in [64, 65, 99, 100, 101, 1000, 4000] {
                let shapes: [fn(&mut u64) -> i64; 4] = [
                    |s| lcg(s) as i64,
                    |s| (lcg(s) % 3) as i64,
                    // Mostly one value: one huge bucket at every level.
                    |s| if lcg(s) % 10 == 0 { lcg(s) as i64 } else { 42 },
                    |s| (lcg(s) % 1000) as i64 - 500,
                ];
                for shape in &shapes {
                    let orig: Vec<i64> = (0..len).map(|_| shape(&mut seed)).collect();
                    let mut want = orig.clone();
                    want.sort_unstable();
                    let mut got = orig.clone();
                    let path = par_sort_with(&e, &mut got, TINY_SORT, ScratchFrom::Engine);
                    assert_eq!(path, Ok(SortPath::Radix));
                    assert_eq!(got, want, "len {len}");
                }
            }
            let mut same = vec![7u64; 500];
            par_sort_with(&e, &mut same, TINY_SORT, ScratchFrom::Fresh).unwrap();
            assert_eq!(same, vec![7u64; 500]);
        }
    }

    #[test]
    fn parallel_sort_without_scratch_sorts_in_place() {
        let mut seed = 9;
        let orig: Vec<f64> = (0..3000).map(|_| (lcg(&mut seed) as i64) as f64 * 1e-3).collect();
        let mut want = orig.clone();
        want.sort_unstable_by(f64::total_cmp);
        for e in engines() {
            let mut got = orig.clone();
            assert_eq!(par_sort_with(&e, &mut got, TINY_SORT, ScratchFrom::Nothing), Ok(SortPath::InPlace));
            assert_eq!(got, want);
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
