//! The calling thread's last failure message (`te_last_error_message`).

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use crate::error::EngineError;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `err` as this thread's last failure.
pub(crate) fn set(err: &EngineError) {
    let mut text = err.to_string().into_bytes();
    // Messages quote user input (thread names, ...): a NUL would cut them short.
    text.retain(|&b| b != 0);
    let text = CString::new(text).unwrap_or_default();
    // try_with: during thread teardown the slot may be gone; the message is lost then.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = text);
}

#[cfg(test)]
pub(crate) fn get() -> String {
    LAST_ERROR.with(|slot| slot.borrow().to_string_lossy().into_owned())
}

/// The message of the calling thread's most recent failed `te_` call, as a
/// NUL-terminated UTF-8 string; "" if no call on this thread has failed.
///
/// Successful calls leave it unchanged (as with `errno`), so read it right after
/// the call that failed. The pointer is owned by the library and stays valid until
/// the next failing `te_` call on the same thread, or until the thread exits; copy
/// the text to keep it. Never returns NULL. Thread-safe: each thread has its own.
#[no_mangle]
pub extern "C" fn te_last_error_message() -> *const c_char {
    let message = super::boundary::catch_panic(|| LAST_ERROR.try_with(|slot| slot.borrow().as_ptr()).ok());
    message.unwrap_or(c"".as_ptr())
}
