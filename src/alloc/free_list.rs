//! `FreeListAllocator`: first-fit allocation from an address-ordered free list, with
//! coalescing on free and checked frees.
//!
//! The region, with offsets from its base:
//!
//! ```text
//!   [pad to 16][live map][free map][summary][block][block]...[block][< 16 unused]
//!              ^ live_map                    ^ start                ^ end
//! ```
//!
//! A block is a `Header` (`HEADER` bytes) followed by its payload; the payload pointer is
//! what callers see. The live and free maps have one bit per 16-byte granule of the block
//! area, the summary one bit per free-map word; all are `u64` words.
//!
//! Invariants, true whenever the lock is free:
//! 1. Tiling: the blocks cover `start..end` back to back. Each begins at `start + 16k`
//!    and has a size that is a multiple of 16 and at least `MIN_BLOCK`.
//! 2. Every header's `check` equals `checksum(its address, size, link, state)`, and its
//!    state is `FREE` or `USED`.
//! 3. The free list, from `free_head` along `link`, visits exactly the `FREE` blocks, in
//!    strictly increasing address order, and ends with `NIL`.
//! 4. Coalesced: no two `FREE` blocks are adjacent.
//! 5. A live-map bit is set if and only if a `USED` block starts at that granule; a
//!    free-map bit if and only if a `FREE` block does; a summary bit if and only if its
//!    free-map word is not zero.
//! 6. `free_bytes`/`free_blocks` are the total size/number of `FREE` blocks; `live` is
//!    the number of `USED` blocks.
//! 7. Headers and free blocks belong to the allocator; a `USED` block's payload belongs
//!    to the caller that received it, and the allocator never reads or writes it.
//! 8. Search hints: every `FREE` block below `hint[c]` is smaller than `floor(c)`, the
//!    least size that can serve a request of size class `c` (payloads of
//!    `16 << c .. 32 << c` bytes). `start <= hint[c] <= end`.
//!
//! All of this is read and written only with the lock held, or through `&mut self`.
//!
//! Why frees are checked reliably: the live map lies outside every block, so nothing a
//! caller writes into its memory, freed or not, can change it. A pointer is accepted only
//! if its header address is in range, on a granule, and has its bit set (invariant 5),
//! which no foreign, interior or already freed pointer has. Only then is its header read,
//! and its checksum catches a header overwritten by a neighbour's overrun. Rejected
//! pointers are classified by a walk over the headers (the error path only).
//!
//! Why a free costs no list walk: the free map gives the nearest free block below the one
//! being freed (a backwards scan of one word, then of the summary, at 64 KiB of block
//! area per summary bit). That block is both its possible
//! left neighbour and its predecessor in the address-ordered list, and its link is the
//! first free block after it, its possible right neighbour.
//!
//! Why allocation rarely walks far: first fit leaves small splinters at low addresses
//! that every later search would step over. Per size class, a hint remembers where the
//! first block big enough for that class may be (invariant 8); the search starts at the
//! first free block at or above it (a forward scan of the free map). The blocks it skips
//! cannot hold any request of the class, so the result is still exactly the first fit.
//!
//! The lock is a spin lock rather than `std::sync::Mutex`; `spin.rs` explains why.

use std::alloc::{GlobalAlloc, Layout};
use std::fmt;
use std::mem::size_of;
use std::ptr::{self, NonNull};

use super::region::Region;
use super::spin::SpinLock;
use super::{align_up, check_align, AllocFailure};
use crate::{EngineError, Result};

/// Block addresses and sizes are multiples of this; it is also the smallest alignment
/// every payload has.
const GRANULE: usize = 16;

#[repr(C, align(16))]
#[derive(Clone, Copy)]
struct Header {
    /// Whole block size, header included.
    size: usize,
    /// `FREE`: offset of the next free block, or `NIL`. `USED`: `NIL`.
    link: usize,
    /// `FREE` or `USED` (or `DEAD` once absorbed by a neighbour).
    state: usize,
    /// `checksum(address, size, link, state)`.
    check: usize,
}

/// Header size: 32 bytes on 64-bit targets, 16 on 32-bit; a multiple of `GRANULE`, so
/// payloads keep the header's 16-byte alignment.
const HEADER: usize = size_of::<Header>();
/// A block must hold its header and a granule of payload; smaller leftovers stay inside
/// the block they were cut from.
const MIN_BLOCK: usize = HEADER + GRANULE;
const NIL: usize = usize::MAX;
/// Size classes by the binary logarithm of the payload size in granules: a payload
/// below `2^BITS` bytes has fewer than `2^(BITS - 4)` granules, so `BITS - 4` classes,
/// and `floor` of the last one still fits a `usize`.
const CLASSES: usize = usize::BITS as usize - 4;
const FREE: usize = 0x5EED_F4EE;
const USED: usize = 0xA110_CA7E;
const DEAD: usize = 0;

/// Mixes a header's fields with its own address, so that a header copied elsewhere, or
/// any field overwritten, fails the check (the finaliser of SplitMix64).
fn checksum(addr: usize, size: usize, link: usize, state: usize) -> usize {
    let mut x = (addr as u64)
        ^ (size as u64).rotate_left(16)
        ^ (link as u64).rotate_left(32)
        ^ (state as u64).rotate_left(48)
        ^ 0x7A5C_E4A1_10C8_0D15;
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) as usize
}

/// The size class of a payload of `need` bytes (a multiple of 16, at least 16).
fn class(need: usize) -> usize {
    (need / GRANULE).ilog2() as usize
}

/// The least block size that can serve some request of class `c`: one of its smallest
/// payloads, `16 << c` bytes, plus a header. Smaller blocks never fit the class.
fn floor(c: usize) -> usize {
    (GRANULE << c) + HEADER
}

/// The index of the highest set bit of a non-zero word.
fn top(bits: u64) -> usize {
    63 - bits.leading_zeros() as usize
}

/// Everything behind the lock. Offsets are from the region's base.
struct Heap {
    /// False until the first locked operation lays out the region (the `const`
    /// constructor cannot write to memory).
    ready: bool,
    live_map: usize,
    free_map: usize,
    /// One bit per free-map word: set when the word is not zero.
    summary: usize,
    start: usize,
    end: usize,
    free_head: usize,
    /// Where the search for each size class starts (invariant 8).
    hint: [usize; CLASSES],
    free_bytes: usize,
    free_blocks: usize,
    live: usize,
    allocations: u64,
    failed: u64,
    invalid_frees: u64,
}

/// A coalescing first-fit allocator over one fixed region, usable from many threads.
///
/// Free blocks are kept in address order and merged with both neighbours when a block
/// is freed, so freeing everything always leaves one free block covering the whole
/// area. Every free is checked: a pointer that is not the start of a live allocation
/// from this allocator (foreign, interior, or already freed) is an error, not undefined
/// behaviour (see the module source for how).
///
/// Each allocation costs a [`BLOCK_OVERHEAD`](Self::BLOCK_OVERHEAD)-byte header, and
/// sizes round up to 16 bytes; two bitmaps of one bit per 16 bytes (under 2 %) are
/// carved from the region. Allocation is first fit: it walks the free list, starting
/// past the blocks known to be too small for the request's size class, so its cost grows
/// with the number of free blocks between there and the first fit. A free finds its
/// neighbours through a bitmap instead of a walk. Both run under a lock.
///
/// As a [`GlobalAlloc`] it returns null on failure and ignores a `dealloc` of a pointer
/// it would reject, counting it in [`FreeListStats::invalid_frees`].
pub struct FreeListAllocator {
    heap: SpinLock<Heap>,
    region: Region,
}

/// A consistent snapshot of a [`FreeListAllocator`]'s statistics (taken under its lock).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FreeListStats {
    /// Bytes of the block area (the region less the bitmaps and alignment padding).
    pub capacity: usize,
    /// Total size of the free blocks, their headers included.
    pub free_bytes: usize,
    /// Size of the largest free block, header included; the largest request that can
    /// succeed with alignment up to 16 is this less
    /// [`BLOCK_OVERHEAD`](FreeListAllocator::BLOCK_OVERHEAD).
    pub largest_free_block: usize,
    /// Number of free blocks.
    pub free_blocks: usize,
    /// `1 - largest_free_block / free_bytes`: 0 when all free memory is one block (or
    /// none is free), close to 1 when it is scattered in small pieces.
    pub fragmentation: f64,
    /// Allocations currently live.
    pub live_allocations: usize,
    /// Successful allocations since creation.
    pub allocations: u64,
    /// Allocations that could not be served (no room, or corrupted metadata).
    pub failed_allocations: u64,
    /// Frees rejected: foreign, interior, or already freed pointers.
    pub invalid_frees: u64,
}

impl FreeListAllocator {
    /// Bytes of header in front of every allocation.
    pub const BLOCK_OVERHEAD: usize = HEADER;

    /// Creates an allocator over `capacity` bytes reserved once, page aligned, straight
    /// from the operating system (never from the global allocator, which may be this
    /// type). Neither the blocks nor the bitmaps are committed up front: pages are
    /// backed as they are first touched, so a large capacity costs address space, not
    /// memory. A capacity the system cannot reserve is `NoMemory`.
    ///
    /// Errors: a capacity too small for the bitmaps and one block (a few dozen bytes) is
    /// `Invalid`; one the system cannot provide is `NoMemory`.
    pub fn new(capacity: usize) -> Result<Self> {
        let mut a = Self::with_region(Region::allocate(capacity)?);
        a.reset();
        if a.heap.get_mut().free_blocks == 0 {
            return Err(EngineError::invalid(format_args!(
                "capacity {capacity} is too small for a free-list allocator"
            )));
        }
        Ok(a)
    }

    /// Creates an allocator over a buffer that nothing else can use any more (a leaked
    /// `Box`, or a `static mut` borrowed once). A buffer too small for one block gives an
    /// allocator whose every allocation fails.
    pub fn from_static(buf: &'static mut [u8]) -> Self {
        Self::with_region(Region::from_static(buf))
    }

    /// Creates an allocator over caller-provided memory; `const`, so the allocator can be
    /// a `#[global_allocator]` static over a static buffer. The region is laid out on
    /// first use. A region too small for one block gives an allocator whose every
    /// allocation fails.
    ///
    /// # Safety
    /// `base .. base + len` must be initialised (a zeroed static will do), valid for
    /// reads and writes, used by nothing but this allocator, and not wrap around the
    /// address space, for as long as the allocator lives. The allocator never frees it.
    pub const unsafe fn from_raw_parts(base: NonNull<u8>, len: usize) -> Self {
        // SAFETY: the caller's guarantee is exactly `Region::from_raw_parts`'s.
        let region = unsafe { Region::from_raw_parts(base, len) };
        Self::with_region(region)
    }

    const fn with_region(region: Region) -> Self {
        FreeListAllocator {
            heap: SpinLock::new(Heap {
                ready: false,
                live_map: 0,
                free_map: 0,
                summary: 0,
                start: 0,
                end: 0,
                free_head: NIL,
                hint: [0; CLASSES],
                free_bytes: 0,
                free_blocks: 0,
                live: 0,
                allocations: 0,
                failed: 0,
                invalid_frees: 0,
            }),
            region,
        }
    }

    /// Allocates `size` bytes aligned to `align`.
    ///
    /// `align` must be a power of two no larger than [`MAX_ALIGN`](super::MAX_ALIGN)
    /// (else `Invalid`); payloads are always at least 16-byte aligned. A zero `size` is
    /// served as one byte. No free block large enough, or a size whose arithmetic would
    /// overflow, is `NoMemory`; metadata found corrupted is `Invalid`.
    ///
    /// The memory is uninitialised and the caller's until passed to [`free`](Self::free).
    pub fn alloc(&self, size: usize, align: usize) -> Result<NonNull<u8>> {
        Ok(self.try_alloc(size, align)?)
    }

    /// Returns an allocation to the allocator, merging it with free neighbours.
    ///
    /// A pointer that is not the start of a live allocation from this allocator is
    /// `Invalid` and changes nothing: one from elsewhere, one into the middle of a block,
    /// or one already freed (a "double free" when its memory is still free; a stale
    /// pointer whose memory was handed out again reads as an interior pointer).
    pub fn free(&self, ptr: NonNull<u8>) -> Result<()> {
        Ok(self.try_free(ptr.as_ptr())?)
    }

    /// Whether `ptr` is the start of a live allocation from this allocator.
    pub fn owns(&self, ptr: *const u8) -> bool {
        let off = (ptr as usize).wrapping_sub(self.region.addr());
        self.with_heap(|h| h.live_header(off).is_some())
    }

    /// Frees every allocation at once. Exclusive access proves no other thread is using
    /// the allocator; raw pointers it handed out must not be used after this.
    ///
    /// Counters survive a reset; everything else starts over.
    pub fn reset(&mut self) {
        let (base, len) = (self.region.base(), self.region.len());
        Ctx { base, len, region: &self.region, h: self.heap.get_mut() }.init();
    }

    /// Bytes of the block area: the region less the bitmaps and alignment padding.
    pub fn capacity(&self) -> usize {
        self.with_heap(|h| h.h.end - h.h.start)
    }

    /// A snapshot of the statistics; walks the free list.
    pub fn stats(&self) -> FreeListStats {
        self.with_heap(|h| h.stats())
    }

    /// Walks every block and checks all the invariants (tiling, checksums, address order,
    /// coalescing, maps, counters). Costs time linear in the number of blocks; meant
    /// for tests and debugging. A violation is `Invalid`, naming it.
    pub fn check_integrity(&self) -> Result<()> {
        // The message is built after the lock is released: allocating under it would
        // deadlock when this allocator is the global one.
        self.with_heap(|h| h.integrity())
            .map_err(|why| EngineError::invalid(format_args!("free-list integrity check failed: {why}")))
    }

    fn try_alloc(&self, size: usize, align: usize) -> Result<NonNull<u8>, AllocFailure> {
        check_align(align)?;
        let off = self.with_heap(|h| h.alloc(size, align))?;
        // SAFETY: `alloc` returns the payload offset of a block inside the region
        // (invariant 1), so the pointer stays in the region and is non-null.
        Ok(unsafe { self.region.base().add(off) })
    }

    fn try_free(&self, ptr: *const u8) -> Result<(), AllocFailure> {
        // Wrapping: a pointer below the base becomes a huge offset, rejected as foreign.
        let off = (ptr as usize).wrapping_sub(self.region.addr());
        self.with_heap(|h| h.free(off))
    }

    /// Runs `f` with the lock held and the region laid out.
    fn with_heap<R>(&self, f: impl FnOnce(&mut Ctx<'_>) -> R) -> R {
        let mut guard = self.heap.lock();
        let mut cx = Ctx { base: self.region.base(), len: self.region.len(), region: &self.region, h: &mut guard };
        if !cx.h.ready {
            cx.init();
        }
        f(&mut cx)
    }
}

/// The heap state together with the region it describes, while the lock is held.
struct Ctx<'a> {
    base: NonNull<u8>,
    len: usize,
    region: &'a Region,
    h: &'a mut Heap,
}

impl Ctx<'_> {
    /// Lays out an empty region: zeroed maps, one free block. Keeps the counters.
    fn init(&mut self) {
        let base = self.base.as_ptr() as usize;
        let h = &mut *self.h;
        h.ready = true;
        h.free_head = NIL;
        h.free_bytes = 0;
        h.free_blocks = 0;
        h.live = 0;
        h.start = 0;
        h.end = 0;
        let Some(pad) = align_up(base, GRANULE).map(|a| a - base) else {
            return;
        };
        let avail = self.len.saturating_sub(pad);
        // One bit per granule of `avail` bytes covers the smaller block area too; one
        // summary bit per free-map word. Maps are whole `u64` words and multiples of 16
        // bytes, so the area stays aligned.
        let map_words = avail.div_ceil(GRANULE * 64);
        let map_bytes = (map_words * 8).next_multiple_of(GRANULE);
        let summary_bytes = (map_words.div_ceil(64) * 8).next_multiple_of(GRANULE);
        let maps = 2 * map_bytes + summary_bytes;
        let area = avail.saturating_sub(maps) & !(GRANULE - 1);
        if area < MIN_BLOCK {
            return;
        }
        h.live_map = pad;
        h.free_map = pad + map_bytes;
        h.summary = pad + 2 * map_bytes;
        h.start = pad + maps;
        h.end = h.start + area;
        // SAFETY: `pad + maps + area <= len`, so the maps lie in the region, which is ours
        // alone (we hold the lock or `&mut self`). Whole pages of the maps are given back
        // rather than written: a fresh region's maps (2/64 of it) stay uncommitted.
        unsafe { self.region.zero(pad, maps) };
        let start = self.h.start;
        self.write(start, area, NIL, FREE);
        self.set_free(start, true);
        self.h.free_head = start;
        self.h.hint = [start; CLASSES];
        self.h.free_bytes = area;
        self.h.free_blocks = 1;
    }

    fn addr(&self, off: usize) -> usize {
        self.base.as_ptr() as usize + off
    }

    /// Whether a header could start at `off`: on a granule, and inside the block area.
    fn header_slot(&self, off: usize) -> bool {
        off >= self.h.start
            && (off - self.h.start) % GRANULE == 0
            && off.checked_add(HEADER).is_some_and(|e| e <= self.h.end)
    }

    /// Reads and validates the header at `off`.
    fn read(&self, off: usize) -> Result<Header, AllocFailure> {
        if !self.header_slot(off) {
            return Err(AllocFailure::Corrupted);
        }
        // SAFETY: `header_slot` puts `off .. off + HEADER` inside the block area, at a
        // 16-byte aligned address (the area starts 16-aligned). The region is initialised
        // memory (Region invariant) that we alone access while holding the lock.
        let hd = unsafe { self.base.as_ptr().add(off).cast::<Header>().read() };
        let sane = hd.check == checksum(self.addr(off), hd.size, hd.link, hd.state)
            && (hd.state == FREE || hd.state == USED)
            && hd.size % GRANULE == 0
            && hd.size >= MIN_BLOCK
            && hd.size <= self.h.end - off;
        if sane {
            Ok(hd)
        } else {
            Err(AllocFailure::Corrupted)
        }
    }

    /// Reads a free-list entry, checking that the list moves forward.
    fn read_free(&self, off: usize) -> Result<Header, AllocFailure> {
        let hd = self.read(off)?;
        if hd.state == FREE && (hd.link == NIL || hd.link >= off + hd.size) {
            Ok(hd)
        } else {
            Err(AllocFailure::Corrupted)
        }
    }

    fn write(&mut self, off: usize, size: usize, link: usize, state: usize) {
        debug_assert!(self.header_slot(off));
        let check = checksum(self.addr(off), size, link, state);
        // SAFETY: callers pass block starts inside the block area (invariant 1), so the
        // header is in the region and 16-byte aligned; we hold the lock.
        unsafe { self.base.as_ptr().add(off).cast::<Header>().write(Header { size, link, state, check }) };
    }

    /// Invalidates the header of a block absorbed by its neighbour.
    fn erase(&mut self, off: usize) {
        debug_assert!(self.header_slot(off));
        // SAFETY: as in `write`.
        unsafe {
            self.base.as_ptr().add(off).cast::<Header>().write(Header { size: 0, link: NIL, state: DEAD, check: 0 })
        };
    }

    /// Word `w` of the bitmap at offset `map` (the live map, the free map or the
    /// summary).
    ///
    /// The maps lie in the region before the block area, 8-byte aligned, with a word
    /// for every 64 granules of the area, and the summary a bit for every free-map word
    /// (see `init`). So the pointer may be dereferenced (with the lock held) when `w` is
    /// `g / 64` for a granule `g` of the area, or a summary word covering free-map words.
    fn word(&self, map: usize, w: usize) -> *mut u64 {
        self.base.as_ptr().wrapping_add(map + w * 8).cast::<u64>()
    }

    /// The granule of a block start.
    fn granule(&self, off: usize) -> usize {
        (off - self.h.start) / GRANULE
    }

    /// Bit `bit` of a map: a granule of the area, or for the summary a free-map word.
    fn test(&self, map: usize, bit: usize) -> bool {
        // SAFETY: callers pass a granule of the area (a block start's) or, for the
        // summary, a free-map word, so `word` is inside its map (see there).
        unsafe { *self.word(map, bit / 64) & (1 << (bit % 64)) != 0 }
    }

    /// Sets or clears a bit (as in `test`); returns whether its word is non-zero after.
    fn put(&mut self, map: usize, bit: usize, on: bool) -> bool {
        // SAFETY: as in `test`; the `&mut` lives only in this function, under the lock.
        let w = unsafe { &mut *self.word(map, bit / 64) };
        if on {
            *w |= 1 << (bit % 64);
        } else {
            *w &= !(1 << (bit % 64));
        }
        *w != 0
    }

    fn is_live(&self, off: usize) -> bool {
        self.test(self.h.live_map, self.granule(off))
    }

    fn set_live(&mut self, off: usize, on: bool) {
        let g = self.granule(off);
        self.put(self.h.live_map, g, on);
    }

    fn is_free(&self, off: usize) -> bool {
        self.test(self.h.free_map, self.granule(off))
    }

    /// Marks a free block start in the free map and keeps the summary in step.
    fn set_free(&mut self, off: usize, on: bool) {
        let g = self.granule(off);
        let nonzero = self.put(self.h.free_map, g, on);
        self.put(self.h.summary, g / 64, nonzero);
    }

    /// Words in the free map.
    fn map_words(&self) -> usize {
        self.granule(self.h.end).div_ceil(64)
    }

    /// The start of the nearest free block below the block start `off`.
    ///
    /// Looks in `off`'s own free-map word, then finds the nearest non-zero word below
    /// through the summary, 64 words (64 KiB of block area) per summary bit.
    fn free_below(&self, off: usize) -> Option<usize> {
        let g = self.granule(off);
        let w = g / 64;
        // SAFETY: `off` starts a block, so `w` is a word of the free map; we hold the lock.
        let bits = unsafe { *self.word(self.h.free_map, w) } & ((1u64 << (g % 64)) - 1);
        if bits != 0 {
            return Some(self.at(w, top(bits)));
        }
        let mut sw = w / 64;
        let mut sbits = self.summary_word(sw) & ((1u64 << (w % 64)) - 1);
        loop {
            if sbits != 0 {
                return self.free_in(sw * 64 + top(sbits), top);
            }
            if sw == 0 {
                return None;
            }
            sw -= 1;
            sbits = self.summary_word(sw);
        }
    }

    /// The start of the first free block at or above `off` (a block start, or `end`),
    /// or `NIL`: the mirror image of `free_below`.
    fn free_at_or_above(&self, off: usize) -> usize {
        let g = self.granule(off);
        let w = g / 64;
        if w >= self.map_words() {
            return NIL;
        }
        // SAFETY: `w` is a word of the free map (checked above); we hold the lock.
        let bits = unsafe { *self.word(self.h.free_map, w) } & (u64::MAX << (g % 64));
        if bits != 0 {
            return self.at(w, bits.trailing_zeros() as usize);
        }
        let last = (self.map_words() - 1) / 64;
        let (mut sw, next) = ((w + 1) / 64, (w + 1) % 64);
        if sw > last {
            return NIL;
        }
        let mut sbits = self.summary_word(sw) & (u64::MAX << next);
        loop {
            if sbits != 0 {
                let low = |x: u64| x.trailing_zeros() as usize;
                return self.free_in(sw * 64 + low(sbits), low).unwrap_or(NIL);
            }
            if sw == last {
                return NIL;
            }
            sw += 1;
            sbits = self.summary_word(sw);
        }
    }

    /// The block of free-map word `w` that `pick` chooses among its bits. `None` only if
    /// the summary disagrees with the map (corruption): the callers' checks against the
    /// list then report it.
    fn free_in(&self, w: usize, pick: impl Fn(u64) -> usize) -> Option<usize> {
        if w >= self.map_words() {
            return None;
        }
        // SAFETY: `w` is a word of the free map (checked above); we hold the lock.
        let bits = unsafe { *self.word(self.h.free_map, w) };
        (bits != 0).then(|| self.at(w, pick(bits)))
    }

    /// Summary word `sw`, for `sw <= (map_words - 1) / 64`.
    fn summary_word(&self, sw: usize) -> u64 {
        debug_assert!(sw <= (self.map_words() - 1) / 64);
        // SAFETY: the summary has a bit per free-map word, so words up to this index
        // exist (see `init`); we hold the lock.
        unsafe { *self.word(self.h.summary, sw) }
    }

    /// The block start of bit `bit` of free-map word `w`.
    fn at(&self, w: usize, bit: usize) -> usize {
        self.h.start + (w * 64 + bit) * GRANULE
    }

    /// The header of the live block whose payload is at `payload`, if there is one.
    fn live_header(&self, payload: usize) -> Option<usize> {
        let off = payload.checked_sub(HEADER)?;
        (self.header_slot(off) && self.is_live(off)).then_some(off)
    }

    /// Points `prev` (or the list head when `None`) at `next`.
    fn set_link(&mut self, prev: Option<(usize, usize)>, next: usize) {
        match prev {
            None => self.h.free_head = next,
            Some((p, psize)) => self.write(p, psize, next, FREE),
        }
    }

    fn alloc(&mut self, size: usize, align: usize) -> Result<usize, AllocFailure> {
        let r = self.first_fit(size, align);
        if r.is_ok() {
            self.h.allocations += 1;
            self.h.live += 1;
        } else {
            self.h.failed += 1;
        }
        r
    }

    /// Finds the first free block that fits and carves the allocation out of it;
    /// returns the payload offset. Changes nothing on failure.
    fn first_fit(&mut self, size: usize, align: usize) -> Result<usize, AllocFailure> {
        let need = align_up(size.max(1), GRANULE).ok_or(AllocFailure::Exhausted)?;
        if need > self.h.free_bytes {
            return Err(AllocFailure::Exhausted);
        }
        let c = class(need);
        // The first block of at least `floor(c)` seen becomes the class's new hint: every
        // block before it is too small for the whole class, not just for this request.
        let mut new_hint = None;
        let mut prev = None;
        let mut cur = self.free_at_or_above(self.h.hint[c]);
        while cur != NIL {
            let (size, link) = self.peek_free(cur)?;
            if size >= floor(c) && new_hint.is_none() {
                new_hint = Some(cur);
            }
            // Too small whatever the alignment: the common case, decided without `place`.
            if size >= need + HEADER {
                if let Some((hdr, end)) = self.place(cur, size, need, align) {
                    // Carving trusts the size of this block, and of the one before it
                    // when that one is relinked past it: check them in full first.
                    let blk = self.read_free(cur)?;
                    if blk.size != size {
                        return Err(AllocFailure::Corrupted);
                    }
                    let prev = if hdr == cur { self.list_prev(cur, prev)? } else { None };
                    self.carve(prev, cur, blk, hdr, end);
                    // `cur` was at least `floor(c)`, so `new_hint` is set and `<= cur`.
                    self.h.hint[c] = new_hint.unwrap_or(cur);
                    return Ok(hdr + HEADER);
                }
            }
            prev = Some(cur);
            cur = link;
        }
        // Nothing fits; nothing below the first block of `floor(c)` ever will.
        self.h.hint[c] = new_hint.unwrap_or(self.h.end);
        Err(AllocFailure::Exhausted)
    }

    /// The free block before `off` in the list, with its size, checked in full.
    /// `walked` is the block the search stepped from, if any; otherwise the free map
    /// finds it.
    fn list_prev(&self, off: usize, walked: Option<usize>) -> Result<Option<(usize, usize)>, AllocFailure> {
        let p = match walked {
            Some(p) => p,
            None if self.h.free_head == off => return Ok(None),
            // The list does not start here, so some free block lies below.
            None => self.free_below(off).ok_or(AllocFailure::Corrupted)?,
        };
        match self.read_free(p)? {
            b if b.link == off => Ok(Some((p, b.size))),
            _ => Err(AllocFailure::Corrupted),
        }
    }

    /// One step of the first-fit walk, `(size, link)` of the free block at `off`, without
    /// the checksum: the walk runs over every free block, and only the one chosen is
    /// checked in full. Walking stays safe because `off` is known to start a free block
    /// (found in the free map, or a link checked here), and links must point forward to a
    /// block the free map marks as free, so the walk ends and never leaves the blocks.
    fn peek_free(&self, off: usize) -> Result<(usize, usize), AllocFailure> {
        debug_assert!(self.header_slot(off) && self.is_free(off));
        // SAFETY: `off` starts a free block (see above), so a whole header lies there,
        // 16-byte aligned, in the region; we hold the lock.
        let hd = unsafe { self.base.as_ptr().add(off).cast::<Header>().read() };
        let link_ok = hd.link == NIL || (hd.link > off && self.header_slot(hd.link) && self.is_free(hd.link));
        if link_ok {
            Ok((hd.size, hd.link))
        } else {
            Err(AllocFailure::Corrupted)
        }
    }

    /// Where a block with `need` payload bytes aligned to `align` would go in the free
    /// block `start .. start + size`: `(header, end)` offsets, or `None`.
    ///
    /// The header goes at the block's start when that aligns the payload; otherwise far
    /// enough in that the gap in front is itself a valid free block.
    fn place(&self, start: usize, size: usize, need: usize, align: usize) -> Option<(usize, usize)> {
        let abs = self.addr(start);
        let mut payload = align_up(abs + HEADER, align)?;
        if payload - HEADER != abs {
            payload = align_up(abs.checked_add(MIN_BLOCK + HEADER)?, align)?;
        }
        let hdr = payload - HEADER - (self.base.as_ptr() as usize);
        let end = payload.checked_add(need)? - (self.base.as_ptr() as usize);
        // `end > start`; subtracting keeps an unchecked, corrupted `size` from overflowing.
        (end - start <= size).then_some((hdr, end))
    }

    /// Splits free block `blk` at `start` into [gap][allocation][rest], keeping the gap
    /// and the rest in the list when they are big enough to be blocks.
    fn carve(&mut self, prev: Option<(usize, usize)>, start: usize, blk: Header, hdr: usize, end: usize) {
        let block_end = start + blk.size;
        // A remainder too small to be a block stays in the allocation.
        let end = if block_end - end >= MIN_BLOCK { end } else { block_end };
        let mut next = blk.link;
        let mut pieces = 0;
        if end < block_end {
            self.write(end, block_end - end, next, FREE);
            self.set_free(end, true);
            next = end;
            pieces += 1;
        }
        if hdr > start {
            // The gap keeps the old header's place in the list; only its size changes.
            self.write(start, hdr - start, next, FREE);
            pieces += 1;
        } else {
            self.set_link(prev, next);
            self.set_free(start, false);
        }
        self.write(hdr, end - hdr, NIL, USED);
        self.set_live(hdr, true);
        self.h.free_bytes -= end - hdr;
        self.h.free_blocks = self.h.free_blocks + pieces - 1;
    }

    fn free(&mut self, payload: usize) -> Result<(), AllocFailure> {
        let r = self.release(payload);
        if r.is_ok() {
            self.h.live -= 1;
        } else {
            self.h.invalid_frees += 1;
        }
        r
    }

    /// Frees the block whose payload is at `payload`, merging it with free neighbours.
    /// Every read and check happens before the first write, so a rejected free changes
    /// nothing.
    fn release(&mut self, payload: usize) -> Result<(), AllocFailure> {
        if payload < self.h.start + HEADER || payload >= self.h.end {
            return Err(AllocFailure::Foreign);
        }
        let Some(hdr) = self.live_header(payload) else {
            return Err(self.classify(payload));
        };
        let x = self.read(hdr)?;
        if x.state != USED {
            return Err(AllocFailure::Corrupted);
        }
        let x_end = hdr + x.size;
        // The nearest free block below is the list predecessor; its link (or the head)
        // is the first free block above.
        let prev = match self.free_below(hdr) {
            Some(p) => {
                let b = self.read_free(p)?;
                if p + b.size > hdr {
                    return Err(AllocFailure::Corrupted);
                }
                Some((p, b.size, b.link))
            }
            None => None,
        };
        let next = prev.map_or(self.h.free_head, |(_, _, link)| link);
        let succ = if next == NIL || next > x_end {
            None
        } else if next == x_end {
            Some(self.read_free(next)?)
        } else {
            return Err(AllocFailure::Corrupted);
        };
        // Checked; now change things.
        self.set_live(hdr, false);
        let (mut size, mut link) = (x.size, next);
        self.h.free_blocks += 1;
        self.h.free_bytes += x.size;
        if let Some(s) = succ {
            size += s.size;
            link = s.link;
            self.erase(next);
            self.set_free(next, false);
            self.h.free_blocks -= 1;
        }
        let (at, size) = match prev {
            Some((p, psize, _)) if p + psize == hdr => {
                self.erase(hdr);
                self.write(p, psize + size, link, FREE);
                self.h.free_blocks -= 1;
                (p, psize + size)
            }
            _ => {
                self.write(hdr, size, link, FREE);
                self.set_free(hdr, true);
                self.set_link(prev.map(|(p, psize, _)| (p, psize)), hdr);
                (hdr, size)
            }
        };
        // The new free block may now be the first one big enough for some classes.
        for c in (0..CLASSES).take_while(|&c| floor(c) <= size) {
            self.h.hint[c] = self.h.hint[c].min(at);
        }
        Ok(())
    }

    /// Says what a rejected in-range pointer points into, by walking the headers.
    fn classify(&self, payload: usize) -> AllocFailure {
        let mut b = self.h.start;
        while b < self.h.end {
            let Ok(hd) = self.read(b) else {
                return AllocFailure::Corrupted;
            };
            if payload < b + hd.size {
                return if hd.state == FREE { AllocFailure::DoubleFree } else { AllocFailure::Interior };
            }
            b += hd.size;
        }
        AllocFailure::Foreign
    }

    fn stats(&self) -> FreeListStats {
        let mut largest = 0;
        let mut cur = self.h.free_head;
        // A corrupted entry ends the walk; `check_integrity` is the place to report it.
        while let Some(b) = (cur != NIL).then(|| self.read_free(cur).ok()).flatten() {
            largest = largest.max(b.size);
            cur = b.link;
        }
        let free = self.h.free_bytes;
        FreeListStats {
            capacity: self.h.end - self.h.start,
            free_bytes: free,
            largest_free_block: largest,
            free_blocks: self.h.free_blocks,
            fragmentation: if free == 0 { 0.0 } else { 1.0 - largest as f64 / free as f64 },
            live_allocations: self.h.live,
            allocations: self.h.allocations,
            failed_allocations: self.h.failed,
            invalid_frees: self.h.invalid_frees,
        }
    }

    fn integrity(&self) -> Result<(), &'static str> {
        let (mut b, mut next_free, mut prev_free) = (self.h.start, self.h.free_head, false);
        let (mut free_bytes, mut free_blocks, mut live) = (0, 0, 0);
        while b < self.h.end {
            let hd = self.read(b).map_err(|_| "a header fails its checksum or bounds")?;
            if hd.state == FREE {
                if (0..CLASSES).any(|c| floor(c) <= hd.size && b < self.h.hint[c]) {
                    return Err("a search hint skips a free block big enough for its class");
                }
                if next_free != b {
                    return Err("the free list does not visit the free blocks in address order");
                }
                if prev_free {
                    return Err("two free blocks are adjacent (not coalesced)");
                }
                if self.is_live(b) || !self.is_free(b) {
                    return Err("a free block is marked live, or not free, in the maps");
                }
                next_free = hd.link;
                free_bytes += hd.size;
                free_blocks += 1;
            } else {
                if !self.is_live(b) || self.is_free(b) {
                    return Err("a live block is not marked live, or marked free, in the maps");
                }
                if hd.link != NIL {
                    return Err("a live block has a free-list link");
                }
                live += 1;
            }
            prev_free = hd.state == FREE;
            b += hd.size;
        }
        if b != self.h.end {
            return Err("the blocks do not tile the block area");
        }
        if self.h.hint.iter().any(|&h| h < self.h.start || h > self.h.end) {
            return Err("a search hint lies outside the block area");
        }
        if next_free != NIL {
            return Err("the free list continues past the last free block");
        }
        if (free_bytes, free_blocks, live) != (self.h.free_bytes, self.h.free_blocks, self.h.live) {
            return Err("the free-byte, free-block or live counters disagree with the blocks");
        }
        // Bits set anywhere else than at block starts would show up in the counts. The
        // whole map is read, words past the block area included (they must be zero).
        let map_len = (self.h.free_map - self.h.live_map) / 8;
        let read = |map: usize, w: usize| {
            // SAFETY: each map is `map_len` whole, 8-byte aligned words inside the region
            // (see `init`), and `w < map_len`; we hold the lock.
            unsafe { *self.base.as_ptr().add(map + w * 8).cast::<u64>() }
        };
        let count = |map: usize| (0..map_len).map(|w| read(map, w).count_ones() as usize).sum();
        if (count(self.h.live_map), count(self.h.free_map)) != (live, free_blocks) {
            return Err("a map has bits set where no block of its kind starts");
        }
        let summary_len = (self.h.start - self.h.summary) / 8;
        let summary_ok = (0..summary_len * 64).all(|w| {
            let nonzero = w < map_len && read(self.h.free_map, w) != 0;
            (read(self.h.summary, w / 64) & (1 << (w % 64)) != 0) == nonzero
        });
        if !summary_ok {
            return Err("the free-map summary disagrees with the free map");
        }
        Ok(())
    }
}

// SAFETY: `alloc` returns null or the payload of a block carved out of a free block,
// which no live allocation overlaps (invariants 1 and 3), of at least `layout.size()`
// bytes and aligned to `layout.align()` (`place`). Neither method panics or allocates
// while holding the lock (errors are `Copy` values), so they cannot deadlock on
// re-entry. `dealloc` validates the pointer before touching any memory.
unsafe impl GlobalAlloc for FreeListAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.try_alloc(layout.size(), layout.align()) {
            Ok(p) => p.as_ptr(),
            Err(_) => ptr::null_mut(),
        }
    }

    /// Frees the block; a pointer that `free` would reject (null included) is ignored,
    /// leaving the heap untouched, and counted in `invalid_frees`.
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // The error is already counted; there is no one to report it to.
        let _ = self.try_free(ptr);
    }
}

impl fmt::Debug for FreeListAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FreeListAllocator").field("stats", &self.stats()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keeps_payloads_16_aligned() {
        assert_eq!(HEADER % GRANULE, 0);
        assert_eq!(std::mem::align_of::<Header>(), GRANULE);
    }

    #[test]
    fn size_classes_cover_every_size_and_their_floors_fit() {
        assert_eq!(class(16), 0);
        assert_eq!(class(31 & !15), 0);
        assert_eq!(class(32), 1);
        let largest = usize::MAX & !(GRANULE - 1);
        assert_eq!(class(largest), CLASSES - 1);
        assert!(floor(CLASSES - 1) > floor(CLASSES - 2));
        // A class's smallest payload plus a header is exactly its floor.
        for c in 0..CLASSES {
            assert_eq!(class(floor(c) - HEADER), c);
        }
    }

    #[test]
    fn checksum_depends_on_every_field() {
        let c = checksum(0x1000, 64, NIL, FREE);
        assert_ne!(c, checksum(0x1010, 64, NIL, FREE));
        assert_ne!(c, checksum(0x1000, 80, NIL, FREE));
        assert_ne!(c, checksum(0x1000, 64, 0x2000, FREE));
        assert_ne!(c, checksum(0x1000, 64, NIL, USED));
    }

    #[test]
    fn smoke() {
        let a = FreeListAllocator::new(4096).unwrap();
        let s0 = a.stats();
        assert_eq!((s0.free_blocks, s0.free_bytes), (1, s0.capacity));
        let p = a.alloc(24, 8).unwrap();
        assert!(a.owns(p.as_ptr()));
        assert_eq!(a.stats().free_bytes, s0.capacity - HEADER - 32);
        a.free(p).unwrap();
        assert_eq!(a.stats().free_bytes, s0.capacity);
        a.check_integrity().unwrap();
    }

    #[test]
    fn a_corrupted_header_is_reported_not_followed() {
        let a = FreeListAllocator::new(4096).unwrap();
        let p = a.alloc(16, 16).unwrap();
        // SAFETY: overwrites the header in front of `p` (still inside the region), as a
        // buffer underrun in a caller would.
        unsafe { p.as_ptr().sub(HEADER).cast::<usize>().write(12345) };
        assert!(matches!(a.free(p), Err(EngineError::Invalid(m)) if m.contains("corrupted")));
        assert!(a.check_integrity().is_err());
        assert_eq!(a.stats().invalid_frees, 1);
    }

    #[test]
    fn too_small_regions_fail_cleanly() {
        assert!(matches!(FreeListAllocator::new(16), Err(EngineError::Invalid(_))));
        // Given back at the end, so that Miri's leak check stays on.
        let raw = Box::into_raw(Box::new([0u8; 40]));
        // SAFETY: fresh and unaliased; freed below only after the allocator is gone.
        let tiny = FreeListAllocator::from_static(unsafe { &mut *raw });
        assert_eq!(tiny.alloc(1, 1).unwrap_err(), EngineError::NoMemory);
        assert_eq!(tiny.capacity(), 0);
        tiny.check_integrity().unwrap();
        drop(tiny);
        // SAFETY: from Box::into_raw above; nothing borrows it any more.
        drop(unsafe { Box::from_raw(raw) });
    }
}
