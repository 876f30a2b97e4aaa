//! Scratch memory for the parallel kernels, kept by each engine between calls.
//!
//! A radix sort of 1e7 `i64` needs an 80 MB second buffer. Allocated fresh on
//! every call, each of its pages faults in again (about 20 000 faults, a good
//! part of the sort's time). Each engine therefore keeps the blocks its sorts
//! used, and the next sort takes one instead of mapping new memory.
//!
//! Policy:
//! - A sort takes a whole block out of the cache (the smallest that is large
//!   enough) and owns it until it returns, so two sorts running at once never
//!   share one: the second finds none free and maps its own.
//! - When the sort returns, the block goes back, unless it is larger than the
//!   engine's limit (then it is unmapped); if the cache then holds more than
//!   the limit, its smallest blocks are unmapped until it fits.
//! - The limit is [`DEFAULT_SCRATCH_LIMIT`] unless
//!   [`Engine::set_scratch_limit`] changes it (0 keeps nothing: every call
//!   maps and unmaps its own memory, as before the cache existed).
//!   [`Engine::trim_scratch`] unmaps every cached block now; shutting the
//!   engine down does too, and a block returned after that is unmapped.
//!
//! Blocks are private anonymous mappings (never the global allocator, which
//! may be one of our arenas) with transparent huge pages requested.

use std::mem::{align_of, size_of};
use std::ptr::NonNull;
use std::sync::Mutex;

use crate::alloc::region::Region;
use crate::engine::sync::std_lock;
use crate::Engine;

/// The default cap on the bytes an engine keeps cached between calls: enough
/// for the scratch of a sort of 3e7 8-byte items.
pub const DEFAULT_SCRATCH_LIMIT: usize = 256 << 20;

/// Blocks are mapped in multiples of this (a huge page), so nearby sizes
/// reuse one block.
const GRANULE: usize = 2 << 20;

/// The blocks an engine keeps, and its limit.
pub(crate) struct ScratchCache {
    inner: Mutex<Inner>,
}

struct Inner {
    blocks: Vec<Region>,
    bytes: usize,
    limit: usize,
    closed: bool,
}

impl Inner {
    /// Unmaps the smallest blocks until the cache fits its limit.
    fn shrink_to_limit(&mut self) {
        while self.bytes > self.limit {
            let Some((i, _)) = self.blocks.iter().enumerate().min_by_key(|(_, b)| b.len()) else { break };
            let block = self.blocks.swap_remove(i);
            self.bytes -= block.len();
        }
    }
}

impl ScratchCache {
    pub(crate) fn new() -> Self {
        ScratchCache {
            inner: Mutex::new(Inner { blocks: Vec::new(), bytes: 0, limit: DEFAULT_SCRATCH_LIMIT, closed: false }),
        }
    }

    /// A block of at least `bytes` bytes, page aligned: a cached one, else a
    /// fresh mapping; `None` when none can be had.
    pub(crate) fn take(&self, bytes: usize) -> Option<ScratchBlock<'_>> {
        {
            let mut inner = std_lock(&self.inner);
            let best = inner
                .blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| b.len() >= bytes)
                .min_by_key(|(_, b)| b.len())
                .map(|(i, _)| i);
            if let Some(i) = best {
                let region = inner.blocks.swap_remove(i);
                inner.bytes -= region.len();
                return Some(ScratchBlock { region: Some(region), cache: Some(self) });
            }
        }
        let region = fresh_region(bytes)?;
        Some(ScratchBlock { region: Some(region), cache: Some(self) })
    }

    fn give_back(&self, region: Region) {
        let mut inner = std_lock(&self.inner);
        if inner.closed || region.len() > inner.limit {
            drop(inner);
            drop(region);
            return;
        }
        inner.bytes += region.len();
        inner.blocks.push(region);
        inner.shrink_to_limit();
    }

    /// Unmaps every cached block (blocks in use go back when their call ends).
    pub(crate) fn trim(&self) {
        let blocks = {
            let mut inner = std_lock(&self.inner);
            inner.bytes = 0;
            std::mem::take(&mut inner.blocks)
        };
        // Unmapped outside the lock.
        drop(blocks);
    }

    /// Unmaps every cached block and keeps no more (engine shutdown).
    pub(crate) fn close(&self) {
        std_lock(&self.inner).closed = true;
        self.trim();
    }

    fn set_limit(&self, limit: usize) {
        let mut inner = std_lock(&self.inner);
        inner.limit = limit;
        inner.shrink_to_limit();
    }

    fn limit(&self) -> usize {
        std_lock(&self.inner).limit
    }

    fn cached_bytes(&self) -> usize {
        std_lock(&self.inner).bytes
    }
}

/// A mapping of at least `bytes`, rounded up to whole huge pages.
fn fresh_region(bytes: usize) -> Option<Region> {
    let len = bytes.max(1).checked_next_multiple_of(GRANULE)?;
    let region = Region::allocate(len).ok()?;
    advise_huge_pages(region.base(), len);
    Some(region)
}

/// Asks Linux to back `[base, base + len)` (page aligned) with transparent
/// huge pages. Only advice: failure changes nothing.
fn advise_huge_pages(base: NonNull<u8>, len: usize) {
    #[cfg(all(target_os = "linux", not(miri)))]
    // SAFETY: the range is a mapping this process owns; MADV_HUGEPAGE changes
    // how the kernel backs the pages, never their contents or validity.
    unsafe {
        libc::madvise(base.as_ptr().cast(), len, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let _ = (base, len);
}

/// Scratch memory held for one kernel call: a block of an engine's cache (it
/// goes back when this is dropped) or a mapping of its own.
pub(crate) struct ScratchBlock<'a> {
    region: Option<Region>,
    cache: Option<&'a ScratchCache>,
}

impl ScratchBlock<'_> {
    /// A block of at least `bytes` bytes that belongs to no cache (unmapped on drop).
    pub(crate) fn fresh(bytes: usize) -> Option<ScratchBlock<'static>> {
        Some(ScratchBlock { region: Some(fresh_region(bytes)?), cache: None })
    }

    /// The block's start (page aligned) and length.
    pub(crate) fn raw(&mut self) -> (NonNull<u8>, usize) {
        let region = self.region.as_ref().expect("present until drop");
        (region.base(), region.len())
    }
}

impl Drop for ScratchBlock<'_> {
    fn drop(&mut self) {
        if let (Some(region), Some(cache)) = (self.region.take(), self.cache) {
            cache.give_back(region);
        }
    }
}

/// The part of a block a sort of `n` items of `T` uses for its second buffer
/// (`n` items), then `slots` histogram slots of `S`, aligned.
pub(crate) fn split_layout<T, S>(n: usize, slots: usize) -> Option<(usize, usize)> {
    let data = n.checked_mul(size_of::<T>())?;
    let slot_start = data.checked_next_multiple_of(align_of::<S>().max(64))?;
    let total = slot_start.checked_add(slots.checked_mul(size_of::<S>())?)?;
    Some((slot_start, total))
}

impl Engine {
    /// Unmaps the scratch memory this engine keeps between kernel calls (the
    /// parallel sorts' second buffers). Memory in use by a running call is not
    /// touched; it is kept or unmapped when that call returns, by the limit.
    pub fn trim_scratch(&self) {
        self.registry().services.kernel_scratch.trim();
    }

    /// Sets how many bytes of scratch memory this engine keeps between kernel
    /// calls (default [`DEFAULT_SCRATCH_LIMIT`]); 0 keeps none. Cached memory
    /// above the new limit is unmapped now.
    pub fn set_scratch_limit(&self, bytes: usize) {
        self.registry().services.kernel_scratch.set_limit(bytes);
    }

    /// The current limit set by [`Engine::set_scratch_limit`].
    pub fn scratch_limit(&self) -> usize {
        self.registry().services.kernel_scratch.limit()
    }

    /// Bytes of scratch memory cached now (not counting blocks in use).
    pub fn scratch_cached_bytes(&self) -> usize {
        self.registry().services.kernel_scratch.cached_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_reuses_keeps_within_limit_and_closes() {
        let cache = ScratchCache::new();
        let first = {
            let mut b = cache.take(1000).unwrap();
            b.raw().0
        };
        assert_eq!(cache.cached_bytes(), GRANULE);
        // The same block comes back, and a second taker meanwhile gets its own.
        let mut a = cache.take(10).unwrap();
        assert_eq!(a.raw().0, first);
        let mut b = cache.take(10).unwrap();
        assert_ne!(b.raw().0, first);
        drop((a, b));
        assert_eq!(cache.cached_bytes(), 2 * GRANULE);
        cache.set_limit(GRANULE);
        assert_eq!(cache.cached_bytes(), GRANULE);
        // Larger than the limit: not kept.
        drop(cache.take(3 * GRANULE).unwrap());
        assert_eq!(cache.cached_bytes(), GRANULE);
        cache.trim();
        assert_eq!(cache.cached_bytes(), 0);
        drop(cache.take(1).unwrap());
        assert_eq!(cache.cached_bytes(), GRANULE);
        let held = cache.take(1).unwrap();
        cache.close();
        drop(held);
        assert_eq!(cache.cached_bytes(), 0);
    }

    #[test]
    fn layout_checks_overflow() {
        assert_eq!(split_layout::<i64, [u64; 4]>(3, 2), Some((64, 128)));
        assert_eq!(split_layout::<i64, u8>(usize::MAX / 4, 1), None);
    }
}
