//! tasks: the engine's task model in Rust, as examples/c/tasks.c,
//! examples/cpp/tasks.cpp and examples/python/tasks.py show it in theirs:
//! `engine_config!`, `math_task!`, a shared `TaskExecutor`, an async task, and
//! retry with backoff and a fallback. Prints the lines of tests/c/tasks.expected.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use taskengine::kernels::{MathOperation, MathTask, MathValue};
use taskengine::{async_task, engine_config, math_task, Engine, EngineError, RetryPolicy, Task, TaskExecutor};

fn main() -> taskengine::Result<()> {
    // Two workers; if the system could only start one, run with one.
    let engine = Arc::new(Engine::new(engine_config! { workers: 2, min_workers: 1, thread_name_prefix: "tasks" })?);
    let missing = engine.stats().worker_shortfall;
    println!(
        "engine: {} workers, {}",
        engine.workers(),
        if missing == 0 { "none missing".into() } else { format!("{missing} missing") }
    );

    // Any engine is a shared executor of tasks of a given output type.
    let executor: Arc<dyn TaskExecutor<MathValue>> = engine.clone();
    let factorial: Arc<dyn Task<Output = MathValue>> = Arc::new(math_task!(factorial, 20));
    let value = executor.execute(factorial)?.wait()?;
    println!("factorial(20) = {}", value.as_u64().unwrap_or_default());

    // An async task: awaits a math task's handle without holding a worker.
    let e = Arc::clone(&engine);
    let gcd = async_task(move || {
        let e = Arc::clone(&e);
        async move { e.execute(MathTask::new(MathOperation::Gcd, &[12, 18])?)?.await }
    });
    println!("gcd(12, 18) = {}", engine.execute(gcd)?.wait()?.as_u64().unwrap_or_default());

    // Fails twice, then succeeds: retried with 1 ms, then 2 ms of backoff.
    let runs = Arc::new(AtomicU32::new(0));
    let r = Arc::clone(&runs);
    let flaky = move || match r.fetch_add(1, Ordering::SeqCst) + 1 {
        run @ (1 | 2) => Err(EngineError::TaskFailed { code: run as i32, message: "service busy".into() }),
        run => Ok(run),
    };
    let policy = RetryPolicy::new(3).exponential(Duration::from_millis(1), Duration::from_millis(10)).jitter(0.5);
    println!("flaky task: succeeded on attempt {}", engine.spawn_with_retry(flaky, policy.clone())?.wait()?);

    // Always fails: the error says how many attempts were made.
    let hopeless = || -> taskengine::Result<u32> { Err(EngineError::TaskFailed { code: 1, message: "down".into() }) };
    match engine.spawn_with_retry(hopeless, policy.clone())?.wait() {
        Err(EngineError::Retried { attempts, .. }) => println!("hopeless task: failed after {attempts} attempts"),
        other => println!("hopeless task: unexpected {other:?}"),
    }
    let fallback = || Ok(42);
    println!("with a fallback: {}", engine.spawn_with_fallback(hopeless, policy, fallback)?.wait()?);
    Ok(())
}
