//! Task groups: spawn many, wait for all, cancel the rest, keep the first failure.
//!
//! A group keeps its own queue of pending tasks. What goes onto the workers' deques
//! is a *ticket*: a job that, when run, takes tasks from the group's queue until it
//! is empty. At most one ticket per worker is outstanding, so spawning a million
//! tasks from outside costs a million queue pushes but only a handful of wake-ups.
//! Small closures are stored inline in the task record, so spawning one costs no
//! allocation of its own.
//! The queue also makes two things cheap that deques cannot do:
//! * cancellation drains the queue, so pending tasks never run and are counted;
//! * a waiting worker runs its own group's tasks first, and an *isolated* wait runs
//!   nothing else, so a task holding a lock cannot re-enter it through stealing.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{fence, AtomicBool, AtomicU8, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::in_place::InPlace;
use super::job::{Job, JobRef};
use super::latch::Event;
use super::metrics::bump;
use super::queue::BlockQueue;
use super::registry::{Registry, Waitable, WorkerThread};
use super::retry::RetryPolicy;
use super::sync::std_lock;
use super::unwind::{self, TaskFailure};
use super::Engine;
use crate::error::{panic_message, EngineError, Result};
use crate::per_thread;

/// A C task: `func(arg)`, 0 = success. "C-unwind" so that a Rust callback that
/// panics unwinds into `run_task`'s catch (a failed task) instead of aborting.
pub(crate) type RawTaskFn = unsafe extern "C-unwind" fn(*mut c_void) -> i32;

type TaskResult = std::result::Result<(), TaskFailure>;

/// Closures up to this many words are stored in the task record itself; bigger
/// ones are boxed there.
const INLINE_WORDS: usize = 3;

/// A closure stored in the task record, with the two functions that know its type.
struct InlineClosure {
    storage: InPlace<INLINE_WORDS>,
    call: unsafe fn(*mut InPlace<INLINE_WORDS>) -> TaskResult,
    drop_in_place: unsafe fn(*mut InPlace<INLINE_WORDS>),
}

impl InlineClosure {
    fn new<F: FnOnce() -> TaskResult + Send>(f: F) -> Self {
        unsafe fn call<F: FnOnce() -> TaskResult>(p: *mut InPlace<INLINE_WORDS>) -> TaskResult {
            // SAFETY: `p` holds the F put by `new`; it is taken once (the record is
            // ManuallyDrop'd by `run`).
            unsafe { InPlace::take::<F>(p)() }
        }
        unsafe fn drop_in_place<F>(p: *mut InPlace<INLINE_WORDS>) {
            // SAFETY: `p` holds an F that was never run.
            drop(unsafe { InPlace::take::<F>(p) })
        }
        let mut storage = InPlace::empty();
        // SAFETY: fresh, empty storage.
        unsafe { InPlace::put(&mut storage, f) };
        InlineClosure { storage, call: call::<F>, drop_in_place: drop_in_place::<F> }
    }

    fn run(self) -> TaskResult {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: the closure is live; ManuallyDrop stops Drop from dropping it again.
        unsafe { (this.call)(&mut this.storage) }
    }
}

impl Drop for InlineClosure {
    fn drop(&mut self) {
        // SAFETY: only reached for a closure that was never run (`run` forgets self).
        unsafe { (self.drop_in_place)(&mut self.storage) }
    }
}

/// Bytes a C task may hand over to be stored in its task record
/// (`te_group_spawn_inline`).
pub(crate) const INLINE_TASK_BYTES: usize = 32;

/// A C task's own copy of its argument bytes, aligned for any scalar up to 8.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub(crate) struct InlineBytes(pub(crate) [u8; INLINE_TASK_BYTES]);

enum TaskBody {
    Raw {
        func: RawTaskFn,
        arg: *mut c_void,
    },
    /// `func` called with a pointer to its own copy of `bytes`.
    Bytes {
        func: RawTaskFn,
        bytes: InlineBytes,
    },
    Closure(InlineClosure),
}

impl TaskBody {
    fn closure<F: FnOnce() -> TaskResult + Send + 'static>(f: F) -> TaskBody {
        TaskBody::Closure(InlineClosure::new(f))
    }
}

/// Where a spawned task's body comes from: a body already made, or a C caller's
/// argument bytes, copied straight into the slot that keeps the task (made on
/// the stack and moved there, the bytes were read back in wider pieces than they
/// had just been written in: a store-forwarding stall on every inline spawn).
trait BodySource {
    /// Writes the body into `dst`.
    fn write_into(self, dst: &mut MaybeUninit<TaskBody>);
    fn into_body(self) -> TaskBody;
}

impl BodySource for TaskBody {
    #[inline]
    fn write_into(self, dst: &mut MaybeUninit<TaskBody>) {
        dst.write(self);
    }

    #[inline]
    fn into_body(self) -> TaskBody {
        self
    }
}

/// `len` (at most [`INLINE_TASK_BYTES`]) bytes at `src` for `func`.
struct BytesFrom {
    func: RawTaskFn,
    src: *const u8,
    len: usize,
}

impl BytesFrom {
    /// Copies the bytes a word at a time where they are aligned whole words (what
    /// a C++ callable is), so each load reads within one store of the caller's: a
    /// wider load spanning two of them (what memcpy does) cannot be forwarded from
    /// the store buffer and waits until both stores have reached the cache.
    fn copy_to(&self, bytes: &mut InlineBytes) {
        debug_assert!(self.len <= INLINE_TASK_BYTES);
        let dst = bytes.0.as_mut_ptr();
        if self.len % 8 == 0 && self.src.cast::<u64>().is_aligned() {
            let words = self.len / 8;
            // A constant bound, so the loop unrolls.
            for word in 0..INLINE_TASK_BYTES / 8 {
                if word == words {
                    break;
                }
                // SAFETY: `src` is readable for `len` bytes (spawn_bytes' contract)
                // and 8-aligned (checked); the array holds INLINE_TASK_BYTES >= len.
                // Volatile keeps each load 8 bytes wide: LLVM would otherwise make
                // the loop a memcpy call.
                unsafe {
                    let value = self.src.cast::<u64>().add(word).read_volatile();
                    dst.cast::<u64>().add(word).write_unaligned(value);
                }
            }
        } else {
            // SAFETY: as above; distinct memory (ours is a fresh record slot).
            unsafe { std::ptr::copy_nonoverlapping(self.src, dst, self.len) };
        }
    }
}

impl BodySource for BytesFrom {
    #[inline]
    fn write_into(self, dst: &mut MaybeUninit<TaskBody>) {
        let body = dst.write(TaskBody::Bytes { func: self.func, bytes: InlineBytes([0; INLINE_TASK_BYTES]) });
        if let TaskBody::Bytes { bytes, .. } = body {
            self.copy_to(bytes);
        }
    }

    fn into_body(self) -> TaskBody {
        let mut body = MaybeUninit::uninit();
        self.write_into(&mut body);
        // SAFETY: just written.
        unsafe { body.assume_init() }
    }
}

pub(crate) struct QueuedTask {
    body: TaskBody,
    /// Submitted from outside the pool into a bounded engine: holds a queue slot.
    holds_slot: bool,
}

// SAFETY: closures are `Send` by their bound. A raw task's `arg` is handed to us by
// a C caller whose contract (documented on `te_group_spawn`) is that the task may
// run on any thread.
unsafe impl Send for QueuedTask {}

/// Finished tasks a ticket counts before publishing them in one atomic add.
const FINISH_BATCH: usize = 64;

/// A group task running on this thread, on that task's frame; `outer` is the group
/// task it interrupted (a waiting worker runs tasks nested in its wait).
struct RunningTask {
    group: *const GroupInner,
    outer: *const RunningTask,
}

/// The innermost group task this thread is running (`PerThread::group_task`):
/// for `current_task_cancelled`, and to refuse a wait that would wait for itself.
#[inline]
fn current_task() -> *const RunningTask {
    per_thread::with(|t| t.group_task.get()).cast()
}

/// True if this thread is running a task of `group`, at any nesting depth.
fn running_task_of(group: &GroupInner) -> bool {
    let mut node = current_task();
    // SAFETY: every node lives on the frame of a `run_task` still running on this
    // thread (it unlinks itself before that frame ends), outermost last.
    while let Some(task) = unsafe { node.as_ref() } {
        if std::ptr::eq(task.group, group) {
            return true;
        }
        node = task.outer;
    }
    false
}

/// Tasks a group's creating worker spawns straight onto its own deque, each held
/// in a slot of the group record: no queue, no ticket, no reference count, so a
/// group per node of a recursion costs about what a join does. Later spawns, and
/// spawns from other threads, go through the queue.
const OWNER_SLOTS: usize = 16;

/// OwnerSlot states (bits): the slot's deque entry has been executed (taken from a
/// deque); a waiter took the task directly (the deque entry left behind is
/// stale); the group was dropped while the entry was out, so the entry holds a
/// reference to the record. The first of `POPPED`/`CLAIMED` owns the task.
const SLOT_POPPED: u8 = 1;
const SLOT_CLAIMED: u8 = 2;
const SLOT_ORPHANED: u8 = 4;

/// One task spawned by the group's owner. Its deque entry points here.
struct OwnerSlot {
    group: *const GroupInner,
    state: AtomicU8,
    /// Written by the owner before the deque push that publishes it; taken once,
    /// by whoever owns the task (see the state bits).
    body: UnsafeCell<MaybeUninit<TaskBody>>,
}

// SAFETY: `body` is written only by the owner before publication (deque push,
// Release; `owner_spawned`, SeqCst) and read only by the one thread that wins the
// state's first ownership bit (an atomic RMW), which has acquired the publication.
// A task body may run on any thread (QueuedTask's argument above).
unsafe impl Send for OwnerSlot {}
// SAFETY: as for Send.
unsafe impl Sync for OwnerSlot {}

impl OwnerSlot {
    /// Takes the task out. The caller won the slot's ownership (`POPPED` or
    /// `CLAIMED` set first by its RMW) and the slot was published to it.
    unsafe fn take_body(&self) -> TaskBody {
        // SAFETY: forwarded from the contract: written once, taken once.
        unsafe { (*self.body.get()).assume_init_read() }
    }
}

impl Job for OwnerSlot {
    /// A slot's deque entry, run by any worker other than an owner's wait on its
    /// own deque (which uses `run_popped_slot`).
    unsafe fn execute(this: *const ()) {
        // SAFETY: deque entries of slots point at slots of a live record: until
        // `POPPED` is set, the record is held by its handle or by the orphan
        // reference `release_slot_entries` takes for the entry.
        let slot = unsafe { &*this.cast::<OwnerSlot>() };
        // SAFETY: as above; our own reference keeps the record alive past the
        // finish (a waiter may see the group done and drop it at once).
        let group = unsafe {
            Arc::increment_strong_count(slot.group);
            Arc::from_raw(slot.group)
        };
        // AcqRel: acquire the claim/orphan of others; release our take of the body.
        let prev = slot.state.fetch_or(SLOT_POPPED, AcqRel);
        if prev & SLOT_ORPHANED != 0 {
            // SAFETY: the orphan reference was taken for this entry, consumed now.
            unsafe { Arc::decrement_strong_count(slot.group) };
        }
        if prev & SLOT_CLAIMED == 0 {
            let worker = WorkerThread::current().expect("slot entries run on workers");
            // SAFETY: we set the first ownership bit; the deque handed us the entry
            // after its push (Acquire), which followed the body's write.
            unsafe { group.run_slot_task(worker, slot) };
            group.finish(1);
        }
    }
}

/// `repr(C)` with `slots` last: a slot's address is never the record's own, which
/// the group's tickets point at (`slot_of` tells the two kinds of entry apart by
/// address).
#[repr(C)]
pub(crate) struct GroupInner {
    pub(crate) registry: Arc<Registry>,
    /// Pending tasks: a lock-free queue, so the spawner (at its tail) and the
    /// tickets (at its head) do not fight over one lock or one cache line. Its
    /// blocks come from, and go back to, the engine's pool.
    queue: BlockQueue<QueuedTask>,
    /// Tickets out (queued or running); at most `ticket_limit`.
    tickets: AtomicUsize,
    ticket_limit: usize,
    /// Tasks ever spawned / finished; the group is idle when they are equal. Two
    /// counters on their own lines, so spawners and finishers do not contend.
    spawned: CachePadded<AtomicUsize>,
    finished: CachePadded<AtomicUsize>,
    cancelled: AtomicBool,
    skipped: AtomicUsize,
    failed: AtomicBool,
    failure: Mutex<Option<EngineError>>,
    event: Event,
    /// The worker that made the group (its index + 1; 0 = made outside the pool):
    /// its spawns use `slots`.
    owner: usize,
    /// Slots used; written by the owner only (an RMW for the pairing in `spawn`).
    owner_spawned: CachePadded<AtomicUsize>,
    slots: [OwnerSlot; OWNER_SLOTS],
}

const _: () = assert!(std::mem::offset_of!(GroupInner, slots) > 0, "a slot must not share the record's address");

/// Most finished group records a worker keeps for reuse.
const SPARE_GROUPS: usize = 64;

/// Finished groups of this worker's engine, kept so that a group made and
/// dropped per node of a recursion (the way C and C++ callers write it) costs
/// no allocation, no aligned `malloc` and no shared reference count. Reached
/// through `PerThread::spare_groups`, so that taking one costs no thread-local
/// lookup beyond the worker's own.
type SpareGroups = std::cell::RefCell<Vec<Arc<GroupInner>>>;

/// Drops this thread's spare records when it ends.
struct SpareGroupsGuard;

impl Drop for SpareGroupsGuard {
    fn drop(&mut self) {
        // SAFETY: the slot only ever holds `SpareGroups` (`with_spares`), and the
        // thread's own code, which borrows it, has returned.
        per_thread::with(|t| unsafe { t.spare_groups.close::<SpareGroups>() });
    }
}

thread_local! {
    static SPARE_GROUPS_GUARD: SpareGroupsGuard = const { SpareGroupsGuard };
}

/// Runs `f` on this thread's spare records; `None` once the thread is ending
/// (they are gone or going) or if they are already borrowed.
#[inline]
fn with_spares<R>(f: impl FnOnce(&mut Vec<Arc<GroupInner>>) -> R) -> Option<R> {
    per_thread::with(|t| {
        // Touching the guard registers its destructor, once per thread.
        let arm = || SPARE_GROUPS_GUARD.try_with(|_| ()).is_ok();
        // SAFETY: the slot only ever holds `SpareGroups`.
        let spares = unsafe { t.spare_groups.get_or_make::<SpareGroups>(arm) }?;
        let mut spares = spares.try_borrow_mut().ok()?;
        Some(f(&mut spares))
    })
}

/// `Arc::get_mut` without its compare-and-swap, which showed in every group of a
/// recursion: no `Weak` of a record is ever kept (the one `new_cyclic` lends is
/// gone once it returns), so a strong count of one means ours is the only
/// reference and no other can appear.
#[cfg(not(taskengine_tsan))]
fn unique(record: &mut Arc<GroupInner>) -> Option<&mut GroupInner> {
    if Arc::strong_count(record) != 1 || Arc::weak_count(record) != 0 {
        return None;
    }
    // Acquire: pairs with the Release decrement of the last other holder's drop,
    // so its uses of the record happen before ours (as in `Arc::get_mut`).
    fence(Acquire);
    // SAFETY: the only reference, held through `&mut`, so access is exclusive;
    // `as_ptr` keeps the allocation's write permission (what `get_mut` uses).
    Some(unsafe { &mut *Arc::as_ptr(record).cast_mut() })
}

/// ThreadSanitizer does not model fences (std's Arc swaps its own for an Acquire
/// load under TSan for the same reason): the plain `get_mut` there.
#[cfg(taskengine_tsan)]
fn unique(record: &mut Arc<GroupInner>) -> Option<&mut GroupInner> {
    Arc::get_mut(record)
}

impl GroupInner {
    pub(crate) fn new(registry: &Arc<Registry>) -> Result<Arc<GroupInner>> {
        if let Some(spare) = Self::take_spare(registry) {
            return Ok(spare);
        }
        let group = Self::new_record(Arc::clone(registry))?;
        Self::stock_spares(registry);
        Ok(group)
    }

    /// On a worker that found no spare: makes enough at once that one is always
    /// free later, so steady state allocates nothing even though a record can stay
    /// briefly held by a ticket retiring on another worker (one per other worker
    /// at a time, plus the group in use).
    fn stock_spares(registry: &Arc<Registry>) {
        if WorkerThread::current_of(registry).is_none() {
            return;
        }
        let want = (registry.num_workers() + 2).min(SPARE_GROUPS);
        with_spares(|spares| {
            while spares.len() < want {
                match Self::new_record(Arc::clone(registry)) {
                    Ok(group) => spares.push(group),
                    Err(_) => break,
                }
            }
        });
    }

    /// A spare record of `registry`'s, on one of its workers: one that nothing else
    /// refers to any more (a thief's ticket may still have been retiring when the
    /// group was dropped; by now it usually has), reset to a fresh group's state.
    fn take_spare(registry: &Registry) -> Option<Arc<GroupInner>> {
        let owner = WorkerThread::current_of(registry)?.index + 1;
        with_spares(|spares| {
            let mut i = spares.len();
            while i > 0 {
                i -= 1;
                if let Some(inner) = unique(&mut spares[i]) {
                    if inner.reset(owner) {
                        return Some(spares.swap_remove(i));
                    }
                    // Tasks left over (dropped unwaited, then shut down): drop it.
                    spares.swap_remove(i);
                }
            }
            None
        })
        .flatten()
    }

    /// Keeps a dropped group for reuse on one of its engine's workers, up to
    /// `SPARE_GROUPS` of them; elsewhere it is just released.
    fn recycle(group: Arc<GroupInner>) {
        if WorkerThread::current_of(&group.registry).is_none() {
            return;
        }
        with_spares(|spares| {
            if spares.len() < SPARE_GROUPS {
                spares.push(group);
            }
        });
    }

    /// Back to a fresh group's state; false if it still holds tasks (it is not
    /// reused then). Exclusive access: no ticket, waiter or handle remains.
    fn reset(&mut self, owner: usize) -> bool {
        let used = *self.owner_spawned.get_mut();
        if *self.finished.get_mut() != *self.spawned.get_mut() + used || !self.queue.is_empty() {
            return false;
        }
        for slot in &mut self.slots[..used] {
            *slot.state.get_mut() = 0;
        }
        *self.owner_spawned.get_mut() = 0;
        self.owner = owner;
        *self.tickets.get_mut() = 0;
        *self.spawned.get_mut() = 0;
        *self.finished.get_mut() = 0;
        *self.cancelled.get_mut() = false;
        *self.skipped.get_mut() = 0;
        *self.failed.get_mut() = false;
        *self.failure.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        true
    }

    fn new_record(registry: Arc<Registry>) -> Result<Arc<GroupInner>> {
        registry.check_usable_here()?;
        let ticket_limit = registry.num_workers();
        let owner = WorkerThread::current_of(&registry).map_or(0, |w| w.index + 1);
        let queue = BlockQueue::new(Arc::clone(&registry.services.group_blocks));
        Ok(Arc::new_cyclic(|this| GroupInner {
            owner,
            owner_spawned: CachePadded::new(AtomicUsize::new(0)),
            slots: std::array::from_fn(|_| OwnerSlot {
                group: this.as_ptr(),
                state: AtomicU8::new(0),
                body: UnsafeCell::new(MaybeUninit::uninit()),
            }),
            registry,
            queue,
            tickets: AtomicUsize::new(0),
            ticket_limit,
            spawned: CachePadded::new(AtomicUsize::new(0)),
            finished: CachePadded::new(AtomicUsize::new(0)),
            cancelled: AtomicBool::new(false),
            skipped: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            event: Event::with_room_for(ticket_limit),
        }))
    }

    fn spawn_task(self: &Arc<Self>, body: impl BodySource, block: bool) -> Result<()> {
        if self.cancelled.load(Acquire) {
            return Err(EngineError::Cancelled);
        }
        let registry = &*self.registry;
        let worker = WorkerThread::current_of(registry);
        let holds_slot = match worker {
            None => {
                registry.check_alive()?;
                registry.reserve_external(block)?
            }
            Some(w) => {
                if let Some(c) = w.counters() {
                    bump(&c.submitted);
                }
                if w.index + 1 == self.owner {
                    if let Some(body) = self.spawn_into_slot(w, body) {
                        return self.spawn_queued(Some(w), body.into_body(), false);
                    }
                    return Ok(());
                }
                false
            }
        };
        self.spawn_queued(worker, body.into_body(), holds_slot)
    }

    /// The owner's spawn: the task goes into the next free slot and its entry onto
    /// our own deque. Gives the body back when the slots are used up.
    #[inline]
    fn spawn_into_slot<S: BodySource>(&self, worker: &WorkerThread, body: S) -> Option<S> {
        let index = self.owner_spawned.load(Relaxed);
        let Some(slot) = self.slots.get(index) else { return Some(body) };
        // SAFETY: only the owner (this thread) writes slots, and this one is unused
        // since the record was reset: nobody else reads it before the count below.
        body.write_into(unsafe { &mut *slot.body.get() });
        // Counted before the entry is visible, so no waiter sees the group idle
        // early. SeqCst RMW: pairs with a sleeping waiter's registration (an
        // isolated waiter elsewhere may take the task directly), like the fence in
        // `spawn_queued`.
        self.owner_spawned.fetch_add(1, SeqCst);
        // SAFETY: the slot lives as long as the record, which its handle or the
        // orphan reference taken for the entry keeps alive until it runs.
        worker.push(unsafe { JobRef::new(slot) });
        self.event.notify_after_fence(&self.registry);
        None
    }

    fn spawn_queued(self: &Arc<Self>, worker: Option<&WorkerThread>, body: TaskBody, holds_slot: bool) -> Result<()> {
        let registry = &*self.registry;
        // Counted before it is visible, so a waiter never sees the group idle early.
        self.spawned.fetch_add(1, AcqRel);
        self.queue.push(QueuedTask { body, holds_slot });
        // Pairs with the fence in the ticket's retirement (`execute`): either that
        // ticket sees our task, or we see it gone and issue a new one.
        fence(SeqCst);
        if self.tickets.load(SeqCst) < self.ticket_limit && self.acquire_ticket() {
            let job = self.ticket();
            let pushed = match worker {
                Some(w) => {
                    w.push(job);
                    Ok(())
                }
                None => registry.inject(job),
            };
            if let Err(err) = pushed {
                // Shut down under our feet: nothing will run the queue any more.
                // SAFETY: the ticket was never queued, so the reference it took in
                // `ticket()` is still ours to give back.
                unsafe { Arc::decrement_strong_count(Arc::as_ptr(self)) };
                self.tickets.fetch_sub(1, SeqCst);
                self.drain_skipping();
                return Err(err);
            }
        }
        // A waiter asleep on this group (an isolated one runs nothing else) can run
        // the task now. The SeqCst fence after the push above is the one this
        // pairing needs (push; fence; load sleepers vs. add sleeper; fence; look).
        self.event.notify_after_fence(registry);
        Ok(())
    }

    fn acquire_ticket(&self) -> bool {
        let mut current = self.tickets.load(SeqCst);
        while current < self.ticket_limit {
            match self.tickets.compare_exchange_weak(current, current + 1, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
        false
    }

    fn ticket(self: &Arc<Self>) -> JobRef {
        let raw = Arc::into_raw(Arc::clone(self));
        // SAFETY: the Arc keeps the group alive until the ticket runs, which takes
        // the reference back exactly once.
        unsafe { JobRef::new(raw) }
    }

    /// Runs (or, once cancelled, skips) one task. The caller accounts for it
    /// with `finish`.
    fn run_task(&self, worker: &WorkerThread, task: QueuedTask) {
        let mut task = ManuallyDrop::new(task);
        // SAFETY: an initialised body of ours, consumed by the call and never
        // used again (ManuallyDrop).
        unsafe { self.run_task_at(worker, &mut task.body, task.holds_slot) }
    }

    /// Runs a slot's task where it lies: a C task gets a pointer to its bytes in
    /// the slot itself. Copied out first, the body was read back in other pieces
    /// than it had just been written in, a store-forwarding stall per task.
    ///
    /// # Safety
    /// The caller won the slot (`POPPED` or `CLAIMED` set first by its RMW) and
    /// the slot was published to it; the body is consumed.
    unsafe fn run_slot_task(&self, worker: &WorkerThread, slot: &OwnerSlot) {
        // SAFETY: written before publication, owned by us (the contract); the
        // slot stays untouched until our `finish` lets the record be reset.
        unsafe { self.run_task_at(worker, (*slot.body.get()).as_mut_ptr(), false) }
    }

    /// # Safety
    /// `body` is initialised and this thread's to consume: it is run or dropped
    /// here and must not be used or dropped again.
    unsafe fn run_task_at(&self, worker: &WorkerThread, body: *mut TaskBody, holds_slot: bool) {
        if holds_slot {
            self.registry.release_external();
        }
        if self.cancelled.load(Relaxed) {
            self.skipped.fetch_add(1, Relaxed);
            // SAFETY: ours to consume (the contract).
            unsafe { std::ptr::drop_in_place(body) };
        } else {
            let running = RunningTask { group: self, outer: current_task() };
            per_thread::with(|t| t.group_task.set((&raw const running).cast()));
            // A C task's function and argument: for inline bytes, a pointer to
            // them where they lie (they stay put while the task runs).
            // SAFETY: initialised and ours (the contract).
            let c_task = match unsafe { &mut *body } {
                TaskBody::Raw { func, arg } => Some((*func, *arg)),
                TaskBody::Bytes { func, bytes } => Some((*func, bytes.0.as_mut_ptr().cast::<c_void>())),
                TaskBody::Closure(_) => None,
            };
            let outcome = match c_task {
                // SAFETY: the C caller promised `func` may run once, on any thread,
                // with `arg` (te_group_spawn's contract) or with a pointer to a copy
                // of the bytes given (te_group_spawn_inline's).
                Some((func, arg)) => {
                    raw_outcome(unwind::halt_unwinding(|| crate::alloc::task_scope(|| unsafe { func(arg) })))
                }
                None => {
                    // SAFETY: moved out once; the body is not used again (contract).
                    let TaskBody::Closure(f) = (unsafe { body.read() }) else { unreachable!() };
                    unwind::halt_unwinding(|| f.run()).unwrap_or_else(|p| Err(TaskFailure::Panic(p)))
                }
            };
            per_thread::with(|t| t.group_task.set(running.outer.cast()));
            if let Err(failure) = outcome {
                self.record_failure(failure);
            }
            if let Some(c) = worker.counters() {
                bump(&c.executed);
            }
        }
        if let Some(c) = worker.counters() {
            bump(&c.completed);
        }
    }

    /// Publishes `count` finished tasks and wakes waiters if the group went idle.
    fn finish(&self, count: usize) {
        if count == 0 {
            return;
        }
        // Release for a waiter that sees the group idle (it must see every task's
        // effects); SeqCst so that this RMW is the fence the wake-up pairing needs
        // (count; load sleepers vs. add sleeper; fence; look), saving a fence.
        let finished = self.finished.fetch_add(count, SeqCst) + count;
        if finished == self.spawned_total() {
            self.event.notify_after_fence(&self.registry);
        }
    }

    fn pop(&self) -> Option<QueuedTask> {
        self.queue.pop()
    }

    fn record_failure(&self, failure: TaskFailure) {
        let mut slot = std_lock(&self.failure);
        if slot.is_none() {
            *slot = Some(match failure {
                TaskFailure::Error(err) => err,
                TaskFailure::Panic(payload) => EngineError::Panic(panic_message(&*payload)),
            });
            self.failed.store(true, Release);
        }
    }

    /// Drops every queued task unrun (cancellation or shutdown).
    fn drain_skipping(&self) {
        let mut count = 0;
        while let Some(task) = self.queue.pop() {
            if task.holds_slot {
                self.registry.release_external();
            }
            drop(task);
            count += 1;
        }
        self.skipped.fetch_add(count, Relaxed);
        self.registry.count_completed(count as u64);
        self.finish(count);
    }

    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, SeqCst);
        self.drain_skipping();
        let mut skipped = 0;
        while let Some(slot) = self.unclaimed_slot() {
            if slot.state.fetch_or(SLOT_CLAIMED, AcqRel) == 0 {
                // SAFETY: we set the first ownership bit; published per
                // `unclaimed_slot`.
                drop(unsafe { slot.take_body() });
                skipped += 1;
            }
        }
        self.skipped.fetch_add(skipped, Relaxed);
        self.registry.count_completed(skipped as u64);
        self.finish(skipped);
    }

    /// Tasks ever spawned, through the queue and into slots.
    fn spawned_total(&self) -> usize {
        self.spawned.load(Acquire) + self.owner_spawned.load(Acquire)
    }

    pub(crate) fn is_done(&self) -> bool {
        // `finished` first: the spawn counts only grow, and a task is counted
        // before it can finish, so equality means nothing was outstanding when
        // `finished` was read.
        let finished = self.finished.load(Acquire);
        finished == self.spawned_total()
    }

    fn outstanding(&self) -> usize {
        let finished = self.finished.load(Acquire);
        self.spawned_total().saturating_sub(finished)
    }

    /// A slot whose task nobody has taken yet, newest first.
    fn unclaimed_slot(&self) -> Option<&OwnerSlot> {
        let used = self.owner_spawned.load(Acquire);
        self.slots[..used].iter().rev().find(|slot| slot.state.load(Relaxed) == 0)
    }

    /// The slot a deque entry points at, if it is one of ours.
    fn slot_of(&self, job: &JobRef) -> Option<&OwnerSlot> {
        let offset = (job.data() as usize).wrapping_sub(self.slots.as_ptr() as usize);
        let index = offset / std::mem::size_of::<OwnerSlot>();
        (offset % std::mem::size_of::<OwnerSlot>() == 0).then(|| self.slots.get(index)).flatten()
    }

    /// Runs a task of ours from a slot if one is pending: the newest entry on top
    /// of our deque (as a join takes its own half back), else any slot not yet
    /// taken (its entry is somewhere below, or with a thief about to find it
    /// taken).
    fn run_own_slot(&self, worker: &WorkerThread) -> bool {
        if self.owner_spawned.load(Relaxed) == 0 {
            return false;
        }
        if worker.index + 1 == self.owner {
            if let Some(job) = worker.take_local() {
                if let Some(slot) = self.slot_of(&job) {
                    // AcqRel: against a waiter elsewhere taking it directly.
                    let prev = slot.state.fetch_or(SLOT_POPPED, AcqRel);
                    if prev & SLOT_CLAIMED == 0 {
                        // SAFETY: we set the first ownership bit; we pushed it.
                        unsafe { self.run_slot_task(worker, slot) };
                        self.finish(1);
                    }
                    return true;
                }
                if job.points_at(self) {
                    // Our own ticket, pushed after the slots filled up: its tasks
                    // are our newest. Running it here also keeps our slot entries
                    // below it from being claimed around and left on the deque.
                    worker.execute(job);
                    return true;
                }
                worker.put_back(job);
            }
        }
        while let Some(slot) = self.unclaimed_slot() {
            // AcqRel: the task's body was published by the count read Acquire in
            // `unclaimed_slot`; against the entry's executor taking it.
            if slot.state.fetch_or(SLOT_CLAIMED, AcqRel) == 0 {
                // SAFETY: we set the first ownership bit.
                unsafe { self.run_slot_task(worker, slot) };
                self.finish(1);
                return true;
            }
        }
        false
    }

    /// Before the handle lets the record go: every slot entry still in a deque
    /// gets a reference of its own, given back when it runs, so that it never
    /// points at a freed or reused record. Usually there is none (a waited group's
    /// entries have all been taken).
    fn release_slot_entries(self: &Arc<Self>) {
        let used = self.owner_spawned.load(Acquire);
        for slot in &self.slots[..used] {
            // Orphaned already: a parked group's handle let go of it before.
            if slot.state.load(Acquire) & (SLOT_POPPED | SLOT_ORPHANED) != 0 {
                continue;
            }
            // Taken before it is published by the bit (the entry's executor drops
            // it as soon as it sees the bit).
            // SAFETY: our handle's reference keeps the count above zero.
            unsafe { Arc::increment_strong_count(Arc::as_ptr(self)) };
            if slot.state.fetch_or(SLOT_ORPHANED, AcqRel) & SLOT_POPPED != 0 {
                // Its entry ran meanwhile and will not give it back: we do.
                // SAFETY: still held by our handle, so this never frees.
                unsafe { Arc::decrement_strong_count(Arc::as_ptr(self)) };
            }
        }
    }

    /// Waits for every task; the result of the group.
    #[inline]
    pub(crate) fn wait(&self, isolated: bool, timeout: Option<Duration>) -> Result<()> {
        // Done already: the second wait of a waited group (a C++ group's free).
        if self.is_done() {
            return self.result();
        }
        self.wait_for_tasks(isolated, timeout)
    }

    #[inline(never)]
    fn wait_for_tasks(&self, isolated: bool, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now().checked_add(t).unwrap_or_else(far_future));
        // Not done: the caller (`wait`) has just looked.
        if self.registry.is_forked_away() {
            return Err(EngineError::Shutdown);
        }
        let worker = WorkerThread::current_of(&self.registry);
        if let (Some(worker), None) = (worker, deadline) {
            // Our own newest tasks first, as a join does; usually that is all.
            while !self.is_done() {
                if !self.run_own_slot(worker) {
                    break;
                }
            }
            if self.is_done() {
                return self.result();
            }
        }
        // Checked only now: walking the chain of running tasks costs a step
        // per level of nesting, too much for every wait of a recursion.
        if running_task_of(self) {
            // The group cannot finish while this task runs: waiting would hang.
            return Err(EngineError::invalid(
                "a task cannot wait for its own group (the group is not done until the task returns)",
            ));
        }
        let done = match worker {
            Some(worker) => {
                let done = worker.wait_until(&GroupWait { group: self }, isolated, deadline);
                if done {
                    self.retire_own_tickets(worker);
                }
                done
            }
            None => self.event.wait_external(&|| self.is_done(), deadline),
        };
        if !done {
            return Err(EngineError::Timeout);
        }
        self.result()
    }

    /// Retires this group's entries left on top of our deque (their tasks were
    /// run by the wait): tickets, and slot entries whose tasks were claimed
    /// directly. The group is then free for reuse as soon as it is dropped, with
    /// no orphan reference for an entry buried under the parent's.
    fn retire_own_tickets(&self, worker: &WorkerThread) {
        while let Some(job) = worker.take_local() {
            if !job.points_at(self) && self.slot_of(&job).is_none() {
                worker.put_back(job);
                return;
            }
            // Ours, taken from our own deque: it runs once, here. A ticket with
            // the queue empty only gives its reference back; a claimed slot's
            // entry only marks the slot popped.
            worker.execute(job);
        }
    }

    /// The group's result once done: its first failure, else `Cancelled` if it
    /// was cancelled, else `Ok` (the common case, checked inline).
    #[inline]
    pub(crate) fn result(&self) -> Result<()> {
        if self.failed.load(Acquire) || self.cancelled.load(Acquire) {
            return self.unhappy_result();
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn unhappy_result(&self) -> Result<()> {
        if self.failed.load(Acquire) {
            if let Some(err) = &*std_lock(&self.failure) {
                return Err(err.clone());
            }
        }
        if self.cancelled.load(Acquire) {
            return Err(EngineError::Cancelled);
        }
        Ok(())
    }
}

/// A C task's return code (or panic) as a task result.
fn raw_outcome(outcome: std::thread::Result<i32>) -> TaskResult {
    match outcome {
        Ok(0) => Ok(()),
        Ok(code) => Err(TaskFailure::Error(EngineError::TaskFailed { code, message: format!("task returned {code}") })),
        Err(payload) => Err(TaskFailure::Panic(payload)),
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365)
}

impl Job for GroupInner {
    unsafe fn execute(this: *const ()) {
        // SAFETY: tickets are made by `ticket()` from Arc::into_raw; each runs once.
        let group = unsafe { Arc::from_raw(this.cast::<GroupInner>()) };
        let worker = WorkerThread::current().expect("tickets run on workers");
        let mut unpublished = 0;
        loop {
            while let Some(task) = group.queue.pop() {
                group.run_task(worker, task);
                unpublished += 1;
                if unpublished == FINISH_BATCH {
                    group.finish(unpublished);
                    unpublished = 0;
                }
            }
            group.tickets.fetch_sub(1, SeqCst);
            // Pairs with the fence in `spawn_task`; see there.
            fence(SeqCst);
            if group.queue.is_empty() || !group.acquire_ticket() {
                break;
            }
        }
        group.finish(unpublished);
    }
}

impl Drop for GroupInner {
    fn drop(&mut self) {
        let used = *self.owner_spawned.get_mut();
        for slot in &mut self.slots[..used] {
            if *slot.state.get_mut() & (SLOT_POPPED | SLOT_CLAIMED) == 0 {
                // Never taken (a forked child's copy, whose workers are gone).
                // SAFETY: exclusive access; written at spawn, never taken.
                drop(unsafe { slot.body.get_mut().assume_init_read() });
            }
        }
    }
}

struct GroupWait<'a> {
    group: &'a GroupInner,
}

impl Waitable for GroupWait<'_> {
    fn is_done(&self) -> bool {
        self.group.is_done()
    }
    fn run_own_work(&self, worker: &WorkerThread) -> bool {
        if self.group.run_own_slot(worker) {
            return true;
        }
        match self.group.pop() {
            Some(task) => {
                self.group.run_task(worker, task);
                self.group.finish(1);
                true
            }
            None => false,
        }
    }
    fn register(&self, worker: usize) -> bool {
        let group = self.group;
        group
            .event
            .register_worker(worker, &|| group.is_done() || !group.queue.is_empty() || group.unclaimed_slot().is_some())
    }
    fn unregister(&self, worker: usize) {
        self.group.event.unregister_worker(worker)
    }
}

/// A set of tasks that are waited for, cancelled and reported on together.
///
/// ```
/// use taskengine::{Engine, Config, TaskGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let engine = Engine::new(Config::with_workers(2)).unwrap();
/// let group = TaskGroup::new(&engine).unwrap();
/// let count = Arc::new(AtomicUsize::new(0));
/// for _ in 0..100 {
///     let count = count.clone();
///     group.spawn(move || { count.fetch_add(1, Ordering::Relaxed); }).unwrap();
/// }
/// group.wait().unwrap();
/// assert_eq!(count.load(Ordering::Relaxed), 100);
/// ```
pub struct TaskGroup {
    /// Taken out once, by `drop`, to be recycled.
    inner: ManuallyDrop<Arc<GroupInner>>,
}

impl TaskGroup {
    /// A new, empty group on `engine`.
    pub fn new(engine: &Engine) -> Result<TaskGroup> {
        Ok(TaskGroup { inner: ManuallyDrop::new(GroupInner::new(engine.registry())?) })
    }

    /// Spawns `f`. A panic in it fails the group (the worker survives). From
    /// outside the pool with a bounded queue, waits for room.
    pub fn spawn<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<()> {
        self.spawn_fallible(move || {
            f();
            Ok(())
        })
    }

    /// Like [`TaskGroup::spawn`], but fails with `QueueFull` instead of waiting.
    pub fn try_spawn<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<()> {
        let body = TaskBody::closure(move || {
            f();
            Ok(())
        });
        self.inner.spawn_task(body, false)
    }

    /// Spawns a task that can fail; its first error becomes the group's result.
    pub fn spawn_fallible<F: FnOnce() -> Result<()> + Send + 'static>(&self, f: F) -> Result<()> {
        let body = TaskBody::closure(move || f().map_err(TaskFailure::Error));
        self.inner.spawn_task(body, true)
    }

    /// Like [`TaskGroup::spawn_fallible`], but fails with `QueueFull` instead of
    /// waiting for room (`f` is dropped unrun then).
    pub fn try_spawn_fallible<F: FnOnce() -> Result<()> + Send + 'static>(&self, f: F) -> Result<()> {
        let body = TaskBody::closure(move || f().map_err(TaskFailure::Error));
        self.inner.spawn_task(body, false)
    }

    /// Spawns `f`, running it again as `policy` says while it fails (a panic is a
    /// failure too). A backoff holds no worker: the group stays busy (`wait`
    /// waits for it) while the engine's timer counts the delay down, then the next
    /// attempt is queued. When the attempts are spent the group fails with
    /// `Retried { attempts, last }`. From outside the pool with a bounded queue,
    /// waits for room (also for each later attempt).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    /// use taskengine::{Config, Engine, EngineError, RetryPolicy, TaskGroup};
    ///
    /// let engine = Engine::new(Config::with_workers(2)).unwrap();
    /// let group = TaskGroup::new(&engine).unwrap();
    /// let runs = AtomicU32::new(0);
    /// let policy = RetryPolicy::new(3).fixed(Duration::from_millis(1));
    /// group.spawn_with_retry(move || match runs.fetch_add(1, Ordering::Relaxed) {
    ///     0 => Err(EngineError::TaskFailed { code: 7, message: "first try".into() }),
    ///     _ => Ok(()),
    /// }, policy).unwrap();
    /// assert_eq!(group.wait(), Ok(()));
    /// ```
    pub fn spawn_with_retry<F>(&self, f: F, policy: RetryPolicy) -> Result<()>
    where
        F: Fn() -> Result<()> + Send + Sync + 'static,
    {
        let state = Box::new(GroupRetry { group: Arc::clone(&self.inner), body: Arc::new(f), policy, attempts: 0 });
        self.inner.spawn_task(TaskBody::closure(move || state.run()), true)
    }

    /// Spawns a C task. `block` = wait for room in a bounded queue.
    ///
    /// # Safety
    /// `func(arg)` must be safe to call once, from any thread, at any time before
    /// the group is waited for.
    pub(crate) unsafe fn spawn_raw(&self, func: RawTaskFn, arg: *mut c_void, block: bool) -> Result<()> {
        self.inner.spawn_task(TaskBody::Raw { func, arg }, block)
    }

    /// Spawns a C task that gets a pointer to its own copy of the `len` bytes at
    /// `src` (copied before this returns).
    ///
    /// # Safety
    /// `src` must be readable for `len` bytes, `len` at most
    /// [`INLINE_TASK_BYTES`]; `func` must be safe to call once, from any thread,
    /// with a pointer to a copy of them (plain data: copied bit for bit, never
    /// dropped).
    #[inline]
    pub(crate) unsafe fn spawn_bytes(&self, func: RawTaskFn, src: *const u8, len: usize, block: bool) -> Result<()> {
        assert!(len <= INLINE_TASK_BYTES, "spawn_bytes: {len} bytes do not fit a task");
        self.inner.spawn_task(BytesFrom { func, src, len }, block)
    }

    /// Waits until every task has finished. Inside the pool the caller runs the
    /// group's tasks (and, stack permitting, other work) meanwhile.
    ///
    /// Returns the first failure (`TaskFailed` or `Panic`), else `Cancelled` if the
    /// group was cancelled, else `Ok`. From one of the group's own tasks (which the
    /// group waits for) it fails at once with `Invalid` instead of hanging.
    pub fn wait(&self) -> Result<()> {
        self.inner.wait(false, None)
    }

    /// Like [`TaskGroup::wait`], giving up with `Timeout` after `timeout`; the tasks
    /// keep running. Inside the pool a timed wait runs no tasks itself (one could
    /// outlast the deadline), so it returns on time.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<()> {
        self.inner.wait(false, Some(timeout))
    }

    /// Waits running only this group's own tasks, never unrelated stolen work: a
    /// task that holds a lock can wait here without re-entering it.
    pub fn wait_isolated(&self) -> Result<()> {
        self.inner.wait(true, None)
    }

    /// Cancels the group: tasks not yet started never run (they are counted in
    /// [`TaskGroup::skipped`]); running tasks can poll [`TaskGroup::is_cancelled`]
    /// or [`current_task_cancelled`]; later spawns fail with `Cancelled`.
    pub fn cancel(&self) {
        self.inner.cancel()
    }

    /// Whether [`TaskGroup::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Relaxed)
    }

    /// Tasks dropped unrun because of cancellation.
    pub fn skipped(&self) -> usize {
        self.inner.skipped.load(Acquire)
    }

    /// Tasks spawned and not yet finished.
    pub fn pending(&self) -> usize {
        self.inner.outstanding()
    }

    /// The first failure, if any task has failed so far.
    pub fn failure(&self) -> Option<EngineError> {
        std_lock(&self.inner.failure).clone()
    }
}

/// For a handle kept for reuse with its group (the C API's spare handles): a
/// group per node of a recursion then recycles handle and record together.
impl TaskGroup {
    /// Lets go of what the group's deque entries need, as dropping it does, but
    /// keeps the record. Call [`TaskGroup::renew`] before using the group again.
    pub(crate) fn park(&self) {
        self.inner.release_slot_entries();
    }

    /// Makes a parked group a fresh, empty group on `engine`: its own record,
    /// reset, when nothing else refers to it any more and this is one of
    /// `engine`'s workers; else another (as [`TaskGroup::new`] finds one).
    #[inline]
    pub(crate) fn renew(&mut self, engine: &Engine) -> Result<()> {
        let registry = engine.registry();
        if let Some(worker) = WorkerThread::current_of(registry) {
            if Arc::ptr_eq(&self.inner.registry, registry) {
                if let Some(inner) = unique(&mut self.inner) {
                    if inner.reset(worker.index + 1) {
                        return Ok(());
                    }
                }
            }
        }
        let fresh = GroupInner::new(registry)?;
        let parked = std::mem::replace(&mut *self.inner, fresh);
        GroupInner::recycle(parked);
        Ok(())
    }
}

impl Drop for TaskGroup {
    fn drop(&mut self) {
        // SAFETY: taken exactly once, here; `self.inner` is never used again.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        inner.release_slot_entries();
        GroupInner::recycle(inner);
    }
}

impl std::fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskGroup")
            .field("pending", &self.pending())
            .field("cancelled", &self.is_cancelled())
            .field("skipped", &self.skipped())
            .finish()
    }
}

/// A group task under a retry policy, between attempts.
struct GroupRetry {
    group: Arc<GroupInner>,
    body: Arc<dyn Fn() -> Result<()> + Send + Sync>,
    policy: RetryPolicy,
    /// Attempts made so far.
    attempts: u32,
}

impl GroupRetry {
    /// Runs attempts (at once while there is no backoff); on a delay, hands itself
    /// to the engine's timer and returns, leaving the group held busy.
    fn run(mut self: Box<Self>) -> TaskResult {
        loop {
            self.attempts += 1;
            let err = match unwind::halt_unwinding(|| (self.body)()) {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(err)) => err,
                Err(payload) => EngineError::Panic(panic_message(&*payload)),
            };
            if matches!(err, EngineError::Cancelled | EngineError::Shutdown) {
                return Err(TaskFailure::Error(err));
            }
            if self.attempts >= self.policy.max_attempts() || !self.policy.is_retryable(&err) {
                return Err(TaskFailure::Error(EngineError::Retried { attempts: self.attempts, last: Box::new(err) }));
            }
            if self.group.cancelled.load(Relaxed) {
                return Ok(());
            }
            let delay = self.policy.jittered_delay_after(self.attempts);
            if delay.is_zero() {
                continue;
            }
            // Held busy until the next attempt is queued (or given up).
            self.group.spawned.fetch_add(1, AcqRel);
            let group = Arc::clone(&self.group);
            let deadline = Instant::now().checked_add(delay).unwrap_or_else(far_future);
            let respawn = Arc::new(Respawn(Mutex::new(Some(self))));
            if let Err(err) =
                group.registry.services.timer.wake_at(deadline, std::task::Waker::from(Arc::clone(&respawn)))
            {
                // Not scheduled: end the retry here, and the hold with it.
                drop(std_lock(&respawn.0).take());
                group.record_failure(TaskFailure::Error(err));
                group.finish(1);
            }
            return Ok(());
        }
    }
}

/// Queues a retry's next attempt when its backoff is over (the timer wakes it).
struct Respawn(Mutex<Option<Box<GroupRetry>>>);

impl std::task::Wake for Respawn {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let Some(state) = std_lock(&self.0).take() else { return };
        let group = Arc::clone(&state.group);
        match group.spawn_task(TaskBody::closure(move || state.run()), true) {
            Ok(()) => {}
            Err(EngineError::Cancelled) => {
                group.skipped.fetch_add(1, Relaxed);
            }
            Err(err) => group.record_failure(TaskFailure::Error(err)),
        }
        // The hold taken before the backoff: the next attempt (if queued) now
        // keeps the group busy by itself.
        group.finish(1);
    }
}

impl Drop for Respawn {
    /// Dropped unwoken (the timer let go of it without waking it): release the hold.
    fn drop(&mut self) {
        let slot = self.0.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(state) = slot.take() {
            state.group.record_failure(TaskFailure::Error(EngineError::Shutdown));
            state.group.finish(1);
        }
    }
}

/// True when called from inside a group task whose group has been cancelled: a
/// long task polls this to stop early. False outside group tasks.
pub fn current_task_cancelled() -> bool {
    let node = current_task();
    // SAFETY: set by `run_task` to a node on its frame, whose group is kept alive by
    // the running ticket or waiter for the whole task; unlinked before that ends.
    unsafe { node.as_ref().and_then(|task| task.group.as_ref()) }.is_some_and(|g| g.cancelled.load(Relaxed))
}

#[cfg(all(test, loom))]
mod loom_tests {
    use crate::engine::pool::Pool;
    use crate::engine::queue::BlockQueue;
    use crate::engine::sync::{fence, AtomicUsize};
    use loom::sync::Arc;
    use std::sync::atomic::Ordering::{Relaxed, SeqCst};

    /// The ticket protocol of `GroupInner`, step for step with `spawn_task`,
    /// `acquire_ticket` and `execute` (a group needs a whole registry, which loom
    /// cannot run; keep these in step with the originals). Tasks are numbers.
    struct Tickets {
        queue: BlockQueue<usize>,
        tickets: AtomicUsize,
        limit: usize,
        /// Tickets issued by spawners, for the main thread to run afterwards.
        issued: AtomicUsize,
        ran: AtomicUsize,
    }

    impl Tickets {
        fn acquire_ticket(&self) -> bool {
            let mut current = self.tickets.load(SeqCst);
            while current < self.limit {
                match self.tickets.compare_exchange_weak(current, current + 1, SeqCst, SeqCst) {
                    Ok(_) => return true,
                    Err(actual) => current = actual,
                }
            }
            false
        }

        /// `spawn_task` after its checks: push, fence, then a ticket if one is free.
        fn spawn(&self, task: usize) {
            self.queue.push(task);
            fence(SeqCst);
            if self.tickets.load(SeqCst) < self.limit && self.acquire_ticket() {
                self.issued.fetch_add(1, Relaxed);
            }
        }

        /// `execute`: drain, give the ticket back, fence, look again.
        fn execute(&self) {
            loop {
                while self.queue.pop().is_some() {
                    self.ran.fetch_add(1, Relaxed);
                }
                self.tickets.fetch_sub(1, SeqCst);
                fence(SeqCst);
                if self.queue.is_empty() || !self.acquire_ticket() {
                    break;
                }
            }
        }
    }

    /// A ticket is running (and about to retire) while a spawner adds a task: either
    /// the ticket sees the task or the spawner gets a ticket for it, so once every
    /// ticket issued has run, no task is left behind.
    #[test]
    fn loom_ticket_retirement_never_strands_a_task() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let t = Arc::new(Tickets {
                queue: BlockQueue::new(std::sync::Arc::new(Pool::new(4))),
                // One ticket out, held by the runner below.
                tickets: AtomicUsize::new(1),
                limit: 1,
                issued: AtomicUsize::new(0),
                ran: AtomicUsize::new(0),
            });
            t.queue.push(0);
            let runner = {
                let t = t.clone();
                loom::thread::spawn(move || t.execute())
            };
            t.spawn(1);
            runner.join().unwrap();
            for _ in 0..t.issued.load(Relaxed) {
                t.execute();
            }
            assert_eq!(t.ran.load(Relaxed), 2, "a task was left in the queue with no ticket to run it");
            assert_eq!(t.tickets.load(Relaxed), 0);
        });
    }

    /// The owner-slot protocol of `OwnerSlot::execute`, `run_own_slot` and
    /// `release_slot_entries`, step for step (keep in step with the originals),
    /// with the record's reference count as a number and "freed" as a flag that
    /// no step may find set. A thief runs the slot's deque entry while the
    /// handle's thread either takes the task directly or not, then drops the
    /// handle: the task runs exactly once, the entry never touches a freed
    /// record, and the record is freed exactly when the last reference goes.
    struct SlotModel {
        state: loom::sync::atomic::AtomicUsize,
        refs: AtomicUsize,
        freed: loom::sync::atomic::AtomicBool,
        ran: AtomicUsize,
    }

    const POPPED: usize = 1;
    const CLAIMED: usize = 2;
    const ORPHANED: usize = 4;

    impl SlotModel {
        fn alive(&self) {
            assert!(!self.freed.load(SeqCst), "the record was used after its last reference went");
        }
        fn acquire(&self) {
            self.alive();
            self.refs.fetch_add(1, Relaxed);
        }
        fn release(&self) {
            if self.refs.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                self.freed.store(true, SeqCst);
            }
        }
        /// `OwnerSlot::execute`.
        fn execute_entry(&self) {
            self.acquire();
            let prev = self.state.fetch_or(POPPED, std::sync::atomic::Ordering::AcqRel);
            if prev & ORPHANED != 0 {
                self.release();
            }
            if prev & CLAIMED == 0 {
                self.alive();
                self.ran.fetch_add(1, Relaxed);
            }
            self.release();
        }
        /// A waiter taking the task directly (`run_own_slot`'s scan).
        fn claim(&self) {
            if self.state.load(Relaxed) == 0 && self.state.fetch_or(CLAIMED, std::sync::atomic::Ordering::AcqRel) == 0 {
                self.ran.fetch_add(1, Relaxed);
            }
        }
        /// `TaskGroup::drop`: `release_slot_entries`, then the handle's reference.
        fn drop_handle(&self) {
            if self.state.load(std::sync::atomic::Ordering::Acquire) & POPPED == 0 {
                self.acquire();
                if self.state.fetch_or(ORPHANED, std::sync::atomic::Ordering::AcqRel) & POPPED != 0 {
                    self.release();
                }
            }
            self.release();
        }
    }

    #[test]
    fn loom_slot_entries_run_once_and_never_outlive_the_record() {
        for claim_first in [false, true] {
            let mut builder = loom::model::Builder::new();
            builder.preemption_bound = Some(3);
            builder.check(move || {
                let m = Arc::new(SlotModel {
                    state: loom::sync::atomic::AtomicUsize::new(0),
                    refs: AtomicUsize::new(1),
                    freed: loom::sync::atomic::AtomicBool::new(false),
                    ran: AtomicUsize::new(0),
                });
                let thief = {
                    let m = m.clone();
                    loom::thread::spawn(move || m.execute_entry())
                };
                if claim_first {
                    m.claim();
                }
                m.drop_handle();
                thief.join().unwrap();
                assert_eq!(m.ran.load(Relaxed), 1, "the task ran twice or never");
                assert_eq!(m.refs.load(Relaxed), 0, "a reference was leaked");
                assert!(m.freed.load(SeqCst));
            });
        }
    }
}
