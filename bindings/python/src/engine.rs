//! `taskengine.Engine`: an engine of one's own, a handle to the default one, or
//! the handle of the calling context whose bound methods are the module-level
//! functions (`taskengine.sum is taskengine._native._context.sum`'s twin).

use std::sync::mpsc;
use std::sync::{Arc, PoisonError};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use taskengine::engine::DEFAULT_SPIN_BUDGET;
use taskengine::{Config, Engine, EngineStats};

use crate::errors::{guard, new_err, IntoPyResult, Kind};
use crate::kernels::{self, On};
use crate::lease::{Backing, Lease};
use crate::task::{self, PyTask};
use crate::wait;

/// A pool of worker threads that runs kernels and Python callables.
///
/// ``Engine(workers=None, queue_capacity=0, work_stealing=True, metrics=True,
/// spin=None, thread_name_prefix=None, stack_size=0, task_pool_capacity=None,
/// min_workers=0, *, spin_budget=None)``
///
/// - ``workers``: how many threads; ``None`` (the default) starts one per CPU.
///   Must be at least 1 (``0`` is refused: write ``None`` for one per CPU).
/// - ``queue_capacity``: how many tasks submitted from outside the pool may wait
///   to start; ``0`` (the default) means unbounded. When a bounded queue is full,
///   ``spawn`` waits for room.
/// - ``work_stealing``: idle workers take work queued on busy ones (default on).
/// - ``metrics``: keep the counters that ``stats()`` reports (default on).
/// - ``spin_budget``: search rounds an idle worker spins before it sleeps
///   (``None``: ``Engine.DEFAULT_SPIN_BUDGET``), named as in ``te_config`` and
///   Rust's ``Config``. ``spin`` is its old name, deprecated (a
///   ``DeprecationWarning``) but still accepted.
/// - ``thread_name_prefix``: workers are named ``{prefix}-{index}`` (``None``:
///   ``"taskengine"``).
/// - ``stack_size``: bytes of stack per worker (``0``: the platform default).
/// - ``task_pool_capacity``: task records kept for reuse so that steady-state
///   spawning does not allocate (``None``: the default, 131072; ``0``: none).
///
/// Leaving a ``with`` block (or ``close()``) lets queued work finish and joins
/// every worker thread. Bad values raise ``InvalidArgumentError`` (a ``ValueError``).
///
/// ``default_engine()`` is a handle to the process-wide default engine, and the
/// module-level functions (``taskengine.sum``, ``spawn``, ...) are the methods of
/// one more handle, ``taskengine._native._context``: the engine of the calling
/// context (inside a task or an ``Executor`` call that one's, else the default
/// engine). A kernel call small enough to run on the calling thread uses no
/// engine, whichever handle it is made through: it never builds or starts the
/// default engine (an engine of one's own that was closed still raises).
#[pyclass(module = "taskengine", name = "Engine", frozen)]
pub(crate) struct PyEngine {
    pub(crate) backing: Backing,
    /// For an owned engine: its worker count (still readable after `close`).
    workers: usize,
}

impl PyEngine {
    pub(crate) fn default_handle() -> PyEngine {
        PyEngine { backing: Backing::Default, workers: 0 }
    }

    /// The handle whose bound methods are the module-level functions.
    pub(crate) fn context_handle() -> PyEngine {
        PyEngine { backing: Backing::Context, workers: 0 }
    }

    /// The methods the module offers as functions of its own (bound to the
    /// context handle): the one list of them.
    pub(crate) const MODULE_FUNCTIONS: [&'static str; 16] = [
        "spawn",
        "spawn_retry",
        "team",
        "sum",
        "max",
        "min",
        "sort",
        "sorted",
        "factorial",
        "fibonacci",
        "gcd",
        "lcm",
        "isqrt",
        "fnv1a64",
        "reverse",
        "upper",
    ];

    /// The engine to run on, or `EngineShutdownError` once it is closed.
    pub(crate) fn lease(&self, py: Python<'_>) -> PyResult<Lease> {
        self.backing.lease(py)
    }
}

fn non_negative(py: Python<'_>, name: &str, value: i64) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| new_err(py, Kind::InvalidArgument, format!("{name} must be >= 0, got {value}")))
}

#[pymethods]
impl PyEngine {
    /// Starts an engine (see the class documentation for the parameters).
    #[new]
    #[pyo3(signature = (workers=None, queue_capacity=0, work_stealing=true, metrics=true, spin=None,
                        thread_name_prefix=None, stack_size=0, task_pool_capacity=None, min_workers=0, *,
                        spin_budget=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        workers: Option<i64>,
        queue_capacity: i64,
        work_stealing: bool,
        metrics: bool,
        spin: Option<i64>,
        thread_name_prefix: Option<String>,
        stack_size: i64,
        task_pool_capacity: Option<i64>,
        min_workers: i64,
        spin_budget: Option<i64>,
    ) -> PyResult<PyEngine> {
        guard(py, || {
            let spin_budget = match (spin, spin_budget) {
                (Some(_), Some(_)) => {
                    return Err(new_err(
                        py,
                        Kind::InvalidArgument,
                        "give spin_budget only (spin is its deprecated old name)",
                    ))
                }
                (Some(old), None) => {
                    let warning = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
                    PyErr::warn(py, &warning, c"Engine(spin=...) is deprecated: write spin_budget=...", 1)?;
                    Some(old)
                }
                (None, new) => new,
            };
            let mut config = Config {
                workers: match workers {
                    None => 0,
                    Some(n) if n >= 1 => non_negative(py, "workers", n)?,
                    Some(n) => {
                        return Err(new_err(
                            py,
                            Kind::InvalidArgument,
                            format!("workers must be >= 1, got {n} (None starts one per CPU)"),
                        ))
                    }
                },
                queue_capacity: non_negative(py, "queue_capacity", queue_capacity)?,
                work_stealing,
                metrics,
                stack_size: non_negative(py, "stack_size", stack_size)?,
                min_workers: non_negative(py, "min_workers", min_workers)?,
                ..Config::default()
            };
            if let Some(spin) = spin_budget {
                config.spin_budget = u32::try_from(spin).map_err(|_| {
                    new_err(py, Kind::InvalidArgument, format!("spin_budget must be in 0..2**32, got {spin}"))
                })?;
            }
            if let Some(prefix) = thread_name_prefix {
                config.thread_name_prefix = prefix;
            }
            if let Some(capacity) = task_pool_capacity {
                config.task_pool_capacity = non_negative(py, "task_pool_capacity", capacity)?;
            }
            let engine = py.detach(|| Engine::new(config)).py_err(py)?;
            let workers = engine.workers();
            Ok(PyEngine { backing: Backing::owned(engine), workers })
        })
    }

    /// Number of worker threads.
    #[getter]
    fn workers(&self, py: Python<'_>) -> PyResult<usize> {
        match &self.backing {
            Backing::Default | Backing::Context => Ok(self.lease(py)?.workers()),
            Backing::Owned(_) => Ok(self.workers),
        }
    }

    /// True once ``close()`` has run (never for the default engine).
    #[getter]
    fn closed(&self) -> bool {
        match &self.backing {
            Backing::Default | Backing::Context => false,
            Backing::Owned(slot) => slot.read().unwrap_or_else(PoisonError::into_inner).is_none(),
        }
    }

    /// A snapshot of the engine's counters, as a dict; ``per_worker`` holds one
    /// dict per worker.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || {
            let lease = self.lease(py)?;
            let workers = lease.workers();
            stats_dict(py, workers, &lease.stats())
        })
    }

    /// Shuts the engine down: queued work finishes and every worker thread is
    /// joined before this returns. Later calls raise ``EngineShutdownError``.
    /// Safe to call twice; does nothing on the default engine's handle (or the
    /// module's).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            let Backing::Owned(slot) = &self.backing else { return Ok(()) };
            let Some(engine) = slot.write().unwrap_or_else(PoisonError::into_inner).take() else { return Ok(()) };
            shut_down(py, engine)
        })
    }

    /// Same as ``close()``.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        self.close(py)
    }

    /// Runs ``func(*args, **kwargs)`` on a worker (taking the GIL for the call) and
    /// returns a ``Task`` to wait on. The module-level ``spawn`` runs it on the
    /// calling context's engine (inside a task or an ``Executor`` call: that one's,
    /// else the default engine).
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn spawn(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyTask> {
        guard(py, || task::spawn(py, self.lease(py)?, func, args, kwargs))
    }

    /// Runs ``func(*args, **kwargs)`` on a worker, again while it raises one of
    /// ``retry_on`` (default ``Exception``), up to ``attempts`` runs in all, and
    /// returns a ``Task``. ``backoff`` seconds pass before the second run: the same
    /// before each later one, or doubling up to ``max_backoff`` when that is given;
    /// ``jitter`` (0..1) shortens each by up to that fraction at random. A backoff
    /// holds no worker (the engine's timer queues the next run). When the attempts
    /// are spent, ``fallback()`` runs for the result if given, else ``wait()``
    /// raises the last run's exception (with a note of the attempts). Any other
    /// exception ends the task at once.
    #[pyo3(signature = (func, /, args=None, kwargs=None, *, attempts=3, backoff=0.0, max_backoff=None,
                        jitter=0.0, retry_on=None, fallback=None))]
    #[allow(clippy::too_many_arguments)]
    fn spawn_retry(
        &self,
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        args: Option<&Bound<'_, PyTuple>>,
        kwargs: Option<&Bound<'_, PyDict>>,
        attempts: i64,
        backoff: f64,
        max_backoff: Option<f64>,
        jitter: f64,
        retry_on: Option<&Bound<'_, PyAny>>,
        fallback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTask> {
        guard(py, || {
            let options = task::RetryOptions::new(py, attempts, backoff, max_backoff, jitter, retry_on, fallback);
            let args = args.cloned().unwrap_or_else(|| PyTuple::empty(py));
            task::spawn_retry(py, self.lease(py)?, func, &args, kwargs, options)
        })
    }

    // ---- the kernels, on this engine (see the module-level functions) ----

    /// The sum of a buffer of int64, uint64, float64, int32, uint32 or float32
    /// (numpy array, array.array, memoryview, ...). Integers are summed exactly,
    /// int32 into int64 and uint32 into uint64 (``ArithmeticOverflowError`` when
    /// the sum does not fit); floats with compensation, float32 in float64 (a
    /// Python float, not rounded to float32).
    #[pyo3(signature = (data, /))]
    fn sum(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(py, || kernels::sum(py, On(&self.backing), data))
    }

    /// The largest item of a non-empty buffer of int64, uint64, float64, int32,
    /// uint32 or float32 (NaNs are ignored unless all items are NaN).
    #[pyo3(signature = (data, /))]
    fn max(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(py, || kernels::extremum(py, On(&self.backing), data, true))
    }

    /// The smallest item of a non-empty buffer of int64, uint64, float64,
    /// int32, uint32 or float32 (NaNs are ignored unless all items are NaN).
    #[pyo3(signature = (data, /))]
    fn min(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(py, || kernels::extremum(py, On(&self.backing), data, false))
    }

    /// Sorts a writable, C-contiguous, one-dimensional buffer of int64, uint64,
    /// float64, int32, uint32, float32, int16, uint16, int8 or uint8 in place
    /// (floats: NaNs last). ``sorted`` returns a copy.
    #[pyo3(signature = (data, /))]
    fn sort(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || kernels::sort(py, On(&self.backing), data))
    }

    /// A sorted copy of a one-dimensional buffer (the ``np.sort(a)`` form of
    /// ``sort``), of the same kind: a numpy array for a numpy array,
    /// ``array.array``, ``bytes`` or ``bytearray`` for those, a memoryview for
    /// other buffers. The input may be read-only or strided; it is not changed.
    #[pyo3(signature = (data, /))]
    fn sorted<'py>(&self, py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || kernels::sorted(py, On(&self.backing), data))
    }

    /// Unmaps the scratch memory this engine keeps between sorts (their second
    /// buffer, as large as the array sorted).
    fn trim_scratch(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            self.lease(py)?.trim_scratch();
            Ok(())
        })
    }

    /// Caps the scratch memory this engine keeps between sorts (bytes; default
    /// 256 MiB; 0 keeps none). Also unmaps what is cached above the new cap.
    #[pyo3(signature = (nbytes, /))]
    fn set_scratch_limit(&self, py: Python<'_>, nbytes: usize) -> PyResult<()> {
        guard(py, || {
            self.lease(py)?.set_scratch_limit(nbytes);
            Ok(())
        })
    }

    /// Bytes of scratch memory cached now, between sorts.
    fn scratch_cached_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        guard(py, || Ok(self.lease(py)?.scratch_cached_bytes()))
    }

    /// ``n!`` for ``0 <= n <= 20`` (``ArithmeticOverflowError`` above: it does
    /// not fit in 64 bits).
    #[pyo3(signature = (n, /))]
    fn factorial(&self, py: Python<'_>, n: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::factorial(py, On(&self.backing), n))
    }

    /// The Fibonacci number ``F(n)`` (``F(0) = 0``) for ``0 <= n <= 93``.
    #[pyo3(signature = (n, /))]
    fn fibonacci(&self, py: Python<'_>, n: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::fibonacci(py, On(&self.backing), n))
    }

    /// The greatest common divisor of ``|a|`` and ``|b|`` (each below 2**64).
    #[pyo3(signature = (a, b, /))]
    fn gcd(&self, py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::gcd(py, On(&self.backing), a, b))
    }

    /// The least common multiple of ``|a|`` and ``|b|``.
    #[pyo3(signature = (a, b, /))]
    fn lcm(&self, py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::lcm(py, On(&self.backing), a, b))
    }

    /// ``floor(sqrt(x))``, exact, for ``0 <= x < 2**64``.
    #[pyo3(signature = (x, /))]
    fn isqrt(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::isqrt(py, On(&self.backing), x))
    }

    /// The 64-bit FNV-1a hash of a bytes-like object, or of a str's UTF-8.
    #[pyo3(signature = (data, /))]
    fn fnv1a64(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::fnv1a64(py, On(&self.backing), data))
    }

    /// The text reversed by code point: str in, str out; UTF-8 bytes in, bytes
    /// out (invalid UTF-8 raises ``Utf8Error``, a ``UnicodeDecodeError``).
    #[pyo3(signature = (text, /))]
    fn reverse<'py>(&self, py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || kernels::reverse(py, On(&self.backing), text))
    }

    /// The text upper-cased (full Unicode mapping, ``"ß"`` becomes ``"SS"``):
    /// str in, str out; UTF-8 bytes in, bytes out.
    #[pyo3(signature = (text, /))]
    fn upper<'py>(&self, py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || kernels::upper(py, On(&self.backing), text))
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        match &self.backing {
            Backing::Default => match Lease::global(py) {
                Ok(lease) => format!("<taskengine.Engine default workers={}>", lease.workers()),
                Err(_) => "<taskengine.Engine default (shut down)>".to_string(),
            },
            Backing::Context => "<taskengine.Engine of the calling context>".to_string(),
            Backing::Owned(_) if self.closed() => format!("<taskengine.Engine workers={} closed>", self.workers),
            Backing::Owned(_) => format!("<taskengine.Engine workers={}>", self.workers),
        }
    }

    /// Calls ``func(member, members)`` for every ``member`` in
    /// ``range(members)``, all at the same time on ``members`` distinct threads
    /// (this thread is member 0; the others come from the engine's cache of team
    /// threads, never from its queues), and returns when all have returned, so
    /// members may wait on each other. Each member takes the GIL for its call:
    /// members take turns in the interpreter, and one that waits for another
    /// must release the GIL while it waits (``threading.Barrier``, ``Event``,
    /// ``time.sleep`` and native code that releases it do). Every member is
    /// called; the first exception one raised is raised here afterwards.
    /// ``members`` must be between 1 and ``TEAM_MAX_MEMBERS``
    /// (``InvalidArgumentError`` otherwise). Not interruptible by Ctrl-C while
    /// members run.
    #[pyo3(signature = (members, func, /))]
    fn team(&self, py: Python<'_>, members: i64, func: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || crate::team::team(py, self.lease(py)?, members, func))
    }

    /// The counters of this engine's team threads, as a dict: ``runs``,
    /// ``threads_started``, ``threads_alive``, ``threads_parked``.
    fn team_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        guard(py, || crate::team::team_stats(py, self.lease(py)?))
    }

    /// The most members a team may have.
    #[classattr]
    const TEAM_MAX_MEMBERS: usize = taskengine::MAX_TEAM_MEMBERS;

    /// Pickling (Dask, multiprocessing): the default engine's handle travels as
    /// "the default engine" of the process that unpickles it (and the module's
    /// handle as the module's, so ``taskengine.sum`` pickles). An engine of one's
    /// own owns threads of this process, so it cannot travel: ``TypeError``.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.backing {
            Backing::Default | Backing::Context => {
                let name = if let Backing::Default = self.backing { "default_engine" } else { "_context_engine" };
                let rebuild = py.import("taskengine._native")?.getattr(name)?;
                Ok((rebuild, PyTuple::empty(py)).into_pyobject(py)?.into_any())
            }
            Backing::Owned(_) => Err(pyo3::exceptions::PyTypeError::new_err(
                "cannot pickle an Engine of one's own: its threads live in this process; \
                 create one where it is used, or pass taskengine.default_engine()",
            )),
        }
    }

    /// The default spin budget (search rounds before an idle worker sleeps).
    #[classattr]
    const DEFAULT_SPIN_BUDGET: u32 = DEFAULT_SPIN_BUDGET;

    /// ``DEFAULT_SPIN_BUDGET`` under its old name (kept for old code).
    #[classattr]
    const DEFAULT_SPIN: u32 = DEFAULT_SPIN_BUDGET;
}

impl Drop for PyEngine {
    fn drop(&mut self) {
        if let Backing::Owned(slot) = &self.backing {
            if let Some(engine) = slot.write().unwrap_or_else(PoisonError::into_inner).take() {
                if wait::finalizing() {
                    // Interpreter teardown: like daemon threads, the workers are
                    // left to the process exit rather than waited for (one may be
                    // in a callable that would need the interpreter to finish).
                    std::mem::forget(engine);
                } else {
                    // Workers may be running Python callables that need the GIL.
                    Python::attach(|py| py.detach(|| drop(engine)));
                }
            }
        }
    }
}

/// Waits until `engine` is the last reference (another thread may hold a lease
/// for a call in flight; it lets go when that call returns), then shuts it down.
fn join_last(mut engine: Arc<Engine>) {
    loop {
        match Arc::try_unwrap(engine) {
            Ok(engine) => return engine.shutdown(),
            Err(shared) => {
                engine = shared;
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

/// Shuts `engine` down with the GIL released (its workers may be running Python
/// callables). From outside the pool the join runs on a helper thread so that a
/// long shutdown (a worker still in a slow callable) stays interruptible.
fn shut_down(py: Python<'_>, engine: Arc<Engine>) -> PyResult<()> {
    if Engine::current_worker_index().is_some() {
        // On a worker, perhaps of this very engine: its join skips the current
        // thread, whereas a helper thread would wait for us forever.
        py.detach(|| join_last(engine));
        return Ok(());
    }
    let (engine_tx, engine_rx) = mpsc::channel::<Arc<Engine>>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new().name("taskengine-close".into()).spawn(move || {
        if let Ok(engine) = engine_rx.recv() {
            join_last(engine);
        }
        let _ = done_tx.send(());
    });
    if spawned.is_err() {
        // No thread to spare: join here, uninterruptibly.
        py.detach(|| join_last(engine));
        return Ok(());
    }
    // The helper is blocked in recv(), so the send cannot fail.
    let _ = engine_tx.send(engine);
    wait::wait_interruptibly(py, None, move |slice| match done_rx.recv_timeout(slice) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => Some(()),
        Err(mpsc::RecvTimeoutError::Timeout) => None,
    })?;
    Ok(())
}

/// The dict of `Engine.stats()`: its keys are the Rust counters' names
/// (`EngineStats::counters`), plus `workers`, `metrics_enabled` and `per_worker`.
fn stats_dict<'py>(py: Python<'py>, workers: usize, stats: &EngineStats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("workers", workers)?;
    dict.set_item("metrics_enabled", stats.metrics_enabled)?;
    for (key, value) in stats.counters() {
        dict.set_item(key, value)?;
    }
    let per_worker = PyList::empty(py);
    for w in &stats.workers {
        let entry = PyDict::new(py);
        for (key, value) in w.counters() {
            entry.set_item(key, value)?;
        }
        per_worker.append(entry)?;
    }
    dict.set_item("per_worker", per_worker)?;
    Ok(dict)
}
