//! `block_on`: drives a future on the calling thread, worker or not.

use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::waker::BlockOnSignal;
use crate::engine::latch::Event;
use crate::engine::registry::WorkerThread;

/// Drives `future` to completion on the calling thread. On a worker thread it
/// waits the way the engine's own waits do: it runs other work while the future
/// is pending (so it cannot starve the pool it waits on), takes no unrelated work
/// once half its stack is used, and sleeps until woken when there is none.
pub fn block_on<Fut: Future>(future: Fut) -> Fut::Output {
    let mut future = std::pin::pin!(future);
    let worker = WorkerThread::current().filter(|w| !w.registry.is_forked_away());
    let signal = Arc::new(BlockOnSignal {
        woken: AtomicBool::new(false),
        event: Event::new(),
        registry: worker.map(|w| Arc::clone(&w.registry)),
        thread: std::thread::current(),
    });
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        match worker {
            Some(worker) => {
                worker.wait_until(&*signal, false, None);
                signal.woken.store(false, SeqCst);
            }
            None => {
                while !signal.woken.swap(false, SeqCst) {
                    std::thread::park();
                }
            }
        }
    }
}
