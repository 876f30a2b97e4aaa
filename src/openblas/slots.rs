//! The `thread_num` values handed to OpenBLAS's jobs, and the budget of jobs
//! that may run at once.
//!
//! OpenBLAS indexes per-thread state with the `thread_num` its callback passes
//! to each job (a packing buffer, and in the pthreads build a status word), so
//! two jobs running at the same time, in any calls, must never share a number,
//! and every number must stay below the library's `MAX_THREADS`. A call takes
//! all the numbers it needs at once or none (a call holding some while waiting
//! for more could wait on another doing the same), which also makes the budget
//! deadlock-free: whoever waits holds nothing, and whoever holds numbers runs
//! BLAS jobs that finish on their own.

use std::ffi::c_int;

/// More `thread_num`s than any OpenBLAS build has (its `MAX_THREADS` tops out
/// at a few hundred); a larger limit is treated as this one.
pub(crate) const MAX_SLOTS: usize = 1024;
const WORDS: usize = MAX_SLOTS / 64;

/// Which numbers are in use, and how many.
#[derive(Debug)]
pub(crate) struct Slots {
    used: [u64; WORDS],
    in_use: usize,
}

/// What a call took: the numbers its jobs use (job `i` gets `thread_nums[i]`),
/// and the slots to give back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Taken {
    pub(crate) thread_nums: Vec<c_int>,
    held: Vec<usize>,
}

impl Slots {
    pub(crate) const fn new() -> Slots {
        Slots { used: [0; WORDS], in_use: 0 }
    }

    /// Numbers for `need` jobs, each below `limit`, or `None` when the call must
    /// wait: fewer than `need` numbers are free, or taking them would put more
    /// than `budget` jobs in flight. A call larger than the budget runs alone
    /// (it cannot be split: its jobs wait on each other). `high_first` takes
    /// the highest free numbers, which OpenBLAS's own pthreads server (using
    /// 0, 1, ...) does not touch.
    ///
    /// A call of more jobs than `limit` cannot come from OpenBLAS (its job array
    /// has `MAX_THREADS` entries); should it come anyway, it gets every slot,
    /// alone, and its jobs are numbered `0..need`.
    pub(crate) fn try_take(&mut self, need: usize, budget: usize, limit: usize, high_first: bool) -> Option<Taken> {
        let limit = limit.clamp(1, MAX_SLOTS);
        if need == 0 {
            return Some(Taken { thread_nums: Vec::new(), held: Vec::new() });
        }
        if need > limit {
            if self.in_use != 0 {
                return None;
            }
            let held: Vec<usize> = (0..limit).collect();
            held.iter().for_each(|&i| self.set(i));
            self.in_use = limit;
            return Some(Taken { thread_nums: (0..need).map(|i| i as c_int).collect(), held });
        }
        if self.in_use != 0 && self.in_use + need > budget.max(1) {
            return None;
        }
        let mut held = Vec::with_capacity(need);
        let mut pick = |i: usize| {
            if held.len() < need && !self.get(i) {
                held.push(i);
            }
        };
        if high_first {
            (0..limit).rev().for_each(&mut pick);
        } else {
            (0..limit).for_each(&mut pick);
        }
        if held.len() < need {
            return None;
        }
        held.iter().for_each(|&i| self.set(i));
        self.in_use += need;
        let thread_nums = held.iter().map(|&i| i as c_int).collect();
        Some(Taken { thread_nums, held })
    }

    /// Gives back what `try_take` handed out.
    pub(crate) fn give_back(&mut self, taken: &Taken) {
        for &i in &taken.held {
            debug_assert!(self.get(i), "slot {i} given back twice");
            self.used[i / 64] &= !(1u64 << (i % 64));
        }
        self.in_use -= taken.held.len();
    }

    /// How many slots are held.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.in_use
    }

    /// Forgets every holder (in a child after fork(): they were threads of the parent).
    pub(crate) fn reset(&mut self) {
        *self = Slots::new();
    }

    fn get(&self, i: usize) -> bool {
        self.used[i / 64] & (1u64 << (i % 64)) != 0
    }

    fn set(&mut self, i: usize) {
        self.used[i / 64] |= 1u64 << (i % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn numbers_are_distinct_below_the_limit_and_high_first() {
        let mut s = Slots::new();
        let a = s.try_take(3, 64, 64, true).unwrap();
        assert_eq!(a.thread_nums, vec![63, 62, 61]);
        let b = s.try_take(2, 64, 64, false).unwrap();
        assert_eq!(b.thread_nums, vec![0, 1]);
        let c = s.try_take(4, 64, 64, true).unwrap();
        assert_eq!(c.thread_nums, vec![60, 59, 58, 57]);
        let all: HashSet<c_int> = [&a, &b, &c].iter().flat_map(|t| t.thread_nums.clone()).collect();
        assert_eq!(all.len(), 9);
        assert_eq!(s.in_use(), 9);
        s.give_back(&b);
        s.give_back(&a);
        assert_eq!(s.try_take(1, 64, 64, true).unwrap().thread_nums, vec![63]);
    }

    #[test]
    fn the_limit_bounds_every_number() {
        let mut s = Slots::new();
        let a = s.try_take(4, 100, 4, true).unwrap();
        assert!(a.thread_nums.iter().all(|&n| (0..4).contains(&n)));
        // No number left below the limit: wait, whatever the budget.
        assert_eq!(s.try_take(1, 100, 4, true), None);
        s.give_back(&a);
        assert!(s.try_take(4, 100, 4, false).is_some());
    }

    #[test]
    fn the_budget_makes_calls_wait_but_never_starves_a_lone_call() {
        let mut s = Slots::new();
        let a = s.try_take(2, 3, 64, true).unwrap();
        assert_eq!(s.try_take(2, 3, 64, true), None, "2 + 2 jobs over a budget of 3");
        let b = s.try_take(1, 3, 64, true).unwrap();
        s.give_back(&a);
        s.give_back(&b);
        // Larger than the budget: runs, alone.
        let big = s.try_take(5, 3, 64, true).unwrap();
        assert_eq!(big.thread_nums.len(), 5);
        assert_eq!(s.try_take(1, 3, 64, true), None);
        s.give_back(&big);
        assert_eq!(s.in_use(), 0);
    }

    #[test]
    fn a_call_larger_than_the_limit_runs_alone_numbered_from_zero() {
        let mut s = Slots::new();
        let a = s.try_take(1, 8, 4, true).unwrap();
        assert_eq!(s.try_take(6, 8, 4, true), None);
        s.give_back(&a);
        let big = s.try_take(6, 8, 4, true).unwrap();
        assert_eq!(big.thread_nums, (0..6).collect::<Vec<c_int>>());
        assert_eq!(s.try_take(1, 8, 4, true), None);
        s.give_back(&big);
        assert_eq!(s.in_use(), 0);
    }

    #[test]
    fn stress_random_takes_never_share_a_number() {
        // A small deterministic generator: no dependency, same run every time.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut s = Slots::new();
        let mut live: Vec<Taken> = Vec::new();
        for _ in 0..20_000 {
            if !live.is_empty() && next(3) == 0 {
                let t = live.swap_remove(next(live.len() as u64) as usize);
                s.give_back(&t);
            } else if let Some(t) = s.try_take(1 + next(8) as usize, 48, 64, next(2) == 0) {
                live.push(t);
            }
            let mut seen = HashSet::new();
            for n in live.iter().flat_map(|t| t.thread_nums.iter()) {
                assert!((0..64).contains(n));
                assert!(seen.insert(*n), "number {n} given to two jobs in flight");
            }
            assert_eq!(s.in_use(), seen.len());
            assert!(s.in_use() <= 48 || live.len() == 1);
        }
    }
}
