//! Engines: create, free, inspect; the default engine; the calling worker.

use super::boundary::{catch_panic, status};
use super::config::{config_from_c, te_config};
use super::last_error;
use super::live::LiveSet;
use super::ptr::{engine_arg, Out};
use super::status::te_status;
use crate::error::EngineError;
use crate::{current_task_cancelled, Engine};

/// An engine: a pool of worker threads and its queues. Made by te_engine_new,
/// released by te_engine_free. Every function taking a `te_engine *` may be called
/// from any thread, concurrently, while the engine is alive.
pub struct te_engine {
    pub(crate) engine: Engine,
}

/// The handles te_engine_new made and te_engine_free has not released yet.
static LIVE_ENGINES: LiveSet = LiveSet::new();

/// Starts an engine configured by `*cfg` (NULL = defaults) and stores it in `*out`.
///
/// Fails with TE_ERR_NULL if `out` is NULL; TE_ERR_INVALID if `cfg->size` is not
/// from te_config_init, `workers` is above 4096, or `stack_size` is below 262144
/// (and not 0); TE_ERR_THREAD_POOL if fewer worker threads than `min_workers` (0:
/// all of them) could be started, te_last_error_message naming the cause;
/// TE_ERR_UTF8 if `thread_name_prefix` is not UTF-8. On failure `*out` is not written. `cfg` is only read during the call
/// (the hooks and `hook_arg` are kept). Release the engine with te_engine_free.
///
/// # Safety
/// `cfg` must be NULL or an initialised `te_config`; `out` must be NULL or
/// writable. The hooks must be safe to call from the engine's worker threads.
#[no_mangle]
pub unsafe extern "C" fn te_engine_new(cfg: *const te_config, out: *mut *mut te_engine) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        // SAFETY: NULL or a te_config (caller's contract).
        let config = unsafe { config_from_c(cfg) }?;
        let engine = Engine::new(config)?;
        out.write(LIVE_ENGINES.make(te_engine { engine })?);
        Ok(())
    })
}

/// Shuts `engine` down and releases it: queued work still runs, then every worker
/// thread runs its stop hook and exits before this returns, so the library may be
/// unloaded right after. Groups made on it that are still alive get
/// TE_ERR_SHUTDOWN for new tasks (free them too). NULL is a no-op.
///
/// Called from one of the engine's own tasks it cannot wait for the workers (they
/// may be waiting on that very task, e.g. the stolen half of a te_join), nor from
/// a member of one of its teams (te_team_run): it then does nothing: the engine stays alive and owned by the caller, and
/// te_last_error_message() says why. Free it from a thread outside the engine.
///
/// A pointer te_engine_new did not return, or one already freed, is refused
/// without being read: nothing is done and te_last_error_message() says why
/// (an address a later te_engine_new reused belongs to that engine, as with
/// free()).
///
/// # Safety
/// `engine` must be NULL or come from te_engine_new and not have been freed, and
/// no other thread may be using it during or after this call.
#[no_mangle]
pub unsafe extern "C" fn te_engine_free(engine: *mut te_engine) {
    catch_panic(|| {
        if engine.is_null() {
            return;
        }
        // SAFETY (the deref): live, so made by te_engine_new and not freed.
        let released = LIVE_ENGINES.remove_if(engine, || !unsafe { &*engine }.engine.is_own_worker());
        match released {
            None => last_error::set(&EngineError::invalid(
                "te_engine_free: not an engine from te_engine_new, or one already freed; nothing was done",
            )),
            Some(false) => last_error::set(&EngineError::invalid(
                "te_engine_free called from one of the engine's own tasks: it cannot wait for \
                 its workers there; the engine was left alive (free it from another thread)",
            )),
            Some(true) => {
                // SAFETY: made by Box::into_raw in te_engine_new, and just taken
                // out of the live set: ownership comes back to us exactly once.
                drop(unsafe { Box::from_raw(engine) });
            }
        }
    })
}

/// The number of worker threads of `engine` (NULL = the current/default engine).
/// Returns 0 if the default engine was shut down, or on an internal error.
/// Thread-safe.
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn te_engine_workers(engine: *const te_engine) -> u32 {
    catch_panic(|| {
        // SAFETY: NULL or live (caller's contract).
        match unsafe { engine_arg(engine) } {
            Ok(e) => e.workers() as u32,
            Err(_) => 0,
        }
    })
}

/// A snapshot of an engine's counters, filled by te_engine_stats. Per-worker
/// counters are summed here; they are 0 when the engine was built with `metrics`
/// false. Counters are read without stopping the workers, so a snapshot taken
/// while work runs may be slightly inconsistent.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct te_stats {
    /// Number of worker threads.
    pub workers: u32,
    /// Whether counters are kept (te_config.metrics).
    pub metrics_enabled: bool,
    /// Tasks submitted through spawns and groups.
    pub submitted: u64,
    /// Of those, how many finished (including those skipped by cancellation).
    pub completed: u64,
    /// Submitted and not finished yet (queued or running).
    pub pending: u64,
    /// Jobs waiting in the engine's queues right now.
    pub queued_jobs: u64,
    /// Tasks and jobs run by the workers.
    pub executed: u64,
    /// Jobs taken from another worker's queue.
    pub stolen: u64,
    /// Attempts to steal.
    pub steal_attempts: u64,
    /// Batches taken from the queue of outside submissions.
    pub injector_pops: u64,
    /// Times a worker went to sleep for lack of work.
    pub sleeps: u64,
    /// Times a worker was woken.
    pub wakes: u64,
}

/// One worker's counters, filled by te_engine_worker_stats.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct te_worker_stats {
    /// Tasks and jobs this worker ran.
    pub executed: u64,
    /// Jobs it took from another worker's queue.
    pub stolen: u64,
    /// Times it tried to steal.
    pub steal_attempts: u64,
    /// Batches it took from the queue of outside submissions.
    pub injector_pops: u64,
    /// Times it went to sleep.
    pub sleeps: u64,
    /// Times it was woken.
    pub wakes: u64,
}

/// Writes a snapshot of `engine`'s counters (NULL = the current/default engine)
/// to `*out`. TE_ERR_NULL if `out` is NULL; TE_ERR_SHUTDOWN if `engine` is NULL
/// and the default engine was shut down. Thread-safe.
///
/// # Safety
/// `engine` must be NULL or a live engine; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_engine_stats(engine: *const te_engine, out: *mut te_stats) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        let s = engine.stats();
        out.write(te_stats {
            workers: s.workers.len() as u32,
            metrics_enabled: s.metrics_enabled,
            submitted: s.submitted,
            completed: s.completed,
            pending: s.pending,
            queued_jobs: s.queued_jobs,
            executed: s.executed,
            stolen: s.stolen,
            steal_attempts: s.steal_attempts,
            injector_pops: s.injector_pops,
            sleeps: s.sleeps,
            wakes: s.wakes,
        });
        Ok(())
    })
}

/// Writes worker `worker`'s counters (0 <= worker < te_engine_workers) of `engine`
/// (NULL = the current/default engine) to `*out`. TE_ERR_INVALID for an index out
/// of range, TE_ERR_NULL if `out` is NULL. Thread-safe.
///
/// # Safety
/// `engine` must be NULL or a live engine; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_engine_worker_stats(
    engine: *const te_engine,
    worker: u32,
    out: *mut te_worker_stats,
) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        let s = engine.stats();
        let w = s.workers.get(worker as usize).ok_or_else(|| {
            EngineError::invalid(format!("worker index {worker} out of range (engine has {})", s.workers.len()))
        })?;
        out.write(te_worker_stats {
            executed: w.executed,
            stolen: w.stolen,
            steal_attempts: w.steal_attempts,
            injector_pops: w.injector_pops,
            sleeps: w.sleeps,
            wakes: w.wakes,
        });
        Ok(())
    })
}

/// Shuts the default engine (the one a NULL `engine` argument means outside a
/// worker) down: its queued work finishes and its threads are joined before this
/// returns. Afterwards a NULL engine argument outside a worker gives
/// TE_ERR_SHUTDOWN (in a child process after fork() a new default engine is
/// built). Call it before unloading the library. Safe to call more than once, and
/// if the default engine was never started.
///
/// Returns TE_OK, or TE_ERR_INVALID (changing nothing) when called from a task
/// running on the default engine, or a member of a team on it: its workers may be
/// waiting on that very task (the stolen half of a te_join), so the shutdown
/// could never finish.
#[no_mangle]
pub extern "C" fn te_default_engine_shutdown() -> te_status {
    status(Engine::shutdown_global)
}

/// The index (0-based) of the worker thread running the caller, in whichever
/// engine; -1 on a thread that is not a worker.
#[no_mangle]
pub extern "C" fn te_current_worker_index() -> i32 {
    catch_panic(|| Engine::current_worker_index().map_or(-1, |i| i as i32))
}

/// True when called from a group task whose group has been cancelled: a long task
/// polls this to stop early. False anywhere else.
#[no_mangle]
pub extern "C" fn te_current_task_cancelled() -> bool {
    catch_panic(current_task_cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::LIVE_HANDLES_LOCK;

    fn new_engine() -> *mut te_engine {
        let mut engine = std::ptr::null_mut();
        // SAFETY: NULL config (defaults) and a writable out pointer.
        assert_eq!(unsafe { te_engine_new(std::ptr::null(), &mut engine) }, te_status::TE_OK);
        engine
    }

    #[test]
    fn engine_freed_twice_is_refused_without_being_read() {
        let engine = new_engine();
        // SAFETY: live, from te_engine_new.
        unsafe { te_engine_free(engine) };
        // SAFETY: the misuse under test: the handle is not read, only compared.
        unsafe { te_engine_free(engine) };
        assert!(last_error::get().contains("already freed"), "{}", last_error::get());
    }

    /// A fork while another thread holds the live-engine lock must not leave the
    /// child's te_engine_new and te_engine_free waiting for it forever.
    #[test]
    #[cfg_attr(taskengine_tsan, ignore = "ThreadSanitizer does not support threads started after fork")]
    fn forked_child_can_make_and_free_engines_though_the_parent_held_the_lock() {
        // Builds a registry, which installs the fork handler.
        let first = new_engine();
        let status = LIVE_HANDLES_LOCK.with(|| {
            // SAFETY: fork has no memory-safety preconditions; the child only
            // makes and frees an engine, then `_exit`s.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let engine = new_engine();
                // SAFETY: live, from te_engine_new.
                unsafe { te_engine_free(engine) };
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(0) };
            }
            pid
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut raw = 0;
        loop {
            // SAFETY: our own child, a valid status pointer.
            let r = unsafe { libc::waitpid(status, &mut raw, libc::WNOHANG) };
            if r == status {
                break;
            }
            if std::time::Instant::now() > deadline {
                // SAFETY: killing and reaping our own hung child.
                unsafe {
                    libc::kill(status, libc::SIGKILL);
                    libc::waitpid(status, &mut raw, 0);
                }
                panic!("the child hung on the live-engine lock its parent held at fork");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(libc::WIFEXITED(raw) && libc::WEXITSTATUS(raw) == 0, "child status {raw}");
        // SAFETY: live, from te_engine_new.
        unsafe { te_engine_free(first) };
    }
}
