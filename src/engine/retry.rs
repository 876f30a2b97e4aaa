//! Retry as a policy: how many attempts, how long to wait between them, which
//! failures are worth another try; and the driver that runs a task under one.
//!
//! A backoff never blocks a worker: the retrying task is an async task that
//! waits on the engine's timer (`timer.rs`), so the worker runs other work (or
//! sleeps) meanwhile.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::registry::Registry;
use super::task::Task;
use super::timer::Sleep;
use super::unwind;
use crate::error::{panic_message, EngineError, Result};

/// How long to wait before the next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// Try again at once.
    None,
    /// The same delay before every retry.
    Fixed(Duration),
    /// `initial` before the second attempt, doubling before each later one, never
    /// more than `max`.
    Exponential {
        /// The first delay.
        initial: Duration,
        /// The longest delay.
        max: Duration,
    },
}

type Predicate = Arc<dyn Fn(&EngineError) -> bool + Send + Sync>;

/// How a task is retried: at most `max_attempts` runs in all, a [`Backoff`]
/// between them (optionally shortened by random jitter, so that many tasks
/// failing together do not retry in lockstep), and which failures are retried.
///
/// By default panics and `TaskFailed` are retried; `Cancelled` and `Shutdown`
/// never are (whatever [`RetryPolicy::retry_if`] says): they are the engine's
/// decisions, not the task's failures.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use taskengine::{Config, Engine, EngineError, RetryPolicy};
///
/// let engine = Engine::new(Config::with_workers(2)).unwrap();
/// let tries = AtomicU32::new(0);
/// let flaky = move || match tries.fetch_add(1, Ordering::Relaxed) {
///     0 | 1 => Err(EngineError::TaskFailed { code: 1, message: "not yet".into() }),
///     n => Ok(n + 1),
/// };
/// let policy = RetryPolicy::new(5).exponential(Duration::from_millis(1), Duration::from_millis(8));
/// assert_eq!(engine.spawn_with_retry(flaky, policy).unwrap().wait(), Ok(3));
/// ```
#[derive(Clone)]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
    jitter: f64,
    retryable: Option<Predicate>,
}

impl RetryPolicy {
    /// At most `max_attempts` runs (0 counts as 1), no backoff, no jitter, the
    /// default retryable errors.
    pub fn new(max_attempts: u32) -> RetryPolicy {
        RetryPolicy { max_attempts: max_attempts.max(1), backoff: Backoff::None, jitter: 0.0, retryable: None }
    }

    /// The same `delay` before every retry.
    pub fn fixed(mut self, delay: Duration) -> RetryPolicy {
        self.backoff = Backoff::Fixed(delay);
        self
    }

    /// `initial` before the second attempt, doubling, at most `max`.
    pub fn exponential(mut self, initial: Duration, max: Duration) -> RetryPolicy {
        self.backoff = Backoff::Exponential { initial, max: max.max(initial) };
        self
    }

    /// Shortens each delay by a random fraction of itself, up to `fraction`
    /// (clamped to 0..=1; 0, the default, waits exactly the backoff).
    pub fn jitter(mut self, fraction: f64) -> RetryPolicy {
        self.jitter = if fraction.is_nan() { 0.0 } else { fraction.clamp(0.0, 1.0) };
        self
    }

    /// Retries only the failures `pred` accepts (never `Cancelled` or `Shutdown`).
    pub fn retry_if(mut self, pred: impl Fn(&EngineError) -> bool + Send + Sync + 'static) -> RetryPolicy {
        self.retryable = Some(Arc::new(pred));
        self
    }

    /// The most runs in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff between attempts.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// Whether a run that failed with `err` may be tried again.
    pub fn is_retryable(&self, err: &EngineError) -> bool {
        match err {
            EngineError::Cancelled | EngineError::Shutdown => false,
            _ => match &self.retryable {
                Some(pred) => pred(err),
                None => matches!(err, EngineError::Panic(_) | EngineError::TaskFailed { .. }),
            },
        }
    }

    /// The backoff before attempt `attempt + 1`, after attempt `attempt` (from 1)
    /// failed, before jitter.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        match self.backoff {
            Backoff::None => Duration::ZERO,
            Backoff::Fixed(delay) => delay,
            Backoff::Exponential { initial, max } => {
                let doublings = attempt.saturating_sub(1).min(63);
                initial.checked_mul(1u32 << doublings.min(31)).unwrap_or(max).min(max)
            }
        }
    }

    pub(crate) fn jittered_delay_after(&self, attempt: u32) -> Duration {
        let delay = self.delay_after(attempt);
        if self.jitter == 0.0 || delay.is_zero() {
            return delay;
        }
        delay.mul_f64(1.0 - self.jitter * unit_random())
    }
}

impl Default for RetryPolicy {
    /// Three attempts, exponential backoff from 10 ms up to 1 s, half jitter.
    fn default() -> Self {
        RetryPolicy::new(3).exponential(Duration::from_millis(10), Duration::from_secs(1)).jitter(0.5)
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .field("jitter", &self.jitter)
            .field("custom_retryable", &self.retryable.is_some())
            .finish()
    }
}

/// A uniform number in [0, 1): xorshift64*, seeded per thread from std's random
/// hash keys. Jitter needs spread, not quality; no dependency for it.
fn unit_random() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(std::collections::hash_map::RandomState::new().build_hasher().finish() | 1);
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Polls a future, turning a panic into `Err(Panic)`.
struct CatchPanic<F>(F);

impl<T, F: Future<Output = Result<T>> + Unpin> Future for CatchPanic<F> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let inner = &mut self.0;
        match unwind::halt_unwinding(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(EngineError::Panic(panic_message(&*payload)))),
        }
    }
}

/// One run of `task`; a panic is an `Err(Panic)`.
async fn attempt<K: Task + ?Sized>(task: &K) -> Result<K::Output> {
    if task.is_sync() {
        return match unwind::halt_unwinding(AssertUnwindSafe(|| task.run_sync())) {
            Ok(result) => result,
            Err(payload) => Err(EngineError::Panic(panic_message(&*payload))),
        };
    }
    let future = match unwind::halt_unwinding(AssertUnwindSafe(|| task.execute())) {
        Ok(future) => future,
        Err(payload) => return Err(EngineError::Panic(panic_message(&*payload))),
    };
    CatchPanic(future).await
}

/// Runs `task` under `policy`; once the attempts are spent (or a failure is not
/// retryable), runs `fallback` instead if there is one, else fails with
/// `Retried { attempts, last }`. `Cancelled` and `Shutdown` end it at once.
pub(crate) async fn run_with_retry<K, F>(
    registry: Arc<Registry>,
    task: K,
    policy: RetryPolicy,
    fallback: Option<F>,
) -> Result<K::Output>
where
    K: Task,
    F: Task<Output = K::Output>,
{
    let mut attempts = 0u32;
    let last = loop {
        attempts += 1;
        let err = match attempt(&task).await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        if matches!(err, EngineError::Cancelled | EngineError::Shutdown) {
            return Err(err);
        }
        if attempts >= policy.max_attempts || !policy.is_retryable(&err) {
            break err;
        }
        let delay = policy.jittered_delay_after(attempts);
        if !delay.is_zero() {
            Sleep::new(&registry.services.timer, delay).await?;
        }
    };
    match fallback {
        Some(fallback) => attempt(&fallback).await,
        None => Err(EngineError::Retried { attempts, last: Box::new(last) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_follow_the_backoff() {
        let ms = Duration::from_millis;
        let p = RetryPolicy::new(10).exponential(ms(10), ms(100));
        let got: Vec<_> = (1..=6).map(|a| p.delay_after(a)).collect();
        assert_eq!(got, [ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)]);
        assert_eq!(p.delay_after(u32::MAX), ms(100));
        assert_eq!(RetryPolicy::new(2).fixed(ms(7)).delay_after(5), ms(7));
        assert_eq!(RetryPolicy::new(2).delay_after(1), Duration::ZERO);
        assert_eq!(RetryPolicy::new(0).max_attempts(), 1);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let ms = Duration::from_millis;
        let p = RetryPolicy::new(3).fixed(ms(100)).jitter(0.25);
        let mut seen_short = false;
        for _ in 0..1000 {
            let d = p.jittered_delay_after(1);
            assert!(d > ms(75) && d <= ms(100), "{d:?}");
            seen_short |= d < ms(99);
        }
        assert!(seen_short, "jitter never shortened a delay");
        assert_eq!(RetryPolicy::new(3).fixed(ms(5)).jitter(f64::NAN).jittered_delay_after(1), ms(5));
    }

    #[test]
    fn default_retryable_errors() {
        let p = RetryPolicy::new(3);
        assert!(p.is_retryable(&EngineError::Panic("x".into())));
        assert!(p.is_retryable(&EngineError::TaskFailed { code: 1, message: String::new() }));
        assert!(!p.is_retryable(&EngineError::Overflow));
        assert!(!p.is_retryable(&EngineError::Cancelled));
        assert!(!p.is_retryable(&EngineError::Shutdown));
        let all = RetryPolicy::new(3).retry_if(|_| true);
        assert!(all.is_retryable(&EngineError::Overflow));
        assert!(!all.is_retryable(&EngineError::Cancelled));
        assert!(!all.is_retryable(&EngineError::Shutdown));
    }
}
