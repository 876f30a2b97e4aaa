//! `taskengine.blas`'s native half: the OpenBLAS adapter of `taskengine::openblas`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use taskengine::openblas;

use crate::engine::PyEngine;
use crate::errors::IntoPyResult;

/// Attaches every OpenBLAS loaded (numpy's, scipy's, ...) to `engine`
/// (`None`: each call runs on the engine of the task making it, else on the
/// default engine). Returns how many builds were attached.
pub(crate) fn attach(py: Python<'_>, engine: Option<&PyEngine>) -> PyResult<usize> {
    match engine {
        Some(engine) => {
            let lease = engine.lease(py)?;
            py.detach(|| openblas::attach(Some(&lease))).py_err(py)
        }
        None => py.detach(|| openblas::attach(None)).py_err(py),
    }
}

/// Gives OpenBLAS its own threads back; waits (GIL released) for the BLAS
/// calls running on the engine.
pub(crate) fn detach(py: Python<'_>) {
    py.detach(openblas::detach);
}

/// One dict per build attached: ``filepath``, ``config``, ``max_threads``.
pub(crate) fn libraries(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for lib in openblas::libraries() {
        let d = PyDict::new(py);
        d.set_item("filepath", lib.path)?;
        d.set_item("config", lib.config)?;
        d.set_item("max_threads", lib.max_threads)?;
        list.append(d)?;
    }
    Ok(list)
}
