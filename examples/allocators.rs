//! allocators: the engine's memory helpers, the same program in every language
//! (examples/c/allocators.c, examples/cpp/allocators.cpp,
//! examples/python/allocators.py):
//! 1. a bump arena for many small allocations freed at once;
//! 2. scratch memory for each task, taken back when it returns;
//! 3. the scratch memory the engine keeps between sorts.

use taskengine::alloc::{scratch, BumpArena};
use taskengine::{kernels, Config, Engine, TaskGroup};

fn main() -> taskengine::Result<()> {
    // 1. A bump arena: 1000 nodes, one reset.
    let mut arena = BumpArena::new(1 << 20)?;
    let mut total = 0u64;
    for i in 0..1000u64 {
        total += *arena.alloc_value(i)?;
    }
    println!("bump arena: 1000 values summing to {total}, {} bytes used", arena.stats().used);
    arena.reset();

    // 2. Each task squares its numbers in scratch memory from its worker's
    // arena: no heap allocation, nothing to free.
    let engine = Engine::new(Config::with_workers(4))?;
    let group = TaskGroup::new(&engine)?;
    let sums: Vec<_> = (0..8u64).map(|_| std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0))).collect();
    for (t, slot) in sums.iter().enumerate() {
        let slot = std::sync::Arc::clone(slot);
        group.spawn(move || {
            let sum = scratch::<u64, _>(10_000, |buf| {
                for (i, x) in buf.iter_mut().enumerate() {
                    x.write((i as u64 + t as u64) % 7);
                }
                // SAFETY: every item was written just above.
                buf.iter().map(|x| unsafe { x.assume_init() }).sum::<u64>()
            })
            .expect("10 000 items fit the scratch arena");
            slot.store(sum, std::sync::atomic::Ordering::Relaxed);
        })?;
    }
    group.wait()?;
    let scratch_total: u64 = sums.iter().map(|s| s.load(std::sync::atomic::Ordering::Relaxed)).sum();
    println!("task scratch: 8 tasks, 10000 items each, total {scratch_total}");

    // 3. Sorting twice: the second sort reuses the first one's buffer.
    let mut data: Vec<i64> = (0..1_000_000i64).map(|i| (i * 7_919) % 1_000_003).collect();
    kernels::par_sort_i64(&engine, &mut data)?;
    let kept = engine.scratch_cached_bytes();
    kernels::par_sort_i64(&engine, &mut data)?;
    println!(
        "sort scratch: sorted = {}, kept between sorts = {} (>= 8 MB: {})",
        data.windows(2).all(|w| w[0] <= w[1]),
        kept > 0,
        kept >= 8_000_000
    );
    engine.trim_scratch();
    println!("after trim: {} bytes kept", engine.scratch_cached_bytes());
    Ok(())
}
