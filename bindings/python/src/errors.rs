//! From `EngineError` (and Rust panics) to the Python exceptions of
//! `taskengine._errors`.
//!
//! The classes are defined in Python because several derive from two bases
//! (`TaskEngineError` and a built-in such as `ValueError` or `UnicodeDecodeError`),
//! which `create_exception!` cannot express. They are looked up once per process.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use taskengine::EngineError;

/// The exception classes, in the order of [`Kind`].
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

/// Which `taskengine._errors` class an error becomes.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Base,
    InvalidArgument,
    DType,
    Overflow,
    Utf8,
    Shutdown,
    Memory,
    QueueFull,
    Timeout,
    Cancelled,
    TaskFailed,
    Panic,
    ThreadPool,
    Allocation,
    Ffi,
    NotFound,
    Unsupported,
}

const NAMES: [&str; 17] = [
    "TaskEngineError",
    "InvalidArgumentError",
    "DTypeError",
    "ArithmeticOverflowError",
    "Utf8Error",
    "EngineShutdownError",
    "EngineMemoryError",
    "QueueFullError",
    "TaskTimeoutError",
    "TaskCancelledError",
    "TaskFailedError",
    "TaskPanicError",
    "ThreadPoolError",
    "AllocationError",
    "FfiError",
    "NotFoundError",
    "UnsupportedError",
];

fn class(py: Python<'_>, kind: Kind) -> PyResult<&Bound<'_, PyType>> {
    let classes = CLASSES.get_or_try_init(py, || -> PyResult<_> {
        let module = py.import("taskengine._errors")?;
        NAMES.iter().map(|name| Ok(module.getattr(*name)?.cast_into::<PyType>()?.unbind())).collect()
    })?;
    Ok(classes[kind as usize].bind(py))
}

/// A `taskengine` exception of `kind` with a message.
pub(crate) fn new_err(py: Python<'_>, kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match class(py, kind).and_then(|cls| cls.call1((message.clone(),))) {
        Ok(instance) => PyErr::from_value(instance),
        // Only when the package is broken (the module cannot be imported).
        Err(err) => {
            let fallback = PyRuntimeError::new_err(message);
            fallback.set_cause(py, Some(err));
            fallback
        }
    }
}

/// The Python exception for an engine error.
pub(crate) fn to_pyerr(py: Python<'_>, err: EngineError) -> PyErr {
    let kind = match err.root() {
        EngineError::Null | EngineError::Invalid(_) => Kind::InvalidArgument,
        EngineError::Overflow => Kind::Overflow,
        EngineError::NoMemory => Kind::Memory,
        EngineError::Shutdown => Kind::Shutdown,
        EngineError::Cancelled => Kind::Cancelled,
        EngineError::Timeout => Kind::Timeout,
        EngineError::TaskFailed { .. } => Kind::TaskFailed,
        EngineError::Panic(_) => Kind::Panic,
        EngineError::QueueFull => Kind::QueueFull,
        EngineError::ThreadPool { .. } => Kind::ThreadPool,
        EngineError::Memory { .. } => Kind::Allocation,
        EngineError::Ffi { .. } => Kind::Ffi,
        EngineError::NotFound(_) => Kind::NotFound,
        EngineError::Unsupported(_) => Kind::Unsupported,
        // Utf8 needs the input (see `utf8_error`); BufferTooSmall cannot happen
        // (we size every output): both are still TaskEngineErrors.
        _ => Kind::Base,
    };
    new_err(py, kind, err.to_string())
}

/// A `UnicodeDecodeError`-compatible `Utf8Error` for `obj`, whose bytes are
/// `input`, valid up to `valid_up_to`.
pub(crate) fn utf8_error(py: Python<'_>, obj: &Bound<'_, PyAny>, input: &[u8], valid_up_to: usize) -> PyErr {
    // Point at the offending sequence the way Python's own decoder does.
    let rest = input.get(valid_up_to..).unwrap_or_default();
    let (end, reason) = match std::str::from_utf8(rest) {
        Err(e) => match e.error_len() {
            Some(n) => (valid_up_to + n, "invalid UTF-8 sequence"),
            None => (input.len(), "unexpected end of data"),
        },
        // The kernel and std disagree; still report the kernel's position.
        Ok(_) => ((valid_up_to + 1).min(input.len()), "invalid UTF-8"),
    };
    match class(py, Kind::Utf8).and_then(|cls| cls.call1(("utf-8", obj, valid_up_to, end, reason))) {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

thread_local! {
    /// How many `guard`s this thread is inside: a panic there is caught and
    /// becomes a `TaskPanicError`, so the hook stays quiet about it.
    static GUARDED: Cell<usize> = const { Cell::new(0) };
    /// Where the last caught panic happened, for the exception's message.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that prints nothing for panics
/// that a `guard` catches (the exception carries the message and where it
/// happened) and hands every other panic to the hook that was there before.
pub(crate) fn install_panic_hook() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // `try_with`: the thread may be tearing down its locals.
            if GUARDED.try_with(Cell::get).unwrap_or(0) > 0 {
                let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                let _ = LOCATION.try_with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs the body of a Python-facing function, turning a Rust panic into
/// `TaskPanicError`: PyO3 would raise `PanicException`, which derives from
/// `BaseException` and so slips past `except Exception`.
pub(crate) fn guard<R>(py: Python<'_>, body: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            GUARDED.with(|g| g.set(g.get() - 1));
        }
    }
    GUARDED.with(|g| g.set(g.get() + 1));
    let depth = Depth;
    let result = catch_unwind(AssertUnwindSafe(body));
    drop(depth);
    match result {
        Ok(result) => result,
        Err(payload) => {
            let location = LOCATION.with(|slot| slot.borrow_mut().take());
            let at = location.map(|l| format!(" (at {l})")).unwrap_or_default();
            Err(new_err(py, Kind::Panic, format!("taskengine panicked: {}{at}", panic_text(&*payload))))
        }
    }
}

pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// Extension for `Result<T, EngineError>`.
pub(crate) trait IntoPyResult<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, EngineError> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_pyerr(py, e))
    }
}
