//! Teams: `members` calls that run at the same time on `members` distinct threads,
//! so that they may wait on each other (spin on flags, meet at a barrier).
//!
//! A team never queues a member behind other work: the caller runs member 0 and
//! every other member gets a thread of its own from a small per-engine cache of
//! team threads, parked between uses. All threads are claimed (taking parked
//! ones, starting the shortfall) before any member is handed out, so a team either
//! starts whole or not at all (a thread that cannot be started fails the call
//! before anything ran). Workers are never used for members: a worker that looks
//! idle may pick up a queued job at any moment, so handing it a member would not
//! guarantee that the member starts now.
//!
//! The cache keeps at most `max_parked` idle threads; a thread idle for
//! [`IDLE_REAP`] exits. Engine shutdown wakes and joins every team thread after
//! the workers have been joined (a task draining at shutdown may still run a team).
//!
//! Inside a member, the current engine (a C `NULL` engine, [`Engine::current`]) is
//! the worker's engine when the member runs on a worker (member 0 of a team started
//! from a task), else the team's engine. Work a member submits from a team thread
//! is an outside submission: it waits for a free worker like any other.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

use super::sync::std_lock;
use super::unwind::{self, TaskFailure};
use super::Engine;
use crate::error::{EngineError, Result};
use crate::per_thread;

/// The most members one team may have.
pub const MAX_TEAM_MEMBERS: usize = 1024;

/// How long a parked team thread waits for its next member before it exits.
pub const IDLE_REAP: Duration = Duration::from_secs(5);

// The engine of the team whose member this thread is running (null if none) is
// `PerThread::team_engine`: it points at the caller's `Engine`, which outlives
// every member's call.

/// The engine of the team member running on this thread, if any.
pub(crate) fn current_team_engine() -> Option<Engine> {
    let ptr = per_thread::with(|t| t.team_engine.get()).cast::<Engine>();
    // SAFETY: set only around a member's call to the team caller's `&Engine`, which
    // lives until every member has returned; we are inside such a call.
    let engine = unsafe { ptr.as_ref() }?;
    if engine.registry().is_forked_away() {
        return None;
    }
    Some(Engine::handle(Arc::clone(engine.registry())))
}

/// True while this thread runs a member of a team on `registry`'s engine: such a
/// thread cannot wait for that engine to shut down (the team's caller, maybe a
/// worker, waits for this member).
pub(crate) fn in_member_of(registry_id: usize) -> bool {
    let ptr = per_thread::with(|t| t.team_engine.get()).cast::<Engine>();
    // SAFETY: as in `current_team_engine`.
    unsafe { ptr.as_ref() }.is_some_and(|e| e.registry().id == registry_id)
}

/// Counters of an engine's team threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeamStats {
    /// Teams run (of more than one member) since the engine started.
    pub runs: u64,
    /// Team threads started since the engine started.
    pub threads_started: u64,
    /// Team threads alive now (running a member or parked).
    pub threads_alive: u64,
    /// Team threads parked in the cache now, ready for the next team.
    pub threads_parked: u64,
}

/// What the members of one run share; lives on the caller's stack until every
/// member has returned.
struct TeamCore {
    /// Calls the user's closure (type-erased) and catches its panic.
    call: unsafe fn(*const (), usize, usize) -> Option<TaskFailure>,
    data: *const (),
    members: usize,
    engine: *const Engine,
    /// Members 1.. not yet finished.
    remaining: AtomicUsize,
    caller: Thread,
    failure: Mutex<Option<TaskFailure>>,
}

impl TeamCore {
    fn record(&self, failure: TaskFailure) {
        let mut first = std_lock(&self.failure);
        if first.is_none() {
            *first = Some(failure);
        }
    }
}

/// Runs member `member` of `core` on this thread, with the team's engine current.
///
/// # Safety
/// `core` must be live for the whole call (the caller waits for every member).
unsafe fn run_member(core: *const TeamCore, member: usize) -> Option<TaskFailure> {
    // SAFETY: live for this call (the function's contract).
    let core = unsafe { &*core };
    let previous = per_thread::with(|t| t.team_engine.replace(core.engine.cast()));
    // SAFETY: `data` is the `F` that `call` was instantiated for, shared (`Sync`).
    let outcome = unsafe { (core.call)(core.data, member, core.members) };
    per_thread::with(|t| t.team_engine.set(previous));
    outcome
}

/// The type-erased member call.
///
/// # Safety
/// `data` must point to a live `F`.
unsafe fn call_member<F>(data: *const (), member: usize, members: usize) -> Option<TaskFailure>
where
    F: Fn(usize, usize) -> Result<()> + Sync,
{
    // SAFETY: the function's contract.
    let f = unsafe { &*data.cast::<F>() };
    match unwind::halt_unwinding(|| f(member, members)) {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(TaskFailure::Error(err)),
        Err(payload) => Some(TaskFailure::Panic(payload)),
    }
}

/// One team thread's mailbox.
struct Slot {
    /// Set by whoever starts the thread, before any job is posted.
    thread: OnceLock<Thread>,
    /// The team to join (null = none); `member` is written before it.
    job: AtomicPtr<TeamCore>,
    member: AtomicUsize,
    quit: AtomicBool,
}

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            thread: OnceLock::new(),
            job: AtomicPtr::new(std::ptr::null_mut()),
            member: AtomicUsize::new(0),
            quit: AtomicBool::new(false),
        })
    }

    fn unpark(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }
}

struct CacheState {
    parked: Vec<Arc<Slot>>,
    handles: Vec<(u64, JoinHandle<()>)>,
    /// Threads that left the cache on their own (idle, or the cache was full):
    /// joined by the next thread start or at shutdown.
    finished: Vec<u64>,
    closed: bool,
    next_id: u64,
}

struct Shared {
    state: Mutex<CacheState>,
    max_parked: usize,
    runs: AtomicU64,
    started: AtomicU64,
}

/// An engine's team threads.
pub(crate) struct TeamCache {
    shared: Arc<Shared>,
    name: String,
    stack_size: usize,
}

enum Wake {
    Job(*const TeamCore, usize),
    Quit,
    Idle,
}

impl TeamCache {
    pub(crate) fn new(workers: usize, name_prefix: &str, stack_size: usize) -> TeamCache {
        TeamCache {
            shared: Arc::new(Shared {
                state: Mutex::new(CacheState {
                    parked: Vec::new(),
                    handles: Vec::new(),
                    finished: Vec::new(),
                    closed: false,
                    next_id: 0,
                }),
                max_parked: (2 * workers).clamp(8, 256),
                runs: AtomicU64::new(0),
                started: AtomicU64::new(0),
            }),
            name: format!("{name_prefix}-team"),
            stack_size,
        }
    }

    /// In a forked child (`forked`) the cache's lock may have been held by a
    /// thread that does not exist there: it is not touched, and no thread is alive.
    pub(crate) fn stats(&self, forked: bool) -> TeamStats {
        let mut stats = TeamStats {
            runs: self.shared.runs.load(Relaxed),
            threads_started: self.shared.started.load(Relaxed),
            threads_alive: 0,
            threads_parked: 0,
        };
        if !forked {
            let state = std_lock(&self.shared.state);
            stats.threads_alive = (state.handles.len() - state.finished.len()) as u64;
            stats.threads_parked = state.parked.len() as u64;
        }
        stats
    }

    /// Takes `n` threads: parked ones first, then new ones. All or nothing: on
    /// failure the ones taken go back to the cache.
    fn claim(&self, n: usize) -> Result<Vec<Arc<Slot>>> {
        let mut slots = Vec::with_capacity(n);
        let to_join = {
            let mut state = std_lock(&self.shared.state);
            if state.closed {
                return Err(EngineError::Shutdown);
            }
            let take = n.min(state.parked.len());
            let from = state.parked.len() - take;
            slots.extend(state.parked.drain(from..));
            if slots.len() < n {
                take_finished(&mut state)
            } else {
                Vec::new()
            }
        };
        for handle in to_join {
            let _ = handle.join();
        }
        while slots.len() < n {
            match self.start_thread() {
                Ok(slot) => slots.push(slot),
                Err(err) => {
                    self.give_back_unused(slots);
                    return Err(err);
                }
            }
        }
        Ok(slots)
    }

    /// Returns claimed threads that were never given a member.
    fn give_back_unused(&self, slots: Vec<Arc<Slot>>) {
        let mut state = std_lock(&self.shared.state);
        let closed = state.closed;
        for slot in slots {
            if closed {
                slot.quit.store(true, Release);
                slot.unpark();
            } else {
                state.parked.push(slot);
            }
        }
    }

    fn start_thread(&self) -> Result<Arc<Slot>> {
        let slot = Slot::new();
        let id = {
            let mut state = std_lock(&self.shared.state);
            if state.closed {
                return Err(EngineError::Shutdown);
            }
            state.next_id += 1;
            state.next_id
        };
        let mut builder = std::thread::Builder::new().name(self.name.clone());
        if self.stack_size != 0 {
            builder = builder.stack_size(self.stack_size);
        }
        let shared = Arc::clone(&self.shared);
        let mine = Arc::clone(&slot);
        let handle = builder
            .spawn(move || team_thread_main(shared, mine, id))
            .map_err(|err| EngineError::invalid(format!("cannot start a team thread: {err}")))?;
        let _ = slot.thread.set(handle.thread().clone());
        self.shared.started.fetch_add(1, Relaxed);
        let mut state = std_lock(&self.shared.state);
        if state.closed {
            // Shut down while we started it: nobody else will join it.
            drop(state);
            slot.quit.store(true, Release);
            slot.unpark();
            let _ = handle.join();
            return Err(EngineError::Shutdown);
        }
        state.handles.push((id, handle));
        Ok(slot)
    }

    /// Wakes every parked thread to exit and joins all team threads (those running
    /// a member exit when it returns). Safe to call more than once; skips the
    /// calling thread if it is a team thread itself.
    pub(crate) fn shutdown(&self) {
        let (parked, handles) = {
            let mut state = std_lock(&self.shared.state);
            state.closed = true;
            state.finished.clear();
            (std::mem::take(&mut state.parked), std::mem::take(&mut state.handles))
        };
        for slot in &parked {
            slot.quit.store(true, Release);
            slot.unpark();
        }
        let me = std::thread::current().id();
        for (_, handle) in handles {
            if handle.thread().id() != me {
                let _ = handle.join();
            }
        }
    }
}

/// The handles of threads that have left on their own.
fn take_finished(state: &mut CacheState) -> Vec<JoinHandle<()>> {
    if state.finished.is_empty() {
        return Vec::new();
    }
    let finished = std::mem::take(&mut state.finished);
    let mut out = Vec::with_capacity(finished.len());
    let mut i = 0;
    while i < state.handles.len() {
        if finished.contains(&state.handles[i].0) {
            out.push(state.handles.swap_remove(i).1);
        } else {
            i += 1;
        }
    }
    out
}

fn team_thread_main(shared: Arc<Shared>, slot: Arc<Slot>, id: u64) {
    loop {
        let (core, member) = match wait_for_job(&slot) {
            Wake::Job(core, member) => (core, member),
            Wake::Quit => return,
            Wake::Idle => {
                let mut state = std_lock(&shared.state);
                if let Some(pos) = state.parked.iter().position(|s| Arc::ptr_eq(s, &slot)) {
                    state.parked.swap_remove(pos);
                    state.finished.push(id);
                    return;
                }
                // Claimed at the last moment: a member (or a return to the cache)
                // is on its way.
                continue;
            }
        };
        // The job is ours: clear the mailbox before we can be claimed again.
        slot.job.store(std::ptr::null_mut(), Relaxed);
        // SAFETY: the team's caller keeps `core` alive until `remaining` reaches 0,
        // which our decrement in `finish_member` is part of.
        let failure = unsafe { run_member(core, member) };
        // Back in the cache before the caller hears we are done, so that a team
        // started right after this one finds us parked instead of starting a thread.
        // A member posted to us meanwhile waits in the mailbox until we loop.
        let stay = {
            let mut state = std_lock(&shared.state);
            if state.closed {
                false
            } else if state.parked.len() >= shared.max_parked {
                state.finished.push(id);
                false
            } else {
                state.parked.push(Arc::clone(&slot));
                true
            }
        };
        // SAFETY: as above; nothing of `core` is touched after the decrement.
        unsafe { finish_member(core, failure) };
        if !stay {
            return;
        }
    }
}

/// Reports one member's end to its caller.
///
/// # Safety
/// `core` must be live until the decrement; it is not touched afterwards.
unsafe fn finish_member(core: *const TeamCore, failure: Option<TaskFailure>) {
    // SAFETY: live until our decrement (the function's contract).
    let core = unsafe { &*core };
    if let Some(failure) = failure {
        core.record(failure);
    }
    // Copied before the decrement: once `remaining` is 0 the caller may return and
    // `core` is gone.
    let caller = core.caller.clone();
    // AcqRel: Release publishes this member's effects to the caller (who reads
    // with Acquire); Acquire orders our earlier reads of `core` before the hand-off.
    if core.remaining.fetch_sub(1, AcqRel) == 1 {
        caller.unpark();
    }
}

/// Spins briefly (the next team of a loop comes within microseconds), then parks
/// until a job, the quit flag or the idle timeout.
fn wait_for_job(slot: &Slot) -> Wake {
    let poll = || -> Option<Wake> {
        // Acquire: pairs with the Release in `post`, so `member` and the whole
        // `TeamCore` are visible.
        let job = slot.job.load(Acquire);
        if !job.is_null() {
            return Some(Wake::Job(job, slot.member.load(Relaxed)));
        }
        if slot.quit.load(Acquire) {
            return Some(Wake::Quit);
        }
        None
    };
    let backoff = Backoff::new();
    while !backoff.is_completed() {
        if let Some(w) = poll() {
            return w;
        }
        backoff.snooze();
    }
    let deadline = Instant::now() + IDLE_REAP;
    loop {
        if let Some(w) = poll() {
            return w;
        }
        let now = Instant::now();
        if now >= deadline {
            return Wake::Idle;
        }
        std::thread::park_timeout(deadline - now);
    }
}

fn post(slot: &Slot, core: *const TeamCore, member: usize) {
    slot.member.store(member, Relaxed);
    // Release: publishes `member` and the team's state to the thread (its Acquire).
    slot.job.store(core.cast_mut(), Release);
    slot.unpark();
}

/// Validates a team's size.
pub(crate) fn check_members(members: usize) -> Result<()> {
    if members == 0 {
        return Err(EngineError::invalid("a team needs at least one member"));
    }
    if members > MAX_TEAM_MEMBERS {
        return Err(EngineError::invalid(format!(
            "{members} team members is more than the {MAX_TEAM_MEMBERS} supported"
        )));
    }
    Ok(())
}

/// Runs `f(member, members)` for every member at once; see [`Engine::team`].
pub(crate) fn run<F>(engine: &Engine, members: usize, f: F) -> Result<()>
where
    F: Fn(usize, usize) -> Result<()> + Sync,
{
    check_members(members)?;
    let registry = engine.registry();
    registry.check_usable_here()?;
    let cache = &registry.services.teams;
    let slots = if members > 1 { cache.claim(members - 1)? } else { Vec::new() };
    if members > 1 {
        cache.shared.runs.fetch_add(1, Relaxed);
    }
    let core = TeamCore {
        call: call_member::<F>,
        data: std::ptr::addr_of!(f).cast(),
        members,
        engine,
        remaining: AtomicUsize::new(members - 1),
        caller: std::thread::current(),
        failure: Mutex::new(None),
    };
    {
        // From here until every member has returned, `core` must stay on this
        // stack: nothing in between may unwind.
        let abort_guard = unwind::AbortIfPanic;
        for (i, slot) in slots.iter().enumerate() {
            post(slot, &core, i + 1);
        }
        drop(slots);
        // SAFETY: `core` lives on this stack until the wait below ends.
        if let Some(failure) = unsafe { run_member(&core, 0) } {
            core.record(failure);
        }
        let backoff = Backoff::new();
        // Acquire: pairs with the members' AcqRel decrements (their effects).
        while core.remaining.load(Acquire) != 0 {
            if backoff.is_completed() {
                // A wake-up left over from an earlier team is harmless: we re-check.
                std::thread::park();
            } else {
                backoff.snooze();
            }
        }
        std::mem::forget(abort_guard);
    }
    match core.failure.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        None => Ok(()),
        Some(TaskFailure::Error(err)) => Err(err),
        Some(TaskFailure::Panic(payload)) => unwind::resume_unwinding(payload),
    }
}
