//! The one block of memory an allocator manages, and who gives it back.
//!
//! Invariants: `base .. base + len` is initialised and valid for reads and writes for as
//! long as the `Region` lives, is used by nothing but its allocator, and does not wrap
//! around the address space. When `owned`, it was made by [`Region::allocate`] (on Unix
//! an anonymous private mapping of `len` rounded up to whole pages, elsewhere `System`
//! with `Layout::from_size_align(len, MAX_ALIGN)`) and is given back on drop.

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

/// The system page size (at least `MAX_ALIGN` on every platform we build for).
#[cfg(unix)]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).ok().filter(|p| p.is_power_of_two()).unwrap_or(MAX_ALIGN).max(MAX_ALIGN)
}

/// `len` rounded up to whole pages, as mapped; `None` when that overflows.
#[cfg(unix)]
fn mapped_len(len: usize) -> Option<usize> {
    len.checked_next_multiple_of(page_size())
}

impl Region {
    /// Reserves `len` zeroed bytes, page aligned, without committing them.
    ///
    /// On Unix an anonymous private mapping (`MAP_NORESERVE` on Linux): pages are
    /// backed only when first touched, so a large arena costs address space, not
    /// memory, until it is used, and a size the system cannot map is `NoMemory` at
    /// once rather than the OOM killer later. Not from the global allocator: one of our
    /// allocators may itself be the global allocator. A page-aligned base lets every
    /// supported alignment be met without wasting the start of the region.
    pub(crate) fn allocate(len: usize) -> Result<Self> {
        if len == 0 {
            return Err(EngineError::invalid("arena capacity must be greater than zero"));
        }
        Self::map(len).map(|base| Region { base, len, owned: true })
    }

    #[cfg(unix)]
    fn map(len: usize) -> Result<NonNull<u8>> {
        let map_len = mapped_len(len).ok_or(EngineError::NoMemory)?;
        // Miri models only plain private anonymous mappings.
        #[cfg(all(target_os = "linux", not(miri)))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        #[cfg(any(not(target_os = "linux"), miri))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing
        // touches no existing memory.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), map_len, libc::PROT_READ | libc::PROT_WRITE, flags, -1, 0) };
        if p == libc::MAP_FAILED {
            return Err(EngineError::NoMemory);
        }
        NonNull::new(p.cast::<u8>()).ok_or(EngineError::NoMemory)
    }

    #[cfg(not(unix))]
    fn map(len: usize) -> Result<NonNull<u8>> {
        use std::alloc::{GlobalAlloc, Layout, System};
        let layout = Layout::from_size_align(len, MAX_ALIGN).map_err(|_| EngineError::NoMemory)?;
        // SAFETY: `layout` has a non-zero size (checked by `allocate`).
        NonNull::new(unsafe { System.alloc_zeroed(layout) }).ok_or(EngineError::NoMemory)
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

    /// Sets bytes `off .. off + n` of the region to zero. In a mapping we own, whole
    /// pages are handed back to the kernel instead (they read as zero again, and cost
    /// nothing until touched), so zeroing large bookkeeping never commits it.
    ///
    /// # Safety
    /// `off + n <= len`, and nothing else accesses those bytes during the call.
    pub(crate) unsafe fn zero(&self, off: usize, n: usize) {
        // (Miri does not model madvise: it zeroes the bytes, below.)
        #[cfg(all(target_os = "linux", not(miri)))]
        if self.owned {
            let start = self.addr() + off;
            let end = start + n;
            let page = page_size();
            let (lo, hi) = (start.next_multiple_of(page), end & !(page - 1));
            // SAFETY: `lo .. hi` is whole pages inside our own private anonymous
            // mapping (invariant), which nothing else uses; MADV_DONTNEED makes them
            // read as zero-filled pages on the next touch.
            if hi > lo && unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED) } == 0 {
                // SAFETY: the head and tail lie inside `off .. off + n` (caller's contract).
                unsafe {
                    self.base.as_ptr().add(off).write_bytes(0, lo - start);
                    self.base.as_ptr().add(off + (hi - start)).write_bytes(0, end - hi);
                }
                return;
            }
        }
        // SAFETY: inside the region, and ours alone for the call (caller's contract).
        unsafe { self.base.as_ptr().add(off).write_bytes(0, n) };
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        #[cfg(unix)]
        {
            // `allocate` checked that this does not overflow.
            if let Some(map_len) = mapped_len(self.len) {
                // SAFETY: `owned` regions are our own mapping of exactly `map_len`
                // bytes (invariant at the top), unmapped once, here.
                unsafe { libc::munmap(self.base.as_ptr().cast(), map_len) };
            }
        }
        #[cfg(not(unix))]
        {
            use std::alloc::{GlobalAlloc, Layout, System};
            // SAFETY: `owned` regions came from `System.alloc_zeroed` with exactly this
            // layout (invariant at the top), which `allocate` already validated.
            unsafe { System.dealloc(self.base.as_ptr(), Layout::from_size_align_unchecked(self.len, MAX_ALIGN)) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_clears_head_pages_and_tail() {
        let r = Region::allocate(5 * MAX_ALIGN + 100).unwrap();
        // SAFETY: the region is ours; every write stays inside it.
        unsafe {
            r.base().as_ptr().write_bytes(0xAB, r.len());
            r.zero(100, 4 * MAX_ALIGN);
            let bytes = std::slice::from_raw_parts(r.base().as_ptr(), r.len());
            assert!(bytes[..100].iter().all(|&b| b == 0xAB));
            assert!(bytes[100..100 + 4 * MAX_ALIGN].iter().all(|&b| b == 0));
            assert!(bytes[100 + 4 * MAX_ALIGN..].iter().all(|&b| b == 0xAB));
        }
    }

    #[test]
    // Miri stops the program on a mapping it cannot back, instead of failing it.
    #[cfg_attr(miri, ignore)]
    fn a_size_nothing_can_map_is_no_memory() {
        assert_eq!(Region::allocate(1 << 60).err(), Some(EngineError::NoMemory));
        assert_eq!(Region::allocate(usize::MAX).err(), Some(EngineError::NoMemory));
        assert!(matches!(Region::allocate(0).err(), Some(EngineError::Invalid(_))));
    }
}
