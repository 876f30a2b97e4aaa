//! An unbounded lock-free MPMC queue whose blocks are recycled through a [`Pool`].
//!
//! The algorithm is the segmented queue of crossbeam's `SegQueue` and `Injector`
//! (after Vyukov's bounded queue): a linked list of blocks of `BLOCK_CAP` slots;
//! producers claim a slot by advancing the tail index with a compare-and-swap,
//! consumers the same on the head. What differs is the end of a block's life: the
//! last reader gives it back to the pool instead of freeing it, and the producer
//! that needs a new block takes one from there, so a queue in steady state makes no
//! heap allocation at all.
//!
//! Invariants:
//! * An index is `position << SHIFT | flags`; positions only grow. Position `p` is
//!   slot `p % LAP` of its block; offset `BLOCK_CAP` (= `LAP - 1`) is never a slot:
//!   an index there means "the block is being switched, wait".
//! * A block pointer read next to an index is only dereferenced after a successful
//!   compare-and-swap on that index: positions never repeat, so success means the
//!   block is still the current one and cannot have been recycled.
//! * A block goes back to the pool exactly once, when every slot in it has been read:
//!   the reader of the last slot starts the release; a slot still being read is
//!   marked `DESTROY` and its reader finishes the release (crossbeam's protocol).

use std::mem::MaybeUninit;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use super::pool::{Pool, Slot};
use super::sync::{fence, AtomicPtr, AtomicUsize, Backoff, UnsafeCell};

const WRITE: usize = 1;
const READ: usize = 2;
const DESTROY: usize = 4;

#[cfg(not(loom))]
const LAP: usize = 32;
/// Three values per block under loom, so that small models cross block boundaries.
#[cfg(loom)]
const LAP: usize = 4;
/// Values per block.
pub(crate) const BLOCK_CAP: usize = LAP - 1;
const SHIFT: usize = 1;
/// On the head index: the head block is known to have a successor, so a consumer
/// need not look at the tail to know the queue is not empty.
const HAS_NEXT: usize = 1;

struct Cell<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

impl<T> Cell<T> {
    fn wait_write(&self) {
        let backoff = Backoff::new();
        while self.state.load(Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

pub(crate) struct Block<T> {
    next: AtomicPtr<Slot<Block<T>>>,
    cells: [Cell<T>; BLOCK_CAP],
}

/// The pool a queue's blocks come from; shared by all queues of one kind in an engine.
pub(crate) type BlockPool<T> = Pool<Block<T>>;

type BlockPtr<T> = *mut Slot<Block<T>>;

fn block_at<'a, T>(ptr: BlockPtr<T>) -> &'a Block<T> {
    // SAFETY: callers pass blocks they are entitled to use (see the invariants); the
    // block was initialised by `new_block` before it was published.
    unsafe { &*Slot::value(NonNull::new_unchecked(ptr)) }
}

impl<T> Block<T> {
    fn wait_next(&self) -> BlockPtr<T> {
        let backoff = Backoff::new();
        loop {
            let next = self.next.load(Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }
}

struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Slot<Block<T>>>,
}

pub(crate) struct BlockQueue<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    pool: Arc<BlockPool<T>>,
}

// SAFETY: values move between threads through the queue, so T: Send suffices; all
// shared state is atomic or handed over through the slot protocol.
unsafe impl<T: Send> Send for BlockQueue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for BlockQueue<T> {}

impl<T> BlockQueue<T> {
    pub(crate) fn new(pool: Arc<BlockPool<T>>) -> BlockQueue<T> {
        let first = new_block(&pool);
        BlockQueue {
            head: CachePadded::new(Position { index: AtomicUsize::new(0), block: AtomicPtr::new(first) }),
            tail: CachePadded::new(Position { index: AtomicUsize::new(0), block: AtomicPtr::new(first) }),
            pool,
        }
    }

    pub(crate) fn push(&self, value: T) {
        let backoff = Backoff::new();
        let mut tail = self.tail.index.load(Acquire);
        let mut block_ptr = self.tail.block.load(Acquire);
        let mut next_block: BlockPtr<T> = std::ptr::null_mut();
        loop {
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another producer is switching blocks.
                backoff.snooze();
                tail = self.tail.index.load(Acquire);
                block_ptr = self.tail.block.load(Acquire);
                continue;
            }
            // About to fill the block: have its successor ready before claiming the
            // slot, so the switch after the claim is short.
            if offset + 1 == BLOCK_CAP && next_block.is_null() {
                next_block = new_block(&self.pool);
            }
            let new_tail = tail + (1 << SHIFT);
            match self.tail.index.compare_exchange_weak(tail, new_tail, SeqCst, Acquire) {
                Ok(_) => {
                    let block = block_at(block_ptr);
                    if offset + 1 == BLOCK_CAP {
                        let next_index = new_tail.wrapping_add(1 << SHIFT);
                        self.tail.block.store(next_block, Release);
                        self.tail.index.store(next_index, Release);
                        block.next.store(next_block, Release);
                        next_block = std::ptr::null_mut();
                    }
                    let cell = &block.cells[offset];
                    // SAFETY: the CAS gave us this cell alone.
                    cell.value.with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                    cell.state.fetch_or(WRITE, Release);
                    break;
                }
                Err(actual) => {
                    tail = actual;
                    block_ptr = self.tail.block.load(Acquire);
                    backoff.spin();
                }
            }
        }
        if !next_block.is_null() {
            // Prepared but not needed (another producer switched the block).
            // SAFETY: never published; it holds no values.
            unsafe { self.pool.free(NonNull::new_unchecked(next_block)) };
        }
    }

    pub(crate) fn pop(&self) -> Option<T> {
        let backoff = Backoff::new();
        let mut head = self.head.index.load(Acquire);
        let mut block_ptr = self.head.block.load(Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                backoff.snooze();
                head = self.head.index.load(Acquire);
                block_ptr = self.head.block.load(Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & HAS_NEXT == 0 {
                // Pairs with the SeqCst tail CAS in `push`: an empty verdict must not
                // miss a value whose push completed before we started.
                fence(SeqCst);
                let tail = self.tail.index.load(Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return None;
                }
                // Head and tail in different blocks: the head block has a successor.
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= HAS_NEXT;
                }
            }
            match self.head.index.compare_exchange_weak(head, new_head, SeqCst, Acquire) {
                Ok(_) => {
                    let block = block_at(block_ptr);
                    if offset + 1 == BLOCK_CAP {
                        // We took the last cell: move the head to the next block.
                        let next = block.wait_next();
                        let mut next_index = (new_head & !HAS_NEXT).wrapping_add(1 << SHIFT);
                        if !block_at(next).next.load(Relaxed).is_null() {
                            next_index |= HAS_NEXT;
                        }
                        self.head.block.store(next, Release);
                        self.head.index.store(next_index, Release);
                    }
                    let cell = &block.cells[offset];
                    cell.wait_write();
                    // SAFETY: the CAS gave us this cell alone, and WRITE says it holds
                    // a value.
                    let value = cell.value.with(|p| unsafe { p.read().assume_init() });
                    if offset + 1 == BLOCK_CAP {
                        // SAFETY: every cell of the block has been claimed by a reader.
                        unsafe { self.release_block(block_ptr, 0) };
                    } else if cell.state.fetch_or(READ, AcqRel) & DESTROY != 0 {
                        // The release started and waits for us to finish it.
                        // SAFETY: as above; the releaser handed over at our cell.
                        unsafe { self.release_block(block_ptr, offset + 1) };
                    }
                    return Some(value);
                }
                Err(actual) => {
                    head = actual;
                    block_ptr = self.head.block.load(Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Gives the block back to the pool once cells `start..` have all been read;
    /// a cell still being read gets `DESTROY` and its reader carries on from there.
    ///
    /// # Safety
    /// Every cell of the block has been claimed by a reader, and cells before `start`
    /// have finished reading.
    unsafe fn release_block(&self, block_ptr: BlockPtr<T>, start: usize) {
        let blk = block_at(block_ptr);
        // The last cell's reader started the release, so it needs no check.
        for cell in &blk.cells[start..BLOCK_CAP - 1] {
            if cell.state.load(Acquire) & READ == 0 && cell.state.fetch_or(DESTROY, AcqRel) & READ == 0 {
                return;
            }
        }
        // SAFETY: nobody uses the block any more; it came from our pool.
        unsafe { self.pool.free(NonNull::new_unchecked(block_ptr)) };
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.index.load(SeqCst);
        let tail = self.tail.index.load(SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// Values in the queue; exact when nothing pushes or pops concurrently.
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.index.load(SeqCst);
            let head = self.head.index.load(SeqCst);
            // A consistent pair: the tail did not move while we read the head.
            if self.tail.index.load(SeqCst) != tail {
                continue;
            }
            return values_between(head >> SHIFT, tail >> SHIFT);
        }
    }
}

/// Values between two positions: every lap of LAP positions holds BLOCK_CAP values
/// (a position at offset BLOCK_CAP is a block switch in progress, i.e. the next lap).
fn values_between(head: usize, tail: usize) -> usize {
    let normalise = |p: usize| if p % LAP == BLOCK_CAP { p + 1 } else { p };
    let (head, tail) = (normalise(head), normalise(tail));
    let count = |p: usize| p / LAP * BLOCK_CAP + p % LAP;
    count(tail).saturating_sub(count(head))
}

fn new_block<T>(pool: &BlockPool<T>) -> BlockPtr<T> {
    let slot = pool.alloc();
    let ptr = Slot::value(slot);
    // SAFETY: the slot is ours and uninitialised; we write a whole empty block (a
    // recycled block's old cells hold no values: all were read).
    unsafe {
        std::ptr::addr_of_mut!((*ptr).next).write(AtomicPtr::new(std::ptr::null_mut()));
        let cells = std::ptr::addr_of_mut!((*ptr).cells).cast::<Cell<T>>();
        for i in 0..BLOCK_CAP {
            std::ptr::addr_of_mut!((*cells.add(i)).state).write(AtomicUsize::new(0));
            // loom's cell has bookkeeping of its own to set up; std's needs nothing.
            #[cfg(loom)]
            std::ptr::addr_of_mut!((*cells.add(i)).value).write(UnsafeCell::new(MaybeUninit::uninit()));
        }
    }
    slot.as_ptr()
}

impl<T> Drop for BlockQueue<T> {
    fn drop(&mut self) {
        // Exclusive access: drop what is left and give every block back.
        // Relaxed loads: `&mut self` already orders them after every other access.
        let mut head = self.head.index.load(Relaxed) & !HAS_NEXT;
        let tail = self.tail.index.load(Relaxed) & !HAS_NEXT;
        let mut block_ptr = self.head.block.load(Relaxed);
        while head >> SHIFT != tail >> SHIFT {
            let offset = (head >> SHIFT) % LAP;
            if offset < BLOCK_CAP {
                let cell = &block_at(block_ptr).cells[offset];
                // SAFETY: pushed and never popped; we own it now.
                cell.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            } else {
                let next = block_at(block_ptr).next.load(Relaxed);
                // SAFETY: fully consumed here; nobody else can reach it.
                unsafe { self.pool.free(NonNull::new_unchecked(block_ptr)) };
                block_ptr = next;
            }
            head = head.wrapping_add(1 << SHIFT);
        }
        if !block_ptr.is_null() {
            // SAFETY: the last block; no one else holds it.
            unsafe { self.pool.free(NonNull::new_unchecked(block_ptr)) };
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::atomic::AtomicBool;

    fn queue<T>() -> BlockQueue<T> {
        BlockQueue::new(Arc::new(Pool::new(64)))
    }

    #[test]
    fn matches_a_vecdeque_single_threaded() {
        let q = queue::<u64>();
        let mut model = VecDeque::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let ops = if cfg!(miri) { 1_000 } else { 10_000u64 };
        for i in 0..ops {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x % 3 != 0 {
                q.push(i);
                model.push_back(i);
            } else {
                assert_eq!(q.pop(), model.pop_front());
            }
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
        }
        while let Some(v) = q.pop() {
            assert_eq!(Some(v), model.pop_front());
        }
        assert!(model.is_empty());
    }

    #[test]
    fn drop_releases_values_left_in_the_queue() {
        let marker = Arc::new(());
        {
            let q = queue::<Arc<()>>();
            for _ in 0..100 {
                q.push(Arc::clone(&marker));
            }
            for _ in 0..40 {
                q.pop();
            }
            assert_eq!(Arc::strong_count(&marker), 61);
        }
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn blocks_are_recycled_in_steady_state() {
        let pool = Arc::new(Pool::new(64));
        let q = BlockQueue::new(Arc::clone(&pool));
        // 2,000 values pass through 65 blocks, but no more than 200 are ever queued
        // (at most 8 blocks, plus the successor a producer readies): with recycling
        // the pool never makes more than those.
        for _ in 0..10 {
            for i in 0..200 {
                q.push(i);
            }
            for i in 0..200 {
                assert_eq!(q.pop(), Some(i));
            }
        }
        assert!(pool.fresh_count() <= 9, "{} blocks made", pool.fresh_count());
    }

    #[test]
    fn concurrent_producers_and_consumers_deliver_each_value_once() {
        const PRODUCERS: usize = 3;
        // Miri runs every access through its checker: fewer values there.
        const PER: usize = if cfg!(miri) { 300 } else { 50_000 };
        let q = Arc::new(queue::<usize>());
        let seen: Arc<Vec<AtomicBool>> = Arc::new((0..PRODUCERS * PER).map(|_| AtomicBool::new(false)).collect());
        let producers_done = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for p in 0..PRODUCERS {
            let q = Arc::clone(&q);
            let done = Arc::clone(&producers_done);
            threads.push(std::thread::spawn(move || {
                for i in 0..PER {
                    q.push(p * PER + i);
                }
                done.fetch_add(1, SeqCst);
            }));
        }
        for _ in 0..2 {
            let q = Arc::clone(&q);
            let seen = Arc::clone(&seen);
            let done = Arc::clone(&producers_done);
            threads.push(std::thread::spawn(move || {
                // Per producer, values must come out in the order they went in.
                let mut last = [None::<usize>; PRODUCERS];
                loop {
                    match q.pop() {
                        Some(v) => {
                            assert!(!seen[v].swap(true, Relaxed), "value {v} delivered twice");
                            let p = v / PER;
                            assert!(last[p].is_none_or(|l| l < v), "producer {p} reordered");
                            last[p] = Some(v);
                        }
                        None if done.load(SeqCst) == PRODUCERS && q.is_empty() => break,
                        None => std::thread::yield_now(),
                    }
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        assert!(seen.iter().all(|s| s.load(Relaxed)), "a value was lost");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc as LoomArc;

    fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        builder.check(f);
    }

    fn queue() -> LoomArc<BlockQueue<usize>> {
        LoomArc::new(BlockQueue::new(Arc::new(Pool::new(4))))
    }

    /// Two producers push two values each (four values: more than a block holds)
    /// while the main thread pops: each value comes out once, each producer's in
    /// order, and the cells' reads never race their writes (loom's cells check).
    #[test]
    fn loom_two_producers_cross_a_block() {
        model(2, || {
            let q = queue();
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let q = q.clone();
                    loom::thread::spawn(move || {
                        q.push(p * 10);
                        q.push(p * 10 + 1);
                    })
                })
                .collect();
            let mut got = Vec::new();
            while got.len() < 4 {
                match q.pop() {
                    Some(v) => got.push(v),
                    None => loom::thread::yield_now(),
                }
            }
            for p in producers {
                p.join().unwrap();
            }
            assert_eq!(q.pop(), None);
            for p in 0..2 {
                let mine: Vec<_> = got.iter().copied().filter(|v| v / 10 == p).collect();
                assert_eq!(mine, [p * 10, p * 10 + 1]);
            }
        });
    }

    /// Two consumers empty a full block at once, so either may have to finish the
    /// other's release of it (the `DESTROY` hand-over): every value is read once,
    /// and the block goes back to the pool only after its last read.
    #[test]
    fn loom_two_consumers_release_a_block() {
        model(2, || {
            let q = queue();
            for v in 0..BLOCK_CAP {
                q.push(v);
            }
            let other = {
                let q = q.clone();
                loom::thread::spawn(move || q.pop())
            };
            let mut all: Vec<usize> = q.pop().into_iter().collect();
            all.extend(other.join().unwrap());
            while let Some(v) = q.pop() {
                all.push(v);
            }
            all.sort_unstable();
            assert_eq!(all, (0..BLOCK_CAP).collect::<Vec<_>>());
        });
    }

    /// A consumer empties the first block (and gives it back) while a producer fills
    /// the second and takes a new block from the pool, which may be the one just
    /// given back: a recycled block is never written while still being read (loom's
    /// cells check), and every value comes out once, in order.
    #[test]
    fn loom_block_reuse_while_reading() {
        model(1, || {
            let q = queue();
            for v in 0..BLOCK_CAP {
                q.push(v);
            }
            let consumer = {
                let q = q.clone();
                loom::thread::spawn(move || (0..BLOCK_CAP).map(|_| q.pop()).collect::<Vec<_>>())
            };
            for v in BLOCK_CAP..2 * BLOCK_CAP {
                q.push(v);
            }
            let first = consumer.join().unwrap();
            assert_eq!(first, (0..BLOCK_CAP).map(Some).collect::<Vec<_>>());
            let rest: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
            assert_eq!(rest, (BLOCK_CAP..2 * BLOCK_CAP).collect::<Vec<_>>());
        });
    }
}
