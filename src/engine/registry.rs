//! The registry: an engine's shared state, its worker threads and their main loop.

use std::cell::Cell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use super::deque::{Deque, Steal, Stealer};

use super::admission::Admission;
use super::config::{Config, ThreadHook};
use super::fork::{fork_generation, installed_fork_generation};
use super::job::{JobRef, StackJob};
use super::latch::{CoreLatch, LockLatch};
use super::metrics::{bump, EngineStats, Metrics};
use super::pool::Pool;
use super::queue::{BlockQueue, BLOCK_CAP};
use super::services::Services;
use super::sleep::{IdleState, IdleWait, Sleep, Slept};
use super::stack::StackLimits;
use super::unwind;
use crate::error::{EngineError, Result};
use crate::per_thread;

static NEXT_REGISTRY_ID: AtomicUsize = AtomicUsize::new(1);

/// Most extra jobs a worker moves from the injector to its deque at once.
const MAX_INJECTOR_BATCH: usize = 32;

/// Victims a spinning worker probes per search; only the last search before it
/// sleeps looks at every deque. Keeps idle spinning O(1) in the worker count.
const SPIN_PROBES: usize = 16;

/// Something a worker can wait for while it keeps busy.
pub(crate) trait Waitable {
    fn is_done(&self) -> bool;
    /// Runs one unit of this wait's own work, if any is pending (a group's queued
    /// task, a handle's unstarted task). Allowed even when stealing is not.
    fn run_own_work(&self, _worker: &WorkerThread) -> bool {
        false
    }
    /// With the worker's sleeper slot locked: announce the sleep; true = already done.
    fn register(&self, worker: usize) -> bool;
    fn unregister(&self, worker: usize);
}

pub(crate) struct Registry {
    pub(crate) id: usize,
    /// Jobs from outside the pool. Its blocks, like the group queues' and the
    /// spawned tasks' records, are recycled: see `pool.rs`.
    injector: BlockQueue<JobRef>,
    stealers: Vec<Stealer>,
    pub(crate) sleep: Sleep,
    pub(crate) metrics: Metrics,
    work_stealing: bool,
    spin_budget: u32,
    fork_generation: u64,
    /// Set once by shutdown; submissions from outside are refused from then on.
    terminating: AtomicBool,
    /// Outside submitters between their `terminating` check and their push; workers
    /// do not exit while this is non-zero, so a push that passed the check is run.
    submitters: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Slots of a bounded engine's queue for outside submissions.
    admission: Admission,
    on_thread_start: Option<ThreadHook>,
    on_thread_stop: Option<ThreadHook>,
    /// Workers past their start-up; `new` waits for all of them, so no worker is
    /// still inside thread start-up (and its allocations) when the engine is handed
    /// out: a `fork()` right after creation cannot catch one holding a lock.
    started: (Mutex<usize>, Condvar),
    /// Workers the config asked for that could not be started (graceful
    /// degradation down to `Config::min_workers`), and why.
    pub(crate) shortfall: usize,
    pub(crate) start_failure: Option<EngineError>,
    /// The pools, timer, teams and scratch of the layers above (`services.rs`).
    pub(crate) services: Services,
}

/// What a worker thread gets once the engine it belongs to exists: threads are
/// started first, so that the engine is built for exactly the workers that came up.
type Handoff = std::sync::mpsc::Receiver<Option<(Arc<Registry>, Deque)>>;

#[cfg(test)]
thread_local! {
    /// Tests: the index of the first worker thread whose start fails (as if the
    /// system were out of threads), for engines built on this thread.
    pub(crate) static FAIL_THREAD_SPAWN_AT: Cell<Option<usize>> = const { Cell::new(None) };
}

fn spawn_thread(
    builder: std::thread::Builder,
    index: usize,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    #[cfg(test)]
    if FAIL_THREAD_SPAWN_AT.with(Cell::get).is_some_and(|at| index >= at) {
        return Err(std::io::Error::new(std::io::ErrorKind::WouldBlock, "Resource temporarily unavailable (injected)"));
    }
    let _ = index;
    builder.spawn(body)
}

/// A worker's own state; lives on its thread's stack for the thread's lifetime.
pub(crate) struct WorkerThread {
    deque: Deque,
    pub(crate) index: usize,
    pub(crate) registry: Arc<Registry>,
    rng: Cell<u64>,
    /// Below its floors this worker stops taking unrelated work while it waits, so
    /// nested helping cannot overflow the stack, and refuses a fork (`join`) with
    /// `StackExhausted` instead of recursing into a stack overflow.
    stack: StackLimits,
    /// The registry's fork generation, kept here so that the hot check "is this
    /// worker still ours, or a copy in a forked child" is one load away.
    fork_generation: u64,
}

/// Runs a worker's whole life (the closure) inside the per-thread context the
/// layer above keeps for it (the engine handle `Engine::current` gives a task).
pub(crate) type WorkerEntry = fn(&Arc<Registry>, &mut dyn FnMut());

impl Registry {
    pub(crate) fn new(config: &Config, entry: WorkerEntry) -> Result<Arc<Registry>> {
        let workers = config.resolved_workers();
        if workers > super::config::MAX_WORKERS {
            return Err(EngineError::invalid(format!(
                "{workers} workers is more than the {} supported",
                super::config::MAX_WORKERS
            )));
        }
        if config.stack_size != 0 && config.stack_size < super::config::MIN_STACK_SIZE {
            return Err(EngineError::invalid(format!(
                "stack_size {} is below the {} bytes the kernels and the engine's own frames need",
                config.stack_size,
                super::config::MIN_STACK_SIZE
            )));
        }
        if config.thread_name_prefix.as_bytes().contains(&0) {
            return Err(EngineError::invalid("thread_name_prefix contains a NUL byte"));
        }
        // Start the threads first; each waits for its engine (or for None: give up).
        let mut threads = Vec::with_capacity(workers);
        let mut handoffs = Vec::with_capacity(workers);
        let mut start_failure = None;
        for index in 0..workers {
            let mut builder = std::thread::Builder::new().name(format!("{}-{index}", config.thread_name_prefix));
            if config.stack_size != 0 {
                builder = builder.stack_size(config.stack_size);
            }
            let (tx, rx): (_, Handoff) = std::sync::mpsc::sync_channel(1);
            let stack_size = config.stack_size;
            let body = move || {
                if let Ok(Some((registry, deque))) = rx.recv() {
                    worker_main(registry, index, deque, stack_size, entry);
                }
            };
            match spawn_thread(builder, index, body) {
                Ok(handle) => {
                    threads.push(handle);
                    handoffs.push(tx);
                }
                Err(err) => {
                    start_failure = Some(format!("cannot start worker thread {index}: {err}"));
                    break;
                }
            }
        }
        let started = threads.len();
        let required = if config.min_workers == 0 { workers } else { config.min_workers.min(workers) };
        if started < required {
            for tx in handoffs {
                let _ = tx.send(None);
            }
            for handle in threads {
                let _ = handle.join();
            }
            return Err(EngineError::ThreadPool {
                message: format!(
                    "started {started} of {workers} worker threads, fewer than the {required} required: {}",
                    start_failure.unwrap_or_default()
                ),
            });
        }
        let deques: Vec<Deque> = (0..started).map(|_| Deque::new()).collect();
        let pooled_blocks = config.task_pool_capacity.div_ceil(BLOCK_CAP);
        let registry = Arc::new(Registry {
            id: NEXT_REGISTRY_ID.fetch_add(1, Relaxed),
            injector: BlockQueue::new(Arc::new(Pool::new(pooled_blocks))),
            stealers: deques.iter().map(Deque::stealer).collect(),
            sleep: Sleep::new(started),
            metrics: Metrics::new(started, config.metrics),
            work_stealing: config.work_stealing,
            spin_budget: config.spin_budget,
            fork_generation: fork_generation(),
            terminating: AtomicBool::new(false),
            submitters: AtomicUsize::new(0),
            threads: Mutex::new(threads),
            admission: Admission::new(config.queue_capacity),
            on_thread_start: config.on_thread_start.clone(),
            on_thread_stop: config.on_thread_stop.clone(),
            started: (Mutex::new(0), Condvar::new()),
            shortfall: workers - started,
            start_failure: start_failure.map(|message| EngineError::ThreadPool { message }),
            services: Services::new(config, workers),
        });
        for (tx, deque) in handoffs.into_iter().zip(deques) {
            // The thread is alive and waiting on the other end, so this cannot fail.
            let _ = tx.send(Some((Arc::clone(&registry), deque)));
        }
        registry.wait_until_started(started);
        Ok(registry)
    }

    fn wait_until_started(&self, workers: usize) {
        let (count, cond) = &self.started;
        let mut started = super::sync::std_lock(count);
        while *started < workers {
            started = super::sync::std_wait(cond, started);
        }
    }

    fn mark_started(&self) {
        let (count, cond) = &self.started;
        *super::sync::std_lock(count) += 1;
        cond.notify_all();
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.stealers.len()
    }

    /// Usable for new work: not shut down, and not inherited through `fork()`.
    pub(crate) fn is_alive(&self) -> bool {
        !self.terminating.load(Acquire) && self.fork_generation == fork_generation()
    }

    #[inline]
    pub(crate) fn is_forked_away(&self) -> bool {
        // The handler was installed when this registry was built.
        self.fork_generation != installed_fork_generation()
    }

    pub(crate) fn check_alive(&self) -> Result<()> {
        if self.is_alive() {
            Ok(())
        } else {
            Err(EngineError::Shutdown)
        }
    }

    /// Like `check_alive`, but a task of this engine may still use it while the
    /// engine drains its queued work after shutdown: what the task forks or spawns
    /// from its worker is run before that worker exits.
    pub(crate) fn check_usable_here(&self) -> Result<()> {
        if WorkerThread::current_of(self).is_some() && !self.is_forked_away() {
            Ok(())
        } else {
            self.check_alive()
        }
    }

    /// Pushes a job from a thread outside the pool.
    pub(crate) fn inject(&self, job: JobRef) -> Result<()> {
        self.submitters.fetch_add(1, SeqCst);
        // Pairs with the fence in the worker's exit check: either we see
        // `terminating` and back out, or the worker sees us in `submitters`.
        std::sync::atomic::fence(SeqCst);
        if self.terminating.load(SeqCst) || self.is_forked_away() {
            self.submitters.fetch_sub(1, SeqCst);
            return Err(EngineError::Shutdown);
        }
        self.injector.push(job);
        self.sleep.new_injected_jobs();
        self.submitters.fetch_sub(1, SeqCst);
        Ok(())
    }

    /// Pushes a job from anywhere: the current worker's deque if it is one of ours.
    pub(crate) fn push(&self, job: JobRef) -> Result<()> {
        match WorkerThread::current_of(self) {
            Some(worker) => {
                worker.push(job);
                Ok(())
            }
            None => self.inject(job),
        }
    }

    /// Accounts for a task submitted from outside the pool. With a bounded queue
    /// it takes a slot (waiting for one if `block`, else failing with `QueueFull`)
    /// and returns true: the task must give the slot back with `release_external`
    /// when it starts. Unbounded engines keep no count (no shared counter to bounce).
    #[inline]
    pub(crate) fn reserve_external(&self, block: bool) -> Result<bool> {
        let holds_slot = self.admission.reserve(block, &|| self.is_alive())?;
        self.count_external_submitted();
        Ok(holds_slot)
    }

    fn count_external_submitted(&self) {
        if self.metrics.enabled {
            self.metrics.external_submitted.fetch_add(1, Relaxed);
        }
    }

    /// Counts one submitted task: on the worker's own counter from one of our
    /// workers, else on the shared one.
    pub(crate) fn count_submitted(&self) {
        match WorkerThread::current_of(self) {
            Some(worker) => {
                if let Some(c) = worker.counters() {
                    bump(&c.submitted);
                }
            }
            None => self.count_external_submitted(),
        }
    }

    /// Counts `n` finished tasks, as `count_submitted` does.
    pub(crate) fn count_completed(&self, n: u64) {
        if !self.metrics.enabled || n == 0 {
            return;
        }
        match WorkerThread::current_of(self) {
            Some(worker) => {
                let c = &self.metrics.workers[worker.index].completed;
                c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
            }
            None => {
                self.metrics.external_completed.fetch_add(n, Relaxed);
            }
        }
    }

    /// An outside task started (or was dropped): make room for the next one.
    pub(crate) fn release_external(&self) {
        self.admission.release();
    }

    /// Runs `op` on a worker of this registry: directly if we are one, otherwise by
    /// injecting it and blocking until it is done. The direct case must inline into
    /// its caller: passing the closure by value through a call costs more (stack
    /// copies, store-forwarding stalls) than a whole fork does.
    #[inline]
    pub(crate) fn in_worker<OP, R>(&self, op: OP) -> Result<R>
    where
        OP: FnOnce(&WorkerThread, bool) -> R + Send,
        R: Send,
    {
        match WorkerThread::current_of(self) {
            Some(worker) => Ok(op(worker, false)),
            None => self.in_worker_cold(op),
        }
    }

    #[cold]
    fn in_worker_cold<OP, R>(&self, op: OP) -> Result<R>
    where
        OP: FnOnce(&WorkerThread, bool) -> R + Send,
        R: Send,
    {
        self.check_alive()?;
        let job = StackJob::new(
            |_migrated| {
                let worker = WorkerThread::current().expect("injected job runs on a worker");
                op(worker, true)
            },
            LockLatch::new(),
        );
        // SAFETY: `job` lives on this stack until `latch.wait()` returns, which is
        // after the job has run and set the latch; it is pushed exactly once.
        self.inject(unsafe { job.as_job_ref() })?;
        job.latch.wait();
        // SAFETY: the latch is set, so the result has been written.
        Ok(unsafe { job.into_result() })
    }

    pub(crate) fn queued_jobs(&self) -> usize {
        self.injector.len() + self.stealers.iter().map(|s| s.len()).sum::<usize>()
    }

    pub(crate) fn stats(&self) -> EngineStats {
        let mut stats = self.metrics.snapshot(self.queued_jobs());
        stats.worker_shortfall = self.shortfall as u64;
        stats
    }

    /// Stops accepting outside work and wakes every worker so it drains and exits.
    pub(crate) fn terminate(&self) {
        self.terminating.store(true, SeqCst);
        if self.is_forked_away() {
            // A forked child: the parent's threads are not here to wake, and a lock
            // one of them held at fork time would never be released. Touch none.
            return;
        }
        self.services.close();
        self.sleep.wake_all();
        self.admission.wake_all();
    }

    /// Terminates and joins every worker (each runs its stop hook before exiting).
    /// From one of our own workers it only terminates: the other workers may be
    /// waiting on the very task that called (a stolen `join` half), so joining them
    /// could deadlock; they exit on their own once the queued work is done. The same
    /// from a member of one of its teams (the team's caller waits for it).
    pub(crate) fn terminate_and_join(&self) {
        self.terminate();
        if self.is_forked_away()
            || WorkerThread::current_of(self).is_some()
            || self.services.called_from_member(self.id)
        {
            // Forked: the threads belong to the parent process, nothing to join.
            return;
        }
        let handles = std::mem::take(&mut *super::sync::std_lock(&self.threads));
        for handle in handles {
            let _ = handle.join();
        }
        // After the workers: a task draining at shutdown may still run a team.
        self.services.join();
    }
}

fn worker_main(registry: Arc<Registry>, index: usize, deque: Deque, stack_size: usize, entry: WorkerEntry) {
    let stack = StackLimits::of_current_thread(stack_size);
    let worker = WorkerThread {
        deque,
        index,
        rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)),
        stack,
        fork_generation: registry.fork_generation,
        registry,
    };
    per_thread::with(|t| t.worker.set((&raw const worker).cast()));
    let counters = worker.counters().map_or(std::ptr::null(), |c| c as *const _);
    // SAFETY: the counters belong to the registry `worker` holds, and are unset
    // below, before `worker` goes.
    unsafe { super::metrics::set_worker_counters(counters) };
    entry(&worker.registry, &mut || worker.run());
    // SAFETY: unsetting.
    unsafe { super::metrics::set_worker_counters(std::ptr::null()) };
    per_thread::with(|t| t.worker.set(std::ptr::null()));
}

impl WorkerThread {
    /// Start-up, the user's hooks around the main loop, until shutdown.
    fn run(&self) {
        let index = self.index;
        // Before the user's hook, as Rayon does: a hook that waits for the engine
        // being built must not deadlock its construction.
        self.registry.mark_started();
        if let Some(hook) = &self.registry.on_thread_start {
            // A failing hook must not take the worker down with it.
            let _ = unwind::halt_unwinding(|| hook(index));
        }
        {
            let abort_guard = unwind::AbortIfPanic;
            self.main_loop();
            std::mem::forget(abort_guard);
        }
        if let Some(hook) = &self.registry.on_thread_stop {
            let _ = unwind::halt_unwinding(|| hook(index));
        }
    }

    /// The worker running on this thread, if any (of any registry).
    #[inline]
    pub(crate) fn current() -> Option<&'static WorkerThread> {
        let ptr = per_thread::with(|t| t.worker.get()).cast::<WorkerThread>();
        // SAFETY: the pointer is set by `worker_main` to a WorkerThread on its stack
        // and cleared before that frame ends; only this thread reads it, and all uses
        // are within the worker's lifetime (jobs run inside `main_loop`).
        unsafe { ptr.as_ref() }
    }

    /// The current worker if it belongs to `registry`.
    #[inline]
    pub(crate) fn current_of(registry: &Registry) -> Option<&'static WorkerThread> {
        Self::current().filter(|w| w.registry.id == registry.id)
    }

    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        self.deque.push(job);
        self.registry.sleep.new_internal_jobs();
    }

    /// Puts back a job just taken with `take_local` (nobody needs waking: it was
    /// there a moment ago).
    #[inline]
    pub(crate) fn put_back(&self, job: JobRef) {
        self.deque.push(job);
    }

    /// Pops the most recently pushed job of our own deque.
    #[inline]
    pub(crate) fn take_local(&self) -> Option<JobRef> {
        self.deque.pop()
    }

    /// `take_local` for a fork taking back its own half: likely still there.
    #[inline]
    pub(crate) fn take_back_local(&self) -> Option<JobRef> {
        self.deque.pop_pushed()
    }

    #[inline]
    pub(crate) fn counters(&self) -> Option<&super::metrics::WorkerCounters> {
        if self.registry.metrics.enabled {
            Some(&self.registry.metrics.workers[self.index])
        } else {
            None
        }
    }

    /// True on a copy of this worker in a child forked from inside a task (the
    /// thread-locals came along; the worker did not).
    #[inline]
    pub(crate) fn is_forked_away(&self) -> bool {
        self.fork_generation != installed_fork_generation()
    }

    /// True while this worker has stack enough to fork deeper (`join`).
    #[inline]
    pub(crate) fn can_fork_deeper(&self) -> bool {
        self.stack.can_fork_deeper()
    }

    /// The error for a fork refused by [`WorkerThread::can_fork_deeper`].
    #[cold]
    #[inline(never)]
    pub(crate) fn stack_exhausted(&self) -> EngineError {
        EngineError::StackExhausted {
            depth_hint: format!(
                "join refused on worker {}: its stack is nearly used up (recursion through \
                 join is too deep for the workers' stack_size)",
                self.index
            ),
        }
    }

    /// True while this worker has enough stack left to take on unrelated work.
    #[inline]
    pub(crate) fn can_take_unrelated_work(&self) -> bool {
        self.stack.can_take_unrelated_work()
    }

    fn next_random(&self) -> u64 {
        // xorshift64*: fast, good enough to spread victims.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Local deque, then the injector, then (if enabled) every other worker,
    /// starting at a random victim.
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        self.find_work_in(true)
    }

    /// As `find_work`; unless `full`, it probes at most `SPIN_PROBES` random victims.
    fn find_work_in(&self, full: bool) -> Option<JobRef> {
        if let Some(job) = self.deque.pop() {
            return Some(job);
        }
        if let Some(job) = self.steal_from_injector() {
            return Some(job);
        }
        if self.registry.work_stealing {
            return self.steal_from_others(if full { usize::MAX } else { SPIN_PROBES });
        }
        None
    }

    fn steal_from_injector(&self) -> Option<JobRef> {
        let injector = &self.registry.injector;
        let job = injector.pop()?;
        if let Some(c) = self.counters() {
            bump(&c.injector_pops);
        }
        // Take a share of the rest in one go (half, as crossbeam's batch steal
        // does), so a burst from outside spreads over the deques. Pushed in reverse:
        // our deque pops the newest first, and outside jobs should start in the
        // order they came.
        let share = (injector.len() / 2).min(MAX_INJECTOR_BATCH);
        if share > 0 {
            self.take_injected_batch(share);
        }
        Some(job)
    }

    /// Moves up to `share` outside jobs to our deque, oldest on top.
    fn take_injected_batch(&self, share: usize) {
        let mut batch = [None::<JobRef>; MAX_INJECTOR_BATCH];
        let mut taken = 0;
        while taken < share {
            match self.registry.injector.pop() {
                Some(extra) => {
                    batch[taken] = Some(extra);
                    taken += 1;
                }
                None => break,
            }
        }
        for extra in batch[..taken].iter().rev().flatten() {
            self.deque.push(*extra);
        }
        if taken > 0 {
            // Others may find part of the batch in our deque.
            self.registry.sleep.new_internal_jobs();
        }
    }

    /// Tries up to `probes` victims (all of them, when `probes >= n - 1`) in
    /// random-start order; a sample when it is fewer.
    fn steal_from_others(&self, probes: usize) -> Option<JobRef> {
        let stealers = &self.registry.stealers;
        let n = stealers.len();
        if n <= 1 {
            return None;
        }
        let sampled = probes < n - 1;
        loop {
            let mut retry = false;
            let start = (self.next_random() % n as u64) as usize;
            for offset in 0..n.min(probes.saturating_add(1)) {
                let victim = if sampled { (self.next_random() % n as u64) as usize } else { (start + offset) % n };
                if victim == self.index {
                    continue;
                }
                if let Some(c) = self.counters() {
                    bump(&c.steal_attempts);
                }
                // A look first: an idle worker probes empty deques most of the
                // time, and `steal` writes to the victim's shared counters.
                if stealers[victim].is_empty() {
                    continue;
                }
                match stealers[victim].steal() {
                    Steal::Success(job) => {
                        if let Some(c) = self.counters() {
                            bump(&c.stolen);
                        }
                        return Some(job);
                    }
                    Steal::Empty => {}
                    Steal::Retry => retry = true,
                }
            }
            if !retry {
                return None;
            }
        }
    }

    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        // SAFETY: every JobRef in our queues is executed exactly once, by whoever
        // takes it out.
        unsafe { job.execute() }
    }

    fn main_loop(&self) {
        let registry = &*self.registry;
        let mut idle = IdleState::new();
        loop {
            if let Some(job) = self.find_work_in(idle.needs_full_search()) {
                idle = IdleState::new();
                self.execute(job);
                continue;
            }
            if registry.terminating.load(SeqCst) {
                // Pairs with the fence in `Registry::inject`.
                std::sync::atomic::fence(SeqCst);
                // Exit only when no outside submitter is mid-push; otherwise its job
                // could land after we left (pairs with `Registry::inject`).
                if registry.submitters.load(SeqCst) == 0 && self.find_work_once_more() {
                    continue;
                }
                if registry.submitters.load(SeqCst) == 0 {
                    return;
                }
                std::thread::yield_now();
                continue;
            }
            let slept = registry.sleep.no_work_found(
                &mut idle,
                IdleWait {
                    worker: self.index,
                    spin_budget: registry.spin_budget,
                    general: true,
                    deadline: None,
                    register: &mut || self.counted_register(registry.terminating.load(SeqCst)),
                    unregister: &mut || {},
                },
            );
            self.count_wake(slept);
        }
    }

    /// Runs whatever is left; returns true if it found anything.
    fn find_work_once_more(&self) -> bool {
        match self.find_work() {
            Some(job) => {
                self.execute(job);
                true
            }
            None => false,
        }
    }

    /// `register`'s answer, counting a sleep when it says the worker will block.
    fn counted_register(&self, already_done: bool) -> bool {
        if !already_done {
            if let Some(c) = self.counters() {
                bump(&c.sleeps);
            }
        }
        already_done
    }

    fn count_wake(&self, slept: Slept) {
        if slept == Slept::Woke {
            if let Some(c) = self.counters() {
                bump(&c.wakes);
            }
        }
    }

    /// Waits for a join half that was stolen, running other work meanwhile.
    pub(crate) fn wait_for_latch(&self, latch: &CoreLatch) {
        if !latch.probe() {
            self.wait_until(latch, false, None);
        }
    }

    /// Keeps busy until `target` is done: its own work first, then (unless
    /// `isolated`, or the stack is past its half) any other work; sleeps when there
    /// is none. With a deadline it only sleeps, so it returns on time. Returns
    /// whether `target` is done (false only at the deadline).
    pub(crate) fn wait_until(&self, target: &dyn Waitable, isolated: bool, deadline: Option<Instant>) -> bool {
        let registry = &*self.registry;
        let mut idle = IdleState::new();
        loop {
            if target.is_done() {
                return true;
            }
            // A timed wait takes on no work: one task could outlast the deadline.
            let timed = deadline.is_some();
            if !timed && target.run_own_work(self) {
                idle = IdleState::new();
                continue;
            }
            let helping = !timed && !isolated && self.can_take_unrelated_work();
            if helping {
                if let Some(job) = self.find_work_in(idle.needs_full_search()) {
                    idle = IdleState::new();
                    self.execute(job);
                    continue;
                }
            } else if !timed && !isolated {
                // Deep stack: our own deque only. Those jobs were pushed by frames
                // on this stack, so running them nests no deeper than the program's
                // own recursion; stealing would nest without bound.
                if let Some(job) = self.take_local() {
                    idle = IdleState::new();
                    self.execute(job);
                    continue;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return target.is_done();
            }
            let index = self.index;
            let slept = registry.sleep.no_work_found(
                &mut idle,
                IdleWait {
                    worker: index,
                    spin_budget: registry.spin_budget,
                    general: helping,
                    deadline,
                    register: &mut || self.counted_register(target.register(index)),
                    unregister: &mut || target.unregister(index),
                },
            );
            self.count_wake(slept);
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        // Only reached once every worker (each holds an Arc) is gone, so the
        // queues are empty unless the process forked; leaking is then the only
        // safe choice, and JobRefs do not own anything we could free here.
        debug_assert!(self.is_forked_away() || self.injector.is_empty());
        // Shut down from one of its own tasks, the engine joined no team thread:
        // do it now (the workers are gone). A forked child has none to join.
        if !self.is_forked_away() {
            self.services.teams.shutdown();
        }
    }
}
