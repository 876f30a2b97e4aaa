//! What the layers above the scheduler keep per engine: the recycled records of
//! groups and spawned tasks, the retry timer, the team threads and the kernels'
//! scratch memory. Each belongs to the layer that uses it; the registry carries
//! this one value for them (so a worker reaches its engine's pools without a
//! lookup) and calls `close` and `join` at shutdown, without knowing what is inside.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::config::Config;
use super::group::QueuedTask;
use super::handle::SpawnRecord;
use super::pool::Pool;
use super::queue::{BlockPool, BLOCK_CAP};
use super::sync::std_lock;
use super::team::TeamCache;
use super::timer::Timer;
use crate::kernels::scratch::ScratchCache;

pub(crate) struct Services {
    /// Blocks of the groups' task queues (`group.rs`).
    pub(crate) group_blocks: Arc<BlockPool<QueuedTask>>,
    /// Records of spawned tasks (`handle/record.rs`).
    pub(crate) spawn_records: Arc<Pool<SpawnRecord>>,
    /// Wakes retries when their backoff is over (`retry.rs`); its thread starts on first use.
    pub(crate) timer: Timer,
    /// The timer's thread once stopped, for `join`.
    timer_thread: Mutex<Option<JoinHandle<()>>>,
    /// Threads for team members (`team.rs`).
    pub(crate) teams: TeamCache,
    /// Scratch memory the kernels keep between calls (`kernels::scratch`).
    pub(crate) kernel_scratch: ScratchCache,
}

impl Services {
    pub(crate) fn new(config: &Config, workers: usize) -> Services {
        Services {
            group_blocks: Arc::new(Pool::new(config.task_pool_capacity.div_ceil(BLOCK_CAP))),
            spawn_records: Arc::new(Pool::new(config.task_pool_capacity)),
            timer: Timer::new(format!("{}-timer", config.thread_name_prefix)),
            timer_thread: Mutex::new(None),
            teams: TeamCache::new(workers, &config.thread_name_prefix, config.stack_size),
            kernel_scratch: ScratchCache::new(),
        }
    }

    /// At shutdown, before the workers drain: a shut-down engine keeps no scratch
    /// memory, and retries waiting out a backoff end now (with `Shutdown`).
    pub(crate) fn close(&self) {
        self.kernel_scratch.close();
        if let Some(thread) = self.timer.stop() {
            *std_lock(&self.timer_thread) = Some(thread);
        }
    }

    /// After the workers are joined (a task draining at shutdown may still run a
    /// team): joins the timer's and the teams' threads.
    pub(crate) fn join(&self) {
        let timer_thread = std_lock(&self.timer_thread).take();
        if let Some(thread) = timer_thread {
            let _ = thread.join();
        }
        self.teams.shutdown();
    }

    /// Whether the calling thread is a member of one of this engine's teams (whose
    /// caller waits for it, so joining the engine's threads from it would deadlock).
    pub(crate) fn called_from_member(&self, registry_id: usize) -> bool {
        super::team::in_member_of(registry_id)
    }
}
