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
mod lease;
mod task;
mod team;
mod wait;

use pyo3::prelude::*;

#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::engine::PyEngine;
    #[pymodule_export]
    use super::task::PyTask;

    use super::errors::guard;

    /// A handle to the process-wide default engine (one worker per CPU, or
    /// ``TASKENGINE_WORKERS``), which the module-level functions use outside tasks
    /// and ``Executor`` calls. It is built on first use (a kernel call small
    /// enough to run on the calling thread does not count), rebuilt in a forked
    /// child, and never closed from Python.
    #[pyfunction]
    fn default_engine() -> PyEngine {
        PyEngine::default_handle()
    }

    /// The handle whose bound methods are the module-level functions (the
    /// engine of the calling context); for unpickling them.
    #[pyfunction]
    fn _context_engine() -> PyEngine {
        PyEngine::context_handle()
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
        super::lease::Backing::bind_thread(engine.as_deref().map(|e| &e.backing));
    }

    /// Panics inside native code. Exists so that the test suite can check the
    /// panic boundary: the result must be a ``TaskPanicError``.
    #[pyfunction]
    fn _panic(py: Python<'_>, message: &str) -> PyResult<()> {
        guard(py, || panic!("{message}"))
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

    /// ``Config::default()`` of the Rust engine, by the names of ``Engine``'s
    /// parameters: the defaults its signature must agree with (a test checks).
    #[pyfunction]
    fn _config_defaults(py: Python<'_>) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
        let d = taskengine::Config::default();
        let dict = pyo3::types::PyDict::new(py);
        dict.set_item("workers", d.workers)?;
        dict.set_item("queue_capacity", d.queue_capacity)?;
        dict.set_item("work_stealing", d.work_stealing)?;
        dict.set_item("metrics", d.metrics)?;
        dict.set_item("spin_budget", d.spin_budget)?;
        dict.set_item("thread_name_prefix", d.thread_name_prefix)?;
        dict.set_item("stack_size", d.stack_size)?;
        dict.set_item("task_pool_capacity", d.task_pool_capacity)?;
        dict.set_item("min_workers", d.min_workers)?;
        Ok(dict)
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        super::errors::install_panic_hook();
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        // The module-level functions are the bound methods of one handle, so each
        // is written once (as an `Engine` method) and behaves as that method.
        let context = Bound::new(m.py(), PyEngine::context_handle())?;
        for name in PyEngine::MODULE_FUNCTIONS {
            m.add(name, context.getattr(name)?)?;
        }
        m.add("_context", context)
    }
}
