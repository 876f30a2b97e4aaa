//! Engine configuration and the `engine_config!` macro.

use std::fmt;
use std::sync::Arc;

/// A thread start or stop hook; receives the worker's index.
pub type ThreadHook = Arc<dyn Fn(usize) + Send + Sync>;

/// How an engine is built. `Config::default()` gives one worker per available CPU,
/// an unbounded external queue, stealing and metrics on.
#[derive(Clone)]
pub struct Config {
    /// Worker threads; 0 = the number of available CPUs. At most [`MAX_WORKERS`]
    /// (more is refused with `Invalid`).
    pub workers: usize,
    /// Most tasks submitted from outside the pool that may wait to start; 0 means
    /// unbounded. When full, blocking submissions wait and `try_spawn` fails with
    /// `QueueFull`.
    pub queue_capacity: usize,
    /// When false, workers only run their own deque and the injector.
    pub work_stealing: bool,
    /// Keep per-worker counters (cheap, but not free).
    pub metrics: bool,
    /// Search rounds an idle worker spins before it sleeps. An idle engine always
    /// ends up asleep, using no CPU.
    pub spin_budget: u32,
    /// Worker thread names are `{prefix}-{index}`.
    pub thread_name_prefix: String,
    /// Worker stack size in bytes; 0 = Rust's default (2 MiB, or `RUST_MIN_STACK`).
    /// Otherwise at least [`MIN_STACK_SIZE`].
    pub stack_size: usize,
    /// Runs on each worker thread before it takes work.
    pub on_thread_start: Option<ThreadHook>,
    /// Runs on each worker thread after its last task, before it exits.
    pub on_thread_stop: Option<ThreadHook>,
    /// Task records (and queue space for as many tasks) the engine keeps for reuse
    /// once made, so that spawning in steady state does not touch the heap. Memory
    /// is taken as a burst needs it and kept until the engine is dropped; tasks
    /// beyond this many in flight at once use the heap. 0 = always the heap.
    pub task_pool_capacity: usize,
    /// Fewest workers the engine may start with when the system cannot start them
    /// all (thread creation fails part-way): it then runs with those it got and
    /// reports the shortfall in [`crate::EngineStats::worker_shortfall`]. With
    /// fewer, `Engine::new` fails with `ThreadPool`, naming the cause. 0 (the
    /// default) = every worker must start.
    pub min_workers: usize,
}

/// Default [`Config::task_pool_capacity`]: room for 131,072 tasks in flight.
pub const DEFAULT_TASK_POOL_CAPACITY: usize = 1 << 17;

/// The most worker threads an engine may have. Start-up and shutdown take time
/// linear in the worker count (about 0.3 s for 2,048 workers on 2 cores).
pub const MAX_WORKERS: usize = 4096;

/// The smallest worker stack an engine accepts (0 = the platform default): the
/// sort kernels' own recursion, a fork's reserve and a sanitizer's larger frames
/// must fit under the half that helping waits may use (64 KiB overflowed).
pub const MIN_STACK_SIZE: usize = 256 * 1024;

/// Default search rounds before sleeping: long enough to catch the next fork of a
/// busy fork-join computation, short enough that idling costs microseconds.
pub const DEFAULT_SPIN_BUDGET: u32 = 64;

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 0,
            queue_capacity: 0,
            work_stealing: true,
            metrics: true,
            spin_budget: DEFAULT_SPIN_BUDGET,
            thread_name_prefix: "taskengine".to_string(),
            stack_size: 0,
            on_thread_start: None,
            on_thread_stop: None,
            task_pool_capacity: DEFAULT_TASK_POOL_CAPACITY,
            min_workers: 0,
        }
    }
}

impl Config {
    /// Defaults with `workers` worker threads.
    pub fn with_workers(workers: usize) -> Self {
        Config { workers, ..Config::default() }
    }

    /// The number of workers this config resolves to.
    pub fn resolved_workers(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            self.workers
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("work_stealing", &self.work_stealing)
            .field("metrics", &self.metrics)
            .field("spin_budget", &self.spin_budget)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("stack_size", &self.stack_size)
            .field("on_thread_start", &self.on_thread_start.is_some())
            .field("on_thread_stop", &self.on_thread_stop.is_some())
            .field("task_pool_capacity", &self.task_pool_capacity)
            .field("min_workers", &self.min_workers)
            .finish()
    }
}

/// Builds a [`Config`] from `key: value` pairs; keys left out keep their defaults.
///
/// Keys: [`Config`]'s field names (`workers`, `queue_capacity`, `work_stealing`,
/// `metrics`, `spin_budget`, `thread_name_prefix`, `stack_size`,
/// `task_pool_capacity`, `min_workers`).
///
/// ```
/// let cfg = taskengine::engine_config! { workers: 2, queue_capacity: 64, metrics: false };
/// assert_eq!(cfg.workers, 2);
/// assert_eq!(cfg.queue_capacity, 64);
/// assert!(!cfg.metrics);
/// assert!(cfg.work_stealing);
/// ```
///
/// Deprecated: the macro's first spellings, still accepted for old code:
/// `queue_size` (`queue_capacity`), `enable_work_stealing` (`work_stealing`),
/// `enable_metrics` (`metrics`), `spin` (`spin_budget`) and `task_pool`
/// (`task_pool_capacity`).
///
/// ```
/// let old = taskengine::engine_config! { queue_size: 8, enable_work_stealing: false, spin: 1, task_pool: 0 };
/// let new = taskengine::engine_config! { queue_capacity: 8, work_stealing: false, spin_budget: 1, task_pool_capacity: 0 };
/// assert_eq!(format!("{old:?}"), format!("{new:?}"));
/// ```
///
/// An unknown key does not compile:
///
/// ```compile_fail
/// let cfg = taskengine::engine_config! { workers: 2, wrokers: 3 };
/// ```
#[macro_export]
macro_rules! engine_config {
    (@set $cfg:ident $(,)?) => {};
    (@set $cfg:ident, workers: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.workers = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, queue_capacity: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.queue_capacity = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, work_stealing: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.work_stealing = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, metrics: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.metrics = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, spin_budget: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.spin_budget = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, task_pool_capacity: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.task_pool_capacity = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    // Deprecated spellings (see the documentation above).
    (@set $cfg:ident, queue_size: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.queue_capacity = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, enable_work_stealing: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.work_stealing = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, enable_metrics: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.metrics = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, spin: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.spin_budget = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, thread_name_prefix: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.thread_name_prefix = ::std::string::String::from($v);
        $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, stack_size: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.stack_size = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, task_pool: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.task_pool_capacity = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, min_workers: $v:expr $(, $($rest:tt)*)?) => {
        $cfg.min_workers = $v; $crate::engine_config!(@set $cfg $(, $($rest)*)?);
    };
    (@set $cfg:ident, $key:ident : $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!("engine_config!: unknown key `", ::core::stringify!($key), "`"))
    };
    ($($body:tt)*) => {{
        #[allow(unused_mut)]
        let mut cfg = $crate::Config::default();
        $crate::engine_config!(@set cfg, $($body)*);
        cfg
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_sets_only_named_keys() {
        let cfg = crate::engine_config! { spin_budget: 3, work_stealing: false, thread_name_prefix: "x", task_pool_capacity: 0 };
        assert_eq!(cfg.spin_budget, 3);
        assert_eq!(cfg.task_pool_capacity, 0);
        assert!(!cfg.work_stealing);
        assert_eq!(cfg.thread_name_prefix, "x");
        assert_eq!(cfg.workers, 0);
        assert!(cfg.metrics);
        let empty = crate::engine_config! {};
        assert_eq!(empty.spin_budget, DEFAULT_SPIN_BUDGET);
        assert_eq!(empty.task_pool_capacity, DEFAULT_TASK_POOL_CAPACITY);
    }

    #[test]
    fn zero_workers_resolves_to_cpus() {
        let n = std::thread::available_parallelism().unwrap().get();
        assert_eq!(Config::default().resolved_workers(), n);
        assert_eq!(Config::with_workers(3).resolved_workers(), 3);
    }
}
