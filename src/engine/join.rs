//! Fork-join: `join(a, b)` runs `b` where a thief can take it and `a` right here.

use super::job::{JobRef, StackJob};
use super::latch::{CoreLatch, SpinLatch};
use super::registry::{Registry, WorkerThread};
use super::unwind;
use crate::error::Result;

/// `join` with each closure told whether it runs on a different worker than the
/// one that forked it (the adaptive splitter splits more after a theft).
#[inline]
pub(crate) fn join_context<A, B, RA, RB>(registry: &Registry, a: A, b: B) -> Result<(RA, RB)>
where
    A: FnOnce(bool) -> RA + Send,
    B: FnOnce(bool) -> RB + Send,
    RA: Send,
    RB: Send,
{
    // Checked here rather than left to `in_worker`: handing it the wrapping closure
    // measured 15 % slower on fib by join, even inlined.
    if let Some(worker) = WorkerThread::current_of(registry) {
        // Refused near the end of the stack: an error the caller can pass up
        // beats a stack overflow that kills the process.
        if !worker.can_fork_deeper() {
            return Err(worker.stack_exhausted());
        }
        return Ok(join_on_worker(worker, a, b));
    }
    registry.in_worker(move |worker, injected| join_on_worker(worker, move |m| a(m || injected), b))
}

/// The fast path: no heap allocation; `b` sits on this stack while `a` runs.
///
/// `b` is pushed on every fork, also when this worker's deque already holds work
/// for others. Running both halves in place then (lazy splitting) took a C fib
/// fork from 208 instructions to 127, but a `b` left unpushed is out of reach of
/// idle workers until `a` returns: an `a` that waits for its `b` outside the
/// engine would hang, and thieves would find only the deepest, smallest pieces.
#[inline]
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce(bool) -> RA + Send,
    B: FnOnce(bool) -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(b, SpinLatch::new(&worker.registry, worker.index));
    // SAFETY: job_b outlives its ref: we do not return before it has either been
    // popped back (and run inline) or its latch has been set by a thief.
    let job_b_ref = unsafe { job_b.as_job_ref() };
    worker.push(job_b_ref);

    let result_a = match unwind::halt_unwinding(|| a(false)) {
        Ok(v) => v,
        Err(payload) => {
            // b may be running on a thief and borrows our stack: wait for it
            // before unwinding further. If it never started it never runs now.
            reclaim_or_wait(worker, &job_b.latch.core, job_b_ref);
            unwind::resume_unwinding(payload)
        }
    };

    if reclaim_or_wait(worker, &job_b.latch.core, job_b_ref) {
        return (result_a, job_b.run_inline(false));
    }
    // SAFETY: the latch is set, so the thief has written the result.
    (result_a, unsafe { job_b.into_result() })
}

/// Takes `b` back from our deque if nobody stole it (returns true: it has not
/// run), else waits, working meanwhile, until the thief has set its latch.
/// Everything pushed after `b` was taken back by then, so `b` is on top unless
/// stolen; jobs above it (e.g. group tickets) are run on the way down.
#[inline]
fn reclaim_or_wait(worker: &WorkerThread, latch: &CoreLatch, job_b_ref: JobRef) -> bool {
    while !latch.probe() {
        match worker.take_back_local() {
            Some(job) if job.same_job(&job_b_ref) => return true,
            Some(job) => worker.execute(job),
            None => {
                worker.wait_for_latch(latch);
                return false;
            }
        }
    }
    false
}
