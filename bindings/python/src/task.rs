//! Python callables on the engine's workers: `spawn` and its `Task` handle.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use taskengine::{Engine, EngineError, TaskHandle};

use crate::engine::Lease;
use crate::errors::{guard, new_err, to_pyerr, Kind};
use crate::wait;

/// A callable with its arguments, as handed to a worker.
struct Call {
    func: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyDict>>,
}

/// What a task produced: the callable's value or exception, or an engine error.
enum Outcome {
    Value(Py<PyAny>),
    Raised(PyErr),
    Engine(EngineError),
}

impl Outcome {
    fn to_python(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match self {
            Outcome::Value(value) => Ok(value.clone_ref(py)),
            Outcome::Raised(err) => Err(err.clone_ref(py)),
            Outcome::Engine(err) => Err(to_pyerr(py, err.clone())),
        }
    }
}

impl Call {
    /// Runs on a worker thread, which holds the GIL only for the call itself.
    fn run(self) -> Outcome {
        // Held until the GIL is released again (the end of `try_attach`).
        let Some(_inside) = wait::enter() else {
            // The interpreter is going away; entering it now could end this thread.
            return Outcome::Engine(EngineError::Shutdown);
        };
        Python::try_attach(move |py| {
            let kwargs = self.kwargs.as_ref().map(|k| k.bind(py));
            match call_parking_at_exit(py, self.func.bind(py), self.args.bind(py), kwargs) {
                Ok(value) => Outcome::Value(value.unbind()),
                Err(err) => Outcome::Raised(err),
            }
        })
        .unwrap_or(Outcome::Engine(EngineError::Shutdown))
    }
}

mod unwinding {
    use pyo3::ffi::PyObject;

    // The same function pyo3's bindings declare, with the ABI that lets
    // `pthread_exit`'s forced unwind pass through our frame (see
    // `call_parking_at_exit`).
    #[allow(clashing_extern_declarations)]
    extern "C-unwind" {
        pub(super) fn PyObject_Call(
            callable: *mut PyObject,
            args: *mut PyObject,
            kwargs: *mut PyObject,
        ) -> *mut PyObject;
    }
}

/// Parks the thread for good when dropped; disarmed with `mem::forget`.
struct ParkForever;

impl Drop for ParkForever {
    fn drop(&mut self) {
        loop {
            std::thread::park();
        }
    }
}

/// `func(*args, **kwargs)`. A task already inside Python when the interpreter
/// is torn down (after the exit hook's grace period) is ended by CPython < 3.14
/// with `pthread_exit` as soon as it wants the GIL back; the forced unwind
/// would reach Rust frames (the attach guard, the worker loop) and crash the
/// process. Here it runs `ParkForever`'s drop instead, so the thread stops for
/// good, touching nothing, until the process exits: what CPython 3.14 does
/// itself, and what pyo3 does around its own `PyGILState_Ensure`.
pub(crate) fn call_parking_at_exit<'py>(
    py: Python<'py>,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let park = ParkForever;
    let kwargs = kwargs.map_or(std::ptr::null_mut(), |k| k.as_ptr());
    // SAFETY: the GIL is held (`py`); the three pointers are live objects
    // borrowed for the call (kwargs may be NULL); PyObject_Call returns a new
    // reference or NULL with an exception set, which `from_owned_ptr_or_err`
    // takes over.
    let result = unsafe {
        let ptr = unwinding::PyObject_Call(func.as_ptr(), args.as_ptr(), kwargs);
        Bound::from_owned_ptr_or_err(py, ptr)
    };
    std::mem::forget(park);
    result
}

enum Slot {
    /// Not collected yet; `None` while a waiter has taken the handle out.
    Running(Option<TaskHandle<Outcome>>),
    Done(Outcome),
}

/// A Python callable running on an engine; ``wait()`` gives its result.
#[pyclass(module = "taskengine", name = "Task", frozen)]
pub(crate) struct PyTask {
    slot: Mutex<Slot>,
    /// Signalled when a waiter puts the handle back or stores the outcome.
    changed: Condvar,
}

impl PyTask {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until done with the engine's untimed wait (see `wait`). Returns true.
    fn wait_helping(&self) -> bool {
        while !self.wait_slice(None) {}
        true
    }

    /// One slice of waiting, with the GIL released; `None` waits until done.
    /// Returns whether the task is done.
    fn wait_slice(&self, slice: Option<Duration>) -> bool {
        let taken = match &mut *self.lock() {
            Slot::Done(_) => return true,
            Slot::Running(handle) => handle.take(),
        };
        match taken {
            Some(handle) => {
                let outcome = match slice {
                    Some(slice) => handle.wait_timeout(slice),
                    None => Ok(handle.wait()),
                };
                let (slot, done) = match outcome {
                    Ok(Ok(outcome)) => (Slot::Done(outcome), true),
                    Ok(Err(err)) => (Slot::Done(Outcome::Engine(err)), true),
                    Err(handle) => (Slot::Running(Some(handle)), false),
                };
                *self.lock() = slot;
                self.changed.notify_all();
                done
            }
            // Another thread is waiting on the handle: wait for it to report.
            None => {
                let guard = self.lock();
                let (guard, _) = self
                    .changed
                    .wait_timeout_while(guard, slice.unwrap_or(wait::SLICE), |s| matches!(s, Slot::Running(None)))
                    .unwrap_or_else(PoisonError::into_inner);
                matches!(*guard, Slot::Done(_))
            }
        }
    }
}

#[pymethods]
impl PyTask {
    /// Waits for the task and returns what the callable returned, or raises what
    /// it raised. ``timeout`` in seconds (``None``: no limit); when it passes,
    /// ``TaskTimeoutError`` (a ``TimeoutError``) and the task keeps running.
    /// Ctrl-C interrupts the wait (not the task).
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        guard(py, || {
            let deadline = wait::deadline(py, timeout)?;
            // On a worker, an untimed wait of the engine runs the task itself (or
            // other work) when nobody has started it, so that nested waits cannot
            // starve the pool; a timed one only sleeps. Signals are only ever
            // handled on the main thread, which is never a worker.
            let helping = deadline.is_none() && Engine::current_worker_index().is_some();
            let finished = matches!(*self.lock(), Slot::Done(_))
                || (helping && py.detach(|| self.wait_helping()))
                || wait::wait_interruptibly(py, deadline, |slice| self.wait_slice(Some(slice)).then_some(()))?.is_some()
                // Out of time: collect a result that is there by now all the same.
                || py.detach(|| self.wait_slice(Some(Duration::ZERO)));
            if !finished {
                return Err(new_err(py, Kind::Timeout, "the task did not finish in time"));
            }
            match &*self.lock() {
                Slot::Done(outcome) => outcome.to_python(py),
                Slot::Running(_) => Err(new_err(py, Kind::Base, "task state lost")),
            }
        })
    }

    /// Whether the task has finished (returned or raised).
    fn done(&self) -> bool {
        self.is_done()
    }

    fn __repr__(&self) -> &'static str {
        if self.is_done() {
            "<taskengine.Task finished>"
        } else {
            "<taskengine.Task running>"
        }
    }
}

impl PyTask {
    fn is_done(&self) -> bool {
        match &*self.lock() {
            Slot::Done(_) => true,
            Slot::Running(Some(handle)) => handle.is_finished(),
            Slot::Running(None) => false,
        }
    }
}

/// Starts `func(*args, **kwargs)` on `lease`'s workers.
pub(crate) fn spawn(
    py: Python<'_>,
    lease: Lease,
    func: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyTask> {
    if !func.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "spawn() needs a callable, got {}",
            func.get_type().name()?
        )));
    }
    let make = || Call {
        func: func.clone().unbind(),
        args: args.clone().unbind(),
        kwargs: kwargs.map(|k| k.clone().unbind()),
    };
    let handle = loop {
        let call = make();
        match lease.try_spawn(move || call.run()) {
            // A bounded engine is full: let the workers (which may need the GIL)
            // make room, and stay interruptible while they do.
            Err(EngineError::QueueFull) => {
                py.detach(|| std::thread::sleep(Duration::from_micros(200)));
                py.check_signals()?;
            }
            other => break other.map_err(|e| to_pyerr(py, e))?,
        }
    };
    Ok(PyTask { slot: Mutex::new(Slot::Running(Some(handle))), changed: Condvar::new() })
}
