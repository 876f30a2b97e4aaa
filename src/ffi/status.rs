//! `te_status`: the one status enum of the C ABI, and its one mapping from
//! [`EngineError`].

use std::ffi::{c_char, CStr};

use crate::error::EngineError;

/// The result of every `te_` function that can fail. `TE_OK` is 0; the numbers are
/// part of the ABI and never change. `te_status_str` names a status and
/// `te_last_error_message` gives the details of the calling thread's last failure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum te_status {
    /// Success.
    TE_OK = 0,
    /// A required pointer argument was NULL.
    TE_ERR_NULL = 1,
    /// An argument was out of range (a bad length, size, index, flag or range).
    TE_ERR_INVALID = 2,
    /// The exact result does not fit its type.
    TE_ERR_OVERFLOW = 3,
    /// Memory could not be allocated.
    TE_ERR_NO_MEMORY = 4,
    /// The engine was shut down (or was inherited from the parent through fork()).
    TE_ERR_SHUTDOWN = 5,
    /// The group was cancelled.
    TE_ERR_CANCELLED = 6,
    /// A wait gave up after its timeout; the work goes on.
    TE_ERR_TIMEOUT = 7,
    /// A task or callback returned non-zero.
    TE_ERR_TASK_FAILED = 8,
    /// A panic was caught inside the library (it never crosses into C).
    TE_ERR_PANIC = 9,
    /// Input that must be UTF-8 was not.
    TE_ERR_UTF8 = 10,
    /// A bounded submission queue was full and the call was not allowed to wait.
    TE_ERR_QUEUE_FULL = 11,
    /// An output buffer was too small; the size needed was written to `*out_len`
    /// (the one failure that writes an out-parameter).
    TE_ERR_BUFFER_TOO_SMALL = 12,
    /// A worker's stack was nearly used up, so a fork (te_join) was refused rather
    /// than risk overflowing it: recursion with te_join is too deep.
    TE_ERR_STACK = 13,
    /// The engine's worker threads could not be started (fewer than the config's
    /// min_workers); te_last_error_message names the cause.
    TE_ERR_THREAD_POOL = 14,
    /// A named allocation (an arena, a scratch buffer) failed; the message says which.
    TE_ERR_MEMORY = 15,
    /// A call across the foreign-function boundary failed in a way no other status
    /// describes; the message says how.
    TE_ERR_FFI = 16,
    /// Something the call needs is not loaded in the process (te_openblas_attach:
    /// no OpenBLAS found).
    TE_ERR_NOT_FOUND = 17,
    /// What was found lacks what the call needs (te_openblas_attach: an OpenBLAS
    /// older than 0.3.27, without the threads callback).
    TE_ERR_UNSUPPORTED = 18,
}

/// Every status, indexed by its number.
const ALL: [te_status; 19] = [
    te_status::TE_OK,
    te_status::TE_ERR_NULL,
    te_status::TE_ERR_INVALID,
    te_status::TE_ERR_OVERFLOW,
    te_status::TE_ERR_NO_MEMORY,
    te_status::TE_ERR_SHUTDOWN,
    te_status::TE_ERR_CANCELLED,
    te_status::TE_ERR_TIMEOUT,
    te_status::TE_ERR_TASK_FAILED,
    te_status::TE_ERR_PANIC,
    te_status::TE_ERR_UTF8,
    te_status::TE_ERR_QUEUE_FULL,
    te_status::TE_ERR_BUFFER_TOO_SMALL,
    te_status::TE_ERR_STACK,
    te_status::TE_ERR_THREAD_POOL,
    te_status::TE_ERR_MEMORY,
    te_status::TE_ERR_FFI,
    te_status::TE_ERR_NOT_FOUND,
    te_status::TE_ERR_UNSUPPORTED,
];

impl te_status {
    /// The status numbered `code`, if there is one (codes from C are validated here,
    /// never transmuted).
    pub fn from_code(code: i32) -> Option<te_status> {
        usize::try_from(code).ok().and_then(|i| ALL.get(i)).copied()
    }

    /// The constant's name, NUL-terminated.
    pub fn name(self) -> &'static CStr {
        match self {
            te_status::TE_OK => c"TE_OK",
            te_status::TE_ERR_NULL => c"TE_ERR_NULL",
            te_status::TE_ERR_INVALID => c"TE_ERR_INVALID",
            te_status::TE_ERR_OVERFLOW => c"TE_ERR_OVERFLOW",
            te_status::TE_ERR_NO_MEMORY => c"TE_ERR_NO_MEMORY",
            te_status::TE_ERR_SHUTDOWN => c"TE_ERR_SHUTDOWN",
            te_status::TE_ERR_CANCELLED => c"TE_ERR_CANCELLED",
            te_status::TE_ERR_TIMEOUT => c"TE_ERR_TIMEOUT",
            te_status::TE_ERR_TASK_FAILED => c"TE_ERR_TASK_FAILED",
            te_status::TE_ERR_PANIC => c"TE_ERR_PANIC",
            te_status::TE_ERR_UTF8 => c"TE_ERR_UTF8",
            te_status::TE_ERR_QUEUE_FULL => c"TE_ERR_QUEUE_FULL",
            te_status::TE_ERR_BUFFER_TOO_SMALL => c"TE_ERR_BUFFER_TOO_SMALL",
            te_status::TE_ERR_STACK => c"TE_ERR_STACK",
            te_status::TE_ERR_THREAD_POOL => c"TE_ERR_THREAD_POOL",
            te_status::TE_ERR_MEMORY => c"TE_ERR_MEMORY",
            te_status::TE_ERR_FFI => c"TE_ERR_FFI",
            te_status::TE_ERR_NOT_FOUND => c"TE_ERR_NOT_FOUND",
            te_status::TE_ERR_UNSUPPORTED => c"TE_ERR_UNSUPPORTED",
        }
    }
}

impl From<&EngineError> for te_status {
    fn from(err: &EngineError) -> te_status {
        match err {
            EngineError::Null => te_status::TE_ERR_NULL,
            EngineError::Invalid(_) => te_status::TE_ERR_INVALID,
            EngineError::Overflow => te_status::TE_ERR_OVERFLOW,
            EngineError::NoMemory => te_status::TE_ERR_NO_MEMORY,
            EngineError::Shutdown => te_status::TE_ERR_SHUTDOWN,
            EngineError::Cancelled => te_status::TE_ERR_CANCELLED,
            EngineError::Timeout => te_status::TE_ERR_TIMEOUT,
            EngineError::TaskFailed { .. } => te_status::TE_ERR_TASK_FAILED,
            EngineError::Panic(_) => te_status::TE_ERR_PANIC,
            EngineError::Utf8 { .. } => te_status::TE_ERR_UTF8,
            EngineError::QueueFull => te_status::TE_ERR_QUEUE_FULL,
            EngineError::BufferTooSmall { .. } => te_status::TE_ERR_BUFFER_TOO_SMALL,
            EngineError::StackExhausted { .. } => te_status::TE_ERR_STACK,
            EngineError::ThreadPool { .. } => te_status::TE_ERR_THREAD_POOL,
            EngineError::Memory { .. } => te_status::TE_ERR_MEMORY,
            EngineError::Ffi { .. } => te_status::TE_ERR_FFI,
            EngineError::NotFound(_) => te_status::TE_ERR_NOT_FOUND,
            EngineError::Unsupported(_) => te_status::TE_ERR_UNSUPPORTED,
            EngineError::Retried { last, .. } => te_status::from(&**last),
        }
    }
}

/// A `te_status` as C hands it over: whatever `int` the caller's enum object holds.
/// The header spells this parameter type `te_status`; it is read as an integer so
/// that an out-of-range value is an answer ("unknown"), not undefined behaviour.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusArg(pub i32);

/// The name of a status ("TE_OK", "TE_ERR_NULL", ...), or "TE_UNKNOWN_STATUS" for a
/// value that is not one. The string is static: never NULL, never freed.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn te_status_str(status: StatusArg) -> *const c_char {
    let name = super::boundary::catch_panic(|| {
        Some(te_status::from_code(status.0).map_or(c"TE_UNKNOWN_STATUS", te_status::name))
    });
    name.unwrap_or(c"TE_UNKNOWN_STATUS").as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mapping_agrees_with_engine_codes() {
        for err in &crate::error::one_of_each() {
            assert_eq!(te_status::from(err) as i32, err.code(), "{err:?}");
        }
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(*s as i32, i as i32);
            assert_eq!(te_status::from_code(i as i32), Some(*s));
        }
        assert_eq!(te_status::from_code(-1), None);
        assert_eq!(te_status::from_code(19), None);
        assert_eq!(te_status::from_code(i32::MIN), None);
    }

    #[test]
    fn names() {
        // SAFETY: te_status_str returns static NUL-terminated strings.
        let name = |c| unsafe { CStr::from_ptr(te_status_str(StatusArg(c))) }.to_str().unwrap();
        assert_eq!(name(0), "TE_OK");
        assert_eq!(name(12), "TE_ERR_BUFFER_TOO_SMALL");
        assert_eq!(name(14), "TE_ERR_THREAD_POOL");
        assert_eq!(name(15), "TE_ERR_MEMORY");
        assert_eq!(name(16), "TE_ERR_FFI");
        assert_eq!(name(17), "TE_ERR_NOT_FOUND");
        assert_eq!(name(18), "TE_ERR_UNSUPPORTED");
        assert_eq!(name(19), "TE_UNKNOWN_STATUS");
        assert_eq!(name(99), "TE_UNKNOWN_STATUS");
        assert_eq!(name(-5), "TE_UNKNOWN_STATUS");
    }
}
