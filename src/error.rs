//! The one error type of the crate, and its mapping onto the C ABI's status codes.

use std::fmt;

/// Everything that can go wrong in taskengine.
///
/// Each variant maps onto exactly one `te_status` code through [`EngineError::code`];
/// the numbers are part of the C ABI and are never renumbered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A required pointer was NULL (only produced at the C boundary).
    #[error("a required pointer was NULL")]
    Null,
    /// An argument was out of range; the text says which and why.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The exact result does not fit the result type.
    #[error("arithmetic overflow")]
    Overflow,
    /// Memory could not be had.
    #[error("out of memory")]
    NoMemory,
    /// The engine has been shut down (or belongs to the parent of a forked process).
    #[error("the engine has been shut down")]
    Shutdown,
    /// The group was cancelled before the work could finish.
    #[error("cancelled")]
    Cancelled,
    /// A wait ran out of time before the work finished.
    #[error("timed out")]
    Timeout,
    /// A task reported failure with a non-zero code.
    #[error("task failed with code {code}: {message}")]
    TaskFailed {
        /// The code the task returned (never 0).
        code: i32,
        /// What the task said about it, or a default text.
        message: String,
    },
    /// A task panicked; the text is the panic message when it was a string.
    #[error("task panicked: {0}")]
    Panic(String),
    /// Input that should be UTF-8 was not; `valid_up_to` bytes were valid.
    #[error("invalid UTF-8 after {valid_up_to} valid bytes")]
    Utf8 {
        /// Length of the longest valid prefix.
        valid_up_to: usize,
    },
    /// A bounded submission queue was full (`try_spawn`).
    #[error("the submission queue is full")]
    QueueFull,
    /// An output buffer was too small; `needed` bytes are required.
    #[error("output buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// The size the output needs.
        needed: usize,
    },
    /// A worker's stack is nearly used up: a fork (`join`) this deep would risk
    /// overflowing it, so it was refused instead.
    #[error("stack nearly exhausted: {depth_hint}")]
    StackExhausted {
        /// What was refused and how much stack was left.
        depth_hint: String,
    },
    /// The worker threads could not be started (fewer than the config's
    /// `min_workers` came up); the text names the cause.
    #[error("thread pool: {message}")]
    ThreadPool {
        /// What failed and why (the operating system's error when it gave one).
        message: String,
    },
    /// An allocation that can be named failed (an arena, a scratch buffer).
    #[error("memory: {message}")]
    Memory {
        /// Which allocation failed, and its size.
        message: String,
    },
    /// A task run under a retry policy failed on its last attempt (or with an
    /// error the policy does not retry) and had no fallback. Its code and C
    /// status are those of `last`.
    #[error("gave up after {attempts} attempt(s): {last}")]
    Retried {
        /// How many times the task ran.
        attempts: u32,
        /// The last attempt's error.
        last: Box<EngineError>,
    },
    /// A foreign-function call failed in a way no other variant describes.
    #[error("ffi: {message}")]
    Ffi {
        /// What went wrong at the boundary.
        message: String,
    },
    /// Something the call needs is not in the process: e.g. te_openblas_attach
    /// found no OpenBLAS loaded. The text says what was looked for.
    #[error("not found: {0}")]
    NotFound(String),
    /// What was found cannot do what the call needs: e.g. an OpenBLAS older than
    /// 0.3.27, which has no threads callback. The text says what is missing.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Result alias used throughout the crate.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// The `te_status` number of this error (`TE_OK` is 0 and is never an error).
    pub fn code(&self) -> i32 {
        match self {
            EngineError::Null => 1,
            EngineError::Invalid(_) => 2,
            EngineError::Overflow => 3,
            EngineError::NoMemory => 4,
            EngineError::Shutdown => 5,
            EngineError::Cancelled => 6,
            EngineError::Timeout => 7,
            EngineError::TaskFailed { .. } => 8,
            EngineError::Panic(_) => 9,
            EngineError::Utf8 { .. } => 10,
            EngineError::QueueFull => 11,
            EngineError::BufferTooSmall { .. } => 12,
            EngineError::StackExhausted { .. } => 13,
            EngineError::ThreadPool { .. } => 14,
            EngineError::Memory { .. } => 15,
            EngineError::Ffi { .. } => 16,
            EngineError::NotFound(_) => 17,
            EngineError::Unsupported(_) => 18,
            EngineError::Retried { last, .. } => last.code(),
        }
    }

    /// The error itself, or for `Retried` the last attempt's error (at any depth):
    /// what went wrong, without the retry's account of it.
    pub fn root(&self) -> &EngineError {
        match self {
            EngineError::Retried { last, .. } => last.root(),
            other => other,
        }
    }

    /// Shorthand for [`EngineError::Invalid`].
    pub fn invalid(why: impl fmt::Display) -> Self {
        EngineError::Invalid(why.to_string())
    }
}

/// Turns a caught panic payload into readable text.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// One value of every variant, in code order (for tests that must cover them all).
#[cfg(test)]
pub(crate) fn one_of_each() -> Vec<EngineError> {
    vec![
        EngineError::Null,
        EngineError::invalid("x"),
        EngineError::Overflow,
        EngineError::NoMemory,
        EngineError::Shutdown,
        EngineError::Cancelled,
        EngineError::Timeout,
        EngineError::TaskFailed { code: 3, message: String::new() },
        EngineError::Panic(String::new()),
        EngineError::Utf8 { valid_up_to: 0 },
        EngineError::QueueFull,
        EngineError::BufferTooSmall { needed: 1 },
        EngineError::StackExhausted { depth_hint: String::new() },
        EngineError::ThreadPool { message: String::new() },
        EngineError::Memory { message: String::new() },
        EngineError::Ffi { message: String::new() },
        EngineError::NotFound(String::new()),
        EngineError::Unsupported(String::new()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let codes: Vec<i32> = one_of_each().iter().map(EngineError::code).collect();
        assert_eq!(codes, (1..=18).collect::<Vec<_>>());
    }

    #[test]
    fn retried_keeps_the_last_errors_code_and_says_how_many_attempts() {
        let last = EngineError::TaskFailed { code: 4, message: "no".into() };
        let err = EngineError::Retried { attempts: 3, last: Box::new(last.clone()) };
        assert_eq!(err.code(), 8);
        assert_eq!(err.root(), &last);
        assert_eq!(err.to_string(), "gave up after 3 attempt(s): task failed with code 4: no");
    }

    #[test]
    fn panic_message_reads_both_string_kinds() {
        let a: Box<dyn std::any::Any + Send> = Box::new("static");
        let b: Box<dyn std::any::Any + Send> = Box::new(String::from("owned"));
        let c: Box<dyn std::any::Any + Send> = Box::new(5u8);
        assert_eq!(panic_message(&*a), "static");
        assert_eq!(panic_message(&*b), "owned");
        assert_eq!(panic_message(&*c), "non-string panic payload");
    }
}
