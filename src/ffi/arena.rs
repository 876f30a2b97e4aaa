//! Fixed-region allocators through the C ABI: `te_arena` is a bump arena or a
//! coalescing free-list allocator over one region, chosen at creation.

use std::ffi::c_void;
use std::ptr::NonNull;

use super::boundary::{catch_panic, status};
use super::last_error;
use super::live::LiveSet;
use super::ptr::{try_ref, Out};
use super::status::te_status;
use crate::alloc::{BumpArena, FreeListAllocator};
use crate::error::{EngineError, Result};

/// `te_arena_new` kind: a bump arena. Allocation is one lock-free atomic step;
/// te_arena_dealloc gives nothing back (it only checks the pointer); te_arena_reset
/// takes everything back at once.
pub const TE_ARENA_BUMP: u32 = 0;
/// `te_arena_new` kind: a free-list allocator. te_arena_dealloc gives the block back
/// and merges it with free neighbours; a pointer it did not hand out, or one freed
/// twice, is TE_ERR_INVALID instead of corrupting it.
pub const TE_ARENA_FREE_LIST: u32 = 1;

// One Box per arena holds it, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Bump(BumpArena),
    FreeList(FreeListAllocator),
}

/// An allocator over one fixed region of memory, made by te_arena_new and released
/// (with the region) by te_arena_free. Allocation and deallocation may be called
/// from any thread, concurrently; te_arena_reset and te_arena_free may not run
/// at the same time as any other call on the arena.
pub struct te_arena {
    kind: Kind,
}

/// A snapshot of an arena's statistics, filled by te_arena_stats (the struct has
/// its own name: in C a type and a function cannot share one). Taken while other
/// threads may allocate, so fields may come from slightly different moments (a
/// free-list arena's are consistent).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct te_arena_usage {
    /// TE_ARENA_BUMP or TE_ARENA_FREE_LIST.
    pub kind: u32,
    /// Bytes that can be handed out: the region (bump), or the region less the
    /// free list's bookkeeping (free list).
    pub capacity: usize,
    /// Bytes in use: handed out since the last reset, padding included (bump), or
    /// taken by live blocks and their headers (free list).
    pub used: usize,
    /// The largest `used` has been, across resets (bump); equal to `used` for a free
    /// list, which does not track it.
    pub peak: usize,
    /// Bytes still free (free list: headers of free blocks included).
    pub free_bytes: usize,
    /// The largest free block: the contiguous rest of the region for a bump arena.
    pub largest_free_block: usize,
    /// Number of free blocks (bump: 1 while any room is left, else 0).
    pub free_blocks: usize,
    /// 1 - largest_free_block / free_bytes: 0 when all free memory is one block,
    /// near 1 when it is scattered. Always 0 for a bump arena.
    pub fragmentation: f64,
    /// Successful allocations since creation.
    pub allocations: u64,
    /// Allocations refused for lack of room (or bad metadata) since creation.
    pub failed_allocations: u64,
    /// Frees refused: pointers the arena never handed out (or, free list: interior
    /// pointers and double frees).
    pub invalid_frees: u64,
}

/// Creates an arena of `kind` (TE_ARENA_BUMP or TE_ARENA_FREE_LIST) over a region
/// of `capacity` bytes, reserved once, and stores it in `*out`. The region is address
/// space: memory is committed page by page as allocations first touch it, so a large
/// capacity costs little until it is used.
///
/// TE_ERR_INVALID for an unknown `kind`, a `capacity` of 0 (or, for a free list,
/// too small for its bookkeeping and one block); TE_ERR_NO_MEMORY if the region
/// cannot be reserved (a capacity larger than the address space, say); TE_ERR_NULL if `out` is NULL. On failure `*out` is not
/// written.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_arena_new(kind: u32, capacity: usize, out: *mut *mut te_arena) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        let kind = match kind {
            TE_ARENA_BUMP => Kind::Bump(BumpArena::new(capacity)?),
            TE_ARENA_FREE_LIST => Kind::FreeList(FreeListAllocator::new(capacity)?),
            other => return Err(EngineError::invalid(format!("unknown arena kind {other}"))),
        };
        out.write(LIVE_ARENAS.make(te_arena { kind })?);
        Ok(())
    })
}

/// The arenas te_arena_new made and te_arena_free has not released yet.
static LIVE_ARENAS: LiveSet = LiveSet::new();

/// # Safety
/// `arena` must be NULL or a live arena.
unsafe fn arena_ref<'a>(arena: *const te_arena) -> Result<&'a te_arena> {
    // SAFETY: NULL or live for the call (caller's contract).
    unsafe { try_ref(arena) }
}

/// Allocates `size` bytes aligned to `align` from `arena` and stores the address
/// in `*out`. The memory is uninitialised and stays valid until it is given back
/// with te_arena_dealloc (free list), or until te_arena_reset or te_arena_free. A
/// `size` of 0 gets a distinct pointer to no usable bytes.
///
/// TE_ERR_INVALID if `align` is not a power of two between 1 and 4096;
/// TE_ERR_NO_MEMORY when the arena has no room (it never grows); TE_ERR_NULL for a
/// NULL `arena` or `out`. On failure `*out` is not written. Thread-safe.
///
/// # Safety
/// `arena` must be NULL or a live arena; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_arena_alloc(
    arena: *mut te_arena,
    size: usize,
    align: usize,
    out: *mut *mut c_void,
) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (arena, out) = unsafe { (arena_ref(arena)?, Out::new(out)?) };
        let ptr = match &arena.kind {
            Kind::Bump(a) => a.alloc(size, align)?,
            Kind::FreeList(a) => a.alloc(size, align)?,
        };
        out.write(ptr.as_ptr().cast());
        Ok(())
    })
}

/// Gives back `ptr`, which te_arena_alloc returned from this arena. A free list takes
/// the block back (merged with free neighbours); a bump arena takes nothing back (its
/// memory returns on te_arena_reset) but still checks the pointer. NULL is a no-op.
/// (Earlier versions called this te_arena_free, a name that now follows the
/// `_new`/`_free` rule and releases the arena itself.)
///
/// TE_ERR_INVALID for a pointer the arena did not hand out (the arena is left
/// unchanged), and for a free list also a pointer into the middle of a block or one
/// already freed. Thread-safe.
///
/// # Safety
/// `arena` must be NULL or a live arena. After a successful free of a free-list
/// block, the memory must not be used again.
#[no_mangle]
pub unsafe extern "C" fn te_arena_dealloc(arena: *mut te_arena, ptr: *mut c_void) -> te_status {
    status(|| {
        // SAFETY: NULL or live (caller's contract).
        let arena = unsafe { arena_ref(arena) }?;
        let Some(ptr) = NonNull::new(ptr.cast::<u8>()) else { return Ok(()) };
        match &arena.kind {
            Kind::Bump(a) => a.free(ptr),
            Kind::FreeList(a) => a.free(ptr),
        }
    })
}

/// Takes back every allocation of `arena` at once; statistics counters are kept.
/// Every pointer it handed out becomes invalid. TE_ERR_NULL for a NULL `arena`.
///
/// # Safety
/// `arena` must be NULL or a live arena, and no other call on it may run during
/// this one (it needs the arena to itself).
#[no_mangle]
pub unsafe extern "C" fn te_arena_reset(arena: *mut te_arena) -> te_status {
    status(|| {
        if arena.is_null() {
            return Err(EngineError::Null);
        }
        // SAFETY: non-NULL, live, and not used by anyone else during the call (the
        // caller's contract), so a unique reference is sound.
        let arena = unsafe { &mut *arena };
        match &mut arena.kind {
            Kind::Bump(a) => a.reset(),
            Kind::FreeList(a) => a.reset(),
        }
        Ok(())
    })
}

/// Writes a snapshot of `arena`'s statistics to `*out`. TE_ERR_NULL for a NULL
/// argument. Thread-safe.
///
/// # Safety
/// `arena` must be NULL or a live arena; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_arena_stats(arena: *const te_arena, out: *mut te_arena_usage) -> te_status {
    status(|| {
        // SAFETY: forwarded contract.
        let (arena, out) = unsafe { (arena_ref(arena)?, Out::new(out)?) };
        out.write(match &arena.kind {
            Kind::Bump(a) => {
                let s = a.stats();
                let free = s.capacity - s.used;
                te_arena_usage {
                    kind: TE_ARENA_BUMP,
                    capacity: s.capacity,
                    used: s.used,
                    peak: s.peak,
                    free_bytes: free,
                    largest_free_block: free,
                    free_blocks: usize::from(free > 0),
                    fragmentation: 0.0,
                    allocations: s.allocations,
                    failed_allocations: s.failed_allocations,
                    invalid_frees: s.invalid_frees,
                }
            }
            Kind::FreeList(a) => {
                let s = a.stats();
                let used = s.capacity - s.free_bytes;
                te_arena_usage {
                    kind: TE_ARENA_FREE_LIST,
                    capacity: s.capacity,
                    used,
                    peak: used,
                    free_bytes: s.free_bytes,
                    largest_free_block: s.largest_free_block,
                    free_blocks: s.free_blocks,
                    fragmentation: s.fragmentation,
                    allocations: s.allocations,
                    failed_allocations: s.failed_allocations,
                    invalid_frees: s.invalid_frees,
                }
            }
        });
        Ok(())
    })
}

/// Releases `arena` and its whole region; every pointer it handed out becomes
/// invalid. NULL is a no-op. A pointer te_arena_new did not return, or one
/// already freed, is refused without being read: nothing is done and
/// te_last_error_message() says why (an address a later te_arena_new reused
/// belongs to that arena, as with free()).
///
/// # Safety
/// `arena` must be NULL or come from te_arena_new and not have been freed; no other
/// call on it may run during or after this one.
#[no_mangle]
pub unsafe extern "C" fn te_arena_free(arena: *mut te_arena) {
    catch_panic(|| {
        if arena.is_null() {
            return;
        }
        if LIVE_ARENAS.remove_if(arena, || true).is_none() {
            last_error::set(&EngineError::invalid(
                "te_arena_free: not an arena from te_arena_new, or one already freed; nothing was done",
            ));
            return;
        }
        // SAFETY: made by Box::into_raw in te_arena_new, and just taken out of the
        // live set: ownership comes back exactly once.
        drop(unsafe { Box::from_raw(arena) });
    })
}

/// Deprecated: use te_arena_free, which this calls. Kept so that programs written
/// before the `_new`/`_free` naming rule applied to arenas still build and link.
///
/// # Safety
/// As te_arena_free.
#[no_mangle]
#[deprecated(note = "use te_arena_free")]
pub unsafe extern "C" fn te_arena_destroy(arena: *mut te_arena) {
    // SAFETY: forwarded contract.
    unsafe { te_arena_free(arena) }
}
