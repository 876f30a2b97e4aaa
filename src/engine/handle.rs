//! `spawn` and its `TaskHandle`, async tasks on the pool, and `block_on`.

use std::cell::UnsafeCell;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::in_place::InPlace;
use super::job::{Job, JobRef};
use super::latch::Event;
use super::metrics::bump;
use super::pool::Slot;
use super::registry::{Registry, Waitable, WorkerThread};
use super::sync::std_lock;
use super::unwind;
use crate::error::{panic_message, EngineError, Result};

const PENDING: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;
/// Done, and the handle has taken the result out.
const TAKEN: u8 = 3;

/// How a task's end is announced: its state, the workers and threads waiting for
/// it, and the waker of a handle being `.await`ed.
struct Completion {
    state: AtomicU8,
    event: Event,
    waker: Mutex<Option<Waker>>,
}

impl Completion {
    fn new() -> Self {
        Completion { state: AtomicU8::new(PENDING), event: Event::new(), waker: Mutex::new(None) }
    }

    /// Call after the result is stored.
    fn complete(&self, registry: &Registry) {
        // SeqCst: ordered with the waker registration in `poll` and the Event's fence.
        self.state.store(DONE, SeqCst);
        self.event.notify(registry);
        if let Some(waker) = std_lock(&self.waker).take() {
            waker.wake();
        }
    }

    fn is_done(&self) -> bool {
        self.state.load(Acquire) >= DONE
    }
}

/// Words of a task record that hold the closure, and later its result, in place.
/// Bigger ones are boxed there instead.
const RECORD_WORDS: usize = 6;
type RecordStorage = InPlace<RECORD_WORDS>;

/// A task spawned with [`crate::Engine::spawn`], in a record from the engine's pool
/// (`Registry::spawn_records`), so that spawning a small closure allocates nothing
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
struct RecordRef<T> {
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
        registry.spawn_records.free(ptr);
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

enum Core<T> {
    Task(RecordRef<T>),
    Future(Arc<FutureTask<T>>),
}

impl<T> Core<T> {
    fn completion(&self) -> &Completion {
        match self {
            Core::Task(r) => &record(r.ptr).completion,
            Core::Future(f) => &f.completion,
        }
    }
}

impl<T: Send + 'static> Core<T> {
    fn registry(&self) -> &Arc<Registry> {
        match self {
            Core::Task(r) => &record(r.ptr).registry,
            Core::Future(f) => &f.registry,
        }
    }

    /// Runs the task here if nobody has started it (a waiter helping itself).
    fn try_run_here(&self) -> bool {
        match self {
            Core::Task(r) => run_if_pending(r.ptr),
            Core::Future(f) => f.poll_if_scheduled(),
        }
    }

    /// The result, once done; taken once.
    fn take(&self) -> Result<T> {
        match self {
            Core::Task(r) => {
                let rec = record(r.ptr);
                // Acquire: the result was stored before DONE was.
                if rec.completion.state.compare_exchange(DONE, TAKEN, Acquire, Relaxed).is_err() {
                    return Err(EngineError::invalid("task result already taken"));
                }
                // SAFETY: DONE means the storage holds the Result<T> that `run`
                // stored; TAKEN now says it is gone.
                unsafe { InPlace::take::<Result<T>>(rec.storage.get()) }
            }
            Core::Future(f) => {
                std_lock(&f.result).take().unwrap_or(Err(EngineError::invalid("task result already taken")))
            }
        }
    }
}

/// A handle to a spawned task's result: wait for it, or `.await` it.
///
/// Dropping the handle detaches the task; it still runs.
pub struct TaskHandle<T> {
    core: Core<T>,
}

impl<T: Send + 'static> TaskHandle<T> {
    /// Blocks until the task has run. Inside the pool, the caller runs the task
    /// itself if nobody has started it, else other work while it waits.
    /// A panic in the task comes back as `Err(Panic)`.
    pub fn wait(self) -> Result<T> {
        self.wait_deadline(None).and_then(|done| if done { self.core.take() } else { Err(EngineError::Timeout) })
    }

    /// Like [`TaskHandle::wait`] but gives up after `timeout`, giving the handle back.
    pub fn wait_timeout(self, timeout: Duration) -> std::result::Result<Result<T>, TaskHandle<T>> {
        let deadline = Instant::now().checked_add(timeout);
        match self.wait_deadline(deadline) {
            Ok(true) => Ok(self.core.take()),
            Ok(false) => Err(self),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.core.completion().is_done()
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> Result<bool> {
        let completion = self.core.completion();
        if completion.is_done() {
            return Ok(true);
        }
        let registry = self.core.registry();
        if registry.is_forked_away() {
            return Err(EngineError::Shutdown);
        }
        Ok(match WorkerThread::current_of(registry) {
            Some(worker) => worker.wait_until(&HandleWait { core: &self.core }, false, deadline),
            None => completion.event.wait_external(&|| completion.is_done(), deadline),
        })
    }
}

struct HandleWait<'a, T> {
    core: &'a Core<T>,
}

impl<T: Send + 'static> Waitable for HandleWait<'_, T> {
    fn is_done(&self) -> bool {
        self.core.completion().is_done()
    }
    fn run_own_work(&self, _worker: &WorkerThread) -> bool {
        self.core.try_run_here()
    }
    fn register(&self, worker: usize) -> bool {
        let completion = self.core.completion();
        completion.event.register_worker(worker, &|| completion.is_done())
    }
    fn unregister(&self, worker: usize) {
        self.core.completion().event.unregister_worker(worker)
    }
}

impl<T: Send + 'static> Future for TaskHandle<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let completion = self.core.completion();
        if completion.is_done() {
            return Poll::Ready(self.core.take());
        }
        *std_lock(&completion.waker) = Some(cx.waker().clone());
        // Re-check after registering: `complete` stores DONE before taking the waker.
        if completion.is_done() {
            return Poll::Ready(self.core.take());
        }
        Poll::Pending
    }
}

impl<T> std::fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle").field("finished", &self.core.completion().is_done()).finish()
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
    let ptr = registry.spawn_records.alloc();
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

// ---- async tasks ----

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const POLLING: u8 = 2;
const NOTIFIED: u8 = 3;
const FINISHED: u8 = 4;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// A future driven by the engine's workers; its waker re-queues it.
struct FutureTask<T> {
    registry: Arc<Registry>,
    completion: Completion,
    result: Mutex<Option<Result<T>>>,
    schedule: AtomicU8,
    future: Mutex<Option<BoxFuture<T>>>,
}

impl<T: Send + 'static> FutureTask<T> {
    /// Polls once if scheduled. Returns whether it polled.
    fn poll_if_scheduled(self: &Arc<Self>) -> bool {
        if self.schedule.compare_exchange(SCHEDULED, POLLING, AcqRel, Acquire).is_err() {
            return false;
        }
        super::metrics::count_executed();
        loop {
            let waker = Waker::from(Arc::clone(self));
            let mut cx = Context::from_waker(&waker);
            let mut slot = std_lock(&self.future);
            let Some(future) = slot.as_mut() else { return true };
            match unwind::halt_unwinding(|| future.as_mut().poll(&mut cx)) {
                Ok(Poll::Pending) => {
                    drop(slot);
                    match self.schedule.compare_exchange(POLLING, IDLE, AcqRel, Acquire) {
                        Ok(_) => return true,
                        // Woken while polling: poll again right away.
                        Err(_) => {
                            self.schedule.store(POLLING, SeqCst);
                            continue;
                        }
                    }
                }
                Ok(Poll::Ready(result)) => {
                    *slot = None;
                    drop(slot);
                    self.schedule.store(FINISHED, SeqCst);
                    self.finish(result);
                    return true;
                }
                Err(payload) => {
                    *slot = None;
                    drop(slot);
                    self.schedule.store(FINISHED, SeqCst);
                    self.finish(Err(EngineError::Panic(panic_message(&*payload))));
                    return true;
                }
            }
        }
    }

    fn finish(&self, result: Result<T>) {
        *std_lock(&self.result) = Some(result);
        self.completion.complete(&self.registry);
    }

    /// Queues a poll. If the engine is gone, the task ends with `Shutdown`.
    fn push_job(self: &Arc<Self>) -> Result<()> {
        // SAFETY: the job owns one reference, taken back in `execute`.
        let job = unsafe { JobRef::new(Arc::into_raw(Arc::clone(self))) };
        let pushed = self.registry.push(job);
        if let Err(err) = &pushed {
            // SAFETY: not queued; the reference is still ours.
            unsafe { drop(Arc::from_raw(Arc::as_ptr(self))) };
            *std_lock(&self.future) = None;
            self.schedule.store(FINISHED, SeqCst);
            self.finish(Err(err.clone()));
        }
        pushed
    }
}

impl<T: Send + 'static> Wake for FutureTask<T> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let mut state = self.schedule.load(Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                POLLING => NOTIFIED,
                _ => return,
            };
            match self.schedule.compare_exchange_weak(state, next, AcqRel, Acquire) {
                Ok(_) => {
                    if next == SCHEDULED {
                        // A failure completes the task with the error.
                        let _ = self.push_job();
                    }
                    return;
                }
                Err(actual) => state = actual,
            }
        }
    }
}

impl<T: Send + 'static> Job for FutureTask<T> {
    unsafe fn execute(this: *const ()) {
        // SAFETY: made by Arc::into_raw in `push_job`; each job runs once.
        let task = unsafe { Arc::from_raw(this.cast::<Self>()) };
        task.poll_if_scheduled();
    }
}

/// Spawns a future whose own error (if any) is the handle's.
pub(crate) fn spawn_future<Fut, T>(registry: &Arc<Registry>, future: Fut) -> Result<TaskHandle<T>>
where
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    registry.check_usable_here()?;
    let task = Arc::new(FutureTask {
        registry: Arc::clone(registry),
        completion: Completion::new(),
        result: Mutex::new(None),
        schedule: AtomicU8::new(SCHEDULED),
        future: Mutex::new(Some(Box::pin(future))),
    });
    task.push_job()?;
    Ok(TaskHandle { core: Core::Future(task) })
}

/// Wakes whoever is blocked in `block_on`: the thread itself (outside the pool),
/// or the worker through the engine's own wait (which sleeps and wakes by index).
struct BlockOnSignal {
    woken: AtomicBool,
    event: Event,
    /// Set when `block_on` runs on a worker: its engine, for `Event::notify`.
    registry: Option<Arc<Registry>>,
    thread: std::thread::Thread,
}

impl Wake for BlockOnSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        match &self.registry {
            // `notify` fences before looking for sleepers (pairs with `register`).
            Some(registry) => self.event.notify(registry),
            None => self.thread.unpark(),
        }
    }
}

impl Waitable for BlockOnSignal {
    fn is_done(&self) -> bool {
        self.woken.load(SeqCst)
    }
    fn register(&self, worker: usize) -> bool {
        self.event.register_worker(worker, &|| self.woken.load(SeqCst))
    }
    fn unregister(&self, worker: usize) {
        self.event.unregister_worker(worker)
    }
}

/// Drives `future` to completion on the calling thread. On a worker thread it
/// waits the way the engine's own waits do: it runs other work while the future
/// is pending (so it cannot starve the pool it waits on), takes no unrelated work
/// once half its stack is used, and sleeps until woken when there is none.
pub fn block_on<Fut: Future>(future: Fut) -> Fut::Output {
    let mut future = std::pin::pin!(future);
    let worker = WorkerThread::current().filter(|w| !w.registry.is_forked_away());
    let signal = Arc::new(BlockOnSignal {
        woken: AtomicBool::new(false),
        event: Event::new(),
        registry: worker.map(|w| Arc::clone(&w.registry)),
        thread: std::thread::current(),
    });
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        match worker {
            Some(worker) => {
                worker.wait_until(&*signal, false, None);
                signal.woken.store(false, SeqCst);
            }
            None => {
                while !signal.woken.swap(false, SeqCst) {
                    std::thread::park();
                }
            }
        }
    }
}
