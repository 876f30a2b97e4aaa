//! Scratch memory for tasks: each thread's own bump arena, handed out in
//! stack order and taken back when the code that asked for it returns.
//!
//! - Rust: [`scratch`] lends a buffer to a closure; it is taken back when the
//!   closure returns (or unwinds), so it cannot outlive the call.
//! - C: `te_task_scratch(size)` gives memory that stays valid until the task
//!   callback that asked for it returns. Every C callback the engine runs
//!   (tasks, loop bodies, reduction steps) is wrapped by [`task_scope`], which
//!   notes the arena's offset before and rewinds to it after. A task waiting
//!   inside its callback may run other tasks on the same thread: they nest
//!   strictly inside it, so their rewinds never touch its memory.
//!
//! Each thread reserves [`SCRATCH_CAPACITY`] bytes of address space on first
//! use (committed page by page as touched, released when the thread exits).
//! When nothing is allocated any more, pages touched beyond [`SCRATCH_KEEP`]
//! are handed back to the system, so one large request does not pin memory.

use std::cell::RefCell;
use std::mem::{align_of, size_of, MaybeUninit};
use std::ptr::NonNull;

use super::BumpArena;
use crate::per_thread::{self, ScratchCounters};
use crate::{EngineError, Result};

/// Address space each thread reserves for scratch memory: the most one
/// thread can hold at once.
pub const SCRATCH_CAPACITY: usize = 64 << 20;
/// Bytes of touched scratch memory a thread keeps committed when none is in use.
pub const SCRATCH_KEEP: usize = 1 << 20;
/// Every scratch block is aligned to this (a cache line, enough for any SIMD load).
pub const SCRATCH_ALIGN: usize = 64;

thread_local! {
    static ARENA: RefCell<Option<BumpArena>> = const { RefCell::new(None) };
}

/// What entering and leaving a callback touches lives apart from the arena, in
/// the thread's [`PerThread`](crate::per_thread) state (no destructor, so every
/// C callback the engine runs pays plain loads and stores for it: no
/// lazy-registration check, no borrow, and from the shared library no
/// thread-local lookup beyond the one its entry point already made).
impl ScratchCounters {
    /// `size` bytes aligned to `align`, from this thread's arena (made on first use).
    fn alloc(&self, size: usize, align: usize) -> Result<NonNull<u8>> {
        ARENA.try_with(|arena| self.alloc_in(arena, size, align)).unwrap_or(Err(EngineError::Shutdown))
    }

    fn alloc_in(&self, arena: &RefCell<Option<BumpArena>>, size: usize, align: usize) -> Result<NonNull<u8>> {
        let mut slot = arena.borrow_mut();
        let arena = match &mut *slot {
            Some(arena) => arena,
            None => slot.insert(BumpArena::new(SCRATCH_CAPACITY)?),
        };
        let p = arena.alloc(size, align).map_err(|_| EngineError::NoMemory)?;
        let used = arena.used();
        self.used.set(used);
        self.high.set(self.high.get().max(used));
        self.release_due.set(usize::from(self.high.get() > SCRATCH_KEEP));
        Ok(p)
    }

    /// Takes back everything allocated after `mark`; when nothing is left in
    /// use, hands pages touched beyond [`SCRATCH_KEEP`] back to the system.
    #[inline]
    fn rewind(&self, mark: usize) {
        // Every C callback leaves through here; usually it took nothing. With
        // `mark` 0 this also catches pages due back (`release_due` is 0 or 1);
        // with a larger mark it may send a no-op rewind the slow way, harmlessly.
        if (self.used.get() | self.release_due.get()) <= mark {
            return;
        }
        self.rewind_arena(mark);
    }

    #[cold]
    #[inline(never)]
    fn rewind_arena(&self, mark: usize) {
        // A borrow cannot be held here: nothing in this module calls out while
        // holding one. `try_borrow_mut` keeps it a no-op rather than a panic
        // if that ever changed.
        // try_with: during thread teardown the arena may be gone (nothing to do).
        let _ = ARENA.try_with(|arena| {
            let Ok(mut slot) = arena.try_borrow_mut() else { return };
            let Some(arena) = slot.as_mut() else { return };
            arena.rewind(mark);
            self.used.set(arena.used());
            if mark == 0 && self.high.get() > SCRATCH_KEEP {
                arena.release(SCRATCH_KEEP, self.high.get());
                self.high.set(0);
                self.release_due.set(0);
            }
        });
    }
}

/// This thread's scratch state, for a guard to keep: looked up once per scope.
#[inline]
fn this_thread() -> *const ScratchCounters {
    per_thread::with(|t| &t.scratch as *const ScratchCounters)
}

/// Restores the arena (and the callback depth) when a scope ends, also on unwind.
struct Rewind {
    /// This thread's counters (the raw pointer keeps the guard on its thread).
    scratch: *const ScratchCounters,
    mark: usize,
    task: bool,
}

impl Drop for Rewind {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `scratch` is this thread's counters (the guard is !Send), in a
        // thread-local without destructor: valid for as long as the thread runs.
        let s = unsafe { &*self.scratch };
        if self.task {
            s.depth.set(s.depth.get() - 1);
        }
        s.rewind(self.mark);
    }
}

/// Runs a C callback as a task: `te_task_scratch` works inside it, and what it
/// got is taken back when it returns.
#[inline]
pub(crate) fn task_scope<R>(f: impl FnOnce() -> R) -> R {
    let scratch = this_thread();
    // SAFETY: this thread's counters, valid while the thread runs (see Rewind).
    let s = unsafe { &*scratch };
    s.depth.set(s.depth.get() + 1);
    let guard = Rewind { scratch, mark: s.used.get(), task: true };
    let r = f();
    drop(guard);
    r
}

/// `te_task_scratch`: `size` bytes for the running C task, valid until its
/// callback returns. `Invalid` outside a task or for size 0; `NoMemory` when
/// the thread's arena cannot hold it.
pub(crate) fn task_alloc(size: usize) -> Result<NonNull<u8>> {
    if size == 0 {
        return Err(EngineError::invalid("te_task_scratch: size 0 (ask for at least one byte)"));
    }
    per_thread::with(|t| {
        let s = &t.scratch;
        if s.depth.get() == 0 {
            return Err(EngineError::invalid(
                "te_task_scratch called outside a task (only a callback the engine runs may use it)",
            ));
        }
        s.alloc(size, SCRATCH_ALIGN)
    })
}

/// Lends `f` a buffer of `len` uninitialised `T`s from this thread's scratch
/// arena, aligned to at least [`SCRATCH_ALIGN`], and takes it back when `f`
/// returns (or unwinds). Allocation is a pointer bump and taking back is
/// free, so a task can use this on every call instead of the heap.
///
/// Calls nest (a buffer lent inside `f` is taken back before `f`'s own); any
/// thread may call it, inside a task or not. At most [`SCRATCH_CAPACITY`]
/// bytes per thread are lent at once.
///
/// Errors: [`EngineError::NoMemory`] when the buffer does not fit in what is
/// left of this thread's arena (or `len` items overflow), `Invalid` for a type
/// aligned to more than 4096 bytes. `len == 0` lends an empty slice.
///
/// ```
/// let total = taskengine::alloc::scratch::<u32, _>(1000, |buf| {
///     for (i, x) in buf.iter_mut().enumerate() {
///         x.write(i as u32);
///     }
///     // SAFETY: every item was written just above.
///     buf.iter().map(|x| u64::from(unsafe { x.assume_init() })).sum::<u64>()
/// })
/// .unwrap();
/// assert_eq!(total, 999 * 1000 / 2);
/// ```
pub fn scratch<T, R>(len: usize, f: impl FnOnce(&mut [MaybeUninit<T>]) -> R) -> Result<R> {
    let bytes = len.checked_mul(size_of::<T>()).ok_or(EngineError::NoMemory)?;
    if bytes == 0 {
        let mut empty: [MaybeUninit<T>; 0] = [];
        // ZST items need no memory: a dangling, aligned pointer serves `len` of them.
        if len == 0 {
            return Ok(f(&mut empty));
        }
        // SAFETY: `T` is zero-sized, so `len` items at a dangling aligned
        // pointer occupy no memory and the slice is valid.
        let items = unsafe { std::slice::from_raw_parts_mut(NonNull::<MaybeUninit<T>>::dangling().as_ptr(), len) };
        return Ok(f(items));
    }
    let align = align_of::<T>().max(SCRATCH_ALIGN);
    let scratch = this_thread();
    // SAFETY: this thread's counters, valid while the thread runs (see Rewind).
    let s = unsafe { &*scratch };
    let mark = s.used.get();
    let p = s.alloc(bytes, align)?;
    let guard = Rewind { scratch, mark, task: false };
    // SAFETY: `p` starts `bytes` bytes of this thread's arena, aligned for `T`,
    // handed out to nobody else; they stay allocated until `guard` rewinds
    // the arena, after `f` (which cannot keep the borrow) has returned.
    let items = unsafe { std::slice::from_raw_parts_mut(p.as_ptr().cast::<MaybeUninit<T>>(), len) };
    let r = f(items);
    drop(guard);
    Ok(r)
}

/// How many bytes of scratch memory this thread holds now (for tests).
#[cfg(test)]
pub(crate) fn thread_used() -> usize {
    per_thread::with(|t| t.scratch.used.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_scopes_rewind_in_stack_order() {
        let outer = scratch::<u8, _>(100, |a| {
            let p = a.as_ptr() as usize;
            assert_eq!(p % SCRATCH_ALIGN, 0);
            let inner = scratch::<u64, _>(10, |b| {
                assert!(b.as_ptr() as usize >= p + 100);
                thread_used()
            })
            .unwrap();
            assert!(inner > thread_used());
            p
        })
        .unwrap();
        assert_eq!(thread_used(), 0);
        // The same memory is lent again.
        assert_eq!(scratch::<u8, _>(1, |a| a.as_ptr() as usize).unwrap(), outer);
    }

    #[test]
    fn task_alloc_needs_a_task_and_is_taken_back() {
        assert!(matches!(task_alloc(16), Err(EngineError::Invalid(_))));
        let first = task_scope(|| {
            assert!(matches!(task_alloc(0), Err(EngineError::Invalid(_))));
            let a = task_alloc(100).unwrap();
            let b = task_alloc(1).unwrap();
            assert_eq!(a.as_ptr() as usize % SCRATCH_ALIGN, 0);
            assert!(b.as_ptr() as usize >= a.as_ptr() as usize + 100);
            // A nested task (a wait that helps) takes back only its own.
            task_scope(|| task_alloc(1000).unwrap());
            assert_eq!(task_alloc(1).unwrap().as_ptr() as usize, b.as_ptr() as usize + SCRATCH_ALIGN);
            a.as_ptr() as usize
        });
        assert_eq!(thread_used(), 0);
        assert!(matches!(task_alloc(16), Err(EngineError::Invalid(_))));
        assert_eq!(task_scope(|| task_alloc(8).unwrap().as_ptr() as usize), first);
    }

    #[test]
    fn overflow_and_unwind() {
        task_scope(|| {
            assert_eq!(task_alloc(SCRATCH_CAPACITY + 1), Err(EngineError::NoMemory));
            assert_eq!(task_alloc(usize::MAX), Err(EngineError::NoMemory));
        });
        assert_eq!(scratch::<u64, _>(usize::MAX / 4, |_| ()), Err(EngineError::NoMemory));
        let caught = std::panic::catch_unwind(|| {
            scratch::<u8, _>(4096, |_| panic!("inside")).unwrap();
        });
        assert!(caught.is_err());
        assert_eq!(thread_used(), 0);
        // A large block is handed back once nothing is in use; the arena still works.
        // A byte per page: enough to fault the block in, and quick under Miri.
        scratch::<u8, _>(8 << 20, |b| {
            b.iter_mut().step_by(4096).for_each(|x| {
                x.write(1);
            })
        })
        .unwrap();
        assert_eq!(scratch::<u8, _>(3, |b| b.len()).unwrap(), 3);
        assert_eq!(scratch::<(), _>(5, |b| b.len()).unwrap(), 5);
    }
}
