//! The one panic boundary: every export runs its body through [`catch_panic`].
//!
//! A panic must never unwind into C (that is undefined behaviour, or an abort with
//! the "C" ABI). Status-returning exports go through [`status`], which turns a panic
//! into `TE_ERR_PANIC` and an error into its status, recording the message for
//! `te_last_error_message`. Exports that return a value get [`PanicDefault`].

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::last_error;
use super::status::te_status;
use crate::error::{panic_message, EngineError, Result};

/// What an export returns when its body panicked (documented on each export).
pub(crate) trait PanicDefault {
    fn on_panic() -> Self;
}

impl PanicDefault for te_status {
    fn on_panic() -> Self {
        te_status::TE_ERR_PANIC
    }
}

impl PanicDefault for () {
    fn on_panic() -> Self {}
}

impl PanicDefault for bool {
    fn on_panic() -> Self {
        false
    }
}

impl PanicDefault for u32 {
    fn on_panic() -> Self {
        0
    }
}

impl PanicDefault for usize {
    fn on_panic() -> Self {
        0
    }
}

impl PanicDefault for i32 {
    /// -1: the "none" answer of the one export returning `int32_t`.
    fn on_panic() -> Self {
        -1
    }
}

impl<T> PanicDefault for Option<T> {
    fn on_panic() -> Self {
        None
    }
}

impl<T> PanicDefault for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}

impl<T> PanicDefault for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

/// Runs an export's body; a panic becomes `R::on_panic()` and its message the
/// thread's last error.
#[inline]
pub(crate) fn catch_panic<R: PanicDefault>(body: impl FnOnce() -> R) -> R {
    // AssertUnwindSafe: after a panic the export only reports failure. Out-params
    // are written last (so they are untouched), and engine state is panic-safe on
    // its own (tasks' panics are caught inside the engine).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            record_panic(payload);
            R::on_panic()
        }
    }
}

/// A caught panic as the thread's last error; for exports that catch their own.
#[cold]
#[inline(never)]
pub(crate) fn record_panic(payload: Box<dyn Any + Send>) {
    last_error::set(&EngineError::Panic(panic_message(&*payload)));
    drop_payload(payload);
}

/// Drops a panic payload without letting a panicking destructor escape.
fn drop_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        // A payload whose destructor panics twice is leaked rather than unwound.
        std::mem::forget(again);
    }
}

/// The boundary for status-returning exports: `Ok` is `TE_OK`; an error is recorded
/// as the thread's last error and mapped to its status.
#[inline]
pub(crate) fn status(body: impl FnOnce() -> Result<()>) -> te_status {
    catch_panic(|| match body() {
        Ok(()) => te_status::TE_OK,
        Err(err) => fail(&err),
    })
}

/// Records `err` for `te_last_error_message` and gives its status. Kept out of
/// line: the success path of every export stays small.
#[cold]
#[inline(never)]
pub(crate) fn fail(err: &EngineError) -> te_status {
    last_error::set(err);
    te_status::from(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_defaults_and_messages() {
        let s = status(|| panic!("boom {}", 7));
        assert_eq!(s, te_status::TE_ERR_PANIC);
        assert_eq!(last_error::get(), "task panicked: boom 7");
        let v: u32 = catch_panic(|| panic!("x"));
        assert_eq!(v, 0);
        let p: *const u8 = catch_panic(|| panic!("y"));
        assert!(p.is_null());
    }

    #[test]
    fn errors_map_and_are_recorded() {
        assert_eq!(status(|| Err(EngineError::Overflow)), te_status::TE_ERR_OVERFLOW);
        assert_eq!(last_error::get(), "arithmetic overflow");
        assert_eq!(status(|| Ok(())), te_status::TE_OK);
        // A success leaves the last error alone, like errno.
        assert_eq!(last_error::get(), "arithmetic overflow");
    }

    #[test]
    fn panicking_payload_destructor_does_not_escape() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("destructor");
            }
        }
        let s = status(|| std::panic::panic_any(Bomb));
        assert_eq!(s, te_status::TE_ERR_PANIC);
    }
}
