//! Fixed-region allocators: a lock-free bump arena and a coalescing free-list allocator.
//!
//! Both manage one region of memory chosen at construction (reserved once from the
//! operating system by `new`, and committed page by page as it is touched, or handed
//! in by the caller through `from_static` /
//! `from_raw_parts`), never grow, and never touch memory outside it. Each has a safe
//! API that returns [`crate::Result`] and a [`GlobalAlloc`](std::alloc::GlobalAlloc)
//! implementation that returns null on failure and never panics.
//!
//! Shared conventions:
//! - Alignment: any power of two up to [`MAX_ALIGN`] (the page size, 4096). Anything else
//!   is [`EngineError::Invalid`].
//! - Zero-size requests are served as 1-byte requests: the pointer is distinct from every
//!   other live allocation, lies inside the region and can be freed like any other. Only
//!   zero bytes may be accessed through it.
//! - Exhaustion (including sizes so large that the arithmetic would overflow) is
//!   [`EngineError::NoMemory`], never a pointer outside the region.
//! - A pointer the allocator did not hand out is [`EngineError::Invalid`] from the safe
//!   API. The free-list allocator also rejects interior pointers and double frees; the
//!   bump arena keeps no per-block records, so it cannot tell those from good frees
//!   (which give nothing back anyway). `GlobalAlloc::dealloc` has no way to report an
//!   error: it ignores such a pointer, leaves the region untouched, and counts it in the
//!   statistics (`invalid_frees`). Ignoring rather than aborting keeps a host process
//!   alive, in line with the rest of the engine.

mod bump;
mod free_list;
pub(crate) mod region;
mod scratch;
mod spin;

pub use bump::{BumpArena, BumpStats};
pub use free_list::{FreeListAllocator, FreeListStats};
pub use scratch::{scratch, SCRATCH_ALIGN, SCRATCH_CAPACITY, SCRATCH_KEEP};
pub(crate) use scratch::{task_alloc, task_scope};

use crate::EngineError;

/// The largest alignment either allocator serves: the page size.
pub const MAX_ALIGN: usize = 4096;

/// Why an allocator operation failed, without allocating.
///
/// The `GlobalAlloc` paths must not allocate (a `String` in an error would re-enter the
/// allocator, and deadlock the free list's lock), so the cores report this `Copy` value
/// and only the safe API turns it into an [`EngineError`] with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllocFailure {
    /// Alignment not a power of two, or above [`MAX_ALIGN`].
    BadAlign(usize),
    /// Not enough contiguous space (or a size whose arithmetic overflows).
    Exhausted,
    /// The pointer lies outside the memory this allocator hands out.
    Foreign,
    /// The pointer lies in the region but is not the start of a live allocation.
    Interior,
    /// The pointer lies in memory that is already free.
    DoubleFree,
    /// A block header failed its checksum: something wrote over allocator metadata.
    Corrupted,
}

impl From<AllocFailure> for EngineError {
    fn from(f: AllocFailure) -> Self {
        match f {
            AllocFailure::BadAlign(align) => {
                EngineError::invalid(format_args!("alignment {align} is not a power of two between 1 and {MAX_ALIGN}"))
            }
            AllocFailure::Exhausted => EngineError::NoMemory,
            AllocFailure::Foreign => EngineError::invalid("pointer was not allocated by this allocator"),
            AllocFailure::Interior => EngineError::invalid(
                "pointer is not the start of a live allocation (interior pointer, or a stale \
                 pointer whose memory was reused)",
            ),
            AllocFailure::DoubleFree => EngineError::invalid("double free: the pointer's memory is already free"),
            AllocFailure::Corrupted => {
                EngineError::invalid("allocator metadata is corrupted (a write outside an allocation's bounds?)")
            }
        }
    }
}

/// Checks that `align` is a power of two no larger than [`MAX_ALIGN`].
#[inline]
pub(crate) fn check_align(align: usize) -> Result<(), AllocFailure> {
    if align.is_power_of_two() && align <= MAX_ALIGN {
        Ok(())
    } else {
        Err(AllocFailure::BadAlign(align))
    }
}

/// Rounds `addr` up to a multiple of `align` (a power of two); `None` on overflow.
#[inline]
pub(crate) fn align_up(addr: usize, align: usize) -> Option<usize> {
    debug_assert!(align.is_power_of_two());
    Some(addr.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_and_detects_overflow() {
        assert_eq!(align_up(0, 16), Some(0));
        assert_eq!(align_up(1, 16), Some(16));
        assert_eq!(align_up(16, 16), Some(16));
        assert_eq!(align_up(4097, 4096), Some(8192));
        assert_eq!(align_up(usize::MAX - 2, 8), None);
        assert_eq!(align_up(usize::MAX, 1), Some(usize::MAX));
    }

    #[test]
    fn check_align_accepts_powers_of_two_up_to_a_page() {
        for shift in 0..=12 {
            assert_eq!(check_align(1 << shift), Ok(()));
        }
        for bad in [0, 3, 12, 4095, 8192, usize::MAX] {
            assert_eq!(check_align(bad), Err(AllocFailure::BadAlign(bad)));
        }
    }

    #[test]
    fn failures_map_to_the_right_error_kinds() {
        assert_eq!(EngineError::from(AllocFailure::Exhausted), EngineError::NoMemory);
        for f in [
            AllocFailure::BadAlign(3),
            AllocFailure::Foreign,
            AllocFailure::Interior,
            AllocFailure::DoubleFree,
            AllocFailure::Corrupted,
        ] {
            assert!(matches!(EngineError::from(f), EngineError::Invalid(_)), "{f:?}");
        }
    }
}
