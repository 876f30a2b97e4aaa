//! The one block of memory an allocator manages, and who gives it back.
//!
//! Invariants: `base .. base + len` is initialised and valid for reads and writes for as
//! long as the `Region` lives, is used by nothing but its allocator, and does not wrap
//! around the address space. When `owned`, it was allocated by `System` with
//! `Layout::from_size_align(len, MAX_ALIGN)` and is returned to `System` on drop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::NonNull;

use super::MAX_ALIGN;
use crate::{EngineError, Result};

pub(crate) struct Region {
    base: NonNull<u8>,
    len: usize,
    owned: bool,
}

// SAFETY: a `Region` is a pointer to memory it has exclusive use of (invariant above);
// nothing about it is tied to the thread that created it.
unsafe impl Send for Region {}
// SAFETY: `Region` itself only exposes the base address and length; the allocators built
// on it are responsible for synchronising access to the bytes.
unsafe impl Sync for Region {}

impl Region {
    /// Allocates `len` zeroed bytes, page aligned, from the system allocator.
    ///
    /// `System` and not the global allocator: one of our allocators may itself be the
    /// global allocator. A page-aligned base lets every supported alignment be met
    /// without wasting the start of the region. Zeroed so that every byte is initialised
    /// even if a corrupted header sends a walk somewhere unexpected; large zeroed
    /// allocations come from fresh pages and cost nothing up front.
    pub(crate) fn allocate(len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EngineError::invalid("arena capacity must be greater than zero"));
        }
        let layout = Layout::from_size_align(len, MAX_ALIGN).map_err(|_| EngineError::NoMemory)?;
        // SAFETY: `layout` has a non-zero size (checked above).
        let ptr = unsafe { System.alloc_zeroed(layout) };
        let base = NonNull::new(ptr).ok_or(EngineError::NoMemory)?;
        Ok(Region { base, len, owned: true })
    }

    /// Wraps memory the caller owns.
    ///
    /// # Safety
    /// `base .. base + len` must be initialised, valid for reads and writes, used by
    /// nothing else, and not wrap around the address space, for as long as the `Region`
    /// (and anything built on it) lives.
    pub(crate) const unsafe fn from_raw_parts(base: NonNull<u8>, len: usize) -> Self {
        Region { base, len, owned: false }
    }

    /// Wraps a leaked or static buffer, which nothing else can use any more.
    pub(crate) fn from_static(buf: &'static mut [u8]) -> Self {
        let len = buf.len();
        // SAFETY: the exclusive `'static` borrow makes the slice ours for ever; a slice
        // never wraps around the address space.
        unsafe { Region::from_raw_parts(NonNull::from(buf).cast(), len) }
    }

    #[inline]
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The base as an address, for alignment arithmetic.
    #[inline]
    pub(crate) fn addr(&self) -> usize {
        self.base.as_ptr() as usize
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: `owned` regions came from `System.alloc` with exactly this layout
            // (invariant at the top), which `allocate` already validated.
            unsafe { System.dealloc(self.base.as_ptr(), Layout::from_size_align_unchecked(self.len, MAX_ALIGN)) };
        }
    }
}
