//! The C ABI: every `te_` function of `include/taskengine.h`.
//!
//! Layout (after rustls-ffi): `boundary` (the one panic boundary), `status` (the
//! status enum and its single mapping from [`crate::EngineError`]), `last_error`
//! (per-thread message), `ptr` (every pointer from C is checked and converted
//! there), then one file per object family.
//!
//! The rules every export follows, stated once (the header's preamble repeats them
//! for C readers):
//! * a function that can fail returns `te_status` (`TE_OK == 0`) and writes its
//!   results through out-pointers, only on success; the one exception is the text
//!   functions' `*out_len`, which receives the size needed on
//!   `TE_ERR_BUFFER_TOO_SMALL` (see `text_into` in `kernels.rs`);
//! * a NULL where a pointer is required is `TE_ERR_NULL`; `(NULL, 0)` is a valid
//!   empty buffer; a length whose byte size cannot exist is `TE_ERR_INVALID`;
//! * nothing unwinds into C: a panic becomes `TE_ERR_PANIC` (or the documented
//!   default of a function that returns no status);
//! * integers from C are validated before they become Rust enums;
//! * an `engine` argument may be NULL: the engine of the worker running the call,
//!   else the default engine;
//! * a buffer another thread writes during a call (against the contract) gives an
//!   unspecified result, never an access outside the buffers (see `ptr`).
#![allow(non_camel_case_types)]

mod arena;
mod boundary;
mod config;
mod engine;
mod group;
mod kernels;
mod kernels_narrow;
mod last_error;
mod live;
mod ptr;
mod retry;
mod scratch;
mod status;
mod task;
mod version;

#[allow(deprecated)]
pub use arena::te_arena_destroy;
pub use arena::{
    te_arena, te_arena_alloc, te_arena_dealloc, te_arena_free, te_arena_new, te_arena_reset, te_arena_stats,
    te_arena_usage, TE_ARENA_BUMP, TE_ARENA_FREE_LIST,
};
pub use config::{te_config, te_config_init};
pub use engine::{
    te_current_task_cancelled, te_current_worker_index, te_default_engine_shutdown, te_engine, te_engine_free,
    te_engine_new, te_engine_stats, te_engine_worker_stats, te_engine_workers, te_stats, te_worker_stats,
};
pub use group::{
    te_cleanup_fn, te_group, te_group_cancel, te_group_failure, te_group_failure_message, te_group_free,
    te_group_is_cancelled, te_group_new, te_group_pending, te_group_skipped, te_group_spawn,
    te_group_spawn_with_cleanup, te_group_try_spawn, te_group_wait, te_group_wait_isolated, te_group_wait_timeout,
};
// Every kernel export, whatever its element type (nothing else in these two
// files is `pub`).
pub use kernels::*;
pub use kernels_narrow::*;
pub use last_error::te_last_error_message;
pub use retry::te_group_spawn_retry;
pub use scratch::{
    te_engine_scratch_cached, te_engine_set_scratch_limit, te_engine_trim_scratch, te_task_scratch,
    te_task_scratch_alloc,
};
pub use status::{te_status, te_status_str, StatusArg};
pub use task::{
    te_join, te_parallel_for, te_parallel_reduce, te_parallel_reduce_deterministic, te_range_fn, te_reduce_combine_fn,
    te_reduce_map_fn, te_spawn, te_task_fn,
};
pub use version::{te_version, TE_VERSION_MAJOR, TE_VERSION_MINOR, TE_VERSION_PATCH};
mod team;
pub use team::{te_engine_team_stats, te_team_fn, te_team_run, te_team_stats, TE_TEAM_MAX_MEMBERS};
mod fftw;
pub use fftw::te_fftw_parallel_loop;
mod openblas;
pub use openblas::{
    te_openblas_attach, te_openblas_attached, te_openblas_detach, te_openblas_max_threads, te_openblas_set_max_threads,
};
mod blosc2;
pub use blosc2::te_blosc2_parallel_loop;
