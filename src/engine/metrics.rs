//! Counters: per worker (cache-padded, written only by their worker) and engine-wide.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use crossbeam_utils::CachePadded;

/// One worker's counters. Each is written only by its own worker, so an increment
/// is a plain load + store (no locked instruction); readers may see a slightly old
/// value, which is all a statistic promises.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    pub(crate) executed: AtomicU64,
    pub(crate) stolen: AtomicU64,
    pub(crate) steal_attempts: AtomicU64,
    pub(crate) injector_pops: AtomicU64,
    pub(crate) sleeps: AtomicU64,
    pub(crate) wakes: AtomicU64,
    pub(crate) submitted: AtomicU64,
    pub(crate) completed: AtomicU64,
}

#[inline]
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

pub(crate) struct Metrics {
    pub(crate) enabled: bool,
    pub(crate) workers: Vec<CachePadded<WorkerCounters>>,
    /// Tasks submitted from threads outside the pool (shared, so a real RMW).
    pub(crate) external_submitted: CachePadded<AtomicU64>,
    /// Tasks finished off the workers: skipped by a cancellation made from
    /// outside, or run by an outside thread after shutdown (shared, a real RMW).
    pub(crate) external_completed: CachePadded<AtomicU64>,
}

impl Metrics {
    pub(crate) fn new(workers: usize, enabled: bool) -> Metrics {
        Metrics {
            enabled,
            workers: (0..workers).map(|_| CachePadded::new(WorkerCounters::default())).collect(),
            external_submitted: CachePadded::new(AtomicU64::new(0)),
            external_completed: CachePadded::new(AtomicU64::new(0)),
        }
    }

    pub(crate) fn snapshot(&self, queued_jobs: usize) -> EngineStats {
        let workers: Vec<WorkerStats> = self
            .workers
            .iter()
            .map(|w| WorkerStats {
                executed: w.executed.load(Relaxed),
                stolen: w.stolen.load(Relaxed),
                steal_attempts: w.steal_attempts.load(Relaxed),
                injector_pops: w.injector_pops.load(Relaxed),
                sleeps: w.sleeps.load(Relaxed),
                wakes: w.wakes.load(Relaxed),
            })
            .collect();
        let submitted =
            self.external_submitted.load(Relaxed) + self.workers.iter().map(|w| w.submitted.load(Relaxed)).sum::<u64>();
        let completed =
            self.external_completed.load(Relaxed) + self.workers.iter().map(|w| w.completed.load(Relaxed)).sum::<u64>();
        EngineStats {
            metrics_enabled: self.enabled,
            submitted,
            completed,
            pending: submitted.saturating_sub(completed),
            queued_jobs: queued_jobs as u64,
            executed: workers.iter().map(|w| w.executed).sum(),
            stolen: workers.iter().map(|w| w.stolen).sum(),
            steal_attempts: workers.iter().map(|w| w.steal_attempts).sum(),
            injector_pops: workers.iter().map(|w| w.injector_pops).sum(),
            sleeps: workers.iter().map(|w| w.sleeps).sum(),
            wakes: workers.iter().map(|w| w.wakes).sum(),
            workers,
            worker_shortfall: 0,
        }
    }
}

/// One worker's counters at the time of [`crate::Engine::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Units of work this worker ran: group and spawned tasks, scope spawns, async
    /// polls, and `join` halves it stole (halves run inline by the forking worker
    /// are not counted).
    pub executed: u64,
    /// Jobs it took from another worker's deque.
    pub stolen: u64,
    /// Times it tried to steal from another worker.
    pub steal_attempts: u64,
    /// Batches it took from the engine's injector (submissions from outside).
    pub injector_pops: u64,
    /// Times it blocked for lack of work.
    pub sleeps: u64,
    /// Times it was woken from blocking.
    pub wakes: u64,
}

/// A snapshot of an engine's counters. Per-worker counters are only kept when the
/// engine was built with metrics on; `queued_jobs` is always live.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Whether counters were being kept.
    pub metrics_enabled: bool,
    /// Tasks submitted through spawns, groups and scopes (a submission refused
    /// with `QueueFull` or `Shutdown` is not counted).
    pub submitted: u64,
    /// Of those, how many have finished (including those skipped by cancellation).
    pub completed: u64,
    /// Submitted but not yet finished (queued or running).
    pub pending: u64,
    /// Jobs sitting in the injector and the workers' deques right now.
    pub queued_jobs: u64,
    /// Sum of the per-worker `executed`.
    pub executed: u64,
    /// Sum of the per-worker `stolen`.
    pub stolen: u64,
    /// Sum of the per-worker `steal_attempts`.
    pub steal_attempts: u64,
    /// Sum of the per-worker `injector_pops`.
    pub injector_pops: u64,
    /// Sum of the per-worker `sleeps`.
    pub sleeps: u64,
    /// Sum of the per-worker `wakes`.
    pub wakes: u64,
    /// Each worker's counters, by worker index.
    pub workers: Vec<WorkerStats>,
    /// Workers the config asked for that could not be started (the engine runs
    /// with fewer, as `Config::min_workers` allowed). Always live.
    pub worker_shortfall: u64,
}

// The counters of the worker running on this thread, while its engine keeps
// metrics, are `PerThread::worker_counters` (null elsewhere). They let a job
// count itself without knowing the registry (as rayon-core keeps `job.rs` free
// of it).

/// Makes `counters` this thread's worker counters (null: none) and returns the
/// previous ones.
///
/// # Safety
/// Non-null `counters` must stay valid until they are replaced on this thread.
pub(crate) unsafe fn set_worker_counters(counters: *const WorkerCounters) -> *const WorkerCounters {
    crate::per_thread::with(|t| t.worker_counters.replace(counters.cast())).cast()
}

/// Counts one unit of user work run on this thread, if it is a worker of an
/// engine that keeps metrics.
#[inline]
pub(crate) fn count_executed() {
    let ptr = crate::per_thread::with(|t| t.worker_counters.get()).cast::<WorkerCounters>();
    // SAFETY: set by `set_worker_counters`, whose caller keeps the counters alive
    // while they are set; only this thread reads the pointer.
    if let Some(c) = unsafe { ptr.as_ref() } {
        bump(&c.executed);
    }
}

impl WorkerStats {
    /// The counters by name: the one list the bindings build on (the Python dict
    /// takes its keys from it; the C struct `te_worker_stats` is checked against
    /// it by `tests/one_source.rs`).
    pub fn counters(&self) -> [(&'static str, u64); 6] {
        [
            ("executed", self.executed),
            ("stolen", self.stolen),
            ("steal_attempts", self.steal_attempts),
            ("injector_pops", self.injector_pops),
            ("sleeps", self.sleeps),
            ("wakes", self.wakes),
        ]
    }
}

impl EngineStats {
    /// The engine-wide counters by name, as [`WorkerStats::counters`] (the C
    /// struct `te_stats` has all but `worker_shortfall`, which came after it and
    /// would change its size).
    pub fn counters(&self) -> [(&'static str, u64); 11] {
        [
            ("submitted", self.submitted),
            ("completed", self.completed),
            ("pending", self.pending),
            ("queued_jobs", self.queued_jobs),
            ("executed", self.executed),
            ("stolen", self.stolen),
            ("steal_attempts", self.steal_attempts),
            ("injector_pops", self.injector_pops),
            ("sleeps", self.sleeps),
            ("wakes", self.wakes),
            ("worker_shortfall", self.worker_shortfall),
        ]
    }
}
