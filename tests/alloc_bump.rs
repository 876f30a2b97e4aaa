//! BumpArena: properties (alignment, no overlap, contents kept), exhaustion, huge sizes,
//! frees, reset, the `GlobalAlloc` interface, and concurrent stress and stampede tests
//! under a watchdog.

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::NonNull;
use std::sync::Arc;

mod common;

use common::{watchdog, Rng};
use proptest::prelude::*;
use taskengine::alloc::{BumpArena, MAX_ALIGN};
use taskengine::EngineError;

/// Property-test cases; far fewer under Miri, which runs a thousand times slower.
const CASES: u32 = if cfg!(miri) { 4 } else { 64 };

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
}

/// Fails unless the blocks are pairwise disjoint (a zero-size block counts as one byte).
fn assert_disjoint(blocks: &[Block]) {
    let mut v = blocks.to_vec();
    v.sort_by_key(|b| b.addr);
    for w in v.windows(2) {
        assert!(w[0].addr + w[0].size.max(1) <= w[1].addr, "overlap: {:?} and {:?}", w[0], w[1]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Allocations are aligned, inside the arena, disjoint, and keep their contents while
    /// more are made; the only refusal is exhaustion, and the books balance.
    #[test]
    fn allocations_are_aligned_disjoint_and_keep_contents(
        reqs in prop::collection::vec((0usize..700, 0u32..=12), 1..150)
    ) {
        let arena = BumpArena::new(32 * 1024).unwrap();
        let (mut live, mut failed) = (Vec::new(), 0);
        for (i, (size, shift)) in reqs.into_iter().enumerate() {
            let align = 1usize << shift;
            match arena.alloc(size, align) {
                Ok(p) => {
                    prop_assert_eq!(p.as_ptr() as usize % align, 0);
                    prop_assert!(arena.contains(p.as_ptr()));
                    prop_assert!(arena.contains(p.as_ptr().wrapping_add(size.max(1) - 1)));
                    live.push(Block::fill(p, size, (i % 251) as u8 + 1));
                }
                Err(e) => {
                    prop_assert_eq!(e, EngineError::NoMemory);
                    // Refused only when it really does not fit.
                    let s = arena.stats();
                    prop_assert!(s.capacity - s.used < size.max(1) + align - 1);
                    failed += 1;
                }
            }
            prop_assert!(live.iter().all(Block::intact));
        }
        assert_disjoint(&live);
        let s = arena.stats();
        prop_assert_eq!((s.allocations, s.failed_allocations), (live.len() as u64, failed));
        let payload: usize = live.iter().map(|b| b.size.max(1)).sum();
        prop_assert!(payload <= s.used && s.used <= s.capacity && s.peak == s.used);
    }
}

#[test]
fn alignment_up_to_a_page_is_honoured_and_beyond_is_invalid() {
    let arena = BumpArena::new(64 * 1024).unwrap();
    for shift in 0..=12 {
        let align = 1usize << shift;
        let _misalign = arena.alloc(1, 1).unwrap();
        let p = arena.alloc(3, align).unwrap();
        assert_eq!(p.as_ptr() as usize % align, 0, "align {align}");
    }
    for bad in [0, 3, 24, 2 * MAX_ALIGN, usize::MAX] {
        assert!(matches!(arena.alloc(8, bad), Err(EngineError::Invalid(_))), "align {bad}");
    }
    assert_eq!(arena.stats().failed_allocations, 0, "a bad request is not a failed allocation");
}

#[test]
fn zero_size_allocations_take_one_byte_and_are_distinct() {
    let arena = BumpArena::new(64).unwrap();
    let p = arena.alloc(0, 1).unwrap();
    let q = arena.alloc(0, 1).unwrap();
    assert_ne!(p, q);
    assert!(arena.contains(p.as_ptr()) && arena.contains(q.as_ptr()));
    assert_eq!(arena.stats().used, 2);
}

#[test]
fn exhaustion_is_an_error_never_a_wild_pointer() {
    let arena = BumpArena::new(1024).unwrap();
    arena.alloc(1000, 1).unwrap();
    assert_eq!(arena.alloc(100, 1).unwrap_err(), EngineError::NoMemory);
    // The failure consumed nothing: the rest is still there, to the byte.
    let last = arena.alloc(24, 1).unwrap();
    assert!(arena.contains(last.as_ptr().wrapping_add(23)));
    assert_eq!(arena.alloc(0, 1).unwrap_err(), EngineError::NoMemory);
    let s = arena.stats();
    assert_eq!((s.used, s.allocations, s.failed_allocations), (1024, 2, 2));
}

#[test]
fn huge_sizes_do_not_overflow() {
    let arena = BumpArena::new(4096).unwrap();
    arena.alloc(10, 1).unwrap();
    for size in [usize::MAX, usize::MAX - 1, usize::MAX - 4096, isize::MAX as usize, 4097] {
        for align in [1, 64, MAX_ALIGN] {
            assert_eq!(arena.alloc(size, align).unwrap_err(), EngineError::NoMemory);
        }
    }
    assert_eq!(arena.stats().used, 10);
}

#[test]
fn free_accepts_the_arenas_pointers_and_rejects_others() {
    let arena = BumpArena::new(4096).unwrap();
    let p = arena.alloc(64, 8).unwrap();
    arena.free(p).unwrap();
    // A bump arena has no per-block records: an interior pointer or a second free of
    // memory it handed out is indistinguishable from a first free, and frees nothing.
    arena.free(NonNull::new(p.as_ptr().wrapping_add(10)).unwrap()).unwrap();
    arena.free(p).unwrap();
    let on_stack = 0u8;
    let beyond_used = NonNull::new(p.as_ptr().wrapping_add(64)).unwrap();
    let below = NonNull::new(p.as_ptr().wrapping_sub(1)).unwrap();
    for (bad, what) in [(NonNull::from(&on_stack), "stack"), (beyond_used, "beyond"), (below, "below")] {
        assert!(matches!(arena.free(bad), Err(EngineError::Invalid(_))), "{what}");
    }
    let s = arena.stats();
    assert_eq!((s.invalid_frees, s.used), (3, 64), "frees change nothing but the counter");
    // The memory stays the caller's until reset: the next block comes after it.
    assert!(arena.alloc(1, 1).unwrap().as_ptr() as usize >= p.as_ptr() as usize + 64);
}

#[test]
fn reset_starts_over_and_keeps_the_peak() {
    let mut arena = BumpArena::new(4096).unwrap();
    let first = arena.alloc(100, 16).unwrap();
    arena.alloc(900, 16).unwrap();
    let used = arena.stats().used;
    arena.reset();
    let s = arena.stats();
    assert_eq!((s.used, s.peak, s.allocations), (0, used, 2));
    assert!(!arena.contains(first.as_ptr()), "nothing is handed out after a reset");
    assert_eq!(arena.alloc(100, 16).unwrap(), first, "allocation starts over from the start");
    assert_eq!(arena.stats().peak, used);
}

#[test]
fn alloc_value_moves_values_in() {
    #[repr(align(64))]
    #[derive(Debug, PartialEq)]
    struct Wide([u64; 3]);
    let mut arena = BumpArena::new(4096).unwrap();
    {
        let a = arena.alloc_value(7u64).unwrap();
        let w = arena.alloc_value(Wide([1, 2, 3])).unwrap();
        let z = arena.alloc_value(()).unwrap();
        *a += 1;
        assert_eq!((*a, &*w, *z), (8, &Wide([1, 2, 3]), ()));
        assert_eq!(w as *const Wide as usize % 64, 0);
    }
    // The references above borrow the arena, so this compiles only after they are gone.
    arena.reset();
    assert_eq!(arena.stats().used, 0);
}

#[test]
fn global_alloc_interface_fails_softly_and_grows_in_place() {
    let arena = BumpArena::new(8192).unwrap();
    // The trait's methods, not the inherent ones of the same names.
    let g: &dyn GlobalAlloc = &arena;
    let l = Layout::from_size_align(40, 8).unwrap();
    // SAFETY: layouts are non-zero; pointers passed back came from `arena` with their
    // layout, except the rejected ones, whose handling is documented (ignored, counted).
    unsafe {
        assert!(g.alloc(Layout::from_size_align(8, 2 * MAX_ALIGN).unwrap()).is_null());
        assert!(g.alloc(Layout::from_size_align(1 << 20, 8).unwrap()).is_null());
        let p = g.alloc(l);
        p.write_bytes(0xAB, 40);
        // The newest block grows where it is.
        let p2 = g.realloc(p, l, 400);
        assert_eq!(p2, p);
        // Once another block follows it, growing means moving, contents kept.
        let l400 = Layout::from_size_align(400, 8).unwrap();
        let _other = g.alloc(l);
        let p3 = g.realloc(p2, l400, 800);
        assert!(!p3.is_null() && p3 != p2);
        assert!(std::slice::from_raw_parts(p3, 40).iter().all(|&b| b == 0xAB));
        // Shrinking keeps the block; growing past the end fails without moving.
        let l800 = Layout::from_size_align(800, 8).unwrap();
        assert_eq!(g.realloc(p3, l800, 10), p3);
        assert!(g.realloc(p3, l800, 1 << 20).is_null());
        g.dealloc(p3, l800);
        g.dealloc(std::ptr::null_mut(), l);
        g.dealloc(NonNull::<u64>::dangling().as_ptr().cast(), l);
    }
    let s = arena.stats();
    // The over-aligned request is invalid, not a failure for lack of room.
    assert_eq!((s.invalid_frees, s.allocations, s.failed_allocations), (2, 3, 2));
}

#[test]
fn from_static_uses_the_given_buffer() {
    let buf: &'static mut [u8] = Box::leak(vec![0u8; 1000].into_boxed_slice());
    let range = buf.as_ptr_range();
    let arena = BumpArena::from_static(buf);
    let p = arena.alloc(999, 1).unwrap();
    assert!(range.contains(&p.as_ptr().cast_const()));
    assert!(range.contains(&p.as_ptr().wrapping_add(998).cast_const()));
    assert_eq!(arena.capacity(), 1000);
}

/// Four threads allocate random sizes and alignments until the arena is full. No two
/// blocks overlap, every block keeps its contents, and the counters match what the
/// threads saw.
#[test]
fn stress_four_threads_until_full() {
    watchdog(WATCHDOG_SECS, "stress1", || {
        let arena = Arc::new(BumpArena::new(if cfg!(miri) { 16 << 10 } else { 1 << 20 }).unwrap());
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let arena = Arc::clone(&arena);
                std::thread::spawn(move || {
                    let mut rng = Rng(u64::from(t) + 1);
                    let (mut mine, mut fails, mut i) = (Vec::new(), 0u64, 0usize);
                    // Stop after a run of refusals: the arena is (nearly) full.
                    let mut refusals_in_a_row = 0;
                    while refusals_in_a_row < 8 {
                        let (size, align) = (rng.below(600), 1 << rng.below(8));
                        match arena.alloc(size, align) {
                            Ok(p) => {
                                mine.push(Block::fill(p, size, t * 60 + (i % 60) as u8 + 1));
                                refusals_in_a_row = 0;
                            }
                            Err(e) => {
                                assert_eq!(e, EngineError::NoMemory);
                                fails += 1;
                                refusals_in_a_row += 1;
                            }
                        }
                        i += 1;
                    }
                    (mine, fails)
                })
            })
            .collect();
        let (mut all, mut fails) = (Vec::new(), 0);
        for t in threads {
            let (mine, f) = t.join().unwrap();
            all.extend(mine);
            fails += f;
        }
        assert!(all.iter().all(Block::intact), "a block was overwritten");
        assert_disjoint(&all);
        let s = arena.stats();
        assert_eq!((s.allocations, s.failed_allocations), (all.len() as u64, fails));
        let payload: usize = all.iter().map(|b| b.size.max(1)).sum();
        assert!(payload <= s.used && s.used <= s.capacity);
        // Full up to less than one request's worth (at most 599 bytes + 127 padding).
        assert!(s.capacity - s.used < 600 + 127, "{s:?}");
    });
}

/// Four threads released at once allocate small blocks back to back, as contended as the
/// offset can get: every block must still be unique.
#[test]
fn stampede_hands_out_each_byte_once() {
    const PER_THREAD: usize = if cfg!(miri) { 500 } else { 100_000 };
    watchdog(WATCHDOG_SECS, "stress2", || {
        let arena = Arc::new(BumpArena::new(4 * PER_THREAD * 8).unwrap());
        let start = Arc::new(std::sync::Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (arena, start) = (Arc::clone(&arena), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    (0..PER_THREAD).map(|_| arena.alloc(8, 8).unwrap().as_ptr() as usize).collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<usize> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        all.sort_unstable();
        assert!(all.windows(2).all(|w| w[0] + 8 <= w[1]), "two threads got the same bytes");
        let s = arena.stats();
        assert_eq!((s.used, s.capacity, s.allocations), (s.capacity, 4 * PER_THREAD * 8, 4 * PER_THREAD as u64));
    });
}
