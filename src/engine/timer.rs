//! A per-engine timer: one thread, started on the first delayed wake-up, that wakes
//! futures when their deadline passes. Retries wait out their backoff here instead
//! of sleeping on a worker.
//!
//! The thread holds wakers only (never the engine), and is stopped and joined when
//! the engine shuts down, so an engine leaves no thread behind (a host may unload
//! the library right after `te_engine_free`). Stopping wakes every pending entry;
//! their [`Sleep`]s then end with `Shutdown`.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::sync::{std_lock, std_wait, std_wait_timeout};
use crate::error::{EngineError, Result};

struct Entry {
    deadline: Instant,
    /// Breaks ties in arrival order.
    seq: u64,
    waker: Waker,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that the max-heap pops the earliest deadline first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

#[derive(Default)]
struct State {
    entries: BinaryHeap<Entry>,
    next_seq: u64,
    stopped: bool,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

/// The timer of one engine.
pub(crate) struct Timer {
    shared: Arc<Shared>,
    thread_name: String,
}

impl Timer {
    pub(crate) fn new(thread_name: String) -> Timer {
        Timer { shared: Arc::default(), thread_name }
    }

    /// Wakes `waker` once `deadline` has passed (or the timer stops). Fails with
    /// `Shutdown` once stopped, and with `ThreadPool` when its thread cannot start.
    pub(crate) fn wake_at(&self, deadline: Instant, waker: Waker) -> Result<()> {
        let mut state = std_lock(&self.shared.state);
        if state.stopped {
            return Err(EngineError::Shutdown);
        }
        if state.thread.is_none() {
            let shared = Arc::clone(&self.shared);
            let thread = std::thread::Builder::new()
                .name(self.thread_name.clone())
                .spawn(move || run(&shared))
                .map_err(|e| EngineError::ThreadPool { message: format!("cannot start the timer thread: {e}") })?;
            state.thread = Some(thread);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let earliest = state.entries.peek().is_none_or(|e| deadline < e.deadline);
        state.entries.push(Entry { deadline, seq, waker });
        drop(state);
        if earliest {
            self.shared.cond.notify_one();
        }
        Ok(())
    }

    pub(crate) fn is_stopped(&self) -> bool {
        std_lock(&self.shared.state).stopped
    }

    /// Stops the timer and wakes every pending entry (their sleeps end with
    /// `Shutdown`). Returns the thread, for the caller to join when it may.
    pub(crate) fn stop(&self) -> Option<JoinHandle<()>> {
        let (entries, thread) = {
            let mut state = std_lock(&self.shared.state);
            state.stopped = true;
            (std::mem::take(&mut state.entries), state.thread.take())
        };
        self.shared.cond.notify_one();
        for entry in entries {
            entry.waker.wake();
        }
        thread
    }
}

fn run(shared: &Shared) {
    let mut state = std_lock(&shared.state);
    loop {
        if state.stopped {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        while state.entries.peek().is_some_and(|e| e.deadline <= now) {
            due.extend(state.entries.pop().map(|e| e.waker));
        }
        if !due.is_empty() {
            // Wake outside the lock: a wake re-queues a task, which may take locks
            // of its own (and a bounded engine's queue may make it wait).
            drop(state);
            due.into_iter().for_each(Waker::wake);
            state = std_lock(&shared.state);
            continue;
        }
        state = match state.entries.peek().map(|e| e.deadline) {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(now);
                std_wait_timeout(&shared.cond, state, wait)
            }
            None => std_wait(&shared.cond, state),
        };
    }
}

/// A future that is ready once `delay` has passed on `timer`: `Ok(())`, or
/// `Err(Shutdown)` when the engine shut down first.
pub(crate) struct Sleep<'a> {
    timer: &'a Timer,
    deadline: Instant,
}

impl<'a> Sleep<'a> {
    pub(crate) fn new(timer: &'a Timer, delay: Duration) -> Sleep<'a> {
        let now = Instant::now();
        // A delay too long to represent waits as long as the platform allows.
        let deadline = now.checked_add(delay).unwrap_or_else(|| now + Duration::from_secs(86_400 * 365));
        Sleep { timer, deadline }
    }
}

impl Future for Sleep<'_> {
    type Output = Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.timer.is_stopped() {
            return Poll::Ready(Err(EngineError::Shutdown));
        }
        if Instant::now() >= self.deadline {
            return Poll::Ready(Ok(()));
        }
        // Registered again on every early poll: a spurious poll costs an extra
        // (harmless) wake-up, never a lost one.
        match self.timer.wake_at(self.deadline, cx.waker().clone()) {
            Ok(()) => Poll::Pending,
            Err(err) => Poll::Ready(Err(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::block_on;

    #[test]
    fn sleeps_at_least_their_delay_and_in_deadline_order() {
        let timer = Timer::new("te-test-timer".into());
        let start = Instant::now();
        assert_eq!(block_on(Sleep::new(&timer, Duration::from_millis(30))), Ok(()));
        assert!(start.elapsed() >= Duration::from_millis(30));
        // Two registered out of order fire earliest first.
        let order = Arc::new(Mutex::new(Vec::new()));
        struct Push(Arc<Mutex<Vec<u32>>>, u32);
        impl std::task::Wake for Push {
            fn wake(self: Arc<Self>) {
                std_lock(&self.0).push(self.1);
            }
        }
        let now = Instant::now();
        timer.wake_at(now + Duration::from_millis(40), Waker::from(Arc::new(Push(Arc::clone(&order), 2)))).unwrap();
        timer.wake_at(now + Duration::from_millis(10), Waker::from(Arc::new(Push(Arc::clone(&order), 1)))).unwrap();
        while std_lock(&order).len() < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*std_lock(&order), [1, 2]);
        if let Some(t) = timer.stop() {
            t.join().unwrap();
        }
    }

    #[test]
    fn stop_wakes_pending_sleeps_with_shutdown() {
        let timer = Arc::new(Timer::new("te-test-timer".into()));
        let t2 = Arc::clone(&timer);
        let sleeper = std::thread::spawn(move || block_on(Sleep::new(&t2, Duration::from_secs(3600))));
        while std_lock(&timer.shared.state).entries.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Some(t) = timer.stop() {
            t.join().unwrap();
        }
        assert_eq!(sleeper.join().unwrap(), Err(EngineError::Shutdown));
        assert_eq!(timer.wake_at(Instant::now(), Waker::noop().clone()), Err(EngineError::Shutdown));
    }
}
