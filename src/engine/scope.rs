//! Structured tasks that may borrow from the caller's stack.
//!
//! A scope is fork-join shaped, so it takes Rayon's route rather than a group's:
//! each spawn is one job pushed straight onto the spawning worker's deque, the
//! scope itself lives on the caller's stack, and completion is a counter whose
//! last decrement sets a latch the owner may be asleep on. No queue, no tickets.
//! Two things Rayon pays per spawn we do not, when the scope's own worker spawns
//! (the common case: a recursion spawning its children): small closures are
//! written into slots of the scope itself instead of a box, and they are counted
//! in a plain counter, added to the shared one once the scope's closure returns.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::atomic::{AtomicPtr, AtomicUsize};

use super::job::{Job, JobRef};
use super::latch::CoreLatch;
use super::registry::{Registry, WorkerThread};
use super::unwind;

/// Closures (with the scope pointer) up to this size are stored in the scope.
const SLOT_BYTES: usize = 64;
/// Slots per scope: 512 bytes of the caller's stack.
const SLOTS: usize = 8;
/// Added to `pending` while the scope's closure runs, so that jobs finishing
/// before the owner's own count is added never bring it to zero.
const OPEN: usize = 1 << (usize::BITS - 2);

#[repr(C, align(16))]
struct SlotBytes([u8; SLOT_BYTES]);

/// Spawns tasks that may borrow anything that outlives the `scope` call.
/// Created by [`crate::Engine::scope`].
pub struct Scope<'scope> {
    registry: *const Registry,
    owner: usize,
    /// Spawned jobs not finished, plus `OPEN` until the scope's closure has
    /// returned and the owner's spawns have been added.
    pending: AtomicUsize,
    /// Jobs spawned by the owner while the closure runs (not yet in `pending`).
    /// Owner thread only.
    owner_spawned: Cell<usize>,
    /// Whether the closure still runs (owner spawns may then skip `pending`).
    /// Owner thread only.
    open: Cell<bool>,
    /// Slots used. Owner thread only.
    slots_used: Cell<usize>,
    slots: [UnsafeCell<MaybeUninit<SlotBytes>>; SLOTS],
    latch: CoreLatch,
    /// The first panic of a spawned job (a leaked Box, freed in `run_scope`).
    panic: AtomicPtr<Box<dyn Any + Send>>,
    /// Invariant in 'scope, like std's scoped threads.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

// SAFETY: all state other threads touch is atomic; the `Cell`s are read and written
// by the owner worker's thread only (checked in `spawn`); a slot is written by the
// owner before the deque push that publishes its job and read once by whoever
// takes the job; `registry` points at the registry of the worker running the
// scope, which outlives the scope (run_scope waits for every job).
unsafe impl Send for Scope<'_> {}
// SAFETY: as above; spawning from other threads only touches atomics and the
// registry's thread-safe queues.
unsafe impl Sync for Scope<'_> {}

struct ScopeJob<'scope, F> {
    scope: *const Scope<'scope>,
    func: F,
}

impl<'scope, F> Job for ScopeJob<'scope, F>
where
    F: FnOnce(&Scope<'scope>) + Send + 'scope,
{
    unsafe fn execute(this: *const ()) {
        // SAFETY: made by Box::into_raw in `Scope::spawn`; runs once.
        let job = unsafe { Box::from_raw(this.cast::<Self>().cast_mut()) };
        let ScopeJob { scope, func } = *job;
        // SAFETY: the scope outlives every job it spawned: run_scope does not return
        // before `pending` reaches zero, which needs this job's decrement below.
        let scope = unsafe { &*scope };
        super::metrics::count_executed();
        if let Err(payload) = unwind::halt_unwinding(|| func(scope)) {
            scope.record_panic(payload);
        }
        // SAFETY: as above, the scope (and so its registry) is still live here.
        unsafe { &*scope.registry }.count_completed(1);
        // SAFETY: `scope` is live until this decrement; we do not touch it after.
        unsafe { Scope::job_completed(scope, 1) };
    }
}

/// A spawned closure living in one of the scope's slots.
struct SlotJob<'scope, F> {
    scope: *const Scope<'scope>,
    func: F,
}

impl<'scope, F> SlotJob<'scope, F> {
    const FITS: bool =
        std::mem::size_of::<Self>() <= SLOT_BYTES && std::mem::align_of::<Self>() <= std::mem::align_of::<SlotBytes>();
}

impl<'scope, F> Job for SlotJob<'scope, F>
where
    F: FnOnce(&Scope<'scope>) + Send + 'scope,
{
    unsafe fn execute(this: *const ()) {
        // SAFETY: written into its slot by `Scope::spawn`, published by the deque
        // push, executed (so read) exactly once.
        let SlotJob { scope, func } = unsafe { ptr::read(this.cast::<Self>()) };
        // SAFETY: the scope outlives every job it spawned (see ScopeJob).
        let scope = unsafe { &*scope };
        super::metrics::count_executed();
        if let Err(payload) = unwind::halt_unwinding(|| func(scope)) {
            scope.record_panic(payload);
        }
        // SAFETY: as above, the scope (and so its registry) is still live here.
        unsafe { &*scope.registry }.count_completed(1);
        // SAFETY: `scope` is live until this decrement; we do not touch it after.
        unsafe { Scope::job_completed(scope, 1) };
    }
}

impl<'scope> Scope<'scope> {
    /// Spawns `f` onto the engine; `scope` does not return before it has run.
    /// A panic in `f` is re-raised by `scope` once every task has finished.
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        // SAFETY: the registry outlives the scope (see the Sync impl).
        let registry = unsafe { &*self.registry };
        if let Some(worker) = WorkerThread::current_of(registry).filter(|w| w.index == self.owner) {
            if let Some(c) = worker.counters() {
                super::metrics::bump(&c.submitted);
            }
            // The owner's thread: the Cells are ours (see the Sync impl).
            if self.open.get() {
                self.owner_spawned.set(self.owner_spawned.get() + 1);
            } else {
                self.pending.fetch_add(1, AcqRel);
            }
            let used = self.slots_used.get();
            if SlotJob::<F>::FITS && used < SLOTS {
                self.slots_used.set(used + 1);
                let slot = self.slots[used].get().cast::<SlotJob<'scope, F>>();
                // SAFETY: an unused slot of ours, big and aligned enough (FITS);
                // nobody reads it before the push below publishes its job.
                unsafe { slot.write(SlotJob { scope: self as *const Scope<'scope>, func: f }) };
                // SAFETY: the slot lives as long as the scope, which waits for
                // the job; it is executed once, by whoever takes it.
                worker.push(unsafe { JobRef::new(slot.cast_const()) });
                return;
            }
            let job = Box::new(ScopeJob { scope: self as *const Scope<'scope>, func: f });
            // SAFETY: as in the general path below.
            worker.push(unsafe { JobRef::new(Box::into_raw(job)) });
            return;
        }
        self.pending.fetch_add(1, AcqRel);
        registry.count_submitted();
        let job = Box::new(ScopeJob { scope: self as *const Scope<'scope>, func: f });
        // SAFETY: the box is reclaimed exactly once in `execute`; the closure may
        // borrow 'scope data because the scope waits for the job.
        let job_ref = unsafe { JobRef::new(Box::into_raw(job)) };
        if registry.push(job_ref).is_err() {
            // Only a spawn from a thread outside the pool can land here, after
            // shutdown; run it here rather than lose it.
            // SAFETY: the job was not queued, so this is its only execution.
            unsafe { job_ref.execute() };
        }
    }

    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let boxed = Box::into_raw(Box::new(payload));
        // First panic wins; a later one is dropped.
        if self.panic.compare_exchange(ptr::null_mut(), boxed, AcqRel, Acquire).is_err() {
            // SAFETY: we made `boxed` just above and nobody else has it.
            drop(unsafe { Box::from_raw(boxed) });
        }
    }

    /// # Safety
    /// `this` must be live on entry; it may be freed by its owner as soon as the
    /// count reaches zero, so nothing touches it after the decrement.
    unsafe fn job_completed(this: *const Self, count: usize) {
        // SAFETY: live on entry per the contract; fields copied before the decrement.
        unsafe {
            let registry = &*(*this).registry;
            let owner = (*this).owner;
            let latch: *const CoreLatch = &(*this).latch;
            if (*this).pending.fetch_sub(count, AcqRel) == count {
                // Our decrement was the last: the owner is still inside run_scope
                // waiting on this latch (it cannot return before the latch is set).
                if (*latch).set_and_check_sleeping() {
                    registry.sleep.wake_specific(owner);
                }
            }
        }
    }
}

/// Runs `op` with a fresh scope on `worker`, waits for every spawned task, and
/// re-raises the first panic (the op's own first).
pub(crate) fn run_scope<'scope, OP, R>(worker: &WorkerThread, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    let scope = Scope {
        registry: &*worker.registry,
        owner: worker.index,
        pending: AtomicUsize::new(OPEN),
        owner_spawned: Cell::new(0),
        open: Cell::new(true),
        slots_used: Cell::new(0),
        slots: [const { UnsafeCell::new(MaybeUninit::uninit()) }; SLOTS],
        latch: CoreLatch::new(),
        panic: AtomicPtr::new(ptr::null_mut()),
        _marker: PhantomData,
    };
    let result = unwind::halt_unwinding(|| op(&scope));
    // From here the owner's spawns (by its jobs, run nested in the wait below)
    // go into `pending` directly; those made so far go in now, as `OPEN` leaves.
    scope.open.set(false);
    let close = OPEN - scope.owner_spawned.get();
    // SAFETY: `scope` is live in this frame.
    unsafe { Scope::job_completed(&scope, close) };
    // Always wait, even after a panic: spawned tasks borrow from frames above us.
    worker.wait_for_latch(&scope.latch);
    let spawned_panic = scope.panic.swap(ptr::null_mut(), Acquire);
    let spawned_panic = if spawned_panic.is_null() {
        None
    } else {
        // SAFETY: stored by `record_panic` from Box::into_raw; taken once.
        Some(*unsafe { Box::from_raw(spawned_panic) })
    };
    match result {
        Err(payload) => unwind::resume_unwinding(payload),
        Ok(value) => {
            if let Some(payload) = spawned_panic {
                unwind::resume_unwinding(payload);
            }
            value
        }
    }
}
