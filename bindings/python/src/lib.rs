//! `taskengine._native`: the extension module behind the `taskengine` package.
//!
//! The package (`python/taskengine/__init__.py`) re-exports what users need;
//! this module is private. Layout: `engine` (the `Engine` class), `task`
//! (Python callables on the workers), `wait` (GIL-free, interruptible waits),
//! `errors` (the exception mapping and the panic boundary).
#![deny(unsafe_op_in_unsafe_fn)]

mod engine;
mod errors;
mod task;
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

    /// Runs ``func(*args, **kwargs)`` on a worker of the default engine and
    /// returns a ``Task`` to wait on.
    #[pyfunction]
    #[pyo3(signature = (func, /, *args, **kwargs))]
    fn spawn(
        py: Python<'_>,
        func: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<super::task::PyTask> {
        guard(py, || super::task::spawn(py, Lease::global(py)?, func, args, kwargs))
    }

    /// Called by the package's ``atexit`` hook: from now on workers do not enter
    /// the interpreter (tasks that have not started fail with
    /// ``EngineShutdownError``).
    #[pyfunction]
    fn _at_exit() {
        super::wait::set_finalizing();
    }

    /// Panics inside native code. Exists so that the test suite can check the
    /// panic boundary: the result must be a ``TaskPanicError``.
    #[pyfunction]
    fn _panic(py: Python<'_>, message: &str) -> PyResult<()> {
        guard(py, || panic!("{message}"))
    }

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
