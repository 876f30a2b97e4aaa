//! `spawn` and its `TaskHandle`, async tasks on the pool, and `block_on`.

use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use super::job::{Job, JobRef};
use super::latch::Event;
use super::metrics::bump;
use super::registry::{Registry, Waitable, WorkerThread};
use super::sync::std_lock as lock;
use super::unwind;
use crate::error::{panic_message, EngineError, Result};

const PENDING: u8 = 0;
const RUNNING: u8 = 1;
const DONE: u8 = 2;

/// What a handle and its task share.
struct Shared<T> {
    registry: Arc<Registry>,
    state: AtomicU8,
    result: Mutex<Option<Result<T>>>,
    event: Event,
    waker: Mutex<Option<Waker>>,
}

impl<T> Shared<T> {
    fn new(registry: Arc<Registry>) -> Self {
        Shared {
            registry,
            state: AtomicU8::new(PENDING),
            result: Mutex::new(None),
            event: Event::new(),
            waker: Mutex::new(None),
        }
    }

    fn complete(&self, result: Result<T>) {
        *lock(&self.result) = Some(result);
        // SeqCst: ordered with the waker registration in `poll` and the Event's fence.
        self.state.store(DONE, SeqCst);
        self.event.notify(&self.registry);
        if let Some(waker) = lock(&self.waker).take() {
            waker.wake();
        }
    }

    fn is_done(&self) -> bool {
        self.state.load(Acquire) == DONE
    }
}

/// The type-erased side of a spawned task that its handle needs.
trait HandleCore<T>: Send + Sync {
    fn shared(&self) -> &Shared<T>;
    /// Runs the task here if nobody has started it (a waiter helping itself).
    fn try_run_here(&self) -> bool;
}

/// A closure spawned with [`crate::Engine::spawn`].
struct SpawnTask<F, T> {
    shared: Shared<T>,
    func: UnsafeCell<Option<F>>,
    /// Holds a slot of a bounded engine's queue until it starts.
    holds_slot: bool,
}

// SAFETY: `func` is only touched by the one thread that wins the PENDING -> RUNNING
// transition; F and T are Send.
unsafe impl<F: Send, T: Send> Sync for SpawnTask<F, T> {}

impl<F: FnOnce() -> T + Send, T: Send> SpawnTask<F, T> {
    fn run_if_pending(&self) -> bool {
        if self.shared.state.compare_exchange(PENDING, RUNNING, AcqRel, Acquire).is_err() {
            return false;
        }
        if self.holds_slot {
            self.shared.registry.release_external();
        }
        // SAFETY: we won the transition above, so we are the only accessor.
        let func = unsafe { (*self.func.get()).take() }.expect("spawned task ran twice");
        let result = unwind::halt_unwinding(func).map_err(|p| EngineError::Panic(panic_message(&*p)));
        if let Some(worker) = WorkerThread::current_of(&self.shared.registry) {
            if let Some(c) = worker.counters() {
                bump(&c.executed);
                bump(&c.completed);
            }
        }
        self.shared.complete(result);
        true
    }
}

impl<F: FnOnce() -> T + Send, T: Send> HandleCore<T> for SpawnTask<F, T> {
    fn shared(&self) -> &Shared<T> {
        &self.shared
    }
    fn try_run_here(&self) -> bool {
        self.run_if_pending()
    }
}

impl<F: FnOnce() -> T + Send, T: Send> Job for SpawnTask<F, T> {
    unsafe fn execute(this: *const ()) {
        // SAFETY: made by Arc::into_raw in `spawn`; each job runs once.
        let task = unsafe { Arc::from_raw(this.cast::<Self>()) };
        // A waiter may have run it already; then this job is a no-op.
        task.run_if_pending();
    }
}

/// A handle to a spawned task's result: wait for it, or `.await` it.
///
/// Dropping the handle detaches the task; it still runs.
pub struct TaskHandle<T> {
    core: Arc<dyn HandleCore<T>>,
}

impl<T: Send + 'static> TaskHandle<T> {
    /// Blocks until the task has run. Inside the pool, the caller runs the task
    /// itself if nobody has started it, else other work while it waits.
    /// A panic in the task comes back as `Err(Panic)`.
    pub fn wait(self) -> Result<T> {
        self.wait_deadline(None).and_then(|done| if done { self.take() } else { Err(EngineError::Timeout) })
    }

    /// Like [`TaskHandle::wait`] but gives up after `timeout`, giving the handle back.
    pub fn wait_timeout(self, timeout: Duration) -> std::result::Result<Result<T>, TaskHandle<T>> {
        let deadline = Instant::now().checked_add(timeout);
        match self.wait_deadline(deadline) {
            Ok(true) => Ok(self.take()),
            Ok(false) => Err(self),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.core.shared().is_done()
    }

    fn wait_deadline(&self, deadline: Option<Instant>) -> Result<bool> {
        let shared = self.core.shared();
        if shared.is_done() {
            return Ok(true);
        }
        if shared.registry.is_forked_away() {
            return Err(EngineError::Shutdown);
        }
        Ok(match WorkerThread::current_of(&shared.registry) {
            Some(worker) => worker.wait_until(&HandleWait { core: &*self.core }, false, deadline),
            None => shared.event.wait_external(&|| shared.is_done(), deadline),
        })
    }

    fn take(&self) -> Result<T> {
        lock(&self.core.shared().result).take().unwrap_or(Err(EngineError::invalid("task result already taken")))
    }
}

struct HandleWait<'a, T> {
    core: &'a dyn HandleCore<T>,
}

impl<T> Waitable for HandleWait<'_, T> {
    fn is_done(&self) -> bool {
        self.core.shared().is_done()
    }
    fn run_own_work(&self, _worker: &WorkerThread) -> bool {
        self.core.try_run_here()
    }
    fn register(&self, worker: usize) -> bool {
        let shared = self.core.shared();
        shared.event.register_worker(worker, &|| shared.is_done())
    }
    fn unregister(&self, worker: usize) {
        self.core.shared().event.unregister_worker(worker)
    }
}

impl<T: Send + 'static> Future for TaskHandle<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let shared = self.core.shared();
        if shared.is_done() {
            return Poll::Ready(self.take());
        }
        *lock(&shared.waker) = Some(cx.waker().clone());
        // Re-check after registering: `complete` stores DONE before taking the waker.
        if shared.is_done() {
            return Poll::Ready(self.take());
        }
        Poll::Pending
    }
}

impl<T> std::fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle").field("finished", &self.core.shared().is_done()).finish()
    }
}

pub(crate) fn spawn<F, T>(registry: &Arc<Registry>, func: F, block: bool) -> Result<TaskHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
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
    let task = Arc::new(SpawnTask {
        shared: Shared::new(Arc::clone(registry)),
        func: UnsafeCell::new(Some(func)),
        holds_slot,
    });
    // SAFETY: the job owns one reference, taken back in `execute`.
    let job = unsafe { JobRef::new(Arc::into_raw(Arc::clone(&task))) };
    if let Err(err) = registry.push(job) {
        // SAFETY: the job was not queued, so its reference is still ours.
        unsafe { drop(Arc::from_raw(Arc::as_ptr(&task))) };
        if holds_slot {
            registry.release_external();
        }
        return Err(err);
    }
    Ok(TaskHandle { core: task })
}

// ---- async tasks ----

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const POLLING: u8 = 2;
const NOTIFIED: u8 = 3;
const FINISHED: u8 = 4;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A future driven by the engine's workers; its waker re-queues it.
struct FutureTask<T> {
    shared: Shared<T>,
    schedule: AtomicU8,
    future: Mutex<Option<BoxFuture<T>>>,
}

impl<T: Send + 'static> FutureTask<T> {
    /// Polls once if scheduled. Returns whether it polled.
    fn poll_if_scheduled(self: &Arc<Self>) -> bool {
        if self.schedule.compare_exchange(SCHEDULED, POLLING, AcqRel, Acquire).is_err() {
            return false;
        }
        WorkerThread::count_executed();
        loop {
            let waker = Waker::from(Arc::clone(self));
            let mut cx = Context::from_waker(&waker);
            let mut slot = lock(&self.future);
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
                Ok(Poll::Ready(value)) => {
                    *slot = None;
                    drop(slot);
                    self.schedule.store(FINISHED, SeqCst);
                    self.shared.complete(Ok(value));
                    return true;
                }
                Err(payload) => {
                    *slot = None;
                    drop(slot);
                    self.schedule.store(FINISHED, SeqCst);
                    self.shared.complete(Err(EngineError::Panic(panic_message(&*payload))));
                    return true;
                }
            }
        }
    }

    /// Queues a poll. If the engine is gone, the task ends with `Shutdown`.
    fn push_job(self: &Arc<Self>) -> Result<()> {
        // SAFETY: the job owns one reference, taken back in `execute`.
        let job = unsafe { JobRef::new(Arc::into_raw(Arc::clone(self))) };
        let pushed = self.shared.registry.push(job);
        if let Err(err) = &pushed {
            // SAFETY: not queued; the reference is still ours.
            unsafe { drop(Arc::from_raw(Arc::as_ptr(self))) };
            *lock(&self.future) = None;
            self.schedule.store(FINISHED, SeqCst);
            self.shared.complete(Err(err.clone()));
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

struct FutureCore<T>(Arc<FutureTask<T>>);

impl<T: Send + 'static> HandleCore<T> for FutureCore<T> {
    fn shared(&self) -> &Shared<T> {
        &self.0.shared
    }
    fn try_run_here(&self) -> bool {
        self.0.poll_if_scheduled()
    }
}

pub(crate) fn spawn_future<Fut>(registry: &Arc<Registry>, future: Fut) -> Result<TaskHandle<Fut::Output>>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    registry.check_alive()?;
    let task = Arc::new(FutureTask {
        shared: Shared::new(Arc::clone(registry)),
        schedule: AtomicU8::new(SCHEDULED),
        future: Mutex::new(Some(Box::pin(future))),
    });
    task.push_job()?;
    Ok(TaskHandle { core: Arc::new(FutureCore(task)) })
}

/// Wakes a thread blocked in `block_on`.
struct ThreadWaker {
    thread: std::thread::Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.thread.unpark();
    }
}

/// Drives `future` to completion on the calling thread. On a worker thread it runs
/// other work while the future is pending, so it cannot starve the pool it waits on.
pub fn block_on<Fut: Future>(future: Fut) -> Fut::Output {
    let mut future = std::pin::pin!(future);
    let signal = Arc::new(ThreadWaker { thread: std::thread::current(), woken: AtomicBool::new(false) });
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        while !signal.woken.swap(false, SeqCst) {
            match WorkerThread::current() {
                Some(worker) => match worker.find_work() {
                    Some(job) => worker.execute(job),
                    None => std::thread::park_timeout(Duration::from_millis(1)),
                },
                None => std::thread::park(),
            }
        }
    }
}
