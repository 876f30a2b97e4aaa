//! Both allocators reserve their region without committing it: a 4 GiB one with a few
//! allocations used keeps the process's resident size far below its capacity, and a
//! capacity no machine can reserve is `NoMemory` (not the OOM killer). A binary of its
//! own, so no other test's memory moves the resident size it measures.

use taskengine::alloc::{BumpArena, FreeListAllocator};
use taskengine::EngineError;

/// The resident size of this process in bytes, as the kernel counts it.
#[cfg(target_os = "linux")]
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).and_then(|f| f.parse().ok()).expect("resident pages");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).expect("a page size")
}

#[cfg(target_os = "linux")]
const CAPACITY: usize = 4 << 30;
/// Far below the capacity, and far above what a few 64 KiB blocks commit.
#[cfg(target_os = "linux")]
const LIMIT: usize = 64 << 20;

/// Writes every byte of `n` blocks of 64 KiB from `alloc`.
#[cfg(target_os = "linux")]
fn touch_blocks(n: usize, mut alloc: impl FnMut() -> *mut u8) {
    for i in 0..n {
        let p = alloc();
        // SAFETY: `alloc` returns a fresh, writable block of 64 KiB.
        unsafe { p.write_bytes(i as u8, 1 << 16) };
    }
}

#[cfg_attr(miri, ignore)] // Miri has no /proc and no mmap
#[test]
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn a_large_region_is_reserved_not_committed() {
    let before = resident_bytes();
    let bump = BumpArena::new(CAPACITY).expect("4 GiB of address space");
    touch_blocks(8, || bump.alloc(1 << 16, 64).unwrap().as_ptr());
    assert_eq!(bump.stats().allocations, 8);
    let after = resident_bytes();
    assert!(after < before + LIMIT, "bump: resident {before} -> {after} bytes for a 4 GiB arena");
    drop(bump);

    let before = resident_bytes();
    let mut list = FreeListAllocator::new(CAPACITY).expect("4 GiB of address space");
    assert!(list.capacity() > CAPACITY / 2);
    touch_blocks(8, || list.alloc(1 << 16, 64).unwrap().as_ptr());
    list.check_integrity().unwrap();
    let after = resident_bytes();
    assert!(after < before + LIMIT, "free list: resident {before} -> {after} bytes for a 4 GiB arena");
    // A reset clears the bitmaps (2/64 of the region) without committing them.
    list.reset();
    assert_eq!(list.stats().free_blocks, 1);
    let after_reset = resident_bytes();
    assert!(after_reset < before + LIMIT, "free list reset: resident {before} -> {after_reset} bytes");
}

#[cfg_attr(miri, ignore)]
#[test]
#[cfg(target_pointer_width = "64")]
fn a_capacity_nothing_can_reserve_is_no_memory() {
    for capacity in [1usize << 60, usize::MAX, usize::MAX - 4095] {
        assert_eq!(BumpArena::new(capacity).err(), Some(EngineError::NoMemory), "{capacity}");
        assert_eq!(FreeListAllocator::new(capacity).err(), Some(EngineError::NoMemory), "{capacity}");
    }
}
