//! hello: the same small program in every language (see examples/c, cpp, python).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use taskengine::{Config, Engine, TaskGroup};

fn main() -> Result<(), taskengine::EngineError> {
    let engine = Engine::new(Config::with_workers(4))?;
    println!("hello from taskengine {} with {} workers", env!("CARGO_PKG_VERSION"), engine.workers());

    let ran = Arc::new(AtomicUsize::new(0));
    let group = TaskGroup::new(&engine)?;
    for _ in 0..100 {
        let ran = Arc::clone(&ran);
        group.spawn(move || {
            ran.fetch_add(1, Ordering::Relaxed);
        })?;
    }
    group.wait()?;
    println!("100 tasks in a group: {} ran", ran.load(Ordering::Relaxed));

    let sum = engine.parallel_reduce(1..1_000_001, 0, || 0u64, |r| r.map(|i| i as u64).sum(), |a, b| a + b)?;
    println!("sum of 1..=1000000 = {sum}");
    Ok(())
}
