//! `taskengine._native`: the extension module behind the `taskengine` package.
//!
//! The package (`python/taskengine/__init__.py`) re-exports what users need;
//! this module is private. Layout: `engine` (the `Engine` class), `kernels`
//! (the kernels on Python objects, over `buffers`), `task`
//! (Python callables on the workers), `wait` (GIL-free, interruptible waits),
//! `errors` (the exception mapping and the panic boundary).
#![deny(unsafe_op_in_unsafe_fn)]

mod blas;
mod buffers;
mod engine;
mod errors;
mod kernels;
mod task;
mod team;
mod wait;

use pyo3::prelude::*;

#[pymodule]
mod _native {
    use pyo3::prelude::*;
    use pyo3::types::{PyDict, PyTuple};

    #[pymodule_export]
    use super::engine::PyEngine;
    #[pymodule_export]
    use super::task::PyTask;

    use super::engine::Lease;
    use super::errors::guard;

    /// A handle to the process-wide default engine (one worker per CPU, or
    /// ``TASKENGINE_WORKERS``), which the module-level functions use. It is built
    /// on first use, rebuilt in a forked child, and never closed from Python.
    #[pyfunction]
    fn default_engine() -> PyEngine {
        PyEngine::default_handle()
    }

    /// Runs ``func(*args, **kwargs)`` on a worker of the default engine (inside
    /// a task or an ``Executor`` call: on that one's engine) and returns a
    /// ``Task`` to wait on.
    #[pyfunction]
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn spawn(
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<super::task::PyTask> {
        guard(py, || super::task::spawn(py, Lease::implicit(py)?, func, args, kwargs))
    }

    /// ``Engine.spawn_retry`` on the default engine (inside a task or an
    /// ``Executor`` call: on that one's engine).
    #[pyfunction]
    #[pyo3(signature = (func, /, args=None, kwargs=None, *, attempts=3, backoff=0.0, max_backoff=None,
                        jitter=0.0, retry_on=None, fallback=None))]
    #[allow(clippy::too_many_arguments)]
    fn spawn_retry(
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
    ) -> PyResult<super::task::PyTask> {
        guard(py, || {
            let options =
                super::task::RetryOptions::new(py, attempts, backoff, max_backoff, jitter, retry_on, fallback);
            let args = args.cloned().unwrap_or_else(|| PyTuple::empty(py));
            super::task::spawn_retry(py, Lease::implicit(py)?, func, &args, kwargs, options)
        })
    }

    use super::kernels::{self, On};

    /// The sum of a buffer of int64, uint64, float64, int32, uint32 or float32
    /// (numpy array, array.array, memoryview, ...), on the default engine.
    /// Integers are summed exactly, int32 into int64 and uint32 into uint64
    /// (``ArithmeticOverflowError`` when the sum does not fit); floats with
    /// compensation, float32 in float64 (a Python float, not rounded to float32).
    #[pyfunction]
    #[pyo3(signature = (data, /))]
    fn sum(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(py, || kernels::sum(py, On::Default, data))
    }

    /// The largest item of a non-empty buffer of int64, uint64, float64, int32,
    /// uint32 or float32 (NaNs are ignored unless all items are NaN).
    #[pyfunction]
    #[pyo3(signature = (data, /))]
    fn max(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(py, || kernels::extremum(py, On::Default, data, true))
    }

    /// The smallest item of a non-empty buffer of int64, uint64, float64, int32,
    /// uint32 or float32.
    #[pyfunction]
    #[pyo3(signature = (data, /))]
    fn min(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        guard(py, || kernels::extremum(py, On::Default, data, false))
    }

    /// Sorts a writable, C-contiguous, one-dimensional buffer of int64, uint64,
    /// float64, int32, uint32, float32, int16, uint16, int8 or uint8 in place
    /// (floats: NaNs last), on the default engine. ``sorted`` returns a copy.
    #[pyfunction]
    #[pyo3(signature = (data, /))]
    fn sort(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || kernels::sort(py, On::Default, data))
    }

    /// ``n!`` for ``0 <= n <= 20`` (``ArithmeticOverflowError`` above: it does
    /// not fit in 64 bits).
    #[pyfunction]
    #[pyo3(signature = (n, /))]
    fn factorial(py: Python<'_>, n: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::factorial(py, On::Default, n))
    }

    /// The Fibonacci number ``F(n)`` (``F(0) = 0``) for ``0 <= n <= 93``.
    #[pyfunction]
    #[pyo3(signature = (n, /))]
    fn fibonacci(py: Python<'_>, n: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::fibonacci(py, On::Default, n))
    }

    /// The greatest common divisor of ``|a|`` and ``|b|`` (each below 2**64).
    #[pyfunction]
    #[pyo3(signature = (a, b, /))]
    fn gcd(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::gcd(py, On::Default, a, b))
    }

    /// The least common multiple of ``|a|`` and ``|b|``.
    #[pyfunction]
    #[pyo3(signature = (a, b, /))]
    fn lcm(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::lcm(py, On::Default, a, b))
    }

    /// ``floor(sqrt(x))``, exact, for ``0 <= x < 2**64``.
    #[pyfunction]
    #[pyo3(signature = (x, /))]
    fn isqrt(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::isqrt(py, On::Default, x))
    }

    /// The 64-bit FNV-1a hash of a bytes-like object, or of a str's UTF-8.
    #[pyfunction]
    #[pyo3(signature = (data, /))]
    fn fnv1a64(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<u64> {
        guard(py, || kernels::fnv1a64(py, On::Default, data))
    }

    /// The text reversed by code point: str in, str out; UTF-8 bytes in, bytes
    /// out (invalid UTF-8 raises ``Utf8Error``, a ``UnicodeDecodeError``).
    #[pyfunction]
    #[pyo3(signature = (text, /))]
    fn reverse<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || kernels::reverse(py, On::Default, text))
    }

    /// The text upper-cased with the full Unicode mapping (``"ß"`` becomes
    /// ``"SS"``): str in, str out; UTF-8 bytes in, bytes out.
    #[pyfunction]
    #[pyo3(signature = (text, /))]
    fn upper<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || kernels::upper(py, On::Default, text))
    }

    /// A sorted copy of a one-dimensional buffer (the ``np.sort(a)`` form of
    /// ``sort``), of the same kind: a numpy array for a numpy array,
    /// ``array.array``, ``bytes`` or ``bytearray`` for those, a memoryview for
    /// other buffers. The input may be read-only or strided; it is not changed.
    #[pyfunction]
    #[pyo3(signature = (data, /))]
    fn sorted<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guard(py, || kernels::sorted(py, On::Default, data))
    }

    /// Called by the package's ``atexit`` hook: from now on workers do not enter
    /// the interpreter (tasks that have not started fail with
    /// ``EngineShutdownError``), and tasks already in it get a short grace
    /// period to return before the interpreter is torn down.
    #[pyfunction]
    fn _at_exit(py: Python<'_>) {
        super::wait::at_exit(py);
    }

    /// Makes the calling thread's module-level functions run on ``engine``
    /// (``None``: the default rules again). Used by ``Executor`` threads.
    #[pyfunction]
    fn _bind_thread(engine: Option<PyRef<'_, super::engine::PyEngine>>) {
        super::engine::bind_thread(engine.as_deref());
    }

    /// Panics inside native code. Exists so that the test suite can check the
    /// panic boundary: the result must be a ``TaskPanicError``.
    #[pyfunction]
    fn _panic(py: Python<'_>, message: &str) -> PyResult<()> {
        guard(py, || panic!("{message}"))
    }

    /// Calls ``func(member, members)`` for every ``member`` in
    /// ``range(members)``, all at the same time on distinct threads (this thread
    /// is member 0), on the default engine (inside a task: that one's engine).
    /// See ``Engine.team``.
    #[pyfunction]
    #[pyo3(signature = (members, func, /))]
    fn team(py: Python<'_>, members: i64, func: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || super::team::team(py, Lease::implicit(py)?, members, func))
    }

    /// The default engine's worker count if this process has built it (and not
    /// shut it down), else ``None``; never builds it. ``TASKENGINE_WORKERS`` only
    /// sizes an engine not built yet.
    #[pyfunction]
    fn _default_engine_workers() -> Option<usize> {
        taskengine::Engine::global_workers_if_built()
    }

    /// Shuts the default engine down: queued work finishes and its threads are
    /// joined (with the GIL released); later uses raise ``EngineShutdownError``.
    /// For a process about to exit (a Dask worker closing).
    #[pyfunction]
    fn _shutdown_default_engine(py: Python<'_>) -> PyResult<()> {
        use super::errors::IntoPyResult;
        guard(py, || py.detach(taskengine::Engine::shutdown_global).py_err(py))
    }

    /// Attaches every OpenBLAS loaded in the process to ``engine`` (``None``:
    /// each BLAS call runs on the engine of the task making it, else on the
    /// default engine); returns how many builds were attached. See
    /// ``taskengine.blas``.
    #[pyfunction]
    #[pyo3(signature = (engine=None))]
    fn _openblas_attach(py: Python<'_>, engine: Option<PyRef<'_, super::engine::PyEngine>>) -> PyResult<usize> {
        guard(py, || super::blas::attach(py, engine.as_deref()))
    }

    /// Gives OpenBLAS its own threads back, once the calls running on the
    /// engine have finished.
    #[pyfunction]
    fn _openblas_detach(py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            super::blas::detach(py);
            Ok(())
        })
    }

    /// The OpenBLAS builds attached, as dicts (``filepath``, ``config``,
    /// ``max_threads``).
    #[pyfunction]
    fn _openblas_libraries(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyList>> {
        guard(py, || super::blas::libraries(py))
    }

    /// At most ``n`` BLAS jobs run on the engine at once (``0``: its worker count).
    #[pyfunction]
    #[pyo3(signature = (n, /))]
    fn _openblas_set_max_threads(py: Python<'_>, n: usize) -> PyResult<()> {
        guard(py, || {
            taskengine::openblas::set_max_threads(n);
            Ok(())
        })
    }

    /// The limit in force (see ``_openblas_set_max_threads``).
    #[pyfunction]
    fn _openblas_max_threads(py: Python<'_>) -> PyResult<usize> {
        guard(py, || Ok(taskengine::openblas::max_threads()))
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        super::errors::install_panic_hook();
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
