//! Idle workers: spin a little, then sleep without losing a wake-up.
//!
//! # The protocol
//!
//! A worker that finds no work spins for `spin_budget` rounds (searching between
//! rounds). It then becomes *sleepy*: it makes the jobs event counter (`jec`) odd and
//! remembers that value, then searches once more. To fall asleep it locks its own
//! sleeper slot, marks itself blocked, increments `sleeping` and re-reads `jec`: if
//! `jec` moved, a job was published since it got sleepy, so it backs out.
//!
//! A publisher pushes its job, then (for jobs that nobody else would run, see
//! [`Sleep::new_injected_jobs`]) issues a SeqCst fence, bumps `jec` if it is odd, and
//! reads `sleeping`; if it is non-zero it wakes one blocked worker.
//!
//! No wake-up is lost: the sleeper's `sleeping += 1; fence; read jec` and the
//! publisher's `bump jec; fence; read sleeping` are separated by SeqCst fences, so at
//! least one of them sees the other (the classic store-buffer argument). If the sleeper sees the bump it backs out; if the
//! publisher sees the sleeper, the sleeper holds its slot lock from before its
//! increment until it waits on its condvar, so the waker cannot slip in between.
//! The sleepy fence pairs with the publisher's fence so that a job pushed before the
//! publisher read an even `jec` is visible to the sleepy worker's last search.
//!
//! Workers also sleep while they wait for something specific (a latch, a group). The
//! caller's `register` closure announces the wait to whatever will complete it and
//! re-checks the condition after the announcement; the completer wakes that worker by
//! index with [`Sleep::wake_specific`]. A wait that must not run unrelated work
//! (isolation, a deep stack) sleeps as *not general*, so job publishers do not spend
//! their single wake-up on a worker that could not take the job.
//!
//! `tests::loom_*` model-check both paths under `--cfg loom`.

use std::time::Instant;

use crossbeam_utils::CachePadded;

use super::sync::{fence, lock, wait, wait_timeout, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// One worker's sleeping place.
struct Sleeper {
    blocked: Mutex<bool>,
    condvar: Condvar,
    /// Set (under `blocked`'s lock) while this worker sleeps as a general sleeper,
    /// i.e. counted in `Sleep::sleeping` and wakeable by any new job.
    general: AtomicBool,
}

/// How an idle worker waits: the arguments of [`Sleep::no_work_found`].
pub(crate) struct IdleWait<'a> {
    /// The worker's index: its sleeping place.
    pub(crate) worker: usize,
    /// Rounds to spin before getting sleepy.
    pub(crate) spin_budget: u32,
    /// A general sleeper: announces itself sleepy first, and any new job wakes it.
    /// Otherwise only a wake of this worker by index (or the deadline) does.
    pub(crate) general: bool,
    /// Sleep no longer than this.
    pub(crate) deadline: Option<Instant>,
    /// Runs after this worker is marked blocked and before it waits: announces the
    /// wait to whoever will end it and returns true if the wait is already over.
    pub(crate) register: &'a mut dyn FnMut() -> bool,
    /// Undoes `register`'s announcement after the sleep.
    pub(crate) unregister: &'a mut dyn FnMut(),
}

/// The state of one idle period of one worker.
pub(crate) struct IdleState {
    rounds: u32,
    sleepy_jec: Option<u64>,
}

impl IdleState {
    pub(crate) fn new() -> Self {
        IdleState { rounds: 0, sleepy_jec: None }
    }

    /// Whether the next search must look everywhere: the last one before sleeping
    /// (after becoming sleepy) must, or a job published before the worker got
    /// sleepy could be missed (see the protocol above). Searches while spinning
    /// may sample, which keeps an idle period's cost independent of the worker
    /// count.
    pub(crate) fn needs_full_search(&self) -> bool {
        self.sleepy_jec.is_some()
    }
}

/// How a sleep ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Slept {
    /// Did not block: the condition or a new job was seen first.
    BackedOut,
    /// Blocked and was woken (or the deadline passed).
    Woke,
}

pub(crate) struct Sleep {
    /// Jobs event counter: odd while some worker is sleepy and wants to hear of jobs.
    jec: AtomicU64,
    /// General sleepers that are blocked and not yet woken.
    sleeping: AtomicUsize,
    sleepers: Vec<CachePadded<Sleeper>>,
}

impl Sleep {
    pub(crate) fn new(workers: usize) -> Sleep {
        Sleep {
            jec: AtomicU64::new(0),
            sleeping: AtomicUsize::new(0),
            sleepers: (0..workers)
                .map(|_| {
                    CachePadded::new(Sleeper {
                        blocked: Mutex::new(false),
                        condvar: Condvar::new(),
                        general: AtomicBool::new(false),
                    })
                })
                .collect(),
        }
    }

    /// Called after a search found nothing. Spins, then gets sleepy, then sleeps,
    /// as `wait` says.
    pub(crate) fn no_work_found(&self, idle: &mut IdleState, wait: IdleWait<'_>) -> Slept {
        let IdleWait { worker, spin_budget, general, deadline, register, unregister } = wait;
        if idle.rounds < spin_budget {
            // Short exponential pause, then give the core away.
            if idle.rounds < 10 {
                for _ in 0..(1u32 << idle.rounds.min(6)) {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
            idle.rounds += 1;
            return Slept::BackedOut;
        }
        if general && idle.sleepy_jec.is_none() {
            idle.sleepy_jec = Some(self.announce_sleepy());
            // Pairs with the publisher's fence: see the module docs. The caller
            // searches once more before we come back here to sleep.
            fence(SeqCst);
            return Slept::BackedOut;
        }
        let slept = self.sleep(worker, if general { idle.sleepy_jec } else { None }, deadline, register);
        unregister();
        *idle = IdleState::new();
        slept
    }

    /// Makes `jec` odd (if no one else has) and returns the value seen.
    fn announce_sleepy(&self) -> u64 {
        let mut current = self.jec.load(SeqCst);
        loop {
            if current & 1 == 1 {
                return current;
            }
            match self.jec.compare_exchange_weak(current, current + 1, SeqCst, SeqCst) {
                Ok(_) => return current + 1,
                Err(actual) => current = actual,
            }
        }
    }

    fn sleep(
        &self,
        worker: usize,
        sleepy_jec: Option<u64>,
        deadline: Option<Instant>,
        register: &mut dyn FnMut() -> bool,
    ) -> Slept {
        let slot = &self.sleepers[worker];
        let mut blocked = lock(&slot.blocked);
        *blocked = true;
        if sleepy_jec.is_some() {
            // Relaxed: published to wakers by the SeqCst increment that follows.
            slot.general.store(true, Relaxed);
            self.sleeping.fetch_add(1, SeqCst);
            // Store-load (Dekker) pairing with `bump_and_wake`: a fence, not just
            // SeqCst accesses, so that loom (which models SeqCst fences but treats
            // SeqCst accesses as AcqRel) checks the real argument.
            fence(SeqCst);
        }
        let job_published = sleepy_jec.is_some_and(|seen| self.jec.load(SeqCst) != seen);
        if job_published || register() {
            *blocked = false;
            self.leave_general(slot);
            return Slept::BackedOut;
        }
        while *blocked {
            match deadline {
                None => {
                    blocked = wait(&slot.condvar, blocked);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    blocked = wait_timeout(&slot.condvar, blocked, deadline - now);
                }
            }
        }
        *blocked = false;
        self.leave_general(slot);
        Slept::Woke
    }

    /// Called with the slot's lock held: stop counting this worker as a sleeper if a
    /// waker has not already done so.
    fn leave_general(&self, slot: &Sleeper) {
        if slot.general.load(Relaxed) {
            slot.general.store(false, Relaxed);
            self.sleeping.fetch_sub(1, SeqCst);
        }
    }

    /// A job was pushed onto a worker's own deque. That worker is awake and will run
    /// it eventually, so a missed wake-up costs parallelism, never progress: skip the
    /// fence, and wake someone only when workers are visibly sleepy or asleep.
    #[inline]
    pub(crate) fn new_internal_jobs(&self) {
        let jec = self.jec.load(Relaxed);
        if jec & 1 == 1 {
            self.bump_and_wake(jec);
        } else if self.sleeping.load(Relaxed) > 0 {
            // Workers asleep from an earlier idle period (the counter went even
            // when the first of them was woken): share the new work with one.
            self.wake_any();
        }
    }

    /// A job was published where only a sleeping worker might find it (the injector,
    /// a group queue fed from outside): this one must never be missed.
    pub(crate) fn new_injected_jobs(&self) {
        // Pairs with the sleepy worker's fence; see the module docs.
        fence(SeqCst);
        let jec = self.jec.load(SeqCst);
        if jec & 1 == 1 {
            self.bump_and_wake(jec);
        } else if self.sleeping.load(SeqCst) > 0 {
            self.wake_any();
        }
    }

    fn bump_and_wake(&self, seen: u64) {
        // Failure means someone else moved it: a sleepy worker will notice either way.
        let _ = self.jec.compare_exchange(seen, seen + 1, SeqCst, SeqCst);
        // Pairs with the fence after `sleeping += 1` in `sleep`.
        fence(SeqCst);
        if self.sleeping.load(SeqCst) > 0 {
            self.wake_any();
        }
    }

    /// Wakes one general sleeper, if there is one.
    fn wake_any(&self) -> bool {
        for slot in &self.sleepers {
            if slot.general.load(Relaxed) {
                let mut blocked = lock(&slot.blocked);
                if *blocked && slot.general.load(Relaxed) {
                    *blocked = false;
                    self.leave_general(slot);
                    slot.condvar.notify_one();
                    return true;
                }
            }
        }
        false
    }

    /// Wakes `worker` if it is blocked, whatever it sleeps for.
    pub(crate) fn wake_specific(&self, worker: usize) {
        let slot = &self.sleepers[worker];
        let mut blocked = lock(&slot.blocked);
        if *blocked {
            *blocked = false;
            self.leave_general(slot);
            slot.condvar.notify_one();
        }
    }

    /// Wakes everyone (shutdown).
    pub(crate) fn wake_all(&self) {
        for index in 0..self.sleepers.len() {
            self.wake_specific(index);
        }
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;

    /// Exhaustive up to `bound` preemptions per execution: enough to interleave every
    /// step of the protocol, small enough to finish in seconds.
    fn model(bound: usize, f: impl Fn() + Sync + Send + 'static) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        builder.check(f);
    }

    /// A worker that finds no job goes to sleep while a publisher pushes one: the
    /// worker must end up seeing the job (loom reports a deadlock otherwise).
    #[test]
    fn loom_no_lost_wakeup_for_injected_job() {
        model(4, || {
            let sleep = Arc::new(Sleep::new(1));
            let job = Arc::new(AtomicBool::new(false));
            let (s2, j2) = (sleep.clone(), job.clone());
            let publisher = loom::thread::spawn(move || {
                // Published with an RMW, as the queues do (loom 0.7 mis-orders a plain
                // store followed by a load of the same flag on one thread).
                j2.swap(true, Relaxed);
                s2.new_injected_jobs();
            });
            let mut idle = IdleState::new();
            while !job.load(Relaxed) {
                sleep.no_work_found(
                    &mut idle,
                    IdleWait {
                        worker: 0,
                        spin_budget: 0,
                        general: true,
                        deadline: None,
                        register: &mut || false,
                        unregister: &mut || {},
                    },
                );
            }
            publisher.join().unwrap();
        });
    }

    /// Two workers, one job: both may sleep, the job must still be taken.
    #[test]
    fn loom_two_sleepers_one_job() {
        model(3, || {
            let sleep = Arc::new(Sleep::new(2));
            let job = Arc::new(AtomicBool::new(false));
            let taken = Arc::new(AtomicBool::new(false));
            let mut handles = Vec::new();
            for worker in 0..2 {
                let (s, j, t) = (sleep.clone(), job.clone(), taken.clone());
                handles.push(loom::thread::spawn(move || {
                    let mut idle = IdleState::new();
                    loop {
                        if t.load(SeqCst) {
                            return;
                        }
                        if j.swap(false, SeqCst) {
                            t.store(true, SeqCst);
                            // The taker tells the other worker to stop (shutdown).
                            s.wake_all();
                            return;
                        }
                        s.no_work_found(
                            &mut idle,
                            IdleWait {
                                worker: worker,
                                spin_budget: 0,
                                general: true,
                                deadline: None,
                                register: &mut || t.load(SeqCst),
                                unregister: &mut || {},
                            },
                        );
                    }
                }));
            }
            job.swap(true, SeqCst);
            sleep.new_injected_jobs();
            for h in handles {
                h.join().unwrap();
            }
        });
    }

    /// A waiter sleeps on a specific condition; the completer sets it then wakes
    /// the waiter by index: the waiter must wake.
    #[test]
    fn loom_specific_wait_is_not_lost() {
        model(4, || {
            let sleep = Arc::new(Sleep::new(1));
            let done = Arc::new(AtomicBool::new(false));
            let (s2, d2) = (sleep.clone(), done.clone());
            let setter = loom::thread::spawn(move || {
                d2.swap(true, SeqCst);
                s2.wake_specific(0);
            });
            let mut idle = IdleState::new();
            while !done.load(SeqCst) {
                let d = done.clone();
                sleep.no_work_found(
                    &mut idle,
                    IdleWait {
                        worker: 0,
                        spin_budget: 0,
                        general: false,
                        deadline: None,
                        register: &mut || d.load(SeqCst),
                        unregister: &mut || {},
                    },
                );
            }
            setter.join().unwrap();
        });
    }

    /// The join latch: the owner sleeps on it (CAS to SLEEPING under its slot lock),
    /// the thief sets it (swap to SET) and wakes the owner if it saw SLEEPING.
    #[test]
    fn loom_join_latch_wakes_its_sleeping_owner() {
        use crate::engine::latch::CoreLatch;
        model(4, || {
            let sleep = Arc::new(Sleep::new(1));
            let latch = Arc::new(CoreLatch::new());
            let (s2, l2) = (sleep.clone(), latch.clone());
            let thief = loom::thread::spawn(move || {
                if l2.set_and_check_sleeping() {
                    s2.wake_specific(0);
                }
            });
            let mut idle = IdleState::new();
            while !latch.probe() {
                let l = latch.clone();
                sleep.no_work_found(
                    &mut idle,
                    IdleWait {
                        worker: 0,
                        spin_budget: 0,
                        general: false,
                        deadline: None,
                        register: &mut || l.register_sleep(),
                        unregister: &mut || latch.unregister_sleep(),
                    },
                );
            }
            thief.join().unwrap();
        });
    }
}
