//! A `FreeListAllocator` as the process's `#[global_allocator]`, running ordinary Rust
//! work: collections, strings, formatting, threads and channels. Everything this test
//! binary allocates, the test harness included, comes from it.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ptr::NonNull;
use std::sync::{mpsc, Arc, Mutex};

mod common;

use common::{abort_after, plain_panics};
use taskengine::alloc::FreeListAllocator;

const HEAP_SIZE: usize = 32 << 20;

#[repr(C, align(4096))]
struct Memory(UnsafeCell<[u8; HEAP_SIZE]>);

// SAFETY: the bytes are only ever accessed through ALLOC, which serialises its own
// metadata behind a lock and hands out disjoint payloads.
unsafe impl Sync for Memory {}

/// Zeroed, so it lives in .bss and costs nothing until touched.
static MEMORY: Memory = Memory(UnsafeCell::new([0; HEAP_SIZE]));

#[global_allocator]
// SAFETY: MEMORY is initialised, HEAP_SIZE bytes long, static, and used by nothing but
// ALLOC; a pointer to a static is never null.
static ALLOC: FreeListAllocator =
    unsafe { FreeListAllocator::from_raw_parts(NonNull::new_unchecked(MEMORY.0.get().cast()), HEAP_SIZE) };

fn work(seed: u64) -> u64 {
    let mut sum = 0u64;
    for round in 0..20u64 {
        let v: Vec<u64> = (0..5_000).map(|i| i ^ seed ^ round).collect();
        sum = v.iter().fold(sum, |a, &x| a.wrapping_add(x));
        let mut words: Vec<String> = (0..500).map(|i| format!("w{}-{round}", (i * 31) % 500)).collect();
        words.sort_unstable();
        let index: HashMap<&str, usize> = words.iter().enumerate().map(|(i, w)| (w.as_str(), i)).collect();
        let tree: BTreeMap<usize, String> = index.iter().map(|(k, &v)| (v, k.repeat(3))).collect();
        let mut queue: VecDeque<Box<[u8]>> = VecDeque::new();
        for i in 0..300usize {
            queue.push_back(vec![i as u8; 16 + i % 240].into_boxed_slice());
            if i % 3 == 0 {
                queue.pop_front();
            }
        }
        sum = sum.wrapping_add(tree.len() as u64 + queue.iter().map(|b| b.len() as u64).sum::<u64>());
    }
    sum
}

#[test]
fn real_work_runs_on_the_free_list() {
    plain_panics();
    abort_after(30);
    // A first pass lets std set up its one-time state (thread-local keys, lazy locks).
    work(0);
    let before = ALLOC.stats();

    let serial = work(1);
    let shared = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (shared, tx) = (Arc::clone(&shared), tx.clone());
            std::thread::spawn(move || {
                let r = work(1);
                shared.lock().unwrap().push(format!("thread {t} done"));
                tx.send(r).unwrap();
            })
        })
        .collect();
    drop(tx);
    for h in handles {
        h.join().unwrap();
    }
    let results: Vec<u64> = rx.iter().collect();
    assert_eq!(results, vec![serial; 4]);
    assert_eq!(shared.lock().unwrap().len(), 4);

    let b = Box::new(7u32);
    assert!(ALLOC.owns((&*b as *const u32).cast()));
    drop(b);
    drop((shared, results));

    ALLOC.check_integrity().unwrap();
    let after = ALLOC.stats();
    assert!(after.allocations > before.allocations + 100_000, "{before:?} -> {after:?}");
    assert_eq!(after.failed_allocations, 0);
    // Everything the work allocated was given back and merged again. A few bytes may
    // remain with std (per-thread bookkeeping it keeps after the threads exit).
    assert!(
        after.live_allocations <= before.live_allocations + 8 && after.free_bytes + 4096 >= before.free_bytes,
        "{before:?} -> {after:?}"
    );
}

#[test]
fn a_bad_dealloc_is_ignored_and_counted() {
    plain_panics();
    let layout = Layout::new::<u64>();
    let local = 5u64;
    let before = ALLOC.stats().invalid_frees;
    let b = Box::into_raw(Box::new(9u64));
    // SAFETY: deliberately breaks `dealloc`'s contract, with a stack address, a pointer
    // into the middle of a live block and null; the allocator documents that it
    // ignores them.
    unsafe {
        ALLOC.dealloc((&local as *const u64).cast_mut().cast(), layout);
        ALLOC.dealloc(b.cast::<u8>().add(4), layout);
        ALLOC.dealloc(std::ptr::null_mut(), layout);
    }
    assert_eq!(ALLOC.stats().invalid_frees, before + 3);
    // SAFETY: `b` came from `Box::into_raw` and is still live.
    assert_eq!(unsafe { *Box::from_raw(b) }, 9);
    ALLOC.check_integrity().unwrap();
}
