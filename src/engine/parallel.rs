//! `parallel_for` and `parallel_reduce` over index ranges.
//!
//! Ranges are split in halves with `join`. With grain 0 an adaptive splitter (as in
//! Rayon) makes about one piece per worker and splits further only where pieces get
//! stolen, so uneven work balances without a million tiny tasks. A fixed grain
//! splits down to pieces of at most `grain`. The deterministic reduction splits on a
//! fixed grid whatever the worker count, so floating-point results are reproducible.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use super::join::join_on_worker;
use super::registry::{Registry, WorkerThread};
use crate::error::{EngineError, Result};

#[derive(Clone, Copy)]
struct Splitter {
    /// Fixed grain (> 0), or 0 for adaptive.
    grain: usize,
    splits: usize,
    workers: usize,
}

impl Splitter {
    fn new(grain: usize, workers: usize) -> Self {
        Splitter { grain, splits: workers, workers }
    }

    #[inline]
    fn try_split(&mut self, len: usize, migrated: bool) -> bool {
        if len < 2 {
            return false;
        }
        if self.grain > 0 {
            return len > self.grain;
        }
        if migrated {
            // Stolen: someone was idle, so make more pieces from here on.
            self.splits = (self.splits / 2).max(self.workers);
            true
        } else if self.splits > 0 {
            self.splits /= 2;
            true
        } else {
            false
        }
    }
}

fn current_worker() -> &'static WorkerThread {
    WorkerThread::current().expect("parallel loops run on workers")
}

fn reduce_helper<T, M, R>(range: Range<usize>, mut splitter: Splitter, migrated: bool, map: &M, reduce: &R) -> T
where
    T: Send,
    M: Fn(Range<usize>) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    let len = range.end - range.start;
    if splitter.try_split(len, migrated) {
        let mid = range.start + len / 2;
        let (left, right) = join_on_worker(
            current_worker(),
            |m| reduce_helper(range.start..mid, splitter, m, map, reduce),
            |m| reduce_helper(mid..range.end, splitter, m, map, reduce),
        );
        reduce(left, right)
    } else {
        map(range)
    }
}

pub(crate) fn parallel_reduce<T, ID, M, R>(
    registry: &Registry,
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
    if range.start >= range.end {
        return Ok(identity());
    }
    let workers = registry.num_workers();
    registry.in_worker(|_, injected| reduce_helper(range, Splitter::new(grain, workers), injected, &map, &reduce))
}

/// Leaves used by the deterministic mode when the caller gives no grain: a fixed
/// number of pieces, independent of the machine.
const DETERMINISTIC_PIECES: usize = 256;

fn deterministic_helper<T, M, R>(range: Range<usize>, leaf: usize, map: &M, reduce: &R) -> T
where
    T: Send,
    M: Fn(Range<usize>) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    let len = range.end - range.start;
    let leaves = len.div_ceil(leaf);
    if leaves <= 1 {
        return map(range);
    }
    let mid = range.start + (leaves / 2) * leaf;
    let (left, right) = join_on_worker(
        current_worker(),
        |_| deterministic_helper(range.start..mid, leaf, map, reduce),
        |_| deterministic_helper(mid..range.end, leaf, map, reduce),
    );
    reduce(left, right)
}

pub(crate) fn parallel_reduce_deterministic<T, ID, M, R>(
    registry: &Registry,
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
    if range.start >= range.end {
        return Ok(identity());
    }
    let len = range.end - range.start;
    let leaf = if grain > 0 { grain } else { len.div_ceil(DETERMINISTIC_PIECES).max(1) };
    registry.in_worker(|_, _| deterministic_helper(range, leaf, &map, &reduce))
}

pub(crate) fn parallel_for<F>(registry: &Registry, range: Range<usize>, grain: usize, body: F) -> Result<()>
where
    F: Fn(Range<usize>) + Sync + Send,
{
    parallel_reduce(registry, range, grain, || (), body, |(), ()| ())
}

/// `parallel_for` whose body can fail: the first error is returned, and once a
/// body has failed the loop stops splitting and skips every piece not yet started
/// (so even `[0, usize::MAX)` with grain 1 returns promptly).
pub(crate) fn try_parallel_for<F>(registry: &Registry, range: Range<usize>, grain: usize, body: F) -> Result<()>
where
    F: Fn(Range<usize>) -> Result<()> + Sync + Send,
{
    try_parallel_reduce(registry, range, grain, false, || Ok(()), body, |(), ()| Ok(()))
}

/// A reduction whose steps can fail: the first error is returned, and once any
/// step has failed no piece is split or started any more. `deterministic` as in
/// `parallel_reduce_deterministic`.
pub(crate) fn try_parallel_reduce<T, ID, M, R>(
    registry: &Registry,
    range: Range<usize>,
    grain: usize,
    deterministic: bool,
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
    if range.start >= range.end {
        return identity();
    }
    let steps = FallibleSteps { map, reduce, failed: AtomicBool::new(false) };
    if deterministic {
        let len = range.end - range.start;
        let leaf = if grain > 0 { grain } else { len.div_ceil(DETERMINISTIC_PIECES).max(1) };
        registry.in_worker(|_, _| steps.deterministic(range, leaf))?
    } else {
        let workers = registry.num_workers();
        registry.in_worker(|_, injected| steps.adaptive(range, Splitter::new(grain, workers), injected))?
    }
}

/// The steps of a fallible reduction and the flag that stops it.
struct FallibleSteps<M, R> {
    map: M,
    reduce: R,
    failed: AtomicBool,
}

impl<M, R> FallibleSteps<M, R> {
    /// What a piece skipped after a failure yields; never reaches the caller,
    /// because the failure it gave way to is combined with it.
    #[cold]
    fn skipped<T>() -> Result<T> {
        Err(EngineError::Cancelled)
    }

    /// Runs a map or reduce step; a failure, or a panic on its way out, stops
    /// the rest of the loop.
    fn run_step<T>(&self, step: impl FnOnce() -> Result<T>) -> Result<T> {
        struct StopOnPanic<'a>(&'a AtomicBool);
        impl Drop for StopOnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(true, Relaxed);
                }
            }
        }
        let guard = StopOnPanic(&self.failed);
        let result = step();
        std::mem::forget(guard);
        self.step(result)
    }

    fn step<T>(&self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            // Relaxed: a stale `false` elsewhere only costs one more piece; the
            // error itself travels back through the join results.
            self.failed.store(true, Relaxed);
        }
        result
    }

    fn stopped(&self) -> bool {
        self.failed.load(Relaxed)
    }

    /// Combines two halves, the left one's error first (it covers lower indexes).
    fn combine<T>(&self, left: Result<T>, right: Result<T>) -> Result<T>
    where
        R: Fn(T, T) -> Result<T>,
    {
        match (left, right) {
            (Ok(a), Ok(b)) => self.run_step(|| (self.reduce)(a, b)),
            (Err(e), Err(EngineError::Cancelled)) | (Err(EngineError::Cancelled), Err(e)) => Err(e),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    fn adaptive<T>(&self, range: Range<usize>, mut splitter: Splitter, migrated: bool) -> Result<T>
    where
        T: Send,
        M: Fn(Range<usize>) -> Result<T> + Sync,
        R: Fn(T, T) -> Result<T> + Sync,
    {
        if self.stopped() {
            return Self::skipped();
        }
        let len = range.end - range.start;
        if splitter.try_split(len, migrated) {
            let mid = range.start + len / 2;
            let (left, right) = join_on_worker(
                current_worker(),
                |m| self.adaptive(range.start..mid, splitter, m),
                |m| self.adaptive(mid..range.end, splitter, m),
            );
            self.combine(left, right)
        } else {
            self.run_step(|| (self.map)(range))
        }
    }

    fn deterministic<T>(&self, range: Range<usize>, leaf: usize) -> Result<T>
    where
        T: Send,
        M: Fn(Range<usize>) -> Result<T> + Sync,
        R: Fn(T, T) -> Result<T> + Sync,
    {
        if self.stopped() {
            return Self::skipped();
        }
        let len = range.end - range.start;
        let leaves = len.div_ceil(leaf);
        if leaves <= 1 {
            return self.run_step(|| (self.map)(range));
        }
        let mid = range.start + (leaves / 2) * leaf;
        let (left, right) = join_on_worker(
            current_worker(),
            |_| self.deterministic(range.start..mid, leaf),
            |_| self.deterministic(mid..range.end, leaf),
        );
        self.combine(left, right)
    }
}

/// Rejects ranges a caller could only mean by mistake.
pub(crate) fn check_range(range: &Range<usize>) -> Result<()> {
    if range.start > range.end {
        return Err(EngineError::invalid(format!("range start {} is after its end {}", range.start, range.end)));
    }
    Ok(())
}
