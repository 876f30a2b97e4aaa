//! `spawn` and its `TaskHandle`, async tasks on the pool, and `block_on`.
//!
//! `completion` (how a task's end is announced), `record` (closures in pooled
//! records, `spawn`), `future` (the async task's poll state machine,
//! `spawn_future`), `waker` and `block_on` (driving a future from any thread);
//! here the handle over both kinds of task.

mod block_on;
mod completion;
mod future;
mod record;
mod waker;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use block_on::block_on;
use completion::Completion;
pub(crate) use future::spawn_future;
use future::FutureTask;
use record::RecordRef;
pub(crate) use record::{spawn, SpawnRecord};

use super::registry::{Registry, Waitable, WorkerThread};
use super::sync::std_lock;
use crate::error::{EngineError, Result};

enum Core<T> {
    Task(RecordRef<T>),
    Future(Arc<FutureTask<T>>),
}

impl<T> Core<T> {
    fn completion(&self) -> &Completion {
        match self {
            Core::Task(r) => r.completion(),
            Core::Future(f) => &f.completion,
        }
    }
}

impl<T: Send + 'static> Core<T> {
    fn registry(&self) -> &Arc<Registry> {
        match self {
            Core::Task(r) => r.registry(),
            Core::Future(f) => &f.registry,
        }
    }

    /// Runs the task here if nobody has started it (a waiter helping itself).
    fn try_run_here(&self) -> bool {
        match self {
            Core::Task(r) => r.try_run_here(),
            Core::Future(f) => f.poll_if_scheduled(),
        }
    }

    /// The result, once done; taken once.
    fn take(&self) -> Result<T> {
        match self {
            Core::Task(r) => r.take(),
            Core::Future(f) => f.take(),
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
