//! Structured tasks that may borrow from the caller's stack.
//!
//! A scope is fork-join shaped, so it takes Rayon's route rather than a group's:
//! each spawn is one boxed job pushed straight onto the spawning worker's deque,
//! the scope itself lives on the caller's stack, and completion is a counter whose
//! last decrement sets a latch the owner may be asleep on. No queue, no tickets.

use std::any::Any;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::atomic::{AtomicPtr, AtomicUsize};

use super::job::{Job, JobRef};
use super::latch::CoreLatch;
use super::registry::{Registry, WorkerThread};
use super::unwind;

/// Spawns tasks that may borrow anything that outlives the `scope` call.
/// Created by [`crate::Engine::scope`].
pub struct Scope<'scope> {
    registry: *const Registry,
    owner: usize,
    /// Spawned jobs not finished, plus one for the scope's own closure.
    pending: AtomicUsize,
    latch: CoreLatch,
    /// The first panic of a spawned job (a leaked Box, freed in `run_scope`).
    panic: AtomicPtr<Box<dyn Any + Send>>,
    /// Invariant in 'scope, like std's scoped threads.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

// SAFETY: all shared state is atomic; `registry` points at the registry of the
// worker running the scope, which outlives the scope (run_scope waits for every job).
unsafe impl Send for Scope<'_> {}
// SAFETY: as above; spawning from several threads only touches atomics and the
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
        WorkerThread::count_executed();
        if let Err(payload) = unwind::halt_unwinding(|| func(scope)) {
            scope.record_panic(payload);
        }
        // SAFETY: as above, the scope (and so its registry) is still live here.
        unsafe { &*scope.registry }.count_completed(1);
        // SAFETY: `scope` is live until this decrement; we do not touch it after.
        unsafe { Scope::job_completed(scope) };
    }
}

impl<'scope> Scope<'scope> {
    /// Spawns `f` onto the engine; `scope` does not return before it has run.
    /// A panic in `f` is re-raised by `scope` once every task has finished.
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        self.pending.fetch_add(1, AcqRel);
        // SAFETY: the registry outlives the scope (see the Sync impl).
        unsafe { &*self.registry }.count_submitted();
        let job = Box::new(ScopeJob { scope: self as *const Scope<'scope>, func: f });
        // SAFETY: the box is reclaimed exactly once in `execute`; the closure may
        // borrow 'scope data because the scope waits for the job.
        let job_ref = unsafe { JobRef::new(Box::into_raw(job)) };
        // SAFETY: the registry outlives the scope (see the Sync impl).
        let registry = unsafe { &*self.registry };
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
    unsafe fn job_completed(this: *const Self) {
        // SAFETY: live on entry per the contract; fields copied before the decrement.
        unsafe {
            let registry = &*(*this).registry;
            let owner = (*this).owner;
            let latch: *const CoreLatch = &(*this).latch;
            if (*this).pending.fetch_sub(1, AcqRel) == 1 {
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
        pending: AtomicUsize::new(1),
        latch: CoreLatch::new(),
        panic: AtomicPtr::new(ptr::null_mut()),
        _marker: PhantomData,
    };
    let result = unwind::halt_unwinding(|| op(&scope));
    // SAFETY: `scope` is live in this frame; the op's own count is released here.
    unsafe { Scope::job_completed(&scope) };
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
