//! OpenBLAS on the engine's workers.
//!
//! OpenBLAS 0.3.27+ lets the host run its parallel regions:
//! `openblas_set_threads_callback_function(cb)` makes every threaded BLAS call
//! hand its jobs to `cb(sync, dojob, numjobs, elsize, jobdata, dojob_data)`,
//! which must run `dojob(thread_num, jobdata + i * elsize, dojob_data)` for
//! each job `i`. Two facts shape the adapter:
//!
//! * **The jobs wait on each other.** Level-3 threads spin on flags until the
//!   others have packed their part, so all `numjobs` must run at the same time
//!   on distinct threads: each call runs as a team (`te_team_run`), which never
//!   queues a member behind other work.
//! * **`thread_num` indexes per-thread state.** In the pthreads build (numpy's
//!   and scipy's wheels) it selects a packing buffer and a status word of an
//!   array of `MAX_THREADS` entries; in the OpenMP build a buffer. So numbers are
//!   handed out process-wide, unique among all jobs in flight and below the
//!   library's `MAX_THREADS` (see `slots`). In the pthreads build the highest
//!   numbers are used first: OpenBLAS's own server threads use 0, 1, ..., so a
//!   call still running on its own threads while the callback is switched cannot
//!   share a status word with ours.
//!
//! **Budget.** A call from inside a task cannot be made single-threaded (the
//! pthreads build's `openblas_set_num_threads_local` sets the global count, and
//! the jobs of a call cannot be run one after the other), so the adapter bounds
//! the number of BLAS jobs running at once, process-wide, to a budget (by
//! default the engine's worker count; [`set_max_threads`]): a call that would go
//! over waits, holding nothing, until running calls finish. Concurrent BLAS
//! calls from many tasks then take turns on all cores instead of each spinning
//! on a share of them. A call with more jobs than the budget runs alone.
//! (OpenBLAS's pthreads level-3 driver already lets one threaded GEMM run at a
//! time; the budget also bounds the other threaded routines, and OpenMP builds.)
//!
//! **Lifetime.** The setter takes no user data, so the target engine is kept
//! in a global; [`attach`] holds a handle to it (its memory stays valid while
//! calls use it) and holds each library open. When the engine has been shut
//! down (or was inherited through `fork()`), calls still complete: their jobs
//! run on threads started for the call. [`detach`] restores OpenBLAS's own
//! threads and returns once the calls it saw in flight have finished.
//!
//! Attaching or detaching switches threading for the whole process, like
//! OpenBLAS's own setter; OpenBLAS documents its setter as meant to be called
//! while no BLAS call runs. The adapter keeps a call that straddles the switch
//! correct as long as OpenBLAS's own server and our calls together use fewer
//! than `MAX_THREADS` numbers.

mod discover;
mod slots;

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};

use crate::engine::sync::{std_lock, std_wait};
use crate::error::{EngineError, Result};
use crate::Engine;

/// `openblas_dojob_callback`.
pub(crate) type DoJob = unsafe extern "C" fn(thread_num: c_int, jobdata: *mut c_void, dojob_data: c_int);
/// `openblas_threads_callback`.
pub(crate) type ThreadsCallback = unsafe extern "C" fn(
    sync: c_int,
    dojob: Option<DoJob>,
    numjobs: c_int,
    jobdata_elsize: usize,
    jobdata: *mut c_void,
    dojob_data: c_int,
);
/// `openblas_set_threads_callback_function`.
pub(crate) type SetCallback = unsafe extern "C" fn(callback: Option<ThreadsCallback>);

/// An OpenBLAS build the adapter is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBlasLibrary {
    /// The file it was loaded from.
    pub path: String,
    /// Its `openblas_get_config()` text (version, build options).
    pub config: String,
    /// Its `MAX_THREADS`: every `thread_num` the adapter gives it is below this.
    pub max_threads: usize,
}

/// Where calls run.
struct Target {
    /// A handle to the engine given to `attach`; `None`: the engine of the task
    /// making the call, else the default engine.
    engine: Option<Engine>,
    /// Its worker count at attach time (the default budget).
    workers: usize,
}

struct State {
    libraries: Vec<discover::Library>,
    target: Option<Arc<Target>>,
    slots: slots::Slots,
    /// The smallest `MAX_THREADS` of the libraries attached.
    limit: usize,
    /// Take high numbers first (a pthreads build is attached).
    high_first: bool,
    /// Set by `set_max_threads` (0: the target's workers).
    max_threads: usize,
    /// Callbacks running.
    in_flight: usize,
}

impl State {
    fn budget(&self) -> usize {
        match (self.max_threads, &self.target) {
            (0, Some(target)) => target.workers.max(1),
            (0, None) => 1,
            (n, _) => n,
        }
    }
}

static STATE: Mutex<State> = Mutex::new(State {
    libraries: Vec::new(),
    target: None,
    slots: slots::Slots::new(),
    limit: 1,
    high_first: true,
    max_threads: 0,
    in_flight: 0,
});
/// Signalled when slots are given back, a call ends, or the budget changes.
static CHANGED: Condvar = Condvar::new();

fn lock_state() -> MutexGuard<'static, State> {
    // Nothing in a critical section can panic half-way; a poisoned lock's state
    // is consistent.
    std_lock(&STATE)
}

/// Makes every OpenBLAS build loaded in the process (0.3.27 or later) run its
/// threaded calls on `engine`'s workers (`None`: the engine of the task making
/// the call, else the default engine). Replaces a previous attachment. Returns
/// how many builds were attached.
///
/// Fails with `NotFound` when no OpenBLAS is loaded, `Unsupported` when those
/// loaded are all older than 0.3.27 (older ones next to a newer one keep their
/// own threads), `Shutdown` when the engine (or the default one) is shut down.
pub fn attach(engine: Option<&Engine>) -> Result<usize> {
    install_fork_handlers();
    let workers = match engine {
        Some(e) if !e.is_alive() => return Err(EngineError::Shutdown),
        Some(e) => e.workers(),
        None => Engine::current()?.workers(),
    };
    let found = discover::find()?;
    let target = Arc::new(Target { engine: engine.map(|e| Engine::handle(Arc::clone(e.registry()))), workers });
    let mut st = lock_state();
    st.limit = found.iter().map(|l| l.max_threads).min().unwrap_or(1);
    st.high_first = found.iter().any(|l| !l.openmp);
    st.target = Some(target);
    for lib in &found {
        lib.set_callback(Some(callback));
    }
    let count = found.len();
    // The same builds as before, found again (ours were held open), plus new ones.
    let previous = std::mem::replace(&mut st.libraries, found);
    CHANGED.notify_all();
    drop(st);
    drop(previous);
    Ok(count)
}

/// Gives OpenBLAS its own threads back (callback NULL) in every build attached,
/// and returns once the calls running on the engine have finished. Does
/// nothing when not attached. Must not be called from inside a BLAS call.
pub fn detach() {
    let mut st = lock_state();
    for lib in &st.libraries {
        lib.set_callback(None);
    }
    st.target = None;
    while st.in_flight > 0 {
        st = std_wait(&CHANGED, st);
    }
    let libraries = std::mem::take(&mut st.libraries);
    drop(st);
    drop(libraries);
}

/// The builds attached (empty when detached).
pub fn libraries() -> Vec<OpenBlasLibrary> {
    lock_state()
        .libraries
        .iter()
        .map(|l| OpenBlasLibrary {
            // The loader's name may have `..` in it (numpy's does): show the file.
            path: std::fs::canonicalize(&l.path).map_or_else(|_| l.path.clone(), |p| p.display().to_string()),
            config: l.config.clone(),
            max_threads: l.max_threads,
        })
        .collect()
}

/// Sets the budget: at most `n` BLAS jobs run at once on the engine, across
/// all calls (0: the attached engine's worker count, the default). A single
/// call with more jobs than that still runs, alone.
pub fn set_max_threads(n: usize) {
    lock_state().max_threads = n;
    CHANGED.notify_all();
}

/// The budget in force: what `set_max_threads` set, else the attached engine's
/// worker count, else (detached) the default engine's, without starting it.
pub fn max_threads() -> usize {
    let st = lock_state();
    if st.max_threads > 0 || st.target.is_some() {
        return st.budget();
    }
    drop(st);
    // As the default engine is configured when it starts (see `Engine::global`):
    // a query must not start its threads.
    let mut config = crate::Config::default();
    if let Some(n) = std::env::var("TASKENGINE_WORKERS").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
        config.workers = n;
    }
    config.resolved_workers()
}

/// One call's claim on the adapter: its thread numbers and its target.
struct Lease {
    taken: slots::Taken,
    target: Option<Arc<Target>>,
}

impl Lease {
    /// Waits until `need` numbers fit the budget, and takes them.
    fn acquire(need: usize) -> Lease {
        let mut st = lock_state();
        loop {
            let (budget, limit, high_first) = (st.budget(), st.limit, st.high_first);
            if let Some(taken) = st.slots.try_take(need, budget, limit, high_first) {
                st.in_flight += 1;
                return Lease { taken, target: st.target.clone() };
            }
            st = std_wait(&CHANGED, st);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut st = lock_state();
        st.slots.give_back(&self.taken);
        st.in_flight -= 1;
        CHANGED.notify_all();
    }
}

/// One call's jobs, shared by the team's members.
struct Jobs<'a> {
    dojob: DoJob,
    jobdata: *mut u8,
    elsize: usize,
    dojob_data: c_int,
    thread_nums: &'a [c_int],
    /// Set by whoever runs job `i`, so that each runs exactly once.
    claimed: Vec<AtomicBool>,
}

// SAFETY: the pointers are OpenBLAS's job array, valid for the whole call (the
// callback returns only after every job has run), and each job is run by one
// thread only (`claimed`); OpenBLAS's jobs are made to run on distinct threads.
unsafe impl Sync for Jobs<'_> {}

impl Jobs<'_> {
    fn run(&self, i: usize) {
        if i >= self.claimed.len() || self.claimed[i].swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: job `i` of the array OpenBLAS passed (i < numjobs), run once,
        // with a thread number no other job in flight has.
        unsafe { (self.dojob)(self.thread_nums[i], self.jobdata.add(i * self.elsize).cast(), self.dojob_data) }
    }

    /// Runs the jobs no member took, all at once: on threads started here, and
    /// the first on the calling thread.
    fn run_left(&self) {
        let left: Vec<usize> = (0..self.claimed.len()).filter(|&i| !self.claimed[i].load(Ordering::Acquire)).collect();
        let Some((&first, rest)) = left.split_first() else { return };
        std::thread::scope(|s| {
            for &i in rest {
                let spawned =
                    std::thread::Builder::new().name("taskengine-blas".into()).spawn_scoped(s, move || self.run(i));
                if spawned.is_err() {
                    // No thread to be had: run it here after the others (it may
                    // then wait on a job that waits on it; nothing else is left).
                    eprintln!("taskengine: OpenBLAS adapter: could not start a thread for job {i}");
                }
            }
            self.run(first);
            for &i in rest {
                self.run(i);
            }
        });
    }
}

/// What OpenBLAS calls instead of waking its own threads.
unsafe extern "C" fn callback(
    _sync: c_int,
    dojob: Option<DoJob>,
    numjobs: c_int,
    jobdata_elsize: usize,
    jobdata: *mut c_void,
    dojob_data: c_int,
) {
    let (Some(dojob), Ok(n)) = (dojob, usize::try_from(numjobs)) else { return };
    if n == 0 || jobdata.is_null() {
        return;
    }
    let lease = Lease::acquire(n);
    let jobs = Jobs {
        dojob,
        jobdata: jobdata.cast(),
        elsize: jobdata_elsize,
        dojob_data,
        thread_nums: &lease.taken.thread_nums,
        claimed: (0..n).map(|_| AtomicBool::new(false)).collect(),
    };
    if n > 1 {
        // Member i runs job i. A failure (the engine shut down, no team thread to
        // be had) comes before any member ran: then every job runs below.
        // Nothing here panics; should it, the jobs not run yet still run below
        // rather than unwind into OpenBLAS.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let team = |member: usize, _members: usize| {
                jobs.run(member);
                Ok(())
            };
            match lease.target.as_ref().and_then(|t| t.engine.as_ref()) {
                Some(engine) => engine.team(n, team),
                None => Engine::current().and_then(|engine| engine.team(n, team)),
            }
        }));
    }
    jobs.run_left();
    drop(jobs);
    drop(lease);
}

thread_local! {
    /// The state lock, held by the thread calling fork() across it.
    static FORK_GUARD: RefCell<Option<MutexGuard<'static, State>>> = const { RefCell::new(None) };
}

/// Keeps the state lock consistent across fork(): it is taken before, and in
/// the child the slots of the parent's running calls (threads the child does
/// not have) are forgotten.
fn install_fork_handlers() {
    extern "C" fn prepare() {
        let guard = lock_state();
        let _ = FORK_GUARD.try_with(|g| *g.borrow_mut() = Some(guard));
    }
    extern "C" fn parent() {
        let _ = FORK_GUARD.try_with(|g| g.borrow_mut().take());
    }
    extern "C" fn child() {
        let _ = FORK_GUARD.try_with(|g| {
            if let Some(mut st) = g.borrow_mut().take() {
                st.slots.reset();
                st.in_flight = 0;
            }
        });
    }
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: three functions that only lock, unlock and reset our state.
        unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Barrier;

    /// What a fake OpenBLAS job sees: its call's barrier (all jobs of a call
    /// must run at once, as level-3 jobs wait on each other).
    struct FakeCall {
        barrier: Barrier,
    }

    static IN_USE: Mutex<Option<HashSet<c_int>>> = Mutex::new(None);
    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    static BAD: AtomicUsize = AtomicUsize::new(0);
    const LIMIT: usize = 8;
    const BUDGET: usize = 6;

    unsafe extern "C" fn fake_job(thread_num: c_int, jobdata: *mut c_void, _dojob_data: c_int) {
        // SAFETY: the test passes an array of `*const FakeCall` (one per job).
        let call = unsafe { &**(jobdata as *const *const FakeCall) };
        let fresh = IN_USE.lock().unwrap().get_or_insert_with(HashSet::new).insert(thread_num);
        if !fresh || !(0..LIMIT as c_int).contains(&thread_num) {
            BAD.fetch_add(1, Ordering::SeqCst);
        }
        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(now, Ordering::SeqCst);
        call.barrier.wait();
        RUNNING.fetch_sub(1, Ordering::SeqCst);
        IN_USE.lock().unwrap().as_mut().unwrap().remove(&thread_num);
    }

    #[test]
    fn stress_jobs_meet_with_distinct_numbers_within_the_budget() {
        // An engine of the test's own, dropped at the end so that its team
        // threads are joined (the default engine's would outlive the test
        // process's other tests, and ThreadSanitizer reports unjoined threads).
        let engine = Engine::new(crate::Config::with_workers(2)).unwrap();
        {
            let mut st = lock_state();
            st.limit = LIMIT;
            st.max_threads = BUDGET;
            st.target =
                Some(Arc::new(Target { engine: Some(Engine::handle(Arc::clone(engine.registry()))), workers: 2 }));
        }
        // A watchdog: a deadlock aborts the test process instead of hanging it.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let waited = finished.recv_timeout(std::time::Duration::from_secs(120));
            if waited == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                eprintln!("watchdog: OpenBLAS adapter stress did not finish within 120 s (deadlock?)");
                std::process::abort();
            }
        });
        std::thread::scope(|s| {
            for t in 0..4usize {
                s.spawn(move || {
                    for round in 0..100usize {
                        let n = 1 + (t * 7 + round * 3) % BUDGET;
                        let call = FakeCall { barrier: Barrier::new(n) };
                        let jobs: Vec<*const FakeCall> = vec![&call; n];
                        // SAFETY: `jobs` holds n elements of pointer size, alive for the call.
                        unsafe {
                            callback(
                                1,
                                Some(fake_job),
                                n as c_int,
                                std::mem::size_of::<*const FakeCall>(),
                                jobs.as_ptr() as *mut c_void,
                                0,
                            )
                        };
                    }
                });
            }
        });
        let _ = done.send(());
        assert_eq!(BAD.load(Ordering::SeqCst), 0, "a thread_num was shared or out of range");
        assert!(PEAK.load(Ordering::SeqCst) <= BUDGET, "more jobs at once than the budget");
        let mut st = lock_state();
        assert_eq!(st.in_flight, 0);
        st.max_threads = 0;
        st.target = None;
        drop(st);
        drop(engine);
    }
}
