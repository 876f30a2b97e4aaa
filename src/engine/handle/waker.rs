//! The waker of a thread blocked in `block_on`.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::Wake;

use crate::engine::latch::Event;
use crate::engine::registry::{Registry, Waitable};

/// Wakes whoever is blocked in `block_on`: the thread itself (outside the pool),
/// or the worker through the engine's own wait (which sleeps and wakes by index).
pub(super) struct BlockOnSignal {
    pub(super) woken: AtomicBool,
    pub(super) event: Event,
    /// Set when `block_on` runs on a worker: its engine, for `Event::notify`.
    pub(super) registry: Option<Arc<Registry>>,
    pub(super) thread: std::thread::Thread,
}

impl Wake for BlockOnSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        match &self.registry {
            // `notify` fences before looking for sleepers (pairs with `register`).
            Some(registry) => self.event.notify(registry),
            None => self.thread.unpark(),
        }
    }
}

impl Waitable for BlockOnSignal {
    fn is_done(&self) -> bool {
        self.woken.load(SeqCst)
    }
    fn register(&self, worker: usize) -> bool {
        self.event.register_worker(worker, &|| self.woken.load(SeqCst))
    }
    fn unregister(&self, worker: usize) {
        self.event.unregister_worker(worker)
    }
}
