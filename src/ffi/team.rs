//! Teams: calls guaranteed to run at the same time on distinct threads.

use std::ffi::c_void;

use super::boundary::status;
use super::engine::te_engine;
use super::ptr::{engine_arg, Out, UserArg};
use super::status::te_status;
use super::task::task_result;
use crate::error::EngineError;

/// A team member: called once for each `member` in [0, members), all at the same
/// time on distinct threads. Returns 0 for success; anything else fails the team
/// with TE_ERR_TASK_FAILED.
pub type te_team_fn = Option<unsafe extern "C-unwind" fn(arg: *mut c_void, member: u32, members: u32) -> i32>;

/// The most members a team may have (te_team_run).
pub const TE_TEAM_MAX_MEMBERS: u32 = 1024;
// A literal above so that cbindgen writes it; kept equal to the engine's limit.
const _: () = assert!(TE_TEAM_MAX_MEMBERS as usize == crate::engine::MAX_TEAM_MEMBERS);

/// Calls `fn(arg, member, members)` for every `member` in [0, members), all at the
/// same time on `members` distinct threads, and returns when every call has
/// returned. The members may wait on each other (spin on flags, meet at a
/// barrier): the calling thread runs member 0 and every other member gets a
/// thread of its own, never a place in a queue, so a team cannot deadlock behind
/// other work, whether called from outside or inside a task, with every worker
/// busy or blocked, or from inside another team's member. Those threads come from
/// a small cache the engine keeps (parked between teams, exiting after 5 s idle,
/// joined by te_engine_free; counted by te_engine_team_stats); members never run
/// on the engine's workers, except member 0 when the caller is one. Team threads
/// are named `{thread_name_prefix}-team`, use the engine's `stack_size` and do
/// not run the thread start/stop hooks. A team of 1 calls `fn` on the caller only.
/// `engine` NULL = the current/default engine.
///
/// Every member is called, whatever the others return. Inside a member a NULL
/// engine means the worker's engine when the member runs on a worker (member 0
/// called from a task), else the team's engine; work a member submits from a team
/// thread (te_join, te_spawn, groups) is queued as from outside the engine and
/// needs a free worker, so a member must not wait for such work while the
/// workers are all blocked.
///
/// Returns TE_ERR_TASK_FAILED with the first non-zero code a member returned,
/// TE_ERR_PANIC if a member panicked first (Rust callbacks); TE_ERR_NULL if `fn`
/// is NULL; TE_ERR_INVALID if `members` is 0 or above TE_TEAM_MAX_MEMBERS, or a
/// team thread cannot be started (no member has run then); TE_ERR_SHUTDOWN if the
/// engine was shut down (or was inherited through fork()).
///
/// # Safety
/// `engine` must be NULL or a live engine. `fn` must be safe to call from
/// `members` threads at once with `arg`.
#[no_mangle]
pub unsafe extern "C" fn te_team_run(
    engine: *mut te_engine,
    members: u32,
    r#fn: te_team_fn,
    arg: *mut c_void,
) -> te_status {
    status(|| {
        let Some(func) = r#fn else { return Err(EngineError::Null) };
        let arg = UserArg::new(arg);
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        engine.team(members as usize, move |member, members| {
            // SAFETY: concurrent calls with `arg` are allowed (caller's contract);
            // both numbers fit u32 (members was one).
            task_result(crate::alloc::task_scope(|| unsafe { func(arg.get(), member as u32, members as u32) }))
        })
    })
}

/// Counters of an engine's team threads, filled by te_engine_team_stats.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct te_team_stats {
    /// Teams of more than one member run since the engine started.
    pub runs: u64,
    /// Team threads started since the engine started.
    pub threads_started: u64,
    /// Team threads alive now (running a member, or parked).
    pub threads_alive: u64,
    /// Team threads parked now, ready for the next team.
    pub threads_parked: u64,
}

/// Writes the counters of `engine`'s team threads (NULL = the current/default
/// engine) to `*out`. TE_ERR_NULL if `out` is NULL; TE_ERR_SHUTDOWN if `engine`
/// is NULL and the default engine was shut down. Thread-safe. In a child process
/// after fork(), an engine inherited from the parent has no team thread alive.
///
/// # Safety
/// `engine` must be NULL or a live engine; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn te_engine_team_stats(engine: *const te_engine, out: *mut te_team_stats) -> te_status {
    status(|| {
        // SAFETY: NULL or writable (caller's contract).
        let out = unsafe { Out::new(out) }?;
        // SAFETY: NULL or live (caller's contract).
        let engine = unsafe { engine_arg(engine) }?;
        let s = engine.team_stats();
        out.write(te_team_stats {
            runs: s.runs,
            threads_started: s.threads_started,
            threads_alive: s.threads_alive,
            threads_parked: s.threads_parked,
        });
        Ok(())
    })
}
