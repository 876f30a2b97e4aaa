//! FreeListAllocator: properties (alignment, no overlap, contents kept), coalescing,
//! exhaustion, bad frees, reset, and a concurrent stress test under a watchdog.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;
use std::sync::Arc;

mod common;

use common::{watchdog, Rng};
use proptest::prelude::*;
use taskengine::alloc::{FreeListAllocator, MAX_ALIGN};
use taskengine::EngineError;

/// Property-test cases and stress operations; far fewer under Miri, which runs a
/// thousand times slower.
const CASES: u32 = if cfg!(miri) { 4 } else { 64 };
const OPS_PER_THREAD: u32 = if cfg!(miri) { 300 } else { 4_000 };

const HEADER: usize = FreeListAllocator::BLOCK_OVERHEAD;

/// How long the stress tests may take before they count as hung. Under Miri, which is
/// about a thousand times slower, only a much longer wait means anything.
const WATCHDOG_SECS: u64 = if cfg!(miri) { 900 } else { 30 };

/// A live allocation in a test: where, how big, and the byte it was filled with.
#[derive(Clone, Copy, Debug)]
struct Block {
    addr: usize,
    size: usize,
    tag: u8,
}

impl Block {
    fn fill(p: NonNull<u8>, size: usize, tag: u8) -> Block {
        // SAFETY: `p` is a fresh allocation of at least `size` bytes.
        unsafe { p.as_ptr().write_bytes(tag, size) };
        Block { addr: p.as_ptr() as usize, size, tag }
    }

    fn intact(&self) -> bool {
        // SAFETY: the block is live and was filled by `fill`.
        let bytes = unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.size) };
        bytes.iter().all(|&b| b == self.tag)
    }

    fn ptr(&self) -> NonNull<u8> {
        NonNull::new(self.addr as *mut u8).unwrap()
    }
}

/// Fails unless the blocks are pairwise disjoint (a zero-size block counts as one byte).
fn assert_disjoint(blocks: &[Block]) {
    let mut v = blocks.to_vec();
    v.sort_by_key(|b| b.addr);
    for w in v.windows(2) {
        assert!(w[0].addr + w[0].size.max(1) <= w[1].addr, "overlap: {:?} and {:?}", w[0], w[1]);
    }
}

/// Frees everything and checks that the heap is one free block again.
fn assert_frees_back_to_one_block(a: &FreeListAllocator, blocks: &[Block]) {
    for b in blocks {
        a.free(b.ptr()).unwrap();
    }
    a.check_integrity().unwrap();
    let s = a.stats();
    assert_eq!((s.free_blocks, s.live_allocations), (1, 0), "{s:?}");
    assert_eq!((s.free_bytes, s.largest_free_block), (s.capacity, s.capacity));
    assert_eq!(s.fragmentation, 0.0);
}

#[derive(Clone, Debug)]
enum Op {
    Alloc { size: usize, align_shift: u32 },
    Free(prop::sample::Index),
}

fn op(max_size: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..max_size, 0u32..=12).prop_map(|(size, align_shift)| Op::Alloc { size, align_shift }),
        2 => any::<prop::sample::Index>().prop_map(Op::Free),
    ]
}

/// Applies `ops` to a fresh allocator of `capacity` bytes, checking everything as it goes.
fn run_ops(capacity: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let a = FreeListAllocator::new(capacity).unwrap();
    let mut live: Vec<Block> = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        match op {
            Op::Alloc { size, align_shift } => {
                let align = 1usize << align_shift;
                match a.alloc(size, align) {
                    Ok(p) => {
                        prop_assert_eq!(p.as_ptr() as usize % align.max(16), 0);
                        prop_assert!(a.owns(p.as_ptr()));
                        live.push(Block::fill(p, size, (i % 251) as u8 + 1));
                    }
                    // Only a lack of room may refuse a valid request: no free block
                    // is big enough for it even in the worst placement (an aligned
                    // payload may need a gap in front that is a block itself).
                    Err(e) => {
                        prop_assert_eq!(e, EngineError::NoMemory);
                        let need = size.max(1).next_multiple_of(16);
                        let slack = if align > 16 { HEADER + align } else { 0 };
                        prop_assert!(a.stats().largest_free_block < need + HEADER + slack);
                    }
                }
            }
            Op::Free(ix) if !live.is_empty() => {
                let b = live.swap_remove(ix.index(live.len()));
                prop_assert!(b.intact());
                a.free(b.ptr()).unwrap();
            }
            Op::Free(_) => {}
        }
        a.check_integrity().unwrap();
        prop_assert_eq!(a.stats().live_allocations, live.len());
    }
    prop_assert!(live.iter().all(Block::intact));
    assert_disjoint(&live);
    assert_frees_back_to_one_block(&a, &live);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Every allocation is aligned and disjoint from the others, and keeps its contents
    /// while others come and go; the heap's invariants hold after every step.
    #[test]
    fn random_operations_keep_every_invariant(ops in prop::collection::vec(op(700), 1..120)) {
        run_ops(32 * 1024, ops)?;
    }

    /// The same with large blocks in a large heap, so that free blocks lie far apart and
    /// neighbour searches cross many bitmap words and summary words.
    // Its integrity checks read every bitmap word after each step: hours under Miri.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn random_operations_on_a_large_heap(ops in prop::collection::vec(op(40_000), 1..100)) {
        run_ops(1 << 20, ops)?;
    }

    /// Fill the whole region with random sizes and alignments, free it in random order:
    /// it must end as exactly one free block of the full size.
    #[test]
    fn freeing_everything_in_any_order_coalesces_to_one_block(seed in any::<u64>()) {
        let mut rng = Rng(seed);
        let a = FreeListAllocator::new(16 * 1024).unwrap();
        let capacity = a.capacity();
        let mut live = Vec::new();
        // Random requests until one fails, then single bytes until no block is left.
        loop {
            let (size, align) = (rng.below(400), 1 << rng.below(8));
            match a.alloc(size, align) {
                Ok(p) => live.push(Block::fill(p, size, live.len() as u8)),
                Err(_) => break,
            }
        }
        while let Ok(p) = a.alloc(1, 1) {
            live.push(Block::fill(p, 1, live.len() as u8));
        }
        let full = a.stats();
        prop_assert_eq!((full.free_bytes, full.free_blocks), (0, 0));
        prop_assert!(live.iter().all(Block::intact));
        assert_disjoint(&live);

        rng.shuffle(&mut live);
        for (i, b) in live.iter().enumerate() {
            prop_assert!(b.intact());
            a.free(b.ptr()).unwrap();
            if i % 8 == 0 {
                a.check_integrity().unwrap();
            }
        }
        let s = a.stats();
        prop_assert_eq!((s.free_blocks, s.free_bytes, s.largest_free_block), (1, capacity, capacity));
        prop_assert_eq!(s.live_allocations, 0);
    }
}

/// Free blocks more than 64 KiB apart: finding a freed block's neighbours, and the next
/// fit above a search hint, goes through the free map's summary.
#[test]
fn distant_free_blocks_are_found_through_the_summary() {
    let a = FreeListAllocator::new(1 << 20).unwrap();
    let mut blocks = Vec::new();
    while let Ok(p) = a.alloc(4000, 16) {
        blocks.push(p);
    }
    while a.alloc(1, 1).is_ok() {}
    assert_eq!(a.stats().free_blocks, 0);
    assert!(blocks.len() > 200);
    let far = [0, 200, 100];
    for &i in &far {
        a.free(blocks[i]).unwrap();
        a.check_integrity().unwrap();
    }
    assert_eq!(a.stats().free_blocks, 3);
    // First fit, in address order, however far apart.
    for i in [0, 100, 200] {
        assert_eq!(a.alloc(4000, 16).unwrap(), blocks[i]);
    }
    a.check_integrity().unwrap();
    // Freeing between two distant free blocks merges with neither and keeps the order.
    for &i in &[10, 250, 130] {
        a.free(blocks[i]).unwrap();
        a.check_integrity().unwrap();
    }
    assert_eq!(a.stats().free_blocks, 3);
}

#[test]
fn free_merges_with_both_neighbours() {
    let a = FreeListAllocator::new(4096).unwrap();
    let p: Vec<_> = (0..4).map(|_| a.alloc(48, 8).unwrap()).collect();
    let base = a.stats().free_blocks; // the tail after p[3]
    a.free(p[0]).unwrap();
    a.free(p[2]).unwrap();
    assert_eq!(a.stats().free_blocks, base + 2);
    // p[1] sits between two free blocks: all three become one.
    a.free(p[1]).unwrap();
    let s = a.stats();
    assert_eq!(s.free_blocks, base + 1);
    assert_eq!(s.largest_free_block.max(3 * (HEADER + 48)), s.largest_free_block);
    // p[3] joins that block and the tail: one block of everything.
    a.free(p[3]).unwrap();
    let s = a.stats();
    assert_eq!((s.free_blocks, s.free_bytes, s.largest_free_block), (1, s.capacity, s.capacity));
    a.check_integrity().unwrap();
}

#[test]
fn fragmentation_is_one_minus_largest_over_free() {
    let a = FreeListAllocator::new(8192).unwrap();
    let p: Vec<_> = (0..20).map(|_| a.alloc(100, 16).unwrap()).collect();
    for q in p.iter().step_by(2) {
        a.free(*q).unwrap();
    }
    let s = a.stats();
    assert_eq!(s.free_blocks, 11); // ten holes and the tail
    let expected = 1.0 - s.largest_free_block as f64 / s.free_bytes as f64;
    assert!(s.fragmentation > 0.0 && (s.fragmentation - expected).abs() < 1e-12, "{s:?}");
    for q in p.iter().skip(1).step_by(2) {
        a.free(*q).unwrap();
    }
    assert_eq!(a.stats().fragmentation, 0.0);
}

#[test]
fn alignment_up_to_a_page_is_honoured_and_beyond_is_invalid() {
    let a = FreeListAllocator::new(64 * 1024).unwrap();
    for shift in 0..=12 {
        let align = 1usize << shift;
        let p = a.alloc(3, align).unwrap();
        assert_eq!(p.as_ptr() as usize % align, 0, "align {align}");
        assert_eq!(p.as_ptr() as usize % 16, 0, "payloads are at least 16-aligned");
    }
    for bad in [0, 3, 24, 2 * MAX_ALIGN, usize::MAX] {
        assert!(matches!(a.alloc(8, bad), Err(EngineError::Invalid(_))), "align {bad}");
    }
    a.check_integrity().unwrap();
    assert_eq!(a.stats().failed_allocations, 0, "a bad request is not a failed allocation");
}

#[test]
fn zero_size_allocations_are_distinct_and_freeable() {
    let a = FreeListAllocator::new(4096).unwrap();
    let p = a.alloc(0, 1).unwrap();
    let q = a.alloc(0, 1).unwrap();
    assert_ne!(p, q);
    a.free(p).unwrap();
    a.free(q).unwrap();
    assert_eq!(a.stats().free_blocks, 1);
}

#[test]
fn exhaustion_is_an_error_and_space_comes_back() {
    let a = FreeListAllocator::new(4096).unwrap();
    let cap = a.capacity();
    let whole = a.alloc(cap - HEADER, 1).unwrap();
    assert_eq!(a.alloc(1, 1).unwrap_err(), EngineError::NoMemory);
    a.free(whole).unwrap();
    assert_eq!(a.alloc(cap - HEADER + 1, 1).unwrap_err(), EngineError::NoMemory);
    let whole = a.alloc(cap - HEADER, 1).unwrap();
    a.free(whole).unwrap();
    // Sizes whose rounding or header arithmetic would overflow.
    for huge in [usize::MAX, usize::MAX - 15, usize::MAX / 2, isize::MAX as usize] {
        assert_eq!(a.alloc(huge, 1).unwrap_err(), EngineError::NoMemory);
        assert_eq!(a.alloc(huge, MAX_ALIGN).unwrap_err(), EngineError::NoMemory);
    }
    let s = a.stats();
    assert_eq!((s.allocations, s.failed_allocations), (2, 10));
    a.check_integrity().unwrap();
}

#[test]
fn bad_frees_are_errors_that_change_nothing() {
    let a = FreeListAllocator::new(4096).unwrap();
    let p = a.alloc(64, 8).unwrap();
    let q = a.alloc(64, 8).unwrap();
    let _r = a.alloc(64, 8).unwrap();
    let before = a.stats();
    let invalid = |ptr: NonNull<u8>, what: &str| match a.free(ptr) {
        Err(EngineError::Invalid(msg)) => msg,
        other => panic!("{what}: expected Invalid, got {other:?}"),
    };

    let on_stack = 0u64;
    invalid(NonNull::from(&on_stack).cast(), "stack address");
    let elsewhere = Box::new([0u8; 64]);
    invalid(NonNull::from(&*elsewhere).cast(), "another allocator's memory");
    invalid(NonNull::new(p.as_ptr().wrapping_sub(4096)).unwrap(), "below the region");
    // SAFETY (all four): offsets inside the 64-byte block `p` or its header.
    let inside = |off: usize| unsafe { NonNull::new_unchecked(p.as_ptr().add(off)) };
    assert!(invalid(inside(16), "interior").contains("not the start"));
    invalid(inside(1), "misaligned interior");
    invalid(NonNull::new(p.as_ptr().wrapping_sub(HEADER)).unwrap(), "header address");
    invalid(NonNull::new(p.as_ptr().wrapping_sub(HEADER + 64)).unwrap(), "bitmap area");

    let mut after = a.stats();
    assert_eq!(after.invalid_frees, before.invalid_frees + 7);
    after.invalid_frees = before.invalid_frees;
    assert_eq!(after, before, "a rejected free must change nothing");
    a.check_integrity().unwrap();

    // Double free: right away, and after the block was merged with a free neighbour.
    a.free(q).unwrap();
    assert!(invalid(q, "double free").contains("double free"));
    a.free(p).unwrap();
    assert!(invalid(q, "double free after merging").contains("double free"));
    assert!(invalid(p, "double free of the merged-into block").contains("double free"));
    // A stale pointer whose memory now belongs to a bigger live block: still rejected.
    let big = a.alloc(160, 8).unwrap();
    assert_eq!(big, p);
    invalid(q, "stale pointer into a reused block");
    a.check_integrity().unwrap();
    assert_eq!(a.stats().live_allocations, 2);
}

#[test]
fn global_alloc_interface_fails_softly() {
    let a = FreeListAllocator::new(8192).unwrap();
    // The trait's methods, not the inherent ones of the same names.
    let g: &dyn GlobalAlloc = &a;
    // SAFETY: layouts are non-zero; every pointer passed back came from `a` with the
    // layout it was allocated with, except the rejected ones, whose handling is
    // documented (ignored and counted).
    unsafe {
        assert!(g.alloc(Layout::from_size_align(8, 2 * MAX_ALIGN).unwrap()).is_null());
        assert!(g.alloc(Layout::from_size_align(1 << 20, 8).unwrap()).is_null());
        let l = Layout::from_size_align(40, 8).unwrap();
        let p = g.alloc(l);
        assert!(!p.is_null());
        p.write_bytes(0xAB, 40);
        let p = g.realloc(p, l, 400);
        assert!(!p.is_null());
        assert!(std::slice::from_raw_parts(p, 40).iter().all(|&b| b == 0xAB));
        let l = Layout::from_size_align(400, 8).unwrap();
        g.dealloc(std::ptr::null_mut(), l);
        g.dealloc(p.add(16), l);
        g.dealloc(p, l);
        g.dealloc(p, l);
    }
    let s = a.stats();
    assert_eq!((s.invalid_frees, s.live_allocations, s.free_blocks), (3, 0, 1));
    a.check_integrity().unwrap();
}

#[test]
fn reset_frees_everything_at_once() {
    let mut a = FreeListAllocator::new(4096).unwrap();
    let p = a.alloc(100, 8).unwrap();
    let _q = a.alloc(200, 64).unwrap();
    a.reset();
    let s = a.stats();
    assert_eq!((s.live_allocations, s.free_blocks, s.free_bytes), (0, 1, s.capacity));
    assert_eq!(s.allocations, 2, "counters survive a reset");
    assert!(a.free(p).is_err(), "pointers from before the reset are no longer live");
    assert_eq!(a.alloc(100, 8).unwrap(), p, "allocation starts over from the beginning");
    a.check_integrity().unwrap();
}

#[test]
fn static_regions_are_laid_out_on_first_use() {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; 10_000].into_boxed_slice());
    let range = buf.as_ptr_range();
    let a = FreeListAllocator::from_static(buf);
    let p = a.alloc(5000, 4096).unwrap();
    assert!(range.contains(&p.as_ptr().cast_const()));
    assert!(range.contains(&p.as_ptr().wrapping_add(4999).cast_const()));
    a.free(p).unwrap();
    a.check_integrity().unwrap();
}

/// Four threads allocate and free random sizes, checking their own blocks' contents;
/// at the end no two live blocks overlap, the counters match what the threads did, and
/// freeing the rest leaves one block.
#[test]
fn stress_four_threads() {
    watchdog(WATCHDOG_SECS, "stress1", || {
        let a = Arc::new(FreeListAllocator::new(256 * 1024).unwrap());
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let a = Arc::clone(&a);
                std::thread::spawn(move || {
                    let mut rng = Rng(u64::from(t) + 1);
                    let (mut live, mut allocs, mut fails) = (Vec::new(), 0u64, 0u64);
                    for i in 0..OPS_PER_THREAD {
                        if live.len() < 64 && (live.is_empty() || rng.below(3) != 0) {
                            let (size, align) = (16 + rng.below(1500), 1 << rng.below(8));
                            match a.alloc(size, align) {
                                Ok(p) => {
                                    live.push(Block::fill(p, size, t * 60 + (i % 60) as u8 + 1));
                                    allocs += 1;
                                }
                                Err(e) => {
                                    assert_eq!(e, EngineError::NoMemory);
                                    fails += 1;
                                }
                            }
                        } else {
                            let b = live.swap_remove(rng.below(live.len()));
                            assert!(b.intact(), "thread {t}: a block was overwritten");
                            a.free(b.ptr()).unwrap();
                        }
                    }
                    (live, allocs, fails)
                })
            })
            .collect();
        let (mut live, mut allocs, mut fails) = (Vec::new(), 0, 0);
        for t in threads {
            let (l, n, f) = t.join().unwrap();
            live.extend(l);
            allocs += n;
            fails += f;
        }
        assert!(live.iter().all(Block::intact));
        assert_disjoint(&live);
        a.check_integrity().unwrap();
        let s = a.stats();
        assert_eq!((s.allocations, s.failed_allocations), (allocs, fails));
        assert_eq!(s.live_allocations, live.len());
        assert_frees_back_to_one_block(&a, &live);
    });
}
