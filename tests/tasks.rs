//! Tasks as objects: async tasks on the workers, `TaskExecutor` trait objects,
//! retry with backoff and fallback, in Rust and through groups.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::watchdog;
use taskengine::kernels::{MathOperation, MathTask, MathValue};
use taskengine::{
    async_task, engine_config, math_task, BoxFuture, Config, Engine, EngineError, RetryPolicy, SyncTask, Task,
    TaskExecutor, TaskGroup,
};

fn engine(workers: usize) -> Engine {
    Engine::new(Config::with_workers(workers)).unwrap()
}

/// A one-shot channel on std types only: the receiver is a future.
#[derive(Clone, Default)]
struct Oneshot(Arc<Mutex<(Option<u64>, Option<Waker>)>>);

impl Oneshot {
    fn send(&self, v: u64) {
        let waker = {
            let mut s = self.0.lock().unwrap();
            s.0 = Some(v);
            s.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Future for Oneshot {
    type Output = u64;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        let mut s = self.0.lock().unwrap();
        match s.0 {
            Some(v) => Poll::Ready(v),
            None => {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn an_awaiting_task_does_not_hold_the_only_worker() {
    watchdog(30, "await-frees-worker", || {
        let e = engine(1);
        let chan = Oneshot::default();
        let polled = Arc::new(AtomicBool::new(false));
        let (rx, seen) = (chan.clone(), Arc::clone(&polled));
        // A: waits for a value only B (spawned after A has started waiting) sends.
        let a = e
            .execute(async_task(move || {
                let (rx, seen) = (rx.clone(), Arc::clone(&seen));
                async move {
                    seen.store(true, Ordering::SeqCst);
                    Ok(rx.await * 2)
                }
            }))
            .unwrap();
        while !polled.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        // Had A blocked its worker, B could never run: the watchdog would fire.
        let b = e.spawn(move || chan.send(21)).unwrap();
        assert_eq!(b.wait(), Ok(()));
        assert_eq!(a.wait(), Ok(42));
    });
}

/// An async task that awaits the handle of a task spawned after it.
struct AwaitsLater(Arc<Mutex<Option<taskengine::TaskHandle<u64>>>>, Oneshot);

impl Task for AwaitsLater {
    type Output = u64;
    fn execute(&self) -> BoxFuture<'_, taskengine::Result<u64>> {
        Box::pin(async move {
            self.1.clone().await; // the handle is in place once this fires
            let handle = self.0.lock().unwrap().take().expect("handle");
            Ok(handle.await? + 1)
        })
    }
}

#[test]
fn a_task_awaits_the_handle_of_one_spawned_after_it_on_one_worker() {
    watchdog(30, "await-handle", || {
        let e = engine(1);
        let slot = Arc::new(Mutex::new(None));
        let ready = Oneshot::default();
        let a = e.execute(AwaitsLater(Arc::clone(&slot), ready.clone())).unwrap();
        let gate = Arc::new(AtomicBool::new(false));
        let g = Arc::clone(&gate);
        // B only finishes once A has been told to await it.
        let b = e
            .spawn(move || {
                while !g.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                41
            })
            .unwrap();
        *slot.lock().unwrap() = Some(b);
        ready.send(0);
        gate.store(true, Ordering::SeqCst);
        assert_eq!(a.wait(), Ok(42));
    });
}

struct Cube(u64);
impl SyncTask for Cube {
    type Output = u64;
    fn run(&self) -> taskengine::Result<u64> {
        self.0.checked_pow(3).ok_or(EngineError::Overflow)
    }
}

#[test]
fn executors_and_tasks_as_shared_trait_objects() {
    watchdog(30, "dyn-executor", || {
        let executor: Arc<dyn TaskExecutor<u64>> = Arc::new(engine(2));
        let tasks: Vec<Arc<dyn Task<Output = u64>>> = vec![
            Arc::new(Cube(3)),
            Arc::new(|| Ok(5u64)),
            Arc::new(async_task(|| async { Ok(7u64) })),
            Arc::new(Cube(1 << 22)),
        ];
        let want = [Ok(27), Ok(5), Ok(7), Err(EngineError::Overflow)];
        // The executor is shared by threads (Send + Sync), the tasks re-run.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for (t, w) in tasks.iter().zip(&want) {
                        assert_eq!(executor.execute(Arc::clone(t)).unwrap().wait(), *w);
                    }
                });
            }
        });
        // A panic in a task is the handle's error, the worker survives.
        let boom: Arc<dyn Task<Output = u64>> = Arc::new(|| -> taskengine::Result<u64> { panic!("boom") });
        assert!(matches!(executor.execute(boom).unwrap().wait(), Err(EngineError::Panic(m)) if m == "boom"));
        assert_eq!(executor.execute(Arc::new(Cube(2))).unwrap().wait(), Ok(8));
    });
}

/// Fails (`TaskFailed`, or a panic) its first `failures` runs, then returns the
/// number of the run; counts every run.
fn flaky(failures: u32, panics: bool, runs: Arc<AtomicU32>) -> impl Fn() -> taskengine::Result<u32> + Send + Sync {
    move || {
        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
        if run <= failures {
            if panics {
                panic!("run {run} panics");
            }
            return Err(EngineError::TaskFailed { code: run as i32, message: format!("run {run} fails") });
        }
        Ok(run)
    }
}

#[test]
fn retry_counts_attempts_exactly() {
    watchdog(60, "retry-count", || {
        let e = engine(2);
        for panics in [false, true] {
            for k in 0..5u32 {
                // k failures then success, with exactly enough attempts.
                let runs = Arc::new(AtomicU32::new(0));
                let h = e.spawn_with_retry(flaky(k, panics, Arc::clone(&runs)), RetryPolicy::new(k + 1)).unwrap();
                assert_eq!(h.wait(), Ok(k + 1));
                assert_eq!(runs.load(Ordering::SeqCst), k + 1);
                // One attempt too few: gives up after k, reporting the last error.
                if k > 0 {
                    let runs = Arc::new(AtomicU32::new(0));
                    let h = e.spawn_with_retry(flaky(k, panics, Arc::clone(&runs)), RetryPolicy::new(k)).unwrap();
                    match h.wait() {
                        Err(EngineError::Retried { attempts, last }) => {
                            assert_eq!(attempts, k);
                            match *last {
                                EngineError::TaskFailed { code, .. } => assert!(!panics && code == k as i32),
                                EngineError::Panic(m) => assert!(panics && m == format!("run {k} panics")),
                                other => panic!("{other:?}"),
                            }
                        }
                        other => panic!("{other:?}"),
                    }
                    assert_eq!(runs.load(Ordering::SeqCst), k);
                }
            }
        }
    });
}

#[test]
fn errors_the_policy_does_not_retry_end_at_once() {
    watchdog(30, "retry-nonretryable", || {
        let e = engine(2);
        let runs = Arc::new(AtomicU32::new(0));
        let r = Arc::clone(&runs);
        let overflow = move || -> taskengine::Result<u32> {
            r.fetch_add(1, Ordering::SeqCst);
            Err(EngineError::Overflow)
        };
        let got = e.spawn_with_retry(overflow, RetryPolicy::new(5)).unwrap().wait();
        assert_eq!(got, Err(EngineError::Retried { attempts: 1, last: Box::new(EngineError::Overflow) }));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Cancelled and Shutdown are never retried, whatever the predicate says.
        for err in [EngineError::Cancelled, EngineError::Shutdown] {
            let runs = Arc::new(AtomicU32::new(0));
            let (r, e2) = (Arc::clone(&runs), err.clone());
            let task = move || -> taskengine::Result<u32> {
                r.fetch_add(1, Ordering::SeqCst);
                Err(e2.clone())
            };
            let got = e.spawn_with_retry(task, RetryPolicy::new(5).retry_if(|_| true)).unwrap().wait();
            assert_eq!(got, Err(err));
            assert_eq!(runs.load(Ordering::SeqCst), 1);
        }
        // A custom predicate: only Overflow is retried.
        let runs = Arc::new(AtomicU32::new(0));
        let r = Arc::clone(&runs);
        let task = move || -> taskengine::Result<u32> {
            match r.fetch_add(1, Ordering::SeqCst) {
                0 => Err(EngineError::Overflow),
                _ => Err(EngineError::TaskFailed { code: 2, message: String::new() }),
            }
        };
        let policy = RetryPolicy::new(5).retry_if(|e| matches!(e, EngineError::Overflow));
        let got = e.spawn_with_retry(task, policy).unwrap().wait();
        assert!(matches!(got, Err(EngineError::Retried { attempts: 2, .. })), "{got:?}");
    });
}

#[test]
fn backoff_waits_at_least_its_delays_in_order() {
    watchdog(60, "retry-backoff", || {
        let e = engine(2);
        let times = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&times);
        let task = move || -> taskengine::Result<usize> {
            let mut times = t.lock().unwrap();
            times.push(Instant::now());
            if times.len() < 4 {
                Err(EngineError::TaskFailed { code: 1, message: String::new() })
            } else {
                Ok(times.len())
            }
        };
        let ms = Duration::from_millis;
        let policy = RetryPolicy::new(4).exponential(ms(10), ms(25));
        assert_eq!(e.spawn_with_retry(task, policy.clone()).unwrap().wait(), Ok(4));
        let times = times.lock().unwrap();
        // Lower bounds only: attempt n+1 starts no earlier than the backoff after n.
        for (n, pair) in times.windows(2).enumerate() {
            let want = policy.delay_after(n as u32 + 1);
            assert!(pair[1] - pair[0] >= want, "gap {n}: {:?} < {want:?}", pair[1] - pair[0]);
        }
        assert!(times[3] - times[0] >= ms(10 + 20 + 25));
    });
}

#[test]
fn a_backoff_holds_no_worker() {
    watchdog(30, "retry-frees-worker", || {
        // One worker. Attempt 1 spawns a task, then fails; attempt 2 succeeds only
        // if that task ran in between, which it can only do on the one worker if the
        // backoff did not keep the worker (a sleep in place would run attempt 2 first).
        let e = engine(1);
        let ran = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(AtomicU32::new(0));
        let (r, a) = (Arc::clone(&ran), Arc::clone(&attempts));
        let task = move || -> taskengine::Result<&'static str> {
            if a.fetch_add(1, Ordering::SeqCst) == 0 {
                let r = Arc::clone(&r);
                Engine::current()?.spawn(move || r.store(true, Ordering::SeqCst))?;
                return Err(EngineError::TaskFailed { code: 1, message: "first".into() });
            }
            if r.load(Ordering::SeqCst) {
                Ok("the other task ran during the backoff")
            } else {
                Err(EngineError::invalid("the backoff held the worker"))
            }
        };
        let policy = RetryPolicy::new(2).fixed(Duration::from_millis(20));
        assert_eq!(e.spawn_with_retry(task, policy).unwrap().wait(), Ok("the other task ran during the backoff"));
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn fallback_runs_when_the_retries_are_spent() {
    watchdog(30, "retry-fallback", || {
        let e = engine(2);
        let runs = Arc::new(AtomicU32::new(0));
        let fallback_runs = Arc::new(AtomicU32::new(0));
        let f = Arc::clone(&fallback_runs);
        let fallback = move || -> taskengine::Result<u32> {
            f.fetch_add(1, Ordering::SeqCst);
            Ok(99)
        };
        let policy = RetryPolicy::new(3).fixed(Duration::from_millis(1));
        let h = e.spawn_with_fallback(flaky(u32::MAX, false, Arc::clone(&runs)), policy, fallback).unwrap();
        assert_eq!(h.wait(), Ok(99));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!(fallback_runs.load(Ordering::SeqCst), 1);
        // No fallback when the task succeeds.
        let f = Arc::clone(&fallback_runs);
        let unused = move || -> taskengine::Result<u32> {
            f.fetch_add(1, Ordering::SeqCst);
            Ok(0)
        };
        assert_eq!(e.spawn_with_fallback(|| Ok(5u32), RetryPolicy::new(3), unused).unwrap().wait(), Ok(5));
        assert_eq!(fallback_runs.load(Ordering::SeqCst), 1);
        // Through the trait object too.
        let exec: &dyn TaskExecutor<u32> = &e;
        let always_fails: Arc<dyn Task<Output = u32>> =
            Arc::new(|| Err(EngineError::TaskFailed { code: 3, message: String::new() }));
        let got = exec.execute_with_retry(always_fails, RetryPolicy::new(2), Some(Arc::new(|| Ok(7u32)))).unwrap();
        assert_eq!(got.wait(), Ok(7));
    });
}

#[test]
fn an_async_task_is_retried_and_its_panics_count_as_failures() {
    watchdog(30, "retry-async", || {
        let e = engine(1);
        let runs = Arc::new(AtomicU32::new(0));
        let r = Arc::clone(&runs);
        let task = async_task(move || {
            let r = Arc::clone(&r);
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("not yet");
                }
                Ok(Engine::current()?.spawn(|| 6)?.await? * 7)
            }
        });
        assert_eq!(e.spawn_with_retry(task, RetryPolicy::new(3)).unwrap().wait(), Ok(42));
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn a_retry_waiting_out_its_backoff_ends_with_shutdown() {
    watchdog(30, "retry-shutdown", || {
        let e = engine(1);
        let attempts = Arc::new(AtomicU32::new(0));
        let a = Arc::clone(&attempts);
        let task = move || -> taskengine::Result<()> {
            a.fetch_add(1, Ordering::SeqCst);
            Err(EngineError::TaskFailed { code: 1, message: String::new() })
        };
        let h = e.spawn_with_retry(task, RetryPolicy::new(2).fixed(Duration::from_secs(3600))).unwrap();
        while attempts.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        // Returns without waiting an hour; the timer thread is joined with the workers.
        drop(e);
        assert_eq!(h.wait(), Err(EngineError::Shutdown));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn group_retry_keeps_the_group_busy_through_its_backoff() {
    watchdog(60, "group-retry", || {
        let e = engine(2);
        let group = TaskGroup::new(&e).unwrap();
        let counters: Vec<Arc<AtomicU32>> = (0..8).map(|_| Arc::new(AtomicU32::new(0))).collect();
        for (i, c) in counters.iter().enumerate() {
            let c = Arc::clone(c);
            let fails = i as u32 % 3;
            let body = move || {
                if c.fetch_add(1, Ordering::SeqCst) < fails {
                    return Err(EngineError::TaskFailed { code: 5, message: String::new() });
                }
                Ok(())
            };
            group.spawn_with_retry(body, RetryPolicy::new(3).fixed(Duration::from_millis(5))).unwrap();
        }
        // The wait covers the backoffs: every task has made all its attempts.
        assert_eq!(group.wait(), Ok(()));
        let got: Vec<u32> = counters.iter().map(|c| c.load(Ordering::SeqCst)).collect();
        assert_eq!(got, (0..8).map(|i| i % 3 + 1).collect::<Vec<_>>());
        assert_eq!(group.pending(), 0);
        // Spent: the group fails with the attempt count and the last error.
        let group = TaskGroup::new(&e).unwrap();
        let runs = Arc::new(AtomicU32::new(0));
        let r = Arc::clone(&runs);
        let body = move || -> taskengine::Result<()> {
            r.fetch_add(1, Ordering::SeqCst);
            panic!("always")
        };
        group.spawn_with_retry(body, RetryPolicy::new(3).fixed(Duration::from_millis(2))).unwrap();
        match group.wait() {
            Err(EngineError::Retried { attempts: 3, last }) => assert_eq!(*last, EngineError::Panic("always".into())),
            other => panic!("{other:?}"),
        }
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn macro_and_constructor_forms() {
    // The design's forms, today's form, and MathTask::new agree.
    assert_eq!(math_task!(factorial, 20), MathTask::Factorial(20));
    assert_eq!(math_task!(factorial 20), MathTask::Factorial(20));
    assert_eq!(math_task!(gcd, 12, 18,), MathTask::Gcd(12, 18));
    assert_eq!(math_task!(sqrt, 2.0), MathTask::Sqrt(2.0));
    assert_eq!(MathTask::new(MathOperation::Gcd, &[12, 18]), Ok(math_task!(gcd, 12, 18)));
    assert!(matches!(MathTask::new(MathOperation::Gcd, &[12]), Err(EngineError::Invalid(_))));
    watchdog(30, "math-macro", || {
        let e = Engine::new(engine_config! { workers: 2, min_workers: 1 }).unwrap();
        // 20! from u128 arithmetic, independently of the kernel.
        let want = (1..=20u128).product::<u128>() as u64;
        assert_eq!(math_task!(e => factorial, 20).unwrap().wait(), Ok(MathValue::Int(want)));
        assert_eq!(math_task!(e => gcd, 12, 18,).unwrap().wait(), Ok(MathValue::Int(6)));
        assert_eq!(e.stats().worker_shortfall, 0);
        assert!(e.start_failure().is_none());
    });
}
