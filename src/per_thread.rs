//! The per-thread state the hot paths of every layer read, in one thread-local.
//!
//! Built as a shared library (the way most C programs link us), a thread-local
//! is reached through a call to `__tls_get_addr` (the general-dynamic model,
//! about 11 instructions), once per distinct thread-local in each function. A
//! C entry point such as `te_join` or `te_group_new` that read the worker, the
//! scratch counters and the spare lists as separate thread-locals paid for each;
//! reading them as fields of one, it pays once.
//!
//! Every field is a `Cell` with no destructor, so a read is a plain load (no
//! lazy-registration check) and stays valid while the thread's other
//! thread-locals are being destroyed. State that owns memory is reached through
//! an [`OwnedSlot`], whose destructor runs from a separate guard touched only
//! when the state is first made.
//!
//! Each field belongs to one layer, which alone reads and writes it. Pointers to
//! the types of the layers above are kept untyped (`*const ()`), so that this
//! module names none of them; the owning layer's accessor casts them back.

use std::cell::Cell;

/// See the module documentation; every field is written by this thread only.
pub(crate) struct PerThread {
    /// `engine::registry::WorkerThread`: the worker running on this thread.
    pub(crate) worker: Cell<*const ()>,
    /// `engine::Engine`: a non-owning handle to that worker's engine.
    pub(crate) worker_engine: Cell<*const ()>,
    /// `engine::Engine`: the engine of the team member running on this thread.
    pub(crate) team_engine: Cell<*const ()>,
    /// `engine::group::RunningTask`: the innermost group task running here.
    pub(crate) group_task: Cell<*const ()>,
    /// `engine::metrics::WorkerCounters` of this worker, when its engine counts.
    pub(crate) worker_counters: Cell<*const ()>,
    /// `alloc::scratch`: entering and leaving every C callback touches these.
    pub(crate) scratch: ScratchCounters,
    /// `engine::group`: finished group records kept for reuse.
    pub(crate) spare_groups: OwnedSlot,
    /// `ffi::group`: freed group handles kept for reuse.
    pub(crate) spare_handles: OwnedSlot,
    /// This module's tests.
    #[cfg(test)]
    test_slot: OwnedSlot,
}

/// The scratch arena's counters (`alloc::scratch` gives them their meaning).
pub(crate) struct ScratchCounters {
    /// C callbacks running on this thread (nested by waits that help).
    pub(crate) depth: Cell<u32>,
    /// The arena's offset, mirrored so that entering and leaving a callback
    /// costs no `RefCell` borrow.
    pub(crate) used: Cell<usize>,
    /// The largest offset since pages were last released.
    pub(crate) high: Cell<usize>,
    /// 1 while `high` is past the pages kept, else 0: leaving a callback tests
    /// it with `used` in one compare.
    pub(crate) release_due: Cell<usize>,
}

thread_local! {
    static PER_THREAD: PerThread = const {
        PerThread {
            worker: Cell::new(std::ptr::null()),
            worker_engine: Cell::new(std::ptr::null()),
            team_engine: Cell::new(std::ptr::null()),
            group_task: Cell::new(std::ptr::null()),
            worker_counters: Cell::new(std::ptr::null()),
            scratch: ScratchCounters {
                depth: Cell::new(0),
                used: Cell::new(0),
                high: Cell::new(0),
                release_due: Cell::new(0),
            },
            spare_groups: OwnedSlot::new(),
            spare_handles: OwnedSlot::new(),
            #[cfg(test)]
            test_slot: OwnedSlot::new(),
        }
    };
}

/// This thread's state. Never fails: the thread-local has no destructor, so it
/// is there for the thread's whole life, thread-local destructors included.
#[inline(always)]
pub(crate) fn with<R>(f: impl FnOnce(&PerThread) -> R) -> R {
    PER_THREAD.with(f)
}

/// A heap value this thread owns, made on first use and dropped when the thread
/// ends. The pointer lives in [`PerThread`], so using the value costs no
/// thread-local lookup of its own; the destructor is a separate thread-local
/// guard of the owning layer's (see [`OwnedSlot::get_or_make`]).
pub(crate) struct OwnedSlot(Cell<*mut ()>);

/// The slot's mark once its guard has run: the thread is ending, and nothing is
/// made again (it would never be dropped).
const CLOSED: *mut () = std::ptr::dangling_mut::<u8>().cast();

impl OwnedSlot {
    const fn new() -> Self {
        OwnedSlot(Cell::new(std::ptr::null_mut()))
    }

    /// The thread's `T`, made with `T::default()` on first use, after `arm`
    /// returned true; `None` once the thread is ending (`arm` returned false, or
    /// the slot was closed).
    ///
    /// `arm` must register a destructor that calls [`OwnedSlot::close`] on this
    /// slot with the same `T` (in practice: touch a thread-local guard whose
    /// `Drop` does), and return false if it can no longer (the thread's
    /// thread-locals are being destroyed).
    ///
    /// # Safety
    /// Every call on a given slot uses the same `T`.
    #[inline]
    pub(crate) unsafe fn get_or_make<T: Default>(&self, arm: impl FnOnce() -> bool) -> Option<&T> {
        let ptr = self.0.get();
        if ptr.is_null() {
            return self.make::<T>(arm);
        }
        if ptr == CLOSED {
            return None;
        }
        // SAFETY: set by `make` from a `Box<T>` (one `T` per slot: caller's
        // contract) and freed only by `close`, which first replaces it with
        // CLOSED; the reference lives no longer than `&self`, on this thread.
        Some(unsafe { &*ptr.cast::<T>() })
    }

    #[cold]
    #[inline(never)]
    fn make<T: Default>(&self, arm: impl FnOnce() -> bool) -> Option<&T> {
        if !arm() {
            self.0.set(CLOSED);
            return None;
        }
        let ptr = Box::into_raw(Box::<T>::default());
        self.0.set(ptr.cast());
        // SAFETY: just made, owned by the slot until `close`.
        Some(unsafe { &*ptr })
    }

    /// Drops the thread's `T`, if it was made, and keeps the slot from making
    /// another. For the owning layer's guard, at thread exit.
    ///
    /// # Safety
    /// `T` is the type the slot's value was made with, and no reference from
    /// `get_or_make` is alive (the guard runs after the thread's own code).
    pub(crate) unsafe fn close<T>(&self) {
        let ptr = self.0.replace(CLOSED);
        if !ptr.is_null() && ptr != CLOSED {
            // SAFETY: made by `make` as a `Box<T>`; the slot no longer points at
            // it, so this is the only owner and nothing can reach it again.
            drop(unsafe { Box::from_raw(ptr.cast::<T>()) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Mutex;

    /// The items of every `Counted` dropped (each test pushes its own numbers).
    static DROPPED: Mutex<Vec<Vec<u32>>> = Mutex::new(Vec::new());

    #[derive(Default)]
    struct Counted(RefCell<Vec<u32>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            DROPPED.lock().unwrap().push(self.0.borrow().clone());
        }
    }

    fn dropped_with(first: u32) -> Vec<Vec<u32>> {
        DROPPED.lock().unwrap().iter().filter(|items| items.first() == Some(&first)).cloned().collect()
    }

    struct Guard;

    impl Drop for Guard {
        fn drop(&mut self) {
            close();
        }
    }

    thread_local! {
        static GUARD: Guard = const { Guard };
    }

    fn close() {
        // SAFETY: `test_slot` only ever holds `Counted`; no reference from it
        // is alive where this is called.
        with(|t| unsafe { t.test_slot.close::<Counted>() });
    }

    /// `f` on this thread's `Counted`, made on first use (None once closed).
    fn with_counted<R>(arm: impl FnOnce() -> bool, f: impl FnOnce(Option<&Counted>) -> R) -> R {
        // SAFETY: `test_slot` only ever holds `Counted`.
        with(|t| f(unsafe { t.test_slot.get_or_make::<Counted>(arm) }))
    }

    fn arm_guard() -> bool {
        GUARD.try_with(|_| ()).is_ok()
    }

    #[test]
    fn an_owned_value_is_made_once_and_dropped_when_its_thread_ends() {
        std::thread::spawn(|| {
            let first = with_counted(arm_guard, |c| {
                let c = c.unwrap();
                c.0.borrow_mut().extend([11, 12]);
                c as *const Counted
            });
            let again = with_counted(
                || unreachable!("made already"),
                |c| {
                    let c = c.unwrap();
                    c.0.borrow_mut().push(13);
                    c as *const Counted
                },
            );
            assert_eq!(first, again);
            assert!(dropped_with(11).is_empty());
        })
        .join()
        .unwrap();
        assert_eq!(dropped_with(11), [vec![11, 12, 13]]);
    }

    #[test]
    fn a_closed_slot_makes_nothing() {
        std::thread::spawn(|| {
            with_counted(arm_guard, |c| c.unwrap().0.borrow_mut().push(31));
            close();
            assert_eq!(dropped_with(31), [vec![31]]);
            assert!(with_counted(|| unreachable!("closed"), |c| c.is_none()));
            close();
        })
        .join()
        .unwrap();
        assert_eq!(dropped_with(31), [vec![31]]);
    }

    #[test]
    fn a_slot_whose_guard_cannot_be_armed_stays_empty_and_closed() {
        std::thread::spawn(|| {
            assert!(with_counted(|| false, |c| c.is_none()));
            assert!(with_counted(|| unreachable!("closed"), |c| c.is_none()));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_local_destructor_after_the_guard_finds_nothing_to_leak() {
        static LATE_FOUND: AtomicBool = AtomicBool::new(false);
        struct LateUser;
        impl Drop for LateUser {
            fn drop(&mut self) {
                with_counted(arm_guard, |c| {
                    if let Some(c) = c {
                        LATE_FOUND.store(true, SeqCst);
                        c.0.borrow_mut().push(22);
                    }
                });
            }
        }
        thread_local! {
            static LATE: LateUser = const { LateUser };
        }
        std::thread::spawn(|| {
            // Registered first, so destroyed after the guard (glibc runs them
            // in reverse order; either order must leak nothing).
            LATE.with(|_| ());
            with_counted(arm_guard, |c| c.unwrap().0.borrow_mut().push(21));
        })
        .join()
        .unwrap();
        let expected = if LATE_FOUND.load(SeqCst) { vec![21, 22] } else { vec![21] };
        assert_eq!(dropped_with(21), [expected]);
    }
}
