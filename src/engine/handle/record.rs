//! Tasks spawned from closures, in records recycled through the engine's pool
//! (`Services::spawn_records`), and `spawn`.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::Arc;

use super::completion::{Completion, DONE, PENDING, RUNNING, TAKEN};
use super::{Core, TaskHandle};
use crate::engine::in_place::InPlace;
use crate::engine::job::{Job, JobRef};
use crate::engine::metrics::bump;
use crate::engine::pool::Slot;
use crate::engine::registry::{Registry, WorkerThread};
use crate::engine::unwind;
use crate::error::{panic_message, EngineError, Result};

/// Words of a task record that hold the closure, and later its result, in place.
/// Bigger ones are boxed there instead.
const RECORD_WORDS: usize = 6;
type RecordStorage = InPlace<RECORD_WORDS>;

/// A task spawned with [`crate::Engine::spawn`], in a record from the engine's pool
/// (`Services::spawn_records`), so that spawning a small closure allocates nothing
/// once the pool is warm. Shared by the job in the queues and the handle: the last
/// of the two to let go gives it back.
pub(crate) struct SpawnRecord {
    registry: ManuallyDrop<Arc<Registry>>,
    completion: Completion,
    /// The job's and the handle's references.
    refs: AtomicUsize,
    /// Holds a slot of a bounded engine's queue until it starts.
    holds_slot: bool,
    /// The closure while PENDING, its result once DONE, nothing once TAKEN.
    storage: UnsafeCell<RecordStorage>,
    /// Runs the closure from `storage` and stores its `Result<T>` there.
    run: unsafe fn(*mut RecordStorage),
    drop_closure: unsafe fn(*mut RecordStorage),
    drop_result: unsafe fn(*mut RecordStorage),
}

type RecordPtr = NonNull<Slot<SpawnRecord>>;

fn record<'a>(ptr: RecordPtr) -> &'a SpawnRecord {
    // SAFETY: callers hold one of the record's references, so it is live and
    // initialised (by `spawn`).
    unsafe { &*Slot::value(ptr) }
}

/// One reference to a spawn record, typed by its result.
pub(super) struct RecordRef<T> {
    ptr: RecordPtr,
    _result: PhantomData<fn() -> T>,
}

// SAFETY: the record's shared parts are atomics and locks; the closure and result
// inside are Send by `spawn`'s bounds and touched by one thread at a time (the one
// that won PENDING -> RUNNING, then the handle's owner after DONE).
unsafe impl<T: Send> Send for RecordRef<T> {}
// SAFETY: as above; `&RecordRef` only reads the completion state.
unsafe impl<T: Send> Sync for RecordRef<T> {}

/// Runs the task if nobody has started it; true if this call ran it.
fn run_if_pending(ptr: RecordPtr) -> bool {
    let rec = record(ptr);
    if rec.completion.state.compare_exchange(PENDING, RUNNING, AcqRel, Acquire).is_err() {
        return false;
    }
    if rec.holds_slot {
        rec.registry.release_external();
    }
    // SAFETY: we won the transition above, so we alone touch the storage now.
    unsafe { (rec.run)(rec.storage.get()) };
    if let Some(worker) = WorkerThread::current_of(&rec.registry) {
        if let Some(c) = worker.counters() {
            bump(&c.executed);
        }
    }
    // Also when a waiter outside the pool ran it: completed must match submitted.
    rec.registry.count_completed(1);
    rec.completion.complete(&rec.registry);
    true
}

/// Drops one reference; the last one empties the record and gives it back.
///
/// # Safety
/// The caller owns one reference and does not use `ptr` afterwards.
unsafe fn release(ptr: RecordPtr) {
    // AcqRel: the last releaser must see everything the other owner did.
    if record(ptr).refs.fetch_sub(1, AcqRel) != 1 {
        return;
    }
    let rec = Slot::value(ptr);
    // SAFETY: no references are left, so we own the record; each field is dropped
    // once and the slot goes back to the pool it came from before the registry (and
    // with it the pool) can go.
    unsafe {
        let storage = (*rec).storage.get();
        match (*rec).completion.state.load(Relaxed) {
            PENDING => ((*rec).drop_closure)(storage),
            DONE => ((*rec).drop_result)(storage),
            _ => {}
        }
        let registry = ManuallyDrop::take(&mut (*rec).registry);
        std::ptr::drop_in_place(std::ptr::addr_of_mut!((*rec).completion));
        registry.services.spawn_records.free(ptr);
        drop(registry);
    }
}

struct RecordJob;

impl Job for RecordJob {
    unsafe fn execute(this: *const ()) {
        // SAFETY: made from a record pointer by `spawn`, with the job's reference.
        let ptr = unsafe { NonNull::new_unchecked(this.cast_mut().cast::<Slot<SpawnRecord>>()) };
        // A waiter may have run it already; then only the reference goes.
        run_if_pending(ptr);
        // SAFETY: the job's reference, used once.
        unsafe { release(ptr) };
    }
}

impl<T> Drop for RecordRef<T> {
    fn drop(&mut self) {
        // SAFETY: the handle's reference, dropped once.
        unsafe { release(self.ptr) }
    }
}

impl<T> RecordRef<T> {
    pub(super) fn completion(&self) -> &Completion {
        &record(self.ptr).completion
    }
}

impl<T: Send + 'static> RecordRef<T> {
    pub(super) fn registry(&self) -> &Arc<Registry> {
        &record(self.ptr).registry
    }

    /// Runs the task here if nobody has started it (a waiter helping itself).
    pub(super) fn try_run_here(&self) -> bool {
        run_if_pending(self.ptr)
    }

    /// The result, once done; taken once.
    pub(super) fn take(&self) -> Result<T> {
        let rec = record(self.ptr);
        // Acquire: the result was stored before DONE was.
        if rec.completion.state.compare_exchange(DONE, TAKEN, Acquire, Relaxed).is_err() {
            return Err(EngineError::invalid("task result already taken"));
        }
        // SAFETY: DONE means the storage holds the Result<T> that `run`
        // stored; TAKEN now says it is gone.
        unsafe { InPlace::take::<Result<T>>(rec.storage.get()) }
    }
}

/// Spawns `func`, whose own error (if any) is the handle's: `Engine::spawn` wraps
/// an infallible closure in `Ok`, which compiles to the same code as storing it.
pub(crate) fn spawn<F, T>(registry: &Arc<Registry>, func: F, block: bool) -> Result<TaskHandle<T>>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let holds_slot = match WorkerThread::current_of(registry) {
        None => {
            registry.check_alive()?;
            registry.reserve_external(block)?
        }
        Some(w) => {
            if let Some(c) = w.counters() {
                bump(&c.submitted);
            }
            false
        }
    };
    unsafe fn run<F: FnOnce() -> Result<T>, T>(storage: *mut RecordStorage) {
        // SAFETY: PENDING storage holds the F that `spawn` stored; it is replaced
        // by the result, as DONE will say.
        unsafe {
            let func = InPlace::take::<F>(storage);
            let result = match unwind::halt_unwinding(func) {
                Ok(result) => result,
                Err(p) => Err(EngineError::Panic(panic_message(&*p))),
            };
            InPlace::put(storage, result);
        }
    }
    unsafe fn drop_stored<X>(storage: *mut RecordStorage) {
        // SAFETY: the caller says the storage holds an X.
        drop(unsafe { InPlace::take::<X>(storage) })
    }
    let ptr = registry.services.spawn_records.alloc();
    let rec = Slot::value(ptr);
    // SAFETY: a fresh slot of ours: every field is written before the record is
    // shared (the job is pushed below).
    unsafe {
        rec.write(SpawnRecord {
            registry: ManuallyDrop::new(Arc::clone(registry)),
            completion: Completion::new(),
            refs: AtomicUsize::new(2),
            holds_slot,
            storage: UnsafeCell::new(InPlace::empty()),
            run: run::<F, T>,
            drop_closure: drop_stored::<F>,
            drop_result: drop_stored::<Result<T>>,
        });
        InPlace::put((*rec).storage.get(), func);
    }
    // SAFETY: the job holds one of the two references until it runs.
    let job = unsafe { JobRef::new(ptr.as_ptr().cast_const().cast::<RecordJob>()) };
    let handle = TaskHandle { core: Core::Task(RecordRef { ptr, _result: PhantomData }) };
    if let Err(err) = registry.push(job) {
        if holds_slot {
            registry.release_external();
        }
        // Counted as submitted above; it never will run, so it is finished.
        registry.count_completed(1);
        // SAFETY: not queued, so the job's reference is ours; the handle drops the
        // other, and the unrun closure with it.
        unsafe { release(ptr) };
        return Err(err);
    }
    Ok(handle)
}
