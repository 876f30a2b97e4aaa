//! `BumpArena`: lock-free bump allocation in one fixed region.
//!
//! Invariants:
//! 1. `0 <= offset <= region.len()`. Bytes `[0, offset)` of the region have been handed
//!    out (allocations plus alignment padding) since the last reset; bytes
//!    `[offset, len)` have not.
//! 2. Outside `reset`, `offset` changes only by a successful compare-and-swap from `cur`
//!    to some `end > cur`, which hands `[cur, end)` to exactly one caller: a new
//!    allocation at its end (the rest is alignment padding), or, in `realloc`, the growth
//!    of the block that ends at `cur`. All read-modify-writes of one atomic are totally
//!    ordered, so ranges handed out between two resets are pairwise disjoint.
//! 3. `offset` goes down only in `reset(&mut self)`. Exclusive access proves no other
//!    thread is allocating and no reference from `alloc_value` (which borrows `&self`)
//!    is alive.
//! 4. `peak_before_reset` is at least every value `offset` had before the last reset,
//!    so the peak is `max(peak_before_reset, offset)` with no work on the hot path.

use std::alloc::{GlobalAlloc, Layout};
use std::fmt;
use std::mem::{align_of, size_of};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

use super::region::Region;
use super::{align_up, check_align, AllocFailure};
use crate::Result;

/// A fixed-size arena that hands out memory by bumping an offset, from any number of
/// threads at once, and takes it all back at once with [`reset`](BumpArena::reset).
///
/// Individual frees give nothing back (see [`free`](BumpArena::free)). Allocation is a
/// compare-and-swap loop on one atomic offset, so it never blocks. Statistics are kept
/// with relaxed atomic counters.
///
/// As a [`GlobalAlloc`] it returns null when the region is exhausted, ignores `dealloc`
/// (counting pointers it does not own in `invalid_frees`), and grows the most recent
/// allocation in place on `realloc` when nothing was allocated after it.
pub struct BumpArena {
    /// The offset and the allocation counter share a cache line on purpose: the thread
    /// that just won the CAS owns that line, so its counter update is local. The padding
    /// keeps the rarely written fields below off this contended line.
    hot: CachePadded<Hot>,
    failed: AtomicUsize,
    invalid_frees: AtomicUsize,
    peak_before_reset: usize,
    region: Region,
}

struct Hot {
    offset: AtomicUsize,
    allocations: AtomicUsize,
}

/// A snapshot of a [`BumpArena`]'s statistics.
///
/// Taken without stopping allocating threads, so the fields may come from slightly
/// different moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BumpStats {
    /// Size of the region in bytes.
    pub capacity: usize,
    /// Bytes handed out since the last reset, alignment padding included.
    pub used: usize,
    /// The largest `used` has ever been, across resets.
    pub peak: usize,
    /// Successful allocations since creation (in-place `realloc` growth not counted).
    pub allocations: u64,
    /// Allocations refused for lack of space since creation.
    pub failed_allocations: u64,
    /// `free`/`dealloc` calls with a pointer the arena never handed out.
    pub invalid_frees: u64,
}

impl BumpArena {
    /// Creates an arena over `capacity` bytes reserved once, page aligned, straight from
    /// the operating system (never from the global allocator, which may be an arena
    /// itself). The memory is committed page by page as allocations first touch it, so
    /// a large capacity costs address space, not memory.
    ///
    /// Errors: `capacity == 0` is `Invalid`; a capacity the system cannot reserve is
    /// `NoMemory`.
    pub fn new(capacity: usize) -> Result<Self> {
        Ok(Self::with_region(Region::allocate(capacity)?))
    }

    /// Creates an arena over a buffer that nothing else can use any more (a leaked `Box`,
    /// or a `static mut` borrowed once).
    pub fn from_static(buf: &'static mut [u8]) -> Self {
        Self::with_region(Region::from_static(buf))
    }

    /// Creates an arena over caller-provided memory; `const`, so the arena can be a
    /// `#[global_allocator]` static over a static buffer.
    ///
    /// The base need not be aligned: alignment is computed on addresses.
    ///
    /// # Safety
    /// `base .. base + len` must be initialised (a zeroed static will do), valid for
    /// reads and writes, used by nothing but this arena, and not wrap around the address
    /// space, for as long as the arena lives.
    /// The arena never frees it.
    pub const unsafe fn from_raw_parts(base: NonNull<u8>, len: usize) -> Self {
        // SAFETY: the caller's guarantee is exactly `Region::from_raw_parts`'s.
        let region = unsafe { Region::from_raw_parts(base, len) };
        Self::with_region(region)
    }

    const fn with_region(region: Region) -> Self {
        BumpArena {
            hot: CachePadded::new(Hot { offset: AtomicUsize::new(0), allocations: AtomicUsize::new(0) }),
            failed: AtomicUsize::new(0),
            invalid_frees: AtomicUsize::new(0),
            peak_before_reset: 0,
            region,
        }
    }

    /// Allocates `size` bytes aligned to `align`.
    ///
    /// `align` must be a power of two no larger than [`MAX_ALIGN`](super::MAX_ALIGN)
    /// (else `Invalid`). A zero `size` is served as one byte, so the pointer is distinct
    /// and inside the arena. Not enough room left, or a size whose arithmetic would
    /// overflow, is `NoMemory`.
    ///
    /// The memory is uninitialised and stays valid until [`reset`](Self::reset) or drop;
    /// it is the caller's alone, to use from any thread.
    pub fn alloc(&self, size: usize, align: usize) -> Result<NonNull<u8>> {
        Ok(self.try_alloc(size, align)?)
    }

    /// Moves `value` into the arena and returns a reference to it.
    ///
    /// The reference borrows the arena, so the borrow checker guarantees it is gone
    /// before [`reset`](Self::reset) or drop. `value`'s destructor never runs (as with
    /// `bumpalo`); use this for plain data. Errors as for [`alloc`](Self::alloc).
    #[allow(clippy::mut_from_ref)] // each call hands out a fresh, disjoint range
    pub fn alloc_value<T>(&self, value: T) -> Result<&mut T> {
        let ptr = self.try_alloc(size_of::<T>(), align_of::<T>())?.cast::<T>();
        // SAFETY: `ptr` is aligned for `T`, points to at least `size_of::<T>()` bytes that
        // belong to nobody else (invariant 2) and stay valid while `&self` is borrowed
        // (invariant 3), so writing `value` and lending it out for that borrow is sound.
        unsafe {
            ptr.as_ptr().write(value);
            Ok(&mut *ptr.as_ptr())
        }
    }

    /// Checks that `ptr` was handed out by this arena since the last reset.
    ///
    /// A bump arena cannot give back single allocations, so this frees nothing: memory
    /// returns on [`reset`](Self::reset). It exists so that callers can treat both
    /// allocators alike and still learn about pointers that are not the arena's
    /// (`Invalid`, also counted in `invalid_frees`). Having no headers, the arena cannot
    /// tell a double free from a first one; the free-list allocator can.
    pub fn free(&self, ptr: NonNull<u8>) -> Result<()> {
        if self.contains(ptr.as_ptr()) {
            Ok(())
        } else {
            self.invalid_frees.fetch_add(1, Relaxed);
            Err(AllocFailure::Foreign.into())
        }
    }

    /// Whether `ptr` lies in the part of the region handed out since the last reset.
    pub fn contains(&self, ptr: *const u8) -> bool {
        // Relaxed: a pointer the caller legitimately holds came from a CAS that
        // happens-before this call (same thread, or passed on with synchronisation), so
        // coherence guarantees this load sees that CAS or a later value.
        let used = self.hot.offset.load(Relaxed);
        (ptr as usize).wrapping_sub(self.region.addr()) < used
    }

    /// Takes back everything at once. Exclusive access proves that nothing allocated
    /// through `alloc_value` is still borrowed; raw pointers from `alloc` must not be
    /// used after this (they are the caller's `unsafe` responsibility).
    ///
    /// Counters and the peak survive a reset; `used` goes back to 0.
    pub fn reset(&mut self) {
        let offset = self.hot.offset.get_mut();
        self.peak_before_reset = self.peak_before_reset.max(*offset);
        *offset = 0;
    }

    /// Bytes handed out since the last reset (padding included): a mark for
    /// [`rewind`](Self::rewind).
    pub(crate) fn used(&self) -> usize {
        self.hot.offset.load(Relaxed)
    }

    /// Takes back everything allocated after `used()` returned `mark`, as a
    /// stack pops. Exclusive access orders it after every allocation; raw
    /// pointers handed out since the mark must not be used after this.
    pub(crate) fn rewind(&mut self, mark: usize) {
        let offset = self.hot.offset.get_mut();
        if mark < *offset {
            self.peak_before_reset = self.peak_before_reset.max(*offset);
            *offset = mark;
        }
    }

    /// Hands the whole pages of `from..to` (clamped to lie between the
    /// current offset and the region's end) back to the system: they read as
    /// zero and cost nothing until touched again.
    pub(crate) fn release(&mut self, from: usize, to: usize) {
        let to = to.min(self.region.len());
        let from = from.max(*self.hot.offset.get_mut()).min(to);
        // SAFETY: `from..to` lies in the region, and nothing handed out is
        // there (it is at or above the offset); `&mut self` excludes any
        // concurrent allocation.
        unsafe { self.region.zero(from, to - from) };
    }

    /// Size of the region in bytes.
    pub fn capacity(&self) -> usize {
        self.region.len()
    }

    /// A snapshot of the statistics.
    pub fn stats(&self) -> BumpStats {
        let used = self.hot.offset.load(Relaxed);
        BumpStats {
            capacity: self.region.len(),
            used,
            peak: self.peak_before_reset.max(used),
            allocations: self.hot.allocations.load(Relaxed) as u64,
            failed_allocations: self.failed.load(Relaxed) as u64,
            invalid_frees: self.invalid_frees.load(Relaxed) as u64,
        }
    }

    /// The allocation core: no error values that allocate, no panics.
    #[inline]
    fn try_alloc(&self, size: usize, align: usize) -> Result<NonNull<u8>, AllocFailure> {
        check_align(align)?;
        let size = size.max(1);
        // Relaxed throughout: the offset only partitions the region among callers. The
        // atomicity of the CAS alone makes the ranges disjoint (invariant 2); no data is
        // published through the offset, and memory is reused only after `reset(&mut
        // self)`, whose exclusive borrow already orders it after every allocation.
        let mut cur = self.hot.offset.load(Relaxed);
        loop {
            let Some((start, end)) = self.fit(cur, size, align) else {
                self.failed.fetch_add(1, Relaxed);
                return Err(AllocFailure::Exhausted);
            };
            match self.hot.offset.compare_exchange_weak(cur, end, Relaxed, Relaxed) {
                Ok(_) => {
                    self.hot.allocations.fetch_add(1, Relaxed);
                    // SAFETY: `start < end <= len` (checked by `fit`), so the result stays
                    // inside the region and is non-null.
                    return Ok(unsafe { self.region.base().add(start) });
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Where a `size`-byte block aligned to `align` would go if the offset is `cur`:
    /// `(start, end)` as offsets, or `None` if it does not fit or the arithmetic overflows.
    #[inline]
    fn fit(&self, cur: usize, size: usize, align: usize) -> Option<(usize, usize)> {
        let base = self.region.addr();
        // `base + cur` cannot overflow: `cur <= len` and the region does not wrap.
        let start = align_up(base + cur, align)? - base;
        let end = start.checked_add(size)?;
        (end <= self.region.len()).then_some((start, end))
    }
}

// SAFETY: `alloc` returns null or a block of at least `layout.size()` bytes aligned to
// `layout.align()` that no other live allocation overlaps (invariant 2); nothing here
// panics or allocates. `dealloc` touches no memory. `realloc` keeps the block in place
// only when it is the last one handed out and the CAS extends it over unused bytes.
unsafe impl GlobalAlloc for BumpArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.try_alloc(layout.size(), layout.align()) {
            Ok(p) => p.as_ptr(),
            Err(_) => ptr::null_mut(),
        }
    }

    /// Frees nothing (memory returns on reset); a pointer outside the used part of the
    /// region, null included, is ignored and counted in `invalid_frees`.
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        if !self.contains(ptr) {
            self.invalid_frees.fetch_add(1, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_size = layout.size();
        if new_size <= old_size {
            // Shrinking in place is always valid: the block stays at least as large.
            return ptr;
        }
        if self.contains(ptr) {
            let start = ptr as usize - self.region.addr();
            // `start + old_size` is the block's end, inside the region (contract: `ptr`
            // and `layout` describe a block we handed out). If the offset is exactly there,
            // nothing was allocated after it and it can grow over unused bytes.
            let old_end = start.wrapping_add(old_size);
            if let Some(new_end) = start.checked_add(new_size) {
                if new_end <= self.region.len()
                    && self.hot.offset.compare_exchange(old_end, new_end, Relaxed, Relaxed).is_ok()
                {
                    return ptr;
                }
            }
        }
        match self.try_alloc(new_size, layout.align()) {
            Ok(new) => {
                // SAFETY: the caller guarantees `ptr` is valid for `old_size` bytes; `new`
                // is a fresh block of `new_size > old_size` bytes, so they do not overlap.
                unsafe { ptr::copy_nonoverlapping(ptr, new.as_ptr(), old_size) };
                new.as_ptr()
            }
            Err(_) => ptr::null_mut(),
        }
    }
}

impl fmt::Debug for BumpArena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BumpArena").field("stats", &self.stats()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineError;

    #[test]
    fn smoke() {
        let arena = BumpArena::new(4096).unwrap();
        let a = arena.alloc(10, 1).unwrap();
        let b = arena.alloc(8, 8).unwrap();
        assert_eq!(b.as_ptr() as usize % 8, 0);
        assert!(b.as_ptr() as usize >= a.as_ptr() as usize + 10);
        let s = arena.stats();
        assert_eq!((s.allocations, s.used), (2, 24));
        assert!(arena.free(a).is_ok());
    }

    #[test]
    fn fit_rejects_overflowing_sizes() {
        let arena = BumpArena::new(64).unwrap();
        assert_eq!(arena.fit(0, usize::MAX, 1), None);
        assert_eq!(arena.fit(0, usize::MAX - 100, 4096), None);
        assert_eq!(arena.fit(0, 64, 1), Some((0, 64)));
        assert_eq!(arena.fit(1, 64, 1), None);
    }

    #[test]
    fn zero_capacity_is_invalid_and_huge_is_no_memory() {
        assert!(matches!(BumpArena::new(0), Err(EngineError::Invalid(_))));
        assert_eq!(BumpArena::new(usize::MAX).unwrap_err(), EngineError::NoMemory);
    }
}
