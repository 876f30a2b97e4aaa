//! Teams of Python callables: `Engine.team(members, func)` calls
//! `func(member, members)` on `members` threads at the same time.

use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use taskengine::EngineError;

use crate::errors::{new_err, IntoPyResult, Kind};
use crate::lease::Lease;
use crate::task::call_parking_at_exit;
use crate::wait;

/// Runs the team with the GIL released; each member takes the GIL for its call
/// (members take turns in the interpreter, and one that waits on another must
/// release the GIL while it waits, as `threading.Barrier` and `Event` do). The
/// first exception a member raised is raised here, after every member returned.
pub(crate) fn team(py: Python<'_>, lease: Lease, members: i64, func: &Bound<'_, PyAny>) -> PyResult<()> {
    if !func.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "team() needs a callable, got {}",
            func.get_type().name()?
        )));
    }
    let members = usize::try_from(members)
        .map_err(|_| new_err(py, Kind::InvalidArgument, format!("members must be >= 1, got {members}")))?;
    let func = func.clone().unbind();
    let first: Mutex<Option<PyErr>> = Mutex::new(None);
    let member = |member: usize, members: usize| -> taskengine::Result<()> {
        // Held until the GIL is released again: the exit hook waits for us.
        let Some(_inside) = wait::enter() else {
            return Err(EngineError::Shutdown);
        };
        let outcome = Python::try_attach(|py| {
            let args = PyTuple::new(py, [member, members])?;
            call_parking_at_exit(py, func.bind(py), &args, None).map(drop)
        });
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(err)) => {
                first.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(err);
                Err(EngineError::TaskFailed { code: -1, message: format!("team member {member} raised") })
            }
            None => Err(EngineError::Shutdown),
        }
    };
    let result = py.detach(|| lease.team(members, member));
    if let Some(err) = first.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(err);
    }
    result.py_err(py)
}

/// The counters of the engine's team threads, as a dict.
pub(crate) fn team_stats<'py>(py: Python<'py>, lease: Lease) -> PyResult<Bound<'py, PyDict>> {
    let s = lease.team_stats();
    let d = PyDict::new(py);
    d.set_item("runs", s.runs)?;
    d.set_item("threads_started", s.threads_started)?;
    d.set_item("threads_alive", s.threads_alive)?;
    d.set_item("threads_parked", s.threads_parked)?;
    Ok(d)
}
