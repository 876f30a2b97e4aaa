//! hello: the same small program in every language (see examples/c, cpp, python).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use taskengine::{kernels, Config, Engine, TaskGroup};

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

    let numbers: Vec<i64> = (1..=1_000_000).collect();
    println!("sum of 1..=1000000 = {}", kernels::par_sum_i64(&engine, &numbers)?);

    let mut values = vec![5i64, -3, 9, 0, 2];
    kernels::par_sort_i64(&engine, &mut values)?;
    println!("sorted: {values:?}");

    println!("fnv1a64(\"hello\") = {:#018x}", kernels::fnv1a64(b"hello")?);
    Ok(())
}
