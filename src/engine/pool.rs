//! Recycled storage for the engine's own records (queue blocks, spawned-task records),
//! so that spawning in steady state does not touch the heap.
//!
//! Invariants:
//! * Pooled slots live in chunks of [`CHUNK`] slots; a chunk, once made, stays until
//!   the pool is dropped, so a slot pointer read from the free list always points at
//!   memory of this pool, even if the slot has been handed out again meanwhile.
//! * The free list is a Treiber stack of slot indices. Its head packs a tag (upper 32
//!   bits, bumped by every change) with `index + 1` (lower 32 bits, 0 = empty): a pop
//!   that read a stale `next` fails its compare-and-swap, because the tag moved (ABA).
//! * Beyond `capacity` slots the pool hands out heap slots (`index == HEAP`) and frees
//!   them again, so a burst does not pin its peak memory for the pool's lifetime.
//! * The pool never reads or drops a slot's value: its owner initialises it after
//!   `alloc` and drops it before `free`. Every slot must be freed before the pool is
//!   dropped (owners keep the pool alive through an `Arc`).

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use crossbeam_utils::CachePadded;

use super::sync::{AtomicPtr, AtomicU32, AtomicU64};

/// Slots per chunk.
#[cfg(not(loom))]
pub(crate) const CHUNK: usize = 256;
/// Small chunks under loom, so that models stay small.
#[cfg(loom)]
pub(crate) const CHUNK: usize = 2;
const HEAP: u32 = u32::MAX;
const INDEX_MASK: u64 = 0xFFFF_FFFF;

pub(crate) struct Slot<T> {
    /// Free-list link (`index + 1` of the next free slot), meaningful while free.
    next: AtomicU32,
    index: u32,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    /// Where the owner keeps its value.
    #[inline]
    pub(crate) fn value(this: NonNull<Slot<T>>) -> *mut T {
        // SAFETY: `this` points at a live slot (pool contract); no reference is made.
        unsafe { UnsafeCell::raw_get(std::ptr::addr_of!((*this.as_ptr()).value)).cast() }
    }
}

pub(crate) struct Pool<T> {
    head: CachePadded<AtomicU64>,
    /// Slots handed out at least once; the next fresh one has this index.
    fresh: AtomicU32,
    capacity: u32,
    chunks: Box<[AtomicPtr<Slot<T>>]>,
}

// SAFETY: the pool only moves slot addresses between threads; the values in them are
// owned, and sent, by whoever allocated them (they must be Send for that).
unsafe impl<T: Send> Send for Pool<T> {}
// SAFETY: all shared state is atomic; see the invariants at the top of the file.
unsafe impl<T: Send> Sync for Pool<T> {}

impl<T> Pool<T> {
    /// A pool that keeps up to `capacity` slots (rounded up to whole chunks) for reuse.
    pub(crate) fn new(capacity: usize) -> Pool<T> {
        let chunks = capacity.div_ceil(CHUNK).min((u32::MAX as usize - 1) / CHUNK);
        Pool {
            head: CachePadded::new(AtomicU64::new(0)),
            fresh: AtomicU32::new(0),
            capacity: (chunks * CHUNK) as u32,
            chunks: (0..chunks).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
        }
    }

    /// A slot with uninitialised contents.
    #[inline]
    pub(crate) fn alloc(&self) -> NonNull<Slot<T>> {
        // Acquire: the free list hands over the slot from the thread that freed it,
        // whose last uses of it must happen before ours.
        let mut head = self.head.load(Acquire);
        loop {
            let index = (head & INDEX_MASK) as u32;
            if index == 0 {
                return self.alloc_fresh();
            }
            let slot = self.slot(index - 1);
            // SAFETY: pooled slots are never freed while the pool lives. The value
            // read may be stale; then the tag has moved and the CAS below fails.
            let next = unsafe { slot.as_ref() }.next.load(Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(next);
            match self.head.compare_exchange_weak(head, new, Acquire, Acquire) {
                Ok(_) => return slot,
                Err(actual) => head = actual,
            }
        }
    }

    /// Gives a slot back. Its value must already be dropped (or never written).
    ///
    /// # Safety
    /// `slot` came from this pool's `alloc` and is not used after this call.
    #[inline]
    pub(crate) unsafe fn free(&self, slot: NonNull<Slot<T>>) {
        // SAFETY: the caller owns the slot.
        let index = unsafe { slot.as_ref() }.index;
        if index == HEAP {
            // SAFETY: heap slots are made by Box::into_raw in `alloc_fresh`.
            drop(unsafe { Box::from_raw(slot.as_ptr()) });
            return;
        }
        let mut head = self.head.load(Relaxed);
        loop {
            // SAFETY: as above; only the owner writes `next` while the slot is out.
            unsafe { slot.as_ref() }.next.store((head & INDEX_MASK) as u32, Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(index + 1);
            // Release: publishes the link and our last uses of the slot to the next
            // `alloc` that takes it.
            match self.head.compare_exchange_weak(head, new, Release, Relaxed) {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }

    /// Slots kept for reuse at most.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Pooled slots made so far.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn fresh_count(&self) -> usize {
        (self.fresh.load(Relaxed) as usize).min(self.capacity as usize)
    }

    #[cold]
    fn alloc_fresh(&self) -> NonNull<Slot<T>> {
        // Checked before the increment so that `fresh` cannot run away (and wrap)
        // once the pool is full.
        if self.fresh.load(Relaxed) < self.capacity {
            let index = self.fresh.fetch_add(1, Relaxed);
            if index < self.capacity {
                self.ensure_chunk(index as usize / CHUNK);
                return self.slot(index);
            }
        }
        let slot =
            Box::new(Slot { next: AtomicU32::new(0), index: HEAP, value: UnsafeCell::new(MaybeUninit::uninit()) });
        NonNull::from(Box::leak(slot))
    }

    fn ensure_chunk(&self, chunk: usize) {
        if !self.chunks[chunk].load(Acquire).is_null() {
            return;
        }
        let base = chunk * CHUNK;
        let slots: Box<[Slot<T>]> = (0..CHUNK)
            .map(|i| Slot {
                next: AtomicU32::new(0),
                index: (base + i) as u32,
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        let fresh = Box::into_raw(slots).cast::<Slot<T>>();
        // AcqRel: publish the initialised chunk, or see the one that won.
        if self.chunks[chunk].compare_exchange(std::ptr::null_mut(), fresh, AcqRel, Acquire).is_err() {
            // SAFETY: ours lost the race and was never shared.
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
        }
    }

    /// The pooled slot `index`, whose chunk exists.
    #[inline]
    fn slot(&self, index: u32) -> NonNull<Slot<T>> {
        let index = index as usize;
        let chunk = self.chunks[index / CHUNK].load(Acquire);
        debug_assert!(!chunk.is_null());
        // SAFETY: the chunk holds CHUNK slots and index % CHUNK is in range; the
        // chunk was published before any of its indices could be handed out.
        unsafe { NonNull::new_unchecked(chunk.add(index % CHUNK)) }
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        for chunk in self.chunks.iter() {
            let chunk = chunk.load(Relaxed);
            if !chunk.is_null() {
                // SAFETY: made in `ensure_chunk` from a boxed slice of CHUNK slots;
                // every slot has been freed (owners hold the pool alive until then).
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(chunk, CHUNK)) });
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn slots_are_distinct_and_reused_after_free() {
        let pool = Pool::<[u64; 4]>::new(CHUNK);
        let slots: Vec<_> = (0..CHUNK).map(|_| pool.alloc()).collect();
        let addresses: HashSet<usize> = slots.iter().map(|s| s.as_ptr() as usize).collect();
        assert_eq!(addresses.len(), CHUNK);
        for &s in &slots {
            // SAFETY: each slot is ours and is freed once.
            unsafe { pool.free(s) };
        }
        // All pooled now: the next CHUNK allocations reuse exactly those addresses.
        let again: Vec<_> = (0..CHUNK).map(|_| pool.alloc()).collect();
        let reused: HashSet<usize> = again.iter().map(|s| s.as_ptr() as usize).collect();
        assert_eq!(reused, addresses);
        // Past the capacity the pool falls back to the heap, and takes those back too.
        let extra = pool.alloc();
        assert!(!addresses.contains(&(extra.as_ptr() as usize)));
        for s in again.into_iter().chain([extra]) {
            // SAFETY: as above.
            unsafe { pool.free(s) };
        }
    }

    #[test]
    fn zero_capacity_always_uses_the_heap() {
        let pool = Pool::<u64>::new(0);
        assert_eq!(pool.capacity(), 0);
        let a = pool.alloc();
        // SAFETY: ours, freed once.
        unsafe { pool.free(a) };
    }

    #[test]
    fn concurrent_owners_never_share_a_slot() {
        // Each owner stamps its slot with its id and checks the stamp survives a
        // yield: two owners of one slot would overwrite each other.
        let pool = Arc::new(Pool::<usize>::new(64));
        let clashes = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let pool = Arc::clone(&pool);
                let clashes = Arc::clone(&clashes);
                std::thread::spawn(move || {
                    let mut held = Vec::new();
                    let rounds = if cfg!(miri) { 300 } else { 20_000usize };
                    for i in 0..rounds {
                        let stamp = t << 32 | i;
                        let slot = pool.alloc();
                        // SAFETY: the slot is ours until we free it.
                        unsafe { Slot::value(slot).write(stamp) };
                        held.push((slot, stamp));
                        if i % 3 == 0 {
                            std::thread::yield_now();
                        }
                        if held.len() > 8 || i % 2 == 0 {
                            let (slot, stamp) = held.swap_remove(i % held.len());
                            // SAFETY: written above, still ours.
                            if unsafe { Slot::value(slot).read() } != stamp {
                                clashes.fetch_add(1, Relaxed);
                            }
                            // SAFETY: ours, freed once.
                            unsafe { pool.free(slot) };
                        }
                    }
                    for (slot, _) in held {
                        // SAFETY: ours, freed once.
                        unsafe { pool.free(slot) };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(clashes.load(Relaxed), 0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::engine::sync::AtomicBool;
    use loom::sync::Arc;

    /// Slot `index`'s owner flag: flipped with RMWs (which always see the latest
    /// value) and Relaxed (so they add no ordering the pool itself must provide).
    fn claim(owned: &[AtomicBool], slot: NonNull<Slot<usize>>) {
        // SAFETY: a slot from the pool, live while the pool is.
        let index = unsafe { slot.as_ref() }.index;
        if index != HEAP {
            assert!(!owned[index as usize].swap(true, Relaxed), "slot {index} handed out twice");
        }
    }

    fn release(owned: &[AtomicBool], slot: NonNull<Slot<usize>>) {
        // SAFETY: as in `claim`.
        let index = unsafe { slot.as_ref() }.index;
        if index != HEAP {
            assert!(owned[index as usize].swap(false, Relaxed), "slot {index} freed while not owned");
        }
    }

    /// Two threads allocate and free concurrently, one of them twice over, through
    /// a pool of two slots (the rest spill to the heap): no slot ever has two owners,
    /// and every pooled slot is in the free list again at the end.
    #[test]
    fn loom_pool_slots_have_one_owner() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let pool = Arc::new(Pool::<usize>::new(CHUNK));
            let owned: Arc<Vec<AtomicBool>> = Arc::new((0..CHUNK).map(|_| AtomicBool::new(false)).collect());
            let worker = |rounds: usize| {
                let (pool, owned) = (pool.clone(), owned.clone());
                move || {
                    for _ in 0..rounds {
                        let slot = pool.alloc();
                        claim(&owned, slot);
                        release(&owned, slot);
                        // SAFETY: ours, freed once.
                        unsafe { pool.free(slot) };
                    }
                }
            };
            let other = loom::thread::spawn(worker(1));
            worker(2)();
            other.join().unwrap();
            // Both pooled slots come back out, distinct, before the heap is used.
            let (a, b) = (pool.alloc(), pool.alloc());
            claim(&owned, a);
            claim(&owned, b);
            // SAFETY: pooled slots of a live pool.
            assert!(unsafe { a.as_ref().index != HEAP && b.as_ref().index != HEAP }, "a pooled slot was lost");
            for s in [a, b] {
                // SAFETY: ours, freed once.
                unsafe { pool.free(s) };
            }
        });
    }
}
