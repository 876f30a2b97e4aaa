//! Tasks as shared, re-runnable objects: the async, object-safe [`Task`], the
//! synchronous [`SyncTask`] every closure is, and [`TaskExecutor`], what runs them.
//!
//! `Task::execute` takes `&self`, so one task can run again (a retry) and be
//! shared (`Arc<dyn Task<Output = T>>`). A synchronous task says so through
//! [`Task::is_sync`]: the engine then calls [`Task::run_sync`] straight on a
//! worker, in a pooled task record, boxing no future.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::handle::TaskHandle;
use super::retry::RetryPolicy;
use crate::error::Result;

/// A boxed future that can move between threads: what [`Task::execute`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A unit of work with a typed result, runnable any number of times.
///
/// Object-safe: `Arc<dyn Task<Output = T>>` is a task. Implement [`SyncTask`]
/// instead when the work never waits (every `Fn() -> Result<T>` closure already
/// is one); implement this trait directly for work that `.await`s. An awaiting
/// task holds no worker: the engine polls it, and its waker puts it back on the
/// engine's queue.
///
/// ```
/// use taskengine::{BoxFuture, Config, Engine, Result, Task};
///
/// struct Fetch(u64);
/// impl Task for Fetch {
///     type Output = u64;
///     fn execute(&self) -> BoxFuture<'_, Result<u64>> {
///         let n = self.0;
///         Box::pin(async move {
///             let engine = Engine::current()?;
///             let half = engine.spawn(move || n / 2)?.await?;
///             Ok(half + 1)
///         })
///     }
/// }
/// let engine = Engine::new(Config::with_workers(1)).unwrap();
/// assert_eq!(engine.execute(Fetch(10)).unwrap().wait(), Ok(6));
/// ```
pub trait Task: Send + Sync {
    /// What the task produces.
    type Output: Send + 'static;

    /// Starts the work; the future gives its result.
    fn execute(&self) -> BoxFuture<'_, Result<Self::Output>>;

    /// True when [`Task::run_sync`] does the whole work without waiting on
    /// anything: the engine then runs it without a future. [`SyncTask`]s say true.
    fn is_sync(&self) -> bool {
        false
    }

    /// Runs the task to completion on the calling thread: for an async task,
    /// [`crate::block_on`]`(self.execute())`.
    fn run_sync(&self) -> Result<Self::Output> {
        super::handle::block_on(self.execute())
    }
}

/// A task whose work is synchronous. Every `Fn() -> Result<T> + Send + Sync`
/// closure is one; each is a [`Task`] too.
///
/// ```
/// use taskengine::{Config, Engine, Result, SyncTask};
///
/// struct Square(u64);
/// impl SyncTask for Square {
///     type Output = u64;
///     fn run(&self) -> Result<u64> {
///         self.0.checked_mul(self.0).ok_or(taskengine::EngineError::Overflow)
///     }
/// }
/// let engine = Engine::new(Config::with_workers(2)).unwrap();
/// assert_eq!(engine.execute(Square(12)).unwrap().wait(), Ok(144));
/// assert_eq!(engine.execute(|| Ok::<_, taskengine::EngineError>(7)).unwrap().wait(), Ok(7));
/// ```
pub trait SyncTask: Send + Sync {
    /// What the task produces.
    type Output: Send + 'static;
    /// Does the work.
    fn run(&self) -> Result<Self::Output>;
}

impl<F, T> SyncTask for F
where
    F: Fn() -> Result<T> + Send + Sync,
    T: Send + 'static,
{
    type Output = T;
    #[inline]
    fn run(&self) -> Result<T> {
        self()
    }
}

impl<S: SyncTask> Task for S {
    type Output = S::Output;

    fn execute(&self) -> BoxFuture<'_, Result<S::Output>> {
        Box::pin(std::future::ready(self.run()))
    }
    #[inline]
    fn is_sync(&self) -> bool {
        true
    }
    #[inline]
    fn run_sync(&self) -> Result<S::Output> {
        self.run()
    }
}

impl<K: Task + ?Sized> Task for Arc<K> {
    type Output = K::Output;

    fn execute(&self) -> BoxFuture<'_, Result<K::Output>> {
        (**self).execute()
    }
    fn is_sync(&self) -> bool {
        (**self).is_sync()
    }
    fn run_sync(&self) -> Result<K::Output> {
        (**self).run_sync()
    }
}

/// An async closure as a [`Task`]: each run calls `f` for a fresh future.
///
/// ```
/// use taskengine::{async_task, Config, Engine};
///
/// let engine = Engine::new(Config::with_workers(1)).unwrap();
/// let task = async_task(|| async { Ok(40 + 2) });
/// assert_eq!(engine.execute(task).unwrap().wait(), Ok(42));
/// ```
pub fn async_task<F, Fut, T>(f: F) -> AsyncFnTask<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    AsyncFnTask(f)
}

/// The [`Task`] made by [`async_task`].
pub struct AsyncFnTask<F>(F);

impl<F, Fut, T> Task for AsyncFnTask<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    type Output = T;
    fn execute(&self) -> BoxFuture<'_, Result<T>> {
        Box::pin((self.0)())
    }
}

impl<F> std::fmt::Debug for AsyncFnTask<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncFnTask")
    }
}

/// Something that runs tasks of output `T`: a shared object
/// (`Arc<dyn TaskExecutor<T>>`), implemented by [`crate::Engine`] for every `T`.
///
/// The trait takes tasks as `Arc<dyn Task>` so that it stays object-safe; an
/// `Engine` also has generic methods of the same names ([`crate::Engine::execute`],
/// [`crate::Engine::spawn_with_retry`]) that take any task by value and box
/// nothing for a synchronous one.
///
/// ```
/// use std::sync::Arc;
/// use taskengine::{Config, Engine, RetryPolicy, Task, TaskExecutor};
///
/// let engine: Arc<dyn TaskExecutor<u64>> = Arc::new(Engine::new(Config::with_workers(2)).unwrap());
/// let task: Arc<dyn Task<Output = u64>> = Arc::new(|| Ok(6 * 7));
/// assert_eq!(engine.execute(Arc::clone(&task)).unwrap().wait(), Ok(42));
/// let retried = engine.execute_with_retry(task, RetryPolicy::new(3), None).unwrap();
/// assert_eq!(retried.wait(), Ok(42));
/// ```
pub trait TaskExecutor<T: Send + 'static>: Send + Sync {
    /// Starts `task` and returns a handle to its output.
    fn execute(&self, task: Arc<dyn Task<Output = T>>) -> Result<TaskHandle<T>>;

    /// Starts `task`, running it again as `policy` says while it fails; when the
    /// attempts are spent, runs `fallback` (if any) for the result instead.
    fn execute_with_retry(
        &self,
        task: Arc<dyn Task<Output = T>>,
        policy: RetryPolicy,
        fallback: Option<Arc<dyn Task<Output = T>>>,
    ) -> Result<TaskHandle<T>>;
}
