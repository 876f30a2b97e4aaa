//! Allocator benchmarks (criterion; `cargo bench --bench alloc`).
//!
//! - `bump`: 1000 allocations of 16–256 bytes, then everything given back at once: the
//!   taskengine `BumpArena` (atomic CAS bump + `reset`), `bumpalo` (single-threaded bump
//!   + `reset`), and the system allocator (malloc each, then free each).
//! - `free_list_batch`: 1000 allocations of 16–256 bytes, then freed in a shuffled order:
//!   `FreeListAllocator` against the system allocator.
//! - `free_list_churn`: 256 live blocks of 16–256 bytes; 1000 times, free a random one
//!   and allocate a new one in its place.
//!
//! Sizes, free order and churn slots are fixed pseudo-random sequences, the same for
//! every contender. Sample counts are small so the whole run takes about a minute.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr::NonNull;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use taskengine::alloc::{BumpArena, FreeListAllocator};

const N: usize = 1000;
const LIVE: usize = 256;

/// SplitMix64, so that every contender sees the same sequence.
fn sequence(seed: u64, n: usize, below: usize) -> Vec<usize> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % below as u64) as usize
        })
        .collect()
}

/// `n` layouts of 16 to 256 bytes, 8-byte aligned.
fn layouts(seed: u64, n: usize) -> Vec<Layout> {
    sequence(seed, n, 241).into_iter().map(|r| Layout::from_size_align(16 + r, 8).unwrap()).collect()
}

/// A shuffled `0..n`.
fn shuffled(seed: u64, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let r = sequence(seed, n, usize::MAX);
    for i in (1..n).rev() {
        v.swap(i, r[i] % (i + 1));
    }
    v
}

fn bump(c: &mut Criterion) {
    let layouts = layouts(1, N);
    let mut g = c.benchmark_group("bump");
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function("taskengine_bump_arena", |b| {
        let mut arena = BumpArena::new(1 << 20).unwrap();
        b.iter(|| {
            for l in &layouts {
                black_box(arena.alloc(l.size(), l.align()).unwrap());
            }
            arena.reset();
        })
    });

    g.bench_function("bumpalo", |b| {
        let mut bump = bumpalo::Bump::with_capacity(1 << 20);
        b.iter(|| {
            for l in &layouts {
                black_box(bump.alloc_layout(*l));
            }
            bump.reset();
        })
    });

    g.bench_function("system_malloc_then_free", |b| {
        let mut ptrs = Vec::with_capacity(N);
        b.iter(|| {
            for l in &layouts {
                // SAFETY: the layouts have non-zero sizes.
                ptrs.push(black_box(unsafe { System.alloc(*l) }));
            }
            for (p, l) in ptrs.drain(..).zip(&layouts) {
                // SAFETY: `p` came from `System.alloc(*l)` just above.
                unsafe { System.dealloc(p, *l) };
            }
        })
    });
    g.finish();
}

/// The two contenders of the free-list groups, behind one interface.
trait Contender {
    fn get(&self, l: Layout) -> NonNull<u8>;
    fn put(&self, p: NonNull<u8>, l: Layout);
}

impl Contender for FreeListAllocator {
    fn get(&self, l: Layout) -> NonNull<u8> {
        self.alloc(l.size(), l.align()).unwrap()
    }
    fn put(&self, p: NonNull<u8>, _l: Layout) {
        self.free(p).unwrap();
    }
}

impl Contender for System {
    fn get(&self, l: Layout) -> NonNull<u8> {
        // SAFETY: the layouts have non-zero sizes.
        NonNull::new(unsafe { self.alloc(l) }).unwrap()
    }
    fn put(&self, p: NonNull<u8>, l: Layout) {
        // SAFETY: `p` came from `get` with the same layout.
        unsafe { self.dealloc(p.as_ptr(), l) }
    }
}

fn batch<A: Contender>(a: &A, layouts: &[Layout], order: &[usize], ptrs: &mut Vec<NonNull<u8>>) {
    ptrs.clear();
    ptrs.extend(layouts.iter().map(|l| black_box(a.get(*l))));
    for &i in order {
        a.put(ptrs[i], layouts[i]);
    }
}

fn churn<A: Contender>(a: &A, live: &mut [(NonNull<u8>, Layout)], slots: &[usize], fresh: &[Layout]) {
    for (&slot, &l) in slots.iter().zip(fresh) {
        let (p, old) = live[slot];
        a.put(p, old);
        live[slot] = (black_box(a.get(l)), l);
    }
}

fn free_list(c: &mut Criterion) {
    let layouts = layouts(2, N);
    let order = shuffled(3, N);
    let mut g = c.benchmark_group("free_list_batch");
    g.throughput(Throughput::Elements(N as u64));
    let mut ptrs = Vec::with_capacity(N);
    g.bench_function("taskengine_free_list", |b| {
        let a = FreeListAllocator::new(1 << 20).unwrap();
        b.iter(|| batch(&a, &layouts, &order, &mut ptrs))
    });
    g.bench_function("system", |b| b.iter(|| batch(&System, &layouts, &order, &mut ptrs)));
    g.finish();

    let initial = self::layouts(4, LIVE);
    let slots = sequence(5, N, LIVE);
    let fresh = self::layouts(6, N);
    let mut g = c.benchmark_group("free_list_churn");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("taskengine_free_list", |b| {
        let a = FreeListAllocator::new(1 << 20).unwrap();
        let mut live: Vec<_> = initial.iter().map(|l| (a.get(*l), *l)).collect();
        b.iter(|| churn(&a, &mut live, &slots, &fresh));
    });
    g.bench_function("system", |b| {
        let mut live: Vec<_> = initial.iter().map(|l| (System.get(*l), *l)).collect();
        b.iter(|| churn(&System, &mut live, &slots, &fresh));
        for (p, l) in live {
            System.put(p, l);
        }
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bump, free_list
}
criterion_main!(benches);
