//! The parallel sort: a parallel MSD radix pass (per-chunk histograms, then a
//! parallel scatter into 256 buckets at per-chunk offsets, stable) followed
//! by the buckets sorted in parallel: small ones by the C radix sort in
//! cache, large ones by another parallel MSD pass on the next byte. Its
//! result is the serial sort's, bit for bit (the key order is total).

use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::super::check;
use super::super::parallel::{alive, for_chunks, SendPtr};
use super::super::scratch::{self, ScratchBlock};
use super::{self as sort, Radix, SortPath};
use crate::{Engine, Result};

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
        (ScratchFrom::Engine, Some((_, total))) => engine.registry().services.kernel_scratch.take(total),
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

    const TINY_SORT: SortTuning = SortTuning { chunk: 50, serial_below: 64, leaf_max: 40 };

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
}
