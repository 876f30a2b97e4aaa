//! Python callables on the engine's workers: `spawn` and its `Task` handle.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use taskengine::{Engine, EngineError, RetryPolicy, SyncTask, TaskHandle};

use crate::errors::{guard, new_err, to_pyerr, Kind};
use crate::lease::Lease;
use crate::wait;

/// A callable with its arguments, as handed to a worker.
struct Call {
    func: Py<PyAny>,
    args: Py<PyTuple>,
    kwargs: Option<Py<PyDict>>,
}

/// What a task produced: the callable's value or exception, or an engine error.
pub(crate) enum Outcome {
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
        self.call()
    }

    /// As `run`, leaving the call in place to be made again (a retry).
    fn call(&self) -> Outcome {
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
    use pyo3::ffi::{self, PyObject};

    /// `PyObject_Call` with the ABI that lets `pthread_exit`'s forced unwind pass
    /// through our frame (see `call_parking_at_exit`).
    pub(super) type PyObjectCall = unsafe extern "C-unwind" fn(
        callable: *mut PyObject,
        args: *mut PyObject,
        kwargs: *mut PyObject,
    ) -> *mut PyObject;

    /// pyo3's own reference to the symbol, so it binds exactly as pyo3's calls do.
    static PY_OBJECT_CALL: unsafe extern "C" fn(*mut PyObject, *mut PyObject, *mut PyObject) -> *mut PyObject =
        ffi::PyObject_Call;

    /// The interpreter's `PyObject_Call`, through a pointer the optimiser cannot
    /// see through. Declared `C-unwind` beside pyo3's `extern "C"` declaration of
    /// the same symbol, the first declaration in an LLVM module wins: the call
    /// became `nounwind` and lost our frame's cleanup (with the extension built as
    /// one codegen unit every exit with a task inside Python aborted). A volatile
    /// load cannot be folded, so the call keeps its cleanup.
    pub(super) fn py_object_call() -> PyObjectCall {
        // SAFETY: a plain read of an initialised static; volatile only to hide
        // the value from the optimiser.
        let call = unsafe { std::ptr::read_volatile(&PY_OBJECT_CALL) };
        // SAFETY: the same function and signature; only the unwind ABI differs,
        // and the only unwind out of it is `pthread_exit`'s forced unwind (see
        // `call_parking_at_exit` for what that relies on).
        unsafe { std::mem::transmute::<unsafe extern "C" fn(_, _, _) -> _, PyObjectCall>(call) }
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
/// itself, and what pyo3 does around its own `PyGILState_Ensure`. Rust leaves a
/// forced unwind through a frame with a destructor unspecified; this relies, as
/// pyo3 does, on rustc running the cleanup (test_process.py checks it).
pub(crate) fn call_parking_at_exit<'py>(
    py: Python<'py>,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let call = unwinding::py_object_call();
    let park = ParkForever;
    let kwargs = kwargs.map_or(std::ptr::null_mut(), |k| k.as_ptr());
    // SAFETY: the GIL is held (`py`); the three pointers are live objects
    // borrowed for the call (kwargs may be NULL); PyObject_Call returns a new
    // reference or NULL with an exception set, which `from_owned_ptr_or_err`
    // takes over.
    let result = unsafe {
        let ptr = call(func.as_ptr(), args.as_ptr(), kwargs);
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
    /// For a task run with retries: the last exception a run raised, raised by
    /// `wait` once the attempts are spent.
    retried: Option<Arc<RetryCall>>,
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
    /// Ctrl-C interrupts the wait (not the task). Inside a task, an untimed wait
    /// runs the awaited task itself if no worker has started it; a timed one only
    /// sleeps (to return on time), so waits with a timeout inside every worker for
    /// tasks not yet started all time out.
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
                Slot::Done(outcome) => {
                    if let (Outcome::Engine(EngineError::Retried { attempts, .. }), Some(retried)) =
                        (outcome, &self.retried)
                    {
                        if let Some(err) = retried.last_raised(py) {
                            // The exception the last run raised, noting the attempts.
                            let note = format!("taskengine: gave up after {attempts} attempt(s)");
                            let _ = err.value(py).call_method1("add_note", (note,));
                            return Err(err);
                        }
                    }
                    outcome.to_python(py)
                }
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
    Ok(PyTask { slot: Mutex::new(Slot::Running(Some(handle))), changed: Condvar::new(), retried: None })
}

/// A Python call run under a retry policy: a run that raises one of `retry_on`
/// is a failed attempt (its exception kept for the end); any other exception
/// ends the task with that exception, unretried.
struct RetryCall {
    call: Call,
    retry_on: Py<PyAny>,
    last: Mutex<Option<PyErr>>,
}

impl RetryCall {
    fn last_raised(&self, py: Python<'_>) -> Option<PyErr> {
        self.last.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|e| e.clone_ref(py))
    }
}

impl SyncTask for RetryCall {
    type Output = Outcome;

    fn run(&self) -> taskengine::Result<Outcome> {
        match self.call.call() {
            Outcome::Raised(err) => {
                let retry = Python::try_attach(|py| err.is_instance(py, self.retry_on.bind(py))).unwrap_or(false);
                if !retry {
                    return Ok(Outcome::Raised(err));
                }
                *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(err);
                // Not the exception's text: `__str__` is Python code, which must not
                // run here, outside `call_parking_at_exit` (the exception itself is
                // what `wait` raises in the end).
                Err(EngineError::TaskFailed { code: 1, message: "raised an exception listed in retry_on".into() })
            }
            other => Ok(other),
        }
    }
}

/// The fallback of a retried call: whatever it returns or raises is the task's.
struct FallbackCall(Call);

impl SyncTask for FallbackCall {
    type Output = Outcome;
    fn run(&self) -> taskengine::Result<Outcome> {
        Ok(self.0.call())
    }
}

/// How `spawn_retry` retries.
pub(crate) struct RetryOptions<'py> {
    pub(crate) attempts: i64,
    pub(crate) backoff: f64,
    pub(crate) max_backoff: Option<f64>,
    pub(crate) jitter: f64,
    pub(crate) retry_on: Bound<'py, PyAny>,
    pub(crate) fallback: Option<Bound<'py, PyAny>>,
}

impl<'py> RetryOptions<'py> {
    pub(crate) fn new(
        py: Python<'py>,
        attempts: i64,
        backoff: f64,
        max_backoff: Option<f64>,
        jitter: f64,
        retry_on: Option<&Bound<'py, PyAny>>,
        fallback: Option<&Bound<'py, PyAny>>,
    ) -> RetryOptions<'py> {
        let retry_on = match retry_on {
            Some(r) => r.clone(),
            None => py.get_type::<pyo3::exceptions::PyException>().into_any(),
        };
        RetryOptions { attempts, backoff, max_backoff, jitter, retry_on, fallback: fallback.cloned() }
    }
}

fn seconds(py: Python<'_>, name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        new_err(py, Kind::InvalidArgument, format!("{name} must be a finite number of seconds >= 0, got {value}"))
    })
}

/// Starts `func(*args, **kwargs)` on `lease`'s workers under a retry policy.
pub(crate) fn spawn_retry(
    py: Python<'_>,
    lease: Lease,
    func: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
    options: RetryOptions<'_>,
) -> PyResult<PyTask> {
    if !func.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "spawn_retry() needs a callable, got {}",
            func.get_type().name()?
        )));
    }
    let attempts = u32::try_from(options.attempts).ok().filter(|&n| n >= 1).ok_or_else(|| {
        new_err(py, Kind::InvalidArgument, format!("attempts must be in 1..2**32, got {}", options.attempts))
    })?;
    let backoff = seconds(py, "backoff", options.backoff)?;
    if !(0.0..=1.0).contains(&options.jitter) {
        return Err(new_err(py, Kind::InvalidArgument, format!("jitter must be in [0, 1], got {}", options.jitter)));
    }
    let mut policy = RetryPolicy::new(attempts).jitter(options.jitter);
    policy = match options.max_backoff {
        Some(max) => policy.exponential(backoff, seconds(py, "max_backoff", max)?),
        None => policy.fixed(backoff),
    };
    // An exception class or a tuple of them, as `except` takes.
    let retry_on = options.retry_on;
    let valid = |o: &Bound<'_, PyAny>| {
        o.cast::<pyo3::types::PyType>()
            .is_ok_and(|t| t.is_subclass_of::<pyo3::exceptions::PyBaseException>().unwrap_or(false))
    };
    let ok = match retry_on.cast::<PyTuple>() {
        Ok(tuple) => tuple.iter().all(|t| valid(&t)),
        Err(_) => valid(&retry_on),
    };
    if !ok {
        return Err(pyo3::exceptions::PyTypeError::new_err("retry_on must be an exception class or a tuple of them"));
    }
    if let Some(fallback) = &options.fallback {
        if !fallback.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err("fallback must be callable"));
        }
    }
    let call =
        Call { func: func.clone().unbind(), args: args.clone().unbind(), kwargs: kwargs.map(|k| k.clone().unbind()) };
    let task = Arc::new(RetryCall { call, retry_on: retry_on.unbind(), last: Mutex::new(None) });
    let fallback = options
        .fallback
        .map(|f| FallbackCall(Call { func: f.unbind(), args: PyTuple::empty(py).unbind(), kwargs: None }));
    let started = py.detach(|| match fallback {
        Some(fallback) => lease.spawn_with_fallback(Arc::clone(&task), policy, fallback),
        None => lease.spawn_with_retry(Arc::clone(&task), policy),
    });
    let handle = started.map_err(|e| to_pyerr(py, e))?;
    Ok(PyTask { slot: Mutex::new(Slot::Running(Some(handle))), changed: Condvar::new(), retried: Some(task) })
}
