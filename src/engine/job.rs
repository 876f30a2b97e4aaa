//! Jobs: type-erased units of work that sit in the deques.
//!
//! A [`JobRef`] is two words (data pointer, execute function) so pushing one is a
//! plain copy. [`StackJob`] lives on the stack of a `join` caller (no heap allocation
//! on the fork-join fast path); spawned tasks and group tickets are `Arc`s that
//! implement [`Job`] themselves.

use std::any::Any;
use std::cell::UnsafeCell;

use super::unwind;

/// Something a [`JobRef`] can point at.
pub(crate) trait Job {
    /// Runs the job.
    ///
    /// # Safety
    /// `this` must point at a live job that has not been executed yet; it is executed
    /// at most once.
    unsafe fn execute(this: *const ());
}

/// A pointer to a job and the function that runs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JobRef {
    pointer: *const (),
    execute_fn: unsafe fn(*const ()),
}

// SAFETY: a JobRef is only created for jobs whose data is Send (see `new`'s contract),
// and the pointer is only dereferenced by the one thread that executes it.
unsafe impl Send for JobRef {}

impl JobRef {
    /// # Safety
    /// `data` must stay valid until the job has executed, and `T`'s data must be safe
    /// to execute from another thread.
    pub(crate) unsafe fn new<T: Job>(data: *const T) -> JobRef {
        JobRef { pointer: data.cast(), execute_fn: T::execute }
    }

    /// Whether both refer to the same job (by data pointer: function pointers are
    /// not reliably comparable).
    #[inline]
    pub(crate) fn same_job(&self, other: &JobRef) -> bool {
        std::ptr::eq(self.pointer, other.pointer)
    }

    /// The job's data pointer.
    #[inline]
    pub(crate) fn data(&self) -> *const () {
        self.pointer
    }

    /// Whether this job's data is `data`.
    #[inline]
    pub(crate) fn points_at<T>(&self, data: *const T) -> bool {
        std::ptr::eq(self.pointer, data.cast())
    }

    /// The two words a deque slot stores.
    #[inline]
    pub(crate) fn into_raw(self) -> (*mut (), *mut ()) {
        (self.pointer.cast_mut(), self.execute_fn as *mut ())
    }

    /// The job `into_raw` gave these words for.
    ///
    /// # Safety
    /// The words came from `into_raw`, unchanged.
    #[inline]
    pub(crate) unsafe fn from_raw((pointer, execute_fn): (*mut (), *mut ())) -> JobRef {
        const { assert!(size_of::<*mut ()>() == size_of::<unsafe fn(*const ())>()) };
        // A stale deque slot read as a job would be undefined behaviour below.
        debug_assert!(!execute_fn.is_null(), "a deque slot read before it was written");
        // SAFETY: `execute_fn` was such a function pointer (the contract), and the
        // two pointer types have the same size (asserted above).
        JobRef {
            pointer: pointer.cast_const(),
            execute_fn: unsafe { std::mem::transmute::<*mut (), unsafe fn(*const ())>(execute_fn) },
        }
    }

    /// Runs the job.
    ///
    /// # Safety
    /// The job must not have been executed before (each JobRef is executed once).
    #[inline]
    pub(crate) unsafe fn execute(self) {
        // SAFETY: forwarded from this function's contract.
        unsafe { (self.execute_fn)(self.pointer) }
    }
}

/// The outcome of a job run on another thread.
pub(crate) enum JobResult<T> {
    None,
    Ok(T),
    Panic(Box<dyn Any + Send>),
}

impl<T> JobResult<T> {
    /// The value, re-raising a panic on this thread.
    pub(crate) fn into_return_value(self) -> T {
        match self {
            JobResult::Ok(v) => v,
            JobResult::Panic(p) => unwind::resume_unwinding(p),
            JobResult::None => unreachable!("job result read before the job ran"),
        }
    }
}

/// The latch a [`StackJob`] sets when it is done.
pub(crate) trait Latch {
    /// Marks the latch set and wakes its waiter.
    ///
    /// # Safety
    /// `this` may be freed by the waiter as soon as the latch reads as set, so the
    /// implementation must not touch `*this` after publishing the set state.
    unsafe fn set(this: *const Self);
}

/// A job on the caller's stack: the `b` half of `join`.
pub(crate) struct StackJob<L, F, R> {
    pub(crate) latch: L,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<JobResult<R>>,
}

impl<L: Latch, F: FnOnce(bool) -> R, R> StackJob<L, F, R> {
    pub(crate) fn new(func: F, latch: L) -> Self {
        StackJob { latch, func: UnsafeCell::new(Some(func)), result: UnsafeCell::new(JobResult::None) }
    }

    /// # Safety
    /// The job must outlive every use of the returned ref, and must be executed at
    /// most once (through the ref or `run_inline`).
    pub(crate) unsafe fn as_job_ref(&self) -> JobRef {
        // SAFETY: forwarded from this function's contract.
        unsafe { JobRef::new(self) }
    }

    /// Runs the job on the thread that created it, because nobody stole it.
    /// By reference: moving the whole job to call it cost a store-forwarding
    /// stall on every C fork (the job is written field by field just before).
    #[inline]
    pub(crate) fn run_inline(&self, migrated: bool) -> R {
        // SAFETY: the job was popped back from our own deque, so no other thread
        // has it or ever will: we alone touch `func`.
        let func = unsafe { (*self.func.get()).take() }.expect("job taken twice");
        func(migrated)
    }

    /// The result, once the latch is set.
    ///
    /// # Safety
    /// Only after the latch has been observed set (Acquire), so the write is visible.
    pub(crate) unsafe fn into_result(self) -> R {
        self.result.into_inner().into_return_value()
    }
}

impl<L: Latch, F: FnOnce(bool) -> R, R> Job for StackJob<L, F, R> {
    unsafe fn execute(this: *const ()) {
        let this = this.cast::<Self>();
        // SAFETY: the contract of `execute` says `this` is live and runs once; the
        // owner does not touch `func`/`result` until the latch is set.
        let func = unsafe { (*(*this).func.get()).take().expect("job executed twice") };
        super::metrics::count_executed();
        let result = match unwind::halt_unwinding(|| func(true)) {
            Ok(v) => JobResult::Ok(v),
            Err(p) => JobResult::Panic(p),
        };
        // SAFETY: as above; the owner reads it only after the latch (Release) is set.
        unsafe {
            *(*this).result.get() = result;
            Latch::set(std::ptr::addr_of!((*this).latch));
        }
    }
}
