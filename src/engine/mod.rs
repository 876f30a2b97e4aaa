//! The scheduler: workers with their own deques, an injector for outside
//! submissions, random-victim stealing, sleeping without lost wake-ups, and the
//! structured APIs built on top (join, scope, groups, handles, parallel loops).
//!
//! Layout (after rayon-core): `registry` (workers, deques, injector, the worker
//! loop, stealing), `job`, `latch`, `sleep` (wake-up protocol, model-checked with
//! loom), `join`, `scope`, `group`, `handle/` (spawn, futures, `block_on`),
//! `parallel`, `metrics`, `config`; `fork` (fork generations, the default engine's
//! slot), `admission` (bounded queue), `stack` (stack floors of helping waits).

mod admission;
mod config;
mod deque;
mod fork;
mod group;
mod handle;
mod in_place;
mod job;
mod join;
mod latch;
mod metrics;
mod parallel;
mod pool;
mod queue;
mod registry;
mod retry;
mod scope;
mod services;
mod sleep;
mod stack;
pub(crate) mod sync;
mod task;
mod team;
mod timer;
mod unwind;

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

pub use config::{Config, ThreadHook, DEFAULT_SPIN_BUDGET, DEFAULT_TASK_POOL_CAPACITY, MAX_WORKERS, MIN_STACK_SIZE};
pub(crate) use fork::LIVE_HANDLES_LOCK;
pub(crate) use group::INLINE_TASK_BYTES;
pub use group::{current_task_cancelled, TaskGroup};
pub use handle::{block_on, TaskHandle};
pub use metrics::{EngineStats, WorkerStats};
pub use retry::{Backoff, RetryPolicy};
pub use scope::Scope;
pub use task::{async_task, AsyncFnTask, BoxFuture, SyncTask, Task, TaskExecutor};
pub use team::{TeamStats, IDLE_REAP as TEAM_IDLE_REAP, MAX_TEAM_MEMBERS};

use fork::ProcessSlot;
use registry::{Registry, WorkerThread};

use crate::error::{EngineError, Result};
use crate::per_thread;

/// A pool of worker threads and everything that runs on it.
///
/// An `Engine` made with [`Engine::new`] owns its pool: dropping it lets queued work
/// finish, then joins every worker (each runs its stop hook) before `drop` returns.
/// [`Engine::global`] and [`Engine::current`] give non-owning handles.
pub struct Engine {
    registry: Arc<Registry>,
    owner: bool,
}

impl Engine {
    /// Starts an engine with `config.workers` threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(3)).unwrap();
    /// assert_eq!(engine.workers(), 3);
    /// assert!(engine.is_alive());
    /// ```
    pub fn new(config: Config) -> Result<Engine> {
        Ok(Engine { registry: Registry::new(&config, enter_worker)?, owner: true })
    }

    /// A handle to the process-wide default engine, built on first use with
    /// `Config::default()` (or `TASKENGINE_WORKERS` workers when that variable is set).
    /// After `fork()` the child builds its own on first use. Fails with `Shutdown`
    /// after [`Engine::shutdown_global`].
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::Engine;
    ///
    /// let a = Engine::global().unwrap();
    /// let b = Engine::global().unwrap();
    /// assert_eq!(Engine::global_workers_if_built(), Some(a.workers()));
    /// assert_eq!(a.workers(), b.workers());
    /// assert_eq!(a.join(|| 1 + 1, || 2 * 3), (2, 6));
    /// ```
    pub fn global() -> Result<Engine> {
        Ok(Engine { registry: default_registry()?, owner: false })
    }

    /// The engine whose worker is running this code, if any; else the default one.
    ///
    /// A task keeps its own engine until it returns: while a shut-down engine
    /// finishes its queued work, those tasks still get that engine here (work they
    /// fork or spawn from inside it still runs), never the default one.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// // Inside a task: the engine running it (the default engine is not even built).
    /// let own = engine.spawn(|| Engine::current().unwrap().is_own_worker()).unwrap().wait().unwrap();
    /// assert!(own);
    /// assert_eq!(Engine::global_workers_if_built(), None);
    /// // Elsewhere: the default engine.
    /// let current = Engine::current().unwrap();
    /// assert_eq!(Engine::global_workers_if_built(), Some(current.workers()));
    /// ```
    pub fn current() -> Result<Engine> {
        match Engine::current_worker_engine() {
            Some(engine) => Ok(Engine::handle(Arc::clone(&engine.registry))),
            None => match team::current_team_engine() {
                Some(engine) => Ok(engine),
                None => Engine::global(),
            },
        }
    }

    /// The engine of the team member running on this thread, when it is not a
    /// worker: a member's "current engine" outside the workers.
    pub(crate) fn current_team_engine() -> Option<Engine> {
        team::current_team_engine()
    }

    /// The engine of the worker running this code, borrowed from the worker itself:
    /// one thread-local read, no reference count. `None` on other threads (and in a
    /// child forked from inside a task, whose worker does not exist).
    #[inline]
    pub(crate) fn current_worker_engine() -> Option<&'static Engine> {
        let ptr = per_thread::with(|t| t.worker_engine.get()).cast::<Engine>();
        // SAFETY: set by `enter_worker` to a handle on its stack and cleared before
        // that frame ends; only this thread reads it, and every use is inside the
        // worker's life (tasks run inside `run`).
        unsafe { ptr.as_ref() }.filter(|engine| !engine.registry.is_forked_away())
    }

    /// `try_join` taken by the short way when this thread is a worker of `engine`
    /// (`None`: of whichever engine it works for) with stack left to fork: the
    /// C exports' common case. `None`, with neither closure run, otherwise; the
    /// caller then takes the general path, which reports why it cannot fork.
    #[inline]
    pub(crate) fn join_on_current_worker<A, B, RA, RB>(engine: Option<&Engine>, a: A, b: B) -> Option<(RA, RB)>
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let worker = WorkerThread::current()?;
        let ours = match engine {
            // A child forked inside a task keeps the parent's thread-locals: its
            // worker does not exist here.
            None => !worker.is_forked_away(),
            // Both alive (held by `engine` and by the worker): the same address
            // is the same registry.
            Some(engine) => Arc::ptr_eq(&engine.registry, &worker.registry),
        };
        if !ours || !worker.can_fork_deeper() {
            return None;
        }
        Some(join::join_on_worker(worker, |_| a(), |_| b()))
    }

    /// A non-owning handle: dropping it does not shut the engine down.
    pub(crate) fn handle(registry: Arc<Registry>) -> Engine {
        Engine { registry, owner: false }
    }

    /// Shuts the default engine down: queued work finishes, its threads are joined.
    /// Later uses of the default engine fail with `Shutdown` (in a forked child it
    /// is rebuilt). Safe to call more than once.
    ///
    /// Fails with `Invalid`, changing nothing, when called from a task running on
    /// the default engine: its workers may be waiting on that very task (the
    /// stolen half of a `join`), so waiting for them could never end. The same
    /// from a member of a team on the default engine.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Engine, EngineError};
    ///
    /// let engine = Engine::global().unwrap();
    /// assert_eq!(engine.join(|| 1, || 2), (1, 2));
    /// Engine::shutdown_global().unwrap();
    /// assert!(!engine.is_alive());
    /// assert!(matches!(Engine::global(), Err(EngineError::Shutdown)));
    /// assert_eq!(Engine::global_workers_if_built(), None);
    /// Engine::shutdown_global().unwrap(); // again: nothing left to do
    /// ```
    pub fn shutdown_global() -> Result<()> {
        let own_worker = WorkerThread::current().map(|w| Arc::as_ptr(&w.registry));
        let taken = DEFAULT.with_lock(|state| {
            if let Some(registry) = &state.value {
                if own_worker == Some(Arc::as_ptr(registry)) || team::in_member_of(registry.id) {
                    return Err(EngineError::invalid(
                        "the default engine cannot be shut down from one of its own tasks \
                         (its workers may be waiting on that task); shut it down from another thread",
                    ));
                }
            }
            state.shut_down = true;
            Ok(state.value.take())
        })?;
        if let Some(registry) = taken {
            registry.terminate_and_join();
        }
        Ok(())
    }

    /// The default engine's worker count if it is running in this process, without
    /// building it: `None` before its first use (in a forked child: before its first
    /// use there) and after [`Engine::shutdown_global`]. A host that sizes the default
    /// engine through `TASKENGINE_WORKERS` learns from it whether that is still possible.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::Engine;
    ///
    /// assert_eq!(Engine::global_workers_if_built(), None); // not used yet in this process
    /// let workers = Engine::global().unwrap().workers();
    /// assert_eq!(Engine::global_workers_if_built(), Some(workers));
    /// ```
    pub fn global_workers_if_built() -> Option<usize> {
        DEFAULT.with_lock(|state| state.value.as_ref().map(|registry| registry.num_workers()))
    }

    /// True when the calling thread is one of this engine's workers (running one
    /// of its tasks), or runs a member of one of its teams: such a caller cannot
    /// wait for the engine to shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// assert!(!engine.is_own_worker());
    /// // A scope's body runs on one of the workers.
    /// assert!(engine.scope(|_| engine.is_own_worker()));
    /// ```
    pub fn is_own_worker(&self) -> bool {
        WorkerThread::current_of(&self.registry).is_some() || team::in_member_of(self.registry.id)
    }

    /// Number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(4)).unwrap();
    /// assert_eq!(engine.workers(), 4);
    /// assert_eq!(engine.stats().workers.len(), 4);
    /// ```
    pub fn workers(&self) -> usize {
        self.registry.num_workers()
    }

    /// The index of the worker running this code (in whatever engine), or `None`
    /// on a thread that is not a worker.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(3)).unwrap();
    /// assert_eq!(Engine::current_worker_index(), None);
    /// let index = engine.spawn(Engine::current_worker_index).unwrap().wait().unwrap();
    /// assert!(index.is_some_and(|i| i < 3));
    /// ```
    pub fn current_worker_index() -> Option<usize> {
        WorkerThread::current().map(|w| w.index)
    }

    /// False once the engine is shut down (or was inherited through `fork()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(1)).unwrap();
    /// // A non-owning handle, taken inside a task, outlives the engine.
    /// let handle = engine.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
    /// assert!(handle.is_alive());
    /// drop(engine);
    /// assert!(!handle.is_alive());
    /// assert!(matches!(handle.spawn(|| 1), Err(EngineError::Shutdown)));
    /// ```
    pub fn is_alive(&self) -> bool {
        self.registry.is_alive()
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results.
    /// Inside the pool this allocates nothing: `b` waits on this stack for a thief
    /// while `a` runs. A panic in either is re-raised here (after both finished).
    ///
    /// # Panics
    /// If the engine has been shut down, or the worker's stack is nearly used up
    /// (recursion through `join` too deep for its `stack_size`); see
    /// [`Engine::try_join`].
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// fn fib(e: &Engine, n: u64) -> u64 {
    ///     if n < 2 {
    ///         return n;
    ///     }
    ///     let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
    ///     a + b
    /// }
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// assert_eq!(fib(&engine, 20), 6765);
    /// ```
    #[inline]
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        match self.try_join(a, b) {
            Ok(pair) => pair,
            Err(err) => panic!("taskengine: join: {err}"),
        }
    }

    /// [`Engine::join`] that reports a shut-down engine as `Err(Shutdown)`, and a
    /// fork refused near the end of the worker's stack as `Err(StackExhausted)`
    /// (neither closure has run then).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// assert_eq!(engine.try_join(|| "a", || 2), Ok(("a", 2)));
    /// let handle = engine.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
    /// drop(engine);
    /// assert_eq!(handle.try_join(|| 1, || 2), Err(EngineError::Shutdown));
    /// ```
    #[inline]
    pub fn try_join<A, B, RA, RB>(&self, a: A, b: B) -> Result<(RA, RB)>
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        join::join_context(&self.registry, |_| a(), |_| b())
    }

    /// Runs `op` on the pool with a [`Scope`] whose tasks may borrow from the
    /// caller; returns once all of them have finished, re-raising the first panic.
    ///
    /// # Panics
    /// If the engine has been shut down; see [`Engine::try_scope`].
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let data: Vec<u64> = (1..=1000).collect();
    /// let mut halves = [0u64; 2];
    /// engine.scope(|s| {
    ///     let (lo, hi) = halves.split_at_mut(1);
    ///     s.spawn(|_| lo[0] = data[..500].iter().sum());
    ///     s.spawn(|_| hi[0] = data[500..].iter().sum());
    /// });
    /// assert_eq!(halves[0] + halves[1], 1000 * 1001 / 2);
    /// ```
    pub fn scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&Scope<'scope>) -> R + Send,
        R: Send,
    {
        match self.try_scope(op) {
            Ok(value) => value,
            Err(err) => panic!("taskengine: scope: {err}"),
        }
    }

    /// [`Engine::scope`] that reports a shut-down engine as `Err(Shutdown)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// assert_eq!(engine.try_scope(|_| 42), Ok(42));
    /// let handle = engine.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
    /// drop(engine);
    /// assert_eq!(handle.try_scope(|_| 42), Err(EngineError::Shutdown));
    /// ```
    #[inline]
    pub fn try_scope<'scope, OP, R>(&self, op: OP) -> Result<R>
    where
        OP: FnOnce(&Scope<'scope>) -> R + Send,
        R: Send,
    {
        self.registry.in_worker(move |worker, _| scope::run_scope(worker, op))
    }

    /// Runs `f` on the pool and returns a handle to its result. From outside the
    /// pool with a bounded queue, waits for room.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let handles: Vec<_> = (0..10u64).map(|i| engine.spawn(move || i * i).unwrap()).collect();
    /// let squares: Vec<u64> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    /// assert_eq!(squares, (0..10u64).map(|i| i * i).collect::<Vec<_>>());
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> Result<TaskHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        handle::spawn(&self.registry, move || Ok(f()), true)
    }

    /// [`Engine::spawn`] that fails with `QueueFull` instead of waiting for room.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config { queue_capacity: 1, ..Config::with_workers(1) }).unwrap();
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let busy = engine
    ///     .spawn(move || {
    ///         started_tx.send(()).unwrap();
    ///         gate.recv().unwrap()
    ///     })
    ///     .unwrap();
    /// started.recv().unwrap(); // the only worker is busy; the task gave its slot back
    /// let queued = engine.try_spawn(|| 7).unwrap(); // takes the only slot
    /// assert!(matches!(engine.try_spawn(|| 8), Err(EngineError::QueueFull)));
    /// release.send(()).unwrap();
    /// busy.wait().unwrap();
    /// assert_eq!(queued.wait(), Ok(7));
    /// ```
    pub fn try_spawn<F, T>(&self, f: F) -> Result<TaskHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        handle::spawn(&self.registry, move || Ok(f()), false)
    }

    /// Runs an async task on the pool; its waker re-queues it on the workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let inner = engine.spawn(|| 20).unwrap();
    /// let outer = engine.spawn_future(async move { inner.await.unwrap() + 1 }).unwrap();
    /// assert_eq!(outer.wait(), Ok(21));
    /// ```
    pub fn spawn_future<Fut>(&self, future: Fut) -> Result<TaskHandle<Fut::Output>>
    where
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        handle::spawn_future(&self.registry, async move { Ok(future.await) })
    }

    /// Runs `task` on the pool and returns a handle to its result (its own error,
    /// or `Err(Panic)`, comes back through the handle). A synchronous task
    /// ([`SyncTask`], any `Fn() -> Result<T>` closure) runs like [`Engine::spawn`]:
    /// in a pooled record, no future boxed. An async one is polled on the workers
    /// and holds none of them while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, SyncTask};
    ///
    /// struct Square(u64);
    /// impl SyncTask for Square {
    ///     type Output = u64;
    ///     fn run(&self) -> taskengine::Result<u64> {
    ///         Ok(self.0 * self.0)
    ///     }
    /// }
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// assert_eq!(engine.execute(Square(12)).unwrap().wait(), Ok(144));
    /// ```
    pub fn execute<K: Task + 'static>(&self, task: K) -> Result<TaskHandle<K::Output>> {
        if task.is_sync() {
            handle::spawn(&self.registry, move || task.run_sync(), true)
        } else {
            handle::spawn_future(&self.registry, async move { task.execute().await })
        }
    }

    /// Runs `task`, again as `policy` says while it fails (a panic is a failure);
    /// the handle gives the first success, or `Retried { attempts, last }`. A
    /// backoff holds no worker: the task waits on the engine's timer. A task
    /// waiting out a backoff when the engine shuts down ends with `Shutdown`.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError, RetryPolicy};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let always = || -> taskengine::Result<u32> { Err(EngineError::TaskFailed { code: 7, message: "no".into() }) };
    /// match engine.spawn_with_retry(always, RetryPolicy::new(3)).unwrap().wait() {
    ///     Err(EngineError::Retried { attempts, last }) => {
    ///         assert_eq!(attempts, 3);
    ///         assert!(matches!(*last, EngineError::TaskFailed { code: 7, .. }));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn spawn_with_retry<K: Task + 'static>(&self, task: K, policy: RetryPolicy) -> Result<TaskHandle<K::Output>> {
        let none: Option<Arc<dyn Task<Output = K::Output>>> = None;
        handle::spawn_future(&self.registry, retry::run_with_retry(Arc::clone(&self.registry), task, policy, none))
    }

    /// [`Engine::spawn_with_retry`] that runs `fallback` for the result once the
    /// attempts are spent (or a failure is not retryable; not after `Cancelled`
    /// or `Shutdown`). The fallback's own failure is the handle's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError, RetryPolicy};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let failing = || -> taskengine::Result<&'static str> { Err(EngineError::TaskFailed { code: 1, message: "down".into() }) };
    /// let cached = || -> taskengine::Result<&'static str> { Ok("cached") };
    /// let handle = engine.spawn_with_fallback(failing, RetryPolicy::new(2), cached).unwrap();
    /// assert_eq!(handle.wait(), Ok("cached"));
    /// ```
    pub fn spawn_with_fallback<K, F>(&self, task: K, policy: RetryPolicy, fallback: F) -> Result<TaskHandle<K::Output>>
    where
        K: Task + 'static,
        F: Task<Output = K::Output> + 'static,
    {
        handle::spawn_future(
            &self.registry,
            retry::run_with_retry(Arc::clone(&self.registry), task, policy, Some(fallback)),
        )
    }

    /// Why some workers could not be started, when the engine runs with fewer
    /// than asked for ([`Config::min_workers`]); see [`EngineStats::worker_shortfall`].
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// // Every worker started: nothing to report.
    /// assert!(engine.start_failure().is_none());
    /// assert_eq!(engine.stats().worker_shortfall, 0);
    /// ```
    pub fn start_failure(&self) -> Option<&EngineError> {
        self.registry.start_failure.as_ref()
    }

    /// Calls `body` on disjoint pieces covering `range`, in parallel. `grain` is the
    /// largest piece (0 = adaptive). A panic in `body` is re-raised here.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let hits: Vec<AtomicU64> = (0..1000).map(|_| AtomicU64::new(0)).collect();
    /// engine
    ///     .parallel_for(0..1000, 0, |piece| {
    ///         for i in piece {
    ///             hits[i].fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .unwrap();
    /// assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    /// #[allow(clippy::reversed_empty_ranges)]
    /// let backwards = engine.parallel_for(5..1, 0, |_| {});
    /// assert!(matches!(backwards, Err(EngineError::Invalid(_))));
    /// ```
    pub fn parallel_for<F>(&self, range: Range<usize>, grain: usize, body: F) -> Result<()>
    where
        F: Fn(Range<usize>) + Sync + Send,
    {
        parallel::check_range(&range)?;
        parallel::parallel_for(&self.registry, range, grain, body)
    }

    /// [`Engine::parallel_for`] whose body can fail: returns the first error and
    /// skips pieces not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let result = engine.try_parallel_for(0..100, 10, |piece| {
    ///     if piece.contains(&42) {
    ///         Err(EngineError::TaskFailed { code: 42, message: "found 42".into() })
    ///     } else {
    ///         Ok(())
    ///     }
    /// });
    /// assert!(matches!(result, Err(EngineError::TaskFailed { code: 42, .. })));
    /// assert_eq!(engine.try_parallel_for(0..100, 10, |_| Ok(())), Ok(()));
    /// ```
    pub fn try_parallel_for<F>(&self, range: Range<usize>, grain: usize, body: F) -> Result<()>
    where
        F: Fn(Range<usize>) -> Result<()> + Sync + Send,
    {
        parallel::check_range(&range)?;
        parallel::try_parallel_for(&self.registry, range, grain, body)
    }

    /// Maps pieces of `range` to values and combines them with `reduce` (which
    /// should be associative; `identity()` is the result for an empty range).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let sum = engine.parallel_reduce(0..1_000_001, 0, || 0u64, |r| r.map(|i| i as u64).sum(), |a, b| a + b).unwrap();
    /// assert_eq!(sum, 1_000_000 * 1_000_001 / 2);
    /// assert_eq!(engine.parallel_reduce(0..0, 0, || 7u64, |_| 0, |a, b| a + b), Ok(7));
    /// ```
    pub fn parallel_reduce<T, ID, M, R>(
        &self,
        range: Range<usize>,
        grain: usize,
        identity: ID,
        map: M,
        reduce: R,
    ) -> Result<T>
    where
        T: Send,
        ID: Fn() -> T + Sync + Send,
        M: Fn(Range<usize>) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        parallel::check_range(&range)?;
        parallel::parallel_reduce(&self.registry, range, grain, identity, map, reduce)
    }

    /// [`Engine::parallel_reduce`] whose steps can fail: returns the first error,
    /// and once any step has failed no piece is split or started any more.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// // Counts the elements in a u8, failing when they do not fit.
    /// let overflow = || EngineError::TaskFailed { code: 1, message: "u8 overflow".into() };
    /// let count = |n: usize| {
    ///     engine.try_parallel_reduce(
    ///         0..n,
    ///         0,
    ///         || Ok(0u8),
    ///         |r| u8::try_from(r.len()).map_err(|_| overflow()),
    ///         |a, b| a.checked_add(b).ok_or_else(overflow),
    ///     )
    /// };
    /// assert_eq!(count(255), Ok(255));
    /// assert!(matches!(count(256), Err(EngineError::TaskFailed { code: 1, .. })));
    /// ```
    pub fn try_parallel_reduce<T, ID, M, R>(
        &self,
        range: Range<usize>,
        grain: usize,
        identity: ID,
        map: M,
        reduce: R,
    ) -> Result<T>
    where
        T: Send,
        ID: Fn() -> Result<T> + Sync + Send,
        M: Fn(Range<usize>) -> Result<T> + Sync + Send,
        R: Fn(T, T) -> Result<T> + Sync + Send,
    {
        parallel::check_range(&range)?;
        parallel::try_parallel_reduce(&self.registry, range, grain, false, identity, map, reduce)
    }

    /// [`Engine::parallel_reduce_deterministic`] whose steps can fail, stopping as
    /// [`Engine::try_parallel_reduce`] does.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let sum = |workers| {
    ///     Engine::new(Config::with_workers(workers))
    ///         .unwrap()
    ///         .try_parallel_reduce_deterministic(0..100_000, 0, || Ok(0.0f64), |r| Ok(r.map(|i| 0.1 * i as f64).sum::<f64>()), |a, b| Ok(a + b))
    ///         .unwrap()
    /// };
    /// let (one, three) = (sum(1), sum(3));
    /// assert_eq!(one.to_bits(), three.to_bits());
    /// assert!((one - 0.1 * (99_999.0 * 100_000.0 / 2.0)).abs() < 1e-3);
    /// ```
    pub fn try_parallel_reduce_deterministic<T, ID, M, R>(
        &self,
        range: Range<usize>,
        grain: usize,
        identity: ID,
        map: M,
        reduce: R,
    ) -> Result<T>
    where
        T: Send,
        ID: Fn() -> Result<T> + Sync + Send,
        M: Fn(Range<usize>) -> Result<T> + Sync + Send,
        R: Fn(T, T) -> Result<T> + Sync + Send,
    {
        parallel::check_range(&range)?;
        parallel::try_parallel_reduce(&self.registry, range, grain, true, identity, map, reduce)
    }

    /// [`Engine::parallel_reduce`] on a fixed grid (pieces of `grain`, or 256 equal
    /// pieces when 0) combined in a fixed tree: the result is bitwise the same for
    /// any number of workers, even when `reduce` is not associative (float sums).
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let sum = |workers| {
    ///     Engine::new(Config::with_workers(workers))
    ///         .unwrap()
    ///         .parallel_reduce_deterministic(0..100_000, 0, || 0.0f64, |r| r.map(|i| 0.1 * i as f64).sum::<f64>(), |a, b| a + b)
    ///         .unwrap()
    /// };
    /// let (one, three) = (sum(1), sum(3));
    /// // Bitwise equal, whatever the number of workers.
    /// assert_eq!(one.to_bits(), three.to_bits());
    /// assert!((one - 0.1 * (99_999.0 * 100_000.0 / 2.0)).abs() < 1e-3);
    /// ```
    pub fn parallel_reduce_deterministic<T, ID, M, R>(
        &self,
        range: Range<usize>,
        grain: usize,
        identity: ID,
        map: M,
        reduce: R,
    ) -> Result<T>
    where
        T: Send,
        ID: Fn() -> T + Sync + Send,
        M: Fn(Range<usize>) -> T + Sync + Send,
        R: Fn(T, T) -> T + Sync + Send,
    {
        parallel::check_range(&range)?;
        parallel::parallel_reduce_deterministic(&self.registry, range, grain, identity, map, reduce)
    }

    /// Runs `f(member, members)` for every `member` in `0..members`, all at the
    /// same time on `members` distinct threads, and returns when all have
    /// returned. Members may wait on each other (a barrier, flags): the caller
    /// runs member 0 and each other member gets a thread of its own from the
    /// engine's cache of team threads (started when none is parked), never a
    /// place in a queue, so a team cannot deadlock behind other work, from
    /// outside or inside a task, with every worker busy, or nested in another
    /// team. Every member is called, whatever the others return.
    ///
    /// Inside a member, [`Engine::current`] is the worker's engine when the member
    /// runs on a worker (member 0 of a team started from a task), else this
    /// engine; work a member submits from a team thread (join, spawn, groups) is
    /// an outside submission and waits for a free worker.
    ///
    /// Fails with `Invalid` if `members` is 0 or above [`MAX_TEAM_MEMBERS`], or a
    /// team thread cannot be started (then no member has run); `Shutdown` after
    /// shutdown; else the first error a member returned.
    ///
    /// # Panics
    /// Re-raises the first member's panic, after every member has returned (a
    /// member's error that came first is returned instead).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Barrier;
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(1)).unwrap();
    /// // Four members meet at a barrier: they run at the same time, even on one worker.
    /// let barrier = Barrier::new(4);
    /// let sum = AtomicUsize::new(0);
    /// engine
    ///     .team(4, |member, members| {
    ///         assert_eq!(members, 4);
    ///         sum.fetch_add(member, Ordering::SeqCst);
    ///         barrier.wait();
    ///         Ok(())
    ///     })
    ///     .unwrap();
    /// assert_eq!(sum.load(Ordering::SeqCst), 1 + 2 + 3);
    /// ```
    pub fn team<F>(&self, members: usize, f: F) -> Result<()>
    where
        F: Fn(usize, usize) -> Result<()> + Sync,
    {
        team::run(self, members, f)
    }

    /// The counters of this engine's team threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(1)).unwrap();
    /// assert_eq!(engine.team_stats().runs, 0);
    /// engine.team(3, |_, _| Ok(())).unwrap();
    /// let stats = engine.team_stats();
    /// assert_eq!(stats.runs, 1);
    /// // The caller ran member 0; members 1 and 2 each had a thread of their own.
    /// assert_eq!(stats.threads_started, 2);
    /// ```
    pub fn team_stats(&self) -> TeamStats {
        self.registry.services.teams.stats(self.registry.is_forked_away())
    }

    /// A snapshot of the engine's counters.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let handles: Vec<_> = (0..100).map(|i| engine.spawn(move || i).unwrap()).collect();
    /// for handle in handles {
    ///     handle.wait().unwrap();
    /// }
    /// let stats = engine.stats();
    /// assert!(stats.metrics_enabled);
    /// assert_eq!((stats.submitted, stats.completed), (100, 100));
    /// assert_eq!(stats.workers.len(), 2);
    /// ```
    pub fn stats(&self) -> EngineStats {
        self.registry.stats()
    }

    /// Shuts the engine down now (as dropping it does): queued work finishes and
    /// every worker is joined before this returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskengine::{Config, Engine, EngineError};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let handle = engine.spawn(|| Engine::current().unwrap()).unwrap().wait().unwrap();
    /// let queued = engine.spawn(|| 5).unwrap();
    /// engine.shutdown(); // queued work finishes first
    /// assert!(queued.is_finished());
    /// assert_eq!(queued.wait(), Ok(5));
    /// assert!(!handle.is_alive());
    /// assert!(matches!(handle.spawn(|| 0), Err(EngineError::Shutdown)));
    /// ```
    pub fn shutdown(self) {
        drop(self)
    }
}

/// Runs a worker's life (`run`) with a non-owning handle to its engine on its
/// stack, so that resolving "the current engine" (a C `NULL` engine inside a task)
/// is one thread-local read that touches no reference count.
fn enter_worker(registry: &Arc<Registry>, run: &mut dyn FnMut()) {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            per_thread::with(|t| t.worker_engine.set(std::ptr::null()));
        }
    }
    let engine = Engine::handle(Arc::clone(registry));
    per_thread::with(|t| t.worker_engine.set((&raw const engine).cast()));
    let _leave = Leave;
    run();
}

impl Drop for Engine {
    /// Dropped from one of its own tasks, an engine cannot wait for its workers
    /// (they may be waiting on that task): it is shut down and its workers exit on
    /// their own once its queued work is done.
    fn drop(&mut self) {
        if self.owner {
            self.registry.terminate_and_join();
        }
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("workers", &self.workers())
            .field("alive", &self.is_alive())
            .field("owner", &self.owner)
            .finish()
    }
}

impl<T: Send + 'static> TaskExecutor<T> for Engine {
    fn execute(&self, task: Arc<dyn Task<Output = T>>) -> Result<TaskHandle<T>> {
        Engine::execute(self, task)
    }

    fn execute_with_retry(
        &self,
        task: Arc<dyn Task<Output = T>>,
        policy: RetryPolicy,
        fallback: Option<Arc<dyn Task<Output = T>>>,
    ) -> Result<TaskHandle<T>> {
        handle::spawn_future(&self.registry, retry::run_with_retry(Arc::clone(&self.registry), task, policy, fallback))
    }
}

// ---- the default engine ----

/// The default engine's registry: built on first use, rebuilt in a forked child.
static DEFAULT: ProcessSlot<Arc<Registry>> = ProcessSlot::new(&fork::DEFAULT_ENGINE_LOCK);

fn default_registry() -> Result<Arc<Registry>> {
    DEFAULT.with_lock(|state| {
        if state.shut_down {
            return Err(EngineError::Shutdown);
        }
        if let Some(registry) = &state.value {
            return Ok(Arc::clone(registry));
        }
        let mut config = Config::default();
        if let Some(n) = std::env::var("TASKENGINE_WORKERS").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
            config.workers = n;
        }
        let registry = Registry::new(&config, enter_worker)?;
        state.value = Some(Arc::clone(&registry));
        Ok(registry)
    })
}

#[cfg(test)]
mod degradation_tests {
    use super::registry::FAIL_THREAD_SPAWN_AT;
    use super::*;

    /// Builds an engine on this thread with thread creation failing from worker
    /// `fail_at` on (a deterministic stand-in for a system out of threads).
    fn build(workers: usize, min_workers: usize, fail_at: usize) -> Result<Engine> {
        FAIL_THREAD_SPAWN_AT.with(|f| f.set(Some(fail_at)));
        let engine = Engine::new(Config { min_workers, ..Config::with_workers(workers) });
        FAIL_THREAD_SPAWN_AT.with(|f| f.set(None));
        engine
    }

    #[test]
    fn starts_with_the_workers_it_got_when_min_workers_allows() {
        let engine = build(4, 2, 3).unwrap();
        assert_eq!(engine.workers(), 3);
        let stats = engine.stats();
        assert_eq!(stats.worker_shortfall, 1);
        assert_eq!(stats.workers.len(), 3);
        match engine.start_failure() {
            Some(EngineError::ThreadPool { message }) => {
                assert!(message.contains("worker thread 3") && message.contains("injected"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        // A working engine: every worker takes part (a latch all three must reach).
        let arrived = std::sync::atomic::AtomicUsize::new(0);
        let sum = engine.parallel_reduce(0..100_000, 1, || 0u64, |r| r.map(|i| i as u64).sum(), |a, b| a + b).unwrap();
        assert_eq!(sum, 99_999 * 100_000 / 2);
        engine.scope(|s| {
            for _ in 0..3 {
                s.spawn(|_| {
                    arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    while arrived.load(std::sync::atomic::Ordering::SeqCst) < 3 {
                        std::thread::yield_now();
                    }
                });
            }
        });
        // Exactly the minimum is enough too.
        assert_eq!(build(4, 2, 2).unwrap().workers(), 2);
    }

    #[test]
    fn fails_with_thread_pool_naming_the_cause_below_min_workers() {
        for (min, fail_at) in [(0, 3), (4, 3), (2, 1), (1, 0)] {
            match build(4, min, fail_at) {
                Err(EngineError::ThreadPool { message }) => {
                    assert!(message.contains(&format!("started {fail_at} of 4")), "{message}");
                    assert!(message.contains("injected"), "{message}");
                }
                other => panic!("min {min}, fail at {fail_at}: {other:?}"),
            }
        }
        // Nothing fails: no shortfall.
        let engine = build(2, 1, usize::MAX).unwrap();
        assert_eq!((engine.workers(), engine.stats().worker_shortfall), (2, 0));
        assert!(engine.start_failure().is_none());
    }
}
