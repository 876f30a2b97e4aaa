//! The workers' deques: Chase-Lev work-stealing deques of [`JobRef`]s.
//!
//! The algorithm and its memory orderings are those of Lê, Pop, Cohen and Zappa
//! Nardelli, "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP
//! 2013), which crossbeam-deque's LIFO flavour also follows. Ours exists for the
//! owner's `pop`, which `join` calls once per fork: inlined, with the buffer's
//! address and size cached in the owner's handle and no epoch to pin, it is a
//! third of the instructions of crossbeam's.
//!
//! Invariants:
//! * `bottom` is written by the owner only; `top` only grows, by a successful
//!   compare-and-swap (a thief's, or the owner's when it takes the last job).
//!   Because `top` never goes back, every buffer a thief can load holds the job
//!   at the `top` it read, as long as that job is still there: a won
//!   compare-and-swap needs no check that the buffer is unchanged (crossbeam's
//!   FIFO flavour, whose owner moves the front back, needs one).
//! * Every store of `bottom` is a release, `pop`'s lowering of it too: a thief
//!   that reads any value of it sees the slots below it written. (The paper
//!   puts a release fence in `push` instead; ThreadSanitizer does not see
//!   fences, and on x86 neither costs anything.)
//! * The jobs are the indexes `top..bottom`; index `i` lives in slot `i & mask`.
//!   A slot is two atomic words, so a thief's read that races the owner's
//!   overwrite of the same slot (possible when the thief's `top` is stale) is no
//!   data race; its compare-and-swap then fails and the value is dropped.
//! * A buffer replaced by a bigger or smaller one is retired, not freed: a thief
//!   may still be reading it. A thief counts itself in `readers`, then passes a
//!   `SeqCst` fence, before it loads the buffer, and uncounts itself when done
//!   with it; the owner publishes a new buffer, passes a `SeqCst` fence, and frees
//!   the retired ones only if it reads the count as zero. Of the two fences one
//!   comes first: if the owner's, the thief loads the new buffer; if the thief's,
//!   the owner sees it counted (or its release of the count, after its reads).
//!   The owner tries again when it finds its deque empty; the last handle
//!   frees whatever is left.

use std::cell::Cell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::Arc;

use crossbeam_utils::CachePadded;

use super::job::JobRef;
use super::sync::{fence, AtomicPtr, AtomicUsize};

/// The smallest buffer; a buffer is never shrunk below it.
#[cfg(not(loom))]
const MIN_CAPACITY: usize = 64;
/// Two slots under loom, so that small models grow and shrink the buffer.
#[cfg(loom)]
const MIN_CAPACITY: usize = 2;

/// One job: its data pointer and its function, as two atomic words.
struct JobSlot {
    data: AtomicPtr<()>,
    execute: AtomicPtr<()>,
}

struct JobBuffer {
    slots: Box<[JobSlot]>,
    /// Under loom, stands for the buffer's memory: a thief's read of it that
    /// does not happen before the owner frees it fails the model.
    #[cfg(loom)]
    guard: loom::cell::UnsafeCell<()>,
}

impl JobBuffer {
    /// A buffer of `capacity` (a power of two) empty slots, on the heap.
    fn alloc(capacity: usize) -> *mut JobBuffer {
        debug_assert!(capacity.is_power_of_two());
        let slots = (0..capacity)
            .map(|_| JobSlot {
                data: AtomicPtr::new(std::ptr::null_mut()),
                execute: AtomicPtr::new(std::ptr::null_mut()),
            })
            .collect();
        Box::into_raw(Box::new(JobBuffer {
            slots,
            #[cfg(loom)]
            guard: loom::cell::UnsafeCell::new(()),
        }))
    }

    /// # Safety
    /// `buffer` came from `alloc`, is freed once, and nobody reads it any more.
    unsafe fn free(buffer: *mut JobBuffer) {
        // SAFETY: the contract.
        let buffer = unsafe { Box::from_raw(buffer) };
        #[cfg(loom)]
        buffer.guard.with_mut(|_| ());
        drop(buffer);
    }
}

/// Reads the job at index `index` of `slots` (`mask + 1` slots).
///
/// # Safety
/// `slots` points at a live buffer's slots, `mask + 1` of them.
#[inline(always)]
unsafe fn read(slots: *const JobSlot, mask: usize, index: usize) -> (*mut (), *mut ()) {
    // SAFETY: `index & mask` is within the buffer (the contract).
    let slot = unsafe { &*slots.add(index & mask) };
    // Relaxed: the index's publication (the `bottom` store, or the owner's own
    // write) orders the slot's contents; a racing overwrite is dropped (module doc).
    (slot.data.load(Relaxed), slot.execute.load(Relaxed))
}

/// # Safety
/// As `read`, and only the owner writes.
#[inline(always)]
unsafe fn write(slots: *const JobSlot, mask: usize, index: usize, (data, execute): (*mut (), *mut ())) {
    // SAFETY: `index & mask` is within the buffer (the contract).
    let slot = unsafe { &*slots.add(index & mask) };
    slot.data.store(data, Relaxed);
    slot.execute.store(execute, Relaxed);
}

/// The state the owner and the thieves share.
struct Shared {
    /// Index of the oldest job; advanced by whoever takes it.
    top: CachePadded<AtomicUsize>,
    /// Index one past the newest job; written by the owner only.
    bottom: CachePadded<AtomicUsize>,
    /// The current buffer, for thieves (the owner keeps its own copy).
    buffer: CachePadded<AtomicPtr<JobBuffer>>,
    /// Thieves inside `steal`: counted before they load `top`, uncounted when
    /// done with the buffer (or on finding the deque empty).
    readers: CachePadded<AtomicUsize>,
    /// Replaced buffers a thief may still read; the owner's alone while it lives.
    retired: std::cell::UnsafeCell<Vec<*mut JobBuffer>>,
}

// SAFETY: every field but `retired` is atomic; `retired` is touched only by the
// one `Deque` (which is not Sync) and by `drop`, which has `Shared` to itself.
unsafe impl Sync for Shared {}
// SAFETY: the buffers are plain heap memory, owned by `Shared`.
unsafe impl Send for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        let buffer = self.buffer.load(Relaxed);
        // SAFETY: the last handle is gone, so nobody reads any buffer; each was
        // allocated by `JobBuffer::alloc` and is current or retired, not both.
        unsafe {
            JobBuffer::free(buffer);
            for retired in self.retired.get_mut().drain(..) {
                JobBuffer::free(retired);
            }
        }
    }
}

/// The owner's end: pushes and pops at the bottom. One per worker, used only on
/// that worker's thread.
pub(crate) struct Deque {
    shared: Arc<Shared>,
    /// The current buffer and its slots and mask, cached: only the owner replaces it.
    buffer: Cell<*mut JobBuffer>,
    slots: Cell<*const JobSlot>,
    mask: Cell<usize>,
    /// Whether `retired` holds buffers (saves looking in the common case).
    has_retired: Cell<bool>,
}

// SAFETY: moving the owner's end to another thread moves the one caller with it;
// the cached pointers point into `shared`'s heap buffers, which do not move.
unsafe impl Send for Deque {}

/// The thieves' end: takes from the top. Any thread, any number of them.
#[derive(Clone)]
pub(crate) struct Stealer {
    shared: Arc<Shared>,
}

/// What a steal found.
#[derive(Debug)]
#[must_use]
pub(crate) enum Steal {
    Empty,
    Success(JobRef),
    /// Lost a race for the oldest job; there may be more.
    Retry,
}

impl Deque {
    pub(crate) fn new() -> Deque {
        let buffer = JobBuffer::alloc(MIN_CAPACITY);
        let shared = Arc::new(Shared {
            top: CachePadded::new(AtomicUsize::new(0)),
            bottom: CachePadded::new(AtomicUsize::new(0)),
            buffer: CachePadded::new(AtomicPtr::new(buffer)),
            readers: CachePadded::new(AtomicUsize::new(0)),
            retired: std::cell::UnsafeCell::new(Vec::new()),
        });
        // SAFETY: just allocated, and owned by `shared` until it drops.
        let slots = unsafe { (*buffer).slots.as_ptr() };
        Deque {
            shared,
            buffer: Cell::new(buffer),
            slots: Cell::new(slots),
            mask: Cell::new(MIN_CAPACITY - 1),
            has_retired: Cell::new(false),
        }
    }

    /// A deque whose indexes start at `start` (tests: wrapping past `usize::MAX`).
    #[cfg(test)]
    fn starting_at(start: usize) -> Deque {
        let deque = Deque::new();
        deque.shared.top.store(start, Relaxed);
        deque.shared.bottom.store(start, Relaxed);
        deque
    }

    pub(crate) fn stealer(&self) -> Stealer {
        Stealer { shared: Arc::clone(&self.shared) }
    }

    /// Pushes `job` at the bottom, growing the buffer when it is full.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        let shared = &*self.shared;
        let bottom = shared.bottom.load(Relaxed);
        // Acquire: a thief's read of the slot we may be about to overwrite happens
        // before its compare-and-swap, which this load then sees.
        let top = shared.top.load(Acquire);
        if bottom.wrapping_sub(top) > self.mask.get() {
            self.resize(2 * (self.mask.get() + 1));
        }
        // SAFETY: the cached buffer is live (only we replace it); we are the owner.
        unsafe { write(self.slots.get(), self.mask.get(), bottom, job.into_raw()) };
        // Release: a thief that sees the new bottom sees the slot (module doc).
        shared.bottom.store(bottom.wrapping_add(1), Release);
    }

    /// Pops the newest job, if any.
    #[inline]
    pub(crate) fn pop(&self) -> Option<JobRef> {
        let shared = &*self.shared;
        // A stale top is never above the real one: empty by it is empty. Skips the
        // fence on an empty deque, where idle workers look most.
        if shared.bottom.load(Relaxed).wrapping_sub(shared.top.load(Relaxed)) as isize <= 0 {
            if self.has_retired.get() {
                self.free_retired();
            }
            return None;
        }
        self.pop_pushed()
    }

    /// `pop` for a caller that expects back a job it pushed (`join`): without the
    /// check for an empty deque, which would only add to the common case.
    #[inline]
    pub(crate) fn pop_pushed(&self) -> Option<JobRef> {
        let shared = &*self.shared;
        let bottom = shared.bottom.load(Relaxed);
        let new_bottom = bottom.wrapping_sub(1);
        // Release, as every store of `bottom` (module doc); free on x86.
        shared.bottom.store(new_bottom, Release);
        // SeqCst: the bottom store and the top load below must not be reordered,
        // or a thief and we could both take the last job (the store-load pair of
        // Chase-Lev; its counterpart is the fence in `steal`).
        fence(SeqCst);
        let top = shared.top.load(Relaxed);
        let len = new_bottom.wrapping_sub(top) as isize;
        if len < 0 {
            // Thieves took the rest meanwhile.
            shared.bottom.store(bottom, Release);
            return None;
        }
        // SAFETY: the cached buffer is live; index `new_bottom` is ours now, or,
        // when it is the last job, ours if the compare-and-swap below wins.
        let raw = unsafe { read(self.slots.get(), self.mask.get(), new_bottom) };
        if len == 0 {
            // The last job: race the thieves for it on `top`.
            let won = shared.top.compare_exchange(top, top.wrapping_add(1), SeqCst, Relaxed).is_ok();
            shared.bottom.store(bottom, Release);
            if !won {
                return None;
            }
        } else {
            // Shrinks a buffer left mostly empty by a burst, as crossbeam does.
            let capacity = self.mask.get() + 1;
            if capacity > MIN_CAPACITY && (len as usize) < capacity / 4 {
                self.resize(capacity / 2);
            }
        }
        // SAFETY: the slot holds a job pushed as a JobRef, which we now own.
        Some(unsafe { JobRef::from_raw(raw) })
    }

    /// Moves the jobs into a buffer of `capacity` slots (a power of two that holds
    /// them) and retires the old one.
    #[cold]
    #[inline(never)]
    fn resize(&self, capacity: usize) {
        let shared = &*self.shared;
        let bottom = shared.bottom.load(Relaxed);
        let top = shared.top.load(Acquire);
        debug_assert!(bottom.wrapping_sub(top) <= capacity);
        let new = JobBuffer::alloc(capacity);
        // SAFETY: just allocated; ours until published.
        let new_slots = unsafe { (*new).slots.as_ptr() };
        let mut index = top;
        while index != bottom {
            // SAFETY: both buffers are live; we are the owner (a job a thief takes
            // meanwhile is copied too, and never read from here).
            unsafe { write(new_slots, capacity - 1, index, read(self.slots.get(), self.mask.get(), index)) };
            index = index.wrapping_add(1);
        }
        let old = self.buffer.replace(new);
        self.slots.set(new_slots);
        self.mask.set(capacity - 1);
        // Release: a thief that loads the new buffer sees its slots.
        shared.buffer.store(new, Release);
        // SAFETY: `retired` is the owner's alone while `Shared` lives (we are it).
        unsafe { (*shared.retired.get()).push(old) };
        self.has_retired.set(true);
        self.free_retired();
    }

    /// Frees the retired buffers if no thief can be reading them.
    #[cold]
    #[inline(never)]
    fn free_retired(&self) {
        let shared = &*self.shared;
        // The fence pairs with the thieves' (module doc); it comes after the
        // store that published the current buffer. Acquire: a thief's count
        // released after its reads orders them before the frees below.
        fence(SeqCst);
        if shared.readers.load(Acquire) != 0 {
            return;
        }
        // SAFETY: `retired` is the owner's alone while `Shared` lives (we are it).
        let retired = unsafe { &mut *shared.retired.get() };
        for buffer in retired.drain(..) {
            // SAFETY: retired, and no thief is between loading a buffer and being
            // done with it: every later thief loads the current one.
            unsafe { JobBuffer::free(buffer) };
        }
        self.has_retired.set(false);
    }
}

impl Stealer {
    /// Takes the oldest job.
    pub(crate) fn steal(&self) -> Steal {
        let shared = &*self.shared;
        // Counted before the fence below, which keeps the owner from freeing any
        // buffer we may load (module doc).
        shared.readers.fetch_add(1, Relaxed);
        // Acquire, as in the paper: orders what follows after the compare-and-swap
        // that gave `top` this value.
        let top = shared.top.load(Acquire);
        // SeqCst: pairs with the owner's fence in `pop` (the Chase-Lev race for
        // the last job) and in `resize` (the buffer's reclamation).
        fence(SeqCst);
        // Acquire: the slot of a job we see pushed is written.
        let bottom = shared.bottom.load(Acquire);
        if bottom.wrapping_sub(top) as isize <= 0 {
            shared.readers.fetch_sub(1, Release);
            return Steal::Empty;
        }
        // Acquire: the buffer's slots as the owner wrote them before publishing it.
        let buffer = shared.buffer.load(Acquire);
        // SAFETY: `buffer` is live: counted in `readers`, we keep the owner from
        // freeing it. Every buffer published since index `top` was pushed holds it.
        let raw = unsafe {
            #[cfg(loom)]
            (*buffer).guard.with(|_| ());
            let slots = &(*buffer).slots;
            read(slots.as_ptr(), slots.len() - 1, top)
        };
        let won = shared.top.compare_exchange(top, top.wrapping_add(1), SeqCst, Relaxed).is_ok();
        // Release: our reads of the buffer come before the owner frees it.
        shared.readers.fetch_sub(1, Release);
        if won {
            // SAFETY: the slot held a pushed JobRef, and winning makes it ours.
            Steal::Success(unsafe { JobRef::from_raw(raw) })
        } else {
            Steal::Retry
        }
    }

    /// Whether the deque looks empty; it may change at once. With crossbeam's
    /// fence between the loads, so that a worker's last look before it sleeps
    /// orders as `steal` would.
    pub(crate) fn is_empty(&self) -> bool {
        let shared = &*self.shared;
        let top = shared.top.load(Acquire);
        fence(SeqCst);
        let bottom = shared.bottom.load(Acquire);
        bottom.wrapping_sub(top) as isize <= 0
    }

    /// How many jobs the deque holds, roughly (for statistics).
    pub(crate) fn len(&self) -> usize {
        let shared = &*self.shared;
        let top = shared.top.load(Acquire);
        let bottom = shared.bottom.load(Acquire);
        (bottom.wrapping_sub(top) as isize).max(0) as usize
    }
}

/// Numbered jobs for the tests and models: never executed, only compared.
#[cfg(test)]
mod numbered {
    use crate::engine::job::{Job, JobRef};

    struct Marker;
    impl Job for Marker {
        unsafe fn execute(_: *const ()) {}
    }

    /// A job whose data pointer is the number `n`.
    pub(super) fn job(n: usize) -> JobRef {
        // SAFETY: never executed.
        unsafe { JobRef::new(std::ptr::without_provenance::<Marker>(n)) }
    }

    pub(super) fn number(job: JobRef) -> usize {
        job.data().addr()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::numbered::{job, number};
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn pops_newest_first_and_steals_oldest_first_like_a_vec_deque() {
        let deque = Deque::new();
        let stealer = deque.stealer();
        let mut reference = std::collections::VecDeque::new();
        // Past the minimum capacity several times, then back down (grow and shrink).
        for round in 0..3 {
            for n in 1..=300 {
                deque.push(job(round * 1000 + n));
                reference.push_back(round * 1000 + n);
            }
            for _ in 0..100 {
                match stealer.steal() {
                    Steal::Success(j) => assert_eq!(Some(number(j)), reference.pop_front()),
                    other => panic!("steal from a full deque: {other:?}"),
                }
            }
            assert_eq!(stealer.len(), reference.len());
            for _ in 0..150 {
                assert_eq!(deque.pop().map(number), reference.pop_back());
            }
        }
        while let Some(j) = deque.pop() {
            assert_eq!(Some(number(j)), reference.pop_back());
        }
        assert!(reference.is_empty());
        assert!(stealer.is_empty());
        assert!(matches!(stealer.steal(), Steal::Empty));
        assert!(deque.pop().is_none());
    }

    /// Indexes wrap past `usize::MAX` as they would after years of pushes: the
    /// same order as a `VecDeque`, through a grow and a shrink.
    #[test]
    fn indexes_wrap_around_usize_max() {
        let deque = Deque::starting_at(usize::MAX - 100);
        let stealer = deque.stealer();
        let mut reference = std::collections::VecDeque::new();
        for n in 1..=200 {
            deque.push(job(n));
            reference.push_back(n);
        }
        for _ in 0..20 {
            match stealer.steal() {
                Steal::Success(j) => assert_eq!(Some(number(j)), reference.pop_front()),
                other => panic!("steal from a full deque: {other:?}"),
            }
        }
        while let Some(j) = deque.pop_pushed() {
            assert_eq!(Some(number(j)), reference.pop_back());
        }
        assert!(reference.is_empty());
        assert!(stealer.is_empty() && deque.pop().is_none() && deque.pop_pushed().is_none());
        deque.push(job(7));
        assert_eq!(deque.pop_pushed().map(number), Some(7));
    }

    /// The owner's handle goes (a worker exiting) while a thief still holds its
    /// end and buffers are retired: the thief takes what is left, and the last
    /// handle frees every buffer once (Miri checks the frees and leaks).
    #[test]
    fn thieves_outlive_the_owner() {
        let deque = Deque::new();
        let stealer = deque.stealer();
        let busy = deque.stealer();
        // A thief counted in `readers` keeps the grown buffers retired.
        busy.shared.readers.fetch_add(1, Relaxed);
        for n in 1..=300 {
            deque.push(job(n));
        }
        for _ in 0..290 {
            let _ = deque.pop();
        }
        drop(deque);
        busy.shared.readers.fetch_sub(1, Relaxed);
        let mut left = Vec::new();
        loop {
            match stealer.steal() {
                Steal::Success(j) => left.push(number(j)),
                Steal::Retry => {}
                Steal::Empty => break,
            }
        }
        assert_eq!(left, (1..=10).collect::<Vec<_>>());
    }

    /// The owner pushes and pops while thieves steal, through many grow and shrink
    /// cycles: every job comes out exactly once.
    #[test]
    fn every_job_is_taken_once_under_thieves() {
        let per_round: usize = if cfg!(miri) { 200 } else { 20_000 };
        let rounds = if cfg!(miri) { 2 } else { 20 };
        let deque = Deque::new();
        let done = Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..3)
            .map(|_| {
                let stealer = deque.stealer();
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut taken = Vec::new();
                    while !done.load(Acquire) || !stealer.is_empty() {
                        match stealer.steal() {
                            Steal::Success(j) => taken.push(number(j)),
                            Steal::Retry => {}
                            Steal::Empty => std::thread::yield_now(),
                        }
                    }
                    taken
                })
            })
            .collect();
        let mut taken = Vec::new();
        let mut next = 1;
        for _ in 0..rounds {
            for _ in 0..per_round {
                deque.push(job(next));
                next += 1;
                if next % 3 == 0 {
                    taken.extend(deque.pop().map(number));
                }
            }
            while let Some(j) = deque.pop() {
                taken.push(number(j));
            }
        }
        done.store(true, Release);
        for thief in thieves {
            taken.extend(thief.join().unwrap());
        }
        let distinct: HashSet<usize> = taken.iter().copied().collect();
        assert_eq!(distinct.len(), taken.len(), "a job was taken twice");
        assert_eq!(distinct, (1..next).collect::<HashSet<_>>(), "a job was lost");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::numbered::{job, number};
    use super::*;

    /// One steal's job, by number (none if it found the deque empty or lost).
    fn steal_number(stealer: &Stealer) -> Option<usize> {
        match stealer.steal() {
            Steal::Success(j) => Some(number(j)),
            _ => None,
        }
    }

    fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        builder.check(f);
    }

    fn sorted(mut v: Vec<usize>) -> Vec<usize> {
        v.sort_unstable();
        v
    }

    /// The owner pops the last job while a thief steals it: exactly one gets it.
    #[test]
    fn loom_pop_and_steal_race_for_the_last_job() {
        model(3, || {
            let deque = Deque::new();
            deque.push(job(1));
            let stealer = deque.stealer();
            let thief = loom::thread::spawn(move || steal_number(&stealer).into_iter().collect::<Vec<_>>());
            let mut got: Vec<usize> = deque.pop().map(number).into_iter().collect();
            got.extend(thief.join().unwrap());
            assert_eq!(got, [1]);
        });
    }

    /// The owner pops the newer of two jobs while a thief steals both in turn:
    /// without the fence in `pop`, the owner could miss the thief's first steal,
    /// take the newer job without racing for it, and the thief take it too.
    #[test]
    fn loom_pop_races_two_steals() {
        model(3, || {
            let deque = Deque::new();
            deque.push(job(1));
            deque.push(job(2));
            let stealer = deque.stealer();
            let thief = loom::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    got.extend(steal_number(&stealer));
                }
                got
            });
            let mut got: Vec<usize> = deque.pop().map(number).into_iter().collect();
            got.extend(thief.join().unwrap());
            got.extend(deque.pop().map(number));
            assert_eq!(sorted(got), [1, 2]);
        });
    }

    /// A thief already running when the owner pushes two jobs and pops one may
    /// read `bottom` as the pop lowered it: only that store's release makes the
    /// first job's slot visible to it.
    #[test]
    fn loom_steal_sees_the_slot_of_a_job_pushed_before_a_pop() {
        model(3, || {
            let deque = Deque::new();
            let stealer = deque.stealer();
            let thief = loom::thread::spawn(move || steal_number(&stealer).into_iter().collect::<Vec<_>>());
            deque.push(job(1));
            deque.push(job(2));
            let mut got: Vec<usize> = deque.pop().map(number).into_iter().collect();
            got.extend(thief.join().unwrap());
            got.extend(deque.pop().map(number));
            assert_eq!(sorted(got), [1, 2]);
        });
    }

    /// `join`'s `pop_pushed` takes back its job while a thief steals it, then
    /// finds the deque empty (lowering `bottom` below `top` and restoring it):
    /// one of them gets the job, and the deque still works after.
    #[test]
    fn loom_pop_pushed_races_a_steal_and_finds_the_deque_empty() {
        model(3, || {
            let deque = Deque::new();
            deque.push(job(1));
            let stealer = deque.stealer();
            let thief = loom::thread::spawn(move || steal_number(&stealer).into_iter().collect::<Vec<_>>());
            let mut got: Vec<usize> = deque.pop_pushed().map(number).into_iter().collect();
            got.extend(deque.pop_pushed().map(number));
            got.extend(thief.join().unwrap());
            assert_eq!(got.len(), 1, "job 1 taken {} times", got.len());
            deque.push(job(2));
            assert_eq!(deque.pop_pushed().map(number), Some(2));
        });
    }

    /// The owner pushes past the buffer's capacity (it grows and retires the old
    /// buffer) and pops while a thief steals twice: each job comes out once, and
    /// the thief never reads a freed buffer.
    #[test]
    fn loom_steal_while_the_buffer_grows() {
        model(2, || {
            let deque = Deque::new();
            deque.push(job(1));
            let stealer = deque.stealer();
            let thief = loom::thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    got.extend(steal_number(&stealer));
                }
                got
            });
            deque.push(job(2));
            deque.push(job(3));
            let mut got = Vec::new();
            while let Some(j) = deque.pop() {
                got.push(number(j));
            }
            got.extend(thief.join().unwrap());
            assert_eq!(sorted(got), [1, 2, 3]);
        });
    }

    /// Two thieves and the owner take from a deque that grows twice and, as the
    /// owner empties it, shrinks: each job once.
    #[test]
    fn loom_two_thieves_and_a_shrink() {
        model(2, || {
            let deque = Deque::new();
            for n in 1..=5 {
                deque.push(job(n));
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let stealer = deque.stealer();
                    loom::thread::spawn(move || steal_number(&stealer).into_iter().collect::<Vec<_>>())
                })
                .collect();
            let mut got = Vec::new();
            while let Some(j) = deque.pop() {
                got.push(number(j));
            }
            for thief in thieves {
                got.extend(thief.join().unwrap());
            }
            assert_eq!(sorted(got), [1, 2, 3, 4, 5]);
        });
    }
}
