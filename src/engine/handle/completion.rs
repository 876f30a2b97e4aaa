//! How a spawned task's end is announced, shared by both kinds of task.

use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{Acquire, SeqCst};
use std::sync::Mutex;
use std::task::Waker;

use crate::engine::latch::Event;
use crate::engine::registry::Registry;
use crate::engine::sync::std_lock;

pub(super) const PENDING: u8 = 0;
pub(super) const RUNNING: u8 = 1;
pub(super) const DONE: u8 = 2;
/// Done, and the handle has taken the result out.
pub(super) const TAKEN: u8 = 3;

/// How a task's end is announced: its state, the workers and threads waiting for
/// it, and the waker of a handle being `.await`ed.
pub(super) struct Completion {
    pub(super) state: AtomicU8,
    pub(super) event: Event,
    pub(super) waker: Mutex<Option<Waker>>,
}

impl Completion {
    pub(super) fn new() -> Self {
        Completion { state: AtomicU8::new(PENDING), event: Event::new(), waker: Mutex::new(None) }
    }

    /// Call after the result is stored.
    pub(super) fn complete(&self, registry: &Registry) {
        // SeqCst: ordered with the waker registration in `poll` and the Event's fence.
        self.state.store(DONE, SeqCst);
        self.event.notify(registry);
        if let Some(waker) = std_lock(&self.waker).take() {
            waker.wake();
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.state.load(Acquire) >= DONE
    }
}
