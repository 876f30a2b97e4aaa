//! Async tasks on the pool: the poll state machine of a future driven by the
//! workers, whose waker re-queues it, and `spawn_future`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::completion::Completion;
use super::{Core, TaskHandle};
use crate::engine::job::{Job, JobRef};
use crate::engine::metrics;
use crate::engine::registry::Registry;
use crate::engine::sync::std_lock;
use crate::engine::unwind;
use crate::error::{panic_message, EngineError, Result};

const IDLE: u8 = 0;
const SCHEDULED: u8 = 1;
const POLLING: u8 = 2;
const NOTIFIED: u8 = 3;
const FINISHED: u8 = 4;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

/// A future driven by the engine's workers; its waker re-queues it.
pub(super) struct FutureTask<T> {
    pub(super) registry: Arc<Registry>,
    pub(super) completion: Completion,
    result: Mutex<Option<Result<T>>>,
    schedule: AtomicU8,
    future: Mutex<Option<BoxFuture<T>>>,
}

impl<T: Send + 'static> FutureTask<T> {
    /// Polls once if scheduled. Returns whether it polled.
    pub(super) fn poll_if_scheduled(self: &Arc<Self>) -> bool {
        if self.schedule.compare_exchange(SCHEDULED, POLLING, AcqRel, Acquire).is_err() {
            return false;
        }
        metrics::count_executed();
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

    /// The result, once done; taken once.
    pub(super) fn take(&self) -> Result<T> {
        std_lock(&self.result).take().unwrap_or_else(|| Err(EngineError::invalid("task result already taken")))
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
