//! taskengine: a work-stealing parallel task engine with a C ABI and bundled C kernels.
//!
//! ```
//! use taskengine::{Config, Engine};
//!
//! let engine = Engine::new(Config::with_workers(2)).unwrap();
//! fn fib(e: &Engine, n: u64) -> u64 {
//!     if n < 2 { return n; }
//!     let (a, b) = e.join(|| fib(e, n - 1), || fib(e, n - 2));
//!     a + b
//! }
//! assert_eq!(fib(&engine, 20), 6765);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// The engine is built on POSIX threads and the dynamic linker: `pthread_atfork`
// for fork safety, `mmap` for the allocators, `dlopen` for the OpenBLAS adapter.
// Linux-only calls (`pthread_getattr_np`, `MAP_NORESERVE`, `madvise` advice) are
// gated, with fallbacks, so other Unix systems (FreeBSD, macOS) build too.
#[cfg(not(unix))]
compile_error!("taskengine supports Unix targets only (it needs pthreads, mmap and dlopen)");

pub mod alloc;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod kernels;
pub mod openblas;
mod per_thread;

pub use engine::{
    async_task, block_on, current_task_cancelled, AsyncFnTask, Backoff, BoxFuture, Config, Engine, EngineStats,
    RetryPolicy, Scope, SyncTask, Task, TaskExecutor, TaskGroup, TaskHandle, ThreadHook, WorkerStats, MAX_WORKERS,
    MIN_STACK_SIZE,
};
pub use engine::{TeamStats, MAX_TEAM_MEMBERS, TEAM_IDLE_REAP};
pub use error::{EngineError, Result};

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctest;
