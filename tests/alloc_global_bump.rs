//! A `BumpArena` as the process's `#[global_allocator]`, running ordinary Rust work:
//! collections, strings, formatting, threads and channels. Everything this test binary
//! allocates, the test harness included, comes from the arena.

use std::cell::UnsafeCell;
use std::collections::{BTreeMap, HashMap};
use std::ptr::NonNull;
use std::sync::{mpsc, Arc, Mutex};

mod common;

use common::{abort_after, plain_panics};
use taskengine::alloc::BumpArena;

/// The arena never frees, so it needs room for everything the binary ever allocates.
const HEAP_SIZE: usize = 64 << 20;

#[repr(C, align(4096))]
struct Memory(UnsafeCell<[u8; HEAP_SIZE]>);

// SAFETY: the bytes are only ever accessed through ARENA, which hands out disjoint
// ranges to its callers.
unsafe impl Sync for Memory {}

/// Zeroed, so it lives in .bss and costs nothing until touched.
static MEMORY: Memory = Memory(UnsafeCell::new([0; HEAP_SIZE]));

#[global_allocator]
// SAFETY: MEMORY is initialised, HEAP_SIZE bytes long, static, and used by nothing but
// ARENA; a pointer to a static is never null.
static ARENA: BumpArena =
    unsafe { BumpArena::from_raw_parts(NonNull::new_unchecked(MEMORY.0.get().cast()), HEAP_SIZE) };

fn work(seed: u64) -> u64 {
    let v: Vec<u64> = (0..50_000).map(|i| i ^ seed).collect();
    let mut sum = v.iter().fold(0u64, |a, &x| a.wrapping_add(x));
    let mut words: Vec<String> = (0..2_000).map(|i| format!("word-{}", (i * 7919) % 2_000)).collect();
    words.sort();
    words.dedup();
    assert_eq!(words.len(), 2_000);
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, w) in words.iter().enumerate() {
        index.insert(w.clone(), i);
    }
    assert_eq!(index["word-1999"], words.binary_search(&"word-1999".to_string()).unwrap());
    let tree: BTreeMap<usize, String> = index.iter().map(|(k, &v)| (v, k.to_uppercase())).collect();
    assert_eq!(tree[&0], "WORD-0");
    sum = sum.wrapping_add(tree.len() as u64);
    sum
}

#[test]
fn real_work_runs_on_the_arena() {
    plain_panics();
    abort_after(30);
    let before = ARENA.stats();

    let serial = work(1);

    // Threads, a channel and a shared vector, all allocating concurrently.
    let shared = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let handles: Vec<_> = (0..4u64)
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

    // The memory really is the arena's.
    let b = Box::new(42u64);
    assert!(ARENA.contains((&*b as *const u64).cast()));
    let s = String::from("on the arena");
    assert!(ARENA.contains(s.as_ptr()));

    let after = ARENA.stats();
    assert!(after.allocations > before.allocations + 10_000, "{before:?} -> {after:?}");
    assert!(after.used > before.used && after.used <= after.capacity);
    assert_eq!(after.failed_allocations, 0);
}

#[test]
fn vec_growth_extends_the_last_block_in_place() {
    plain_panics();
    // With nothing allocated after it, growing the newest allocation needs no copy.
    // Other tests may run concurrently and allocate in between, so retry a few times.
    let grew_in_place = (0..100).any(|_| {
        let mut v: Vec<u8> = Vec::with_capacity(64);
        v.extend_from_slice(&[7; 64]);
        let p = v.as_ptr();
        v.reserve_exact(4096);
        v.as_ptr() == p && v.iter().all(|&b| b == 7)
    });
    assert!(grew_in_place);
}
