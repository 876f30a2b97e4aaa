//! Which engine a Python call runs on: the backing of an `Engine` object (the
//! default engine, the calling context's, or one of its own) and the `Lease`
//! that holds it for the length of one call. The kernels, tasks and teams need
//! only this, not the `Engine` class built on it.

use std::cell::RefCell;
use std::ops::Deref;
use std::sync::{Arc, PoisonError, RwLock};

use pyo3::prelude::*;
use taskengine::{Engine, EngineError};

use crate::errors::IntoPyResult;

/// An engine for the length of one call. For the default engine this resolves
/// `Engine::global()` each time, which is what makes a forked child build its own.
pub(crate) enum Lease {
    Global(Engine),
    Owned(Arc<Engine>),
}

impl Deref for Lease {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        match self {
            Lease::Global(engine) => engine,
            Lease::Owned(engine) => engine,
        }
    }
}

impl Lease {
    /// The default engine, always.
    pub(crate) fn global(py: Python<'_>) -> PyResult<Lease> {
        Engine::global().map(Lease::Global).py_err(py)
    }

    /// The engine of the module-level functions: the one bound to this thread
    /// (an `Executor`'s threads), else the engine whose worker this is (inside
    /// a spawned task), else the default engine.
    pub(crate) fn implicit(py: Python<'_>) -> PyResult<Lease> {
        match THREAD_ENGINE.with(|bound| bound.borrow().clone()) {
            Some(slot) => lease_of(py, &slot),
            None => Engine::current().map(Lease::Global).py_err(py),
        }
    }
}

/// An owned engine's slot, shared by the `Engine` object and the threads bound
/// to it; `None` once closed. The slot never holds the last reference that
/// keeps workers alive: closing or dropping the `Engine` empties it.
pub(crate) type Slot = Arc<RwLock<Option<Arc<Engine>>>>;

thread_local! {
    /// The engine this thread's module-level calls use (see `bind_thread`).
    static THREAD_ENGINE: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

fn lease_of(py: Python<'_>, slot: &Slot) -> PyResult<Lease> {
    let engine = slot.read().unwrap_or_else(PoisonError::into_inner).clone();
    match engine {
        // A parent's engine inherited through fork() has no threads here.
        Some(engine) if engine.is_alive() => Ok(Lease::Owned(engine)),
        _ => Err(crate::errors::to_pyerr(py, EngineError::Shutdown)),
    }
}

pub(crate) enum Backing {
    /// The process-wide default engine (never closed from Python).
    Default,
    /// Whatever engine the calling context has (see [`Lease::implicit`]): the
    /// handle behind the module-level functions.
    Context,
    /// An engine this object owns.
    Owned(Slot),
}

impl Backing {
    /// An engine of one's own.
    pub(crate) fn owned(engine: Engine) -> Backing {
        Backing::Owned(Arc::new(RwLock::new(Some(Arc::new(engine)))))
    }

    /// The engine to run on, or `EngineShutdownError` once it is closed.
    pub(crate) fn lease(&self, py: Python<'_>) -> PyResult<Lease> {
        match self {
            Backing::Default => Lease::global(py),
            Backing::Context => Lease::implicit(py),
            Backing::Owned(slot) => lease_of(py, slot),
        }
    }

    /// The engine for a kernel call, only when it is `big` enough to use one: a
    /// small call runs on the calling thread and never builds the default engine,
    /// whichever handle it comes through. An engine of one's own is checked either
    /// way, so a closed one raises for every call.
    pub(crate) fn kernel_lease(&self, py: Python<'_>, big: bool) -> PyResult<Option<Lease>> {
        match self {
            Backing::Owned(slot) => lease_of(py, slot).map(|lease| big.then_some(lease)),
            _ if !big => Ok(None),
            _ => self.lease(py).map(Some),
        }
    }

    /// Makes the calling thread's module-level calls run on this engine (`None`:
    /// back to the default behaviour). For `Executor` threads.
    pub(crate) fn bind_thread(backing: Option<&Backing>) {
        let slot = backing.and_then(|b| match b {
            Backing::Default | Backing::Context => None,
            Backing::Owned(slot) => Some(Arc::clone(slot)),
        });
        THREAD_ENGINE.with(|bound| *bound.borrow_mut() = slot);
    }
}
