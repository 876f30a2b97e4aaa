//! Every pointer that comes from C is checked and converted here: NULL, alignment,
//! lengths, and the `(NULL, 0)` empty buffer.
//!
//! Buffers that another thread writes. The exports' contracts say an input is not
//! written during the call, but a careless host (or a Python thread toggling a
//! `bytearray`) may write it anyway. A slice made here over such memory is then a data
//! race in Rust's model, which no check at the boundary can rule out. What we do make
//! sure of is that nothing turns that into an access outside the buffers: no code
//! reachable from these slices takes an index, a length or a `&str` invariant from
//! one read of the contents and relies on it after another. The C kernels re-check
//! every bound at the write that uses it (UTF-8 reversal, the radix sort's scatters,
//! the introsort's scans), and the Rust text code works on its own copy
//! (`kernels::upper_string`). The result is then unspecified, never a wild access.

use std::ffi::c_void;
use std::mem::{align_of, size_of};
use std::ops::Deref;
use std::ptr::NonNull;

use crate::error::{EngineError, Result};
use crate::Engine;

/// Rejects a pointer that is NULL or not aligned for `T`. Inlined: it sits on
/// every call's path (te_join runs once per fork), its error text does not.
#[inline]
fn check_ptr<T>(p: *const T, what: &str) -> Result<()> {
    if p.is_null() {
        return Err(EngineError::Null);
    }
    if !p.is_aligned() {
        return Err(misaligned(what, align_of::<T>()));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn misaligned(what: &str, align: usize) -> EngineError {
    EngineError::invalid(format!("{what} is not aligned to {align} bytes"))
}

/// Rejects an element count whose byte size cannot be a real object.
pub(crate) fn check_len<T>(len: usize) -> Result<()> {
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(EngineError::invalid(format!(
            "length {len} (elements of {} bytes) is larger than any object can be",
            size_of::<T>()
        ))),
    }
}

/// A shared reference to a handle or struct passed by pointer.
///
/// # Safety
/// `p` must be NULL or point to a valid `T` that stays valid and unmutated for `'a`.
#[inline]
pub(crate) unsafe fn try_ref<'a, T>(p: *const T) -> Result<&'a T> {
    check_ptr(p, "pointer")?;
    // SAFETY: non-NULL and aligned (checked), valid for 'a (the caller's contract).
    Ok(unsafe { &*p })
}

/// A buffer of `len` elements from C. `(NULL, 0)` and `(p, 0)` are the empty slice;
/// `p` is never dereferenced then.
///
/// # Safety
/// When `len > 0`, `p` must be NULL or point to `len` initialised `T`s in one
/// allocation, not mutated by anyone else for `'a`.
pub(crate) unsafe fn slice<'a, T>(p: *const T, len: usize) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    check_ptr(p, "buffer")?;
    check_len::<T>(len)?;
    // SAFETY: non-NULL, aligned, and a representable size (checked above); valid
    // and unaliased for 'a by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A mutable buffer of `len` elements from C; as [`slice`].
///
/// # Safety
/// When `len > 0`, `p` must be NULL or point to `len` initialised `T`s in one
/// allocation that nobody else reads or writes for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> Result<&'a mut [T]> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_ptr(p, "buffer")?;
    check_len::<T>(len)?;
    // SAFETY: as in `slice`, with exclusive access by the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// An out-parameter, checked up front and written only once the work succeeded.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// # Safety
    /// `p` must be NULL or valid for writing a `T` until [`Out::write`] is called.
    #[inline]
    pub(crate) unsafe fn new(p: *mut T) -> Result<Out<T>> {
        check_ptr(p, "output pointer")?;
        // Not `ok_or`: that builds (and drops) the error on every call.
        match NonNull::new(p) {
            Some(p) => Ok(Out(p)),
            None => Err(EngineError::Null),
        }
    }

    /// Stores the result (the old contents, possibly uninitialised, are not read).
    pub(crate) fn write(self, value: T) {
        // SAFETY: non-NULL and aligned (checked in `new`), writable by the contract
        // `new`'s caller accepted.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// A `void *` argument the C caller handed us for its callbacks. The callbacks'
/// contract (documented on each export) is that they may run on any worker thread,
/// several at once where the export says so.
#[derive(Clone, Copy)]
pub(crate) struct UserArg(*mut c_void);

// SAFETY: we never dereference it; we only give it back to the caller's own
// callbacks, which the caller promised are safe to call from any thread.
unsafe impl Send for UserArg {}
// SAFETY: as for Send: shared access only ever passes the pointer value along.
unsafe impl Sync for UserArg {}

impl UserArg {
    pub(crate) fn new(p: *mut c_void) -> Self {
        UserArg(p)
    }

    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    #[inline]
    pub(crate) fn get(self) -> *mut c_void {
        self.0
    }
}

/// The engine an `engine` argument designates: the given one, or for NULL the
/// current worker's engine (inside a task), else the default engine.
pub(crate) enum EngineArg<'a> {
    Given(&'a Engine),
    Implicit(Engine),
}

impl Deref for EngineArg<'_> {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        match self {
            EngineArg::Given(e) => e,
            EngineArg::Implicit(e) => e,
        }
    }
}

/// Resolves an `engine` argument (see [`EngineArg`]).
///
/// # Safety
/// `p` must be NULL or a live engine from `te_engine_new`, not freed during `'a`.
#[inline]
pub(crate) unsafe fn engine_arg<'a>(p: *const super::te_engine) -> Result<EngineArg<'a>> {
    if p.is_null() {
        // Inside a task: the worker's own engine, borrowed (no reference count).
        if let Some(engine) = Engine::current_worker_engine() {
            return Ok(EngineArg::Given(engine));
        }
        // A team member on a team thread: the team's engine.
        if let Some(engine) = Engine::current_team_engine() {
            return Ok(EngineArg::Implicit(engine));
        }
        return Engine::global().map(EngineArg::Implicit);
    }
    // SAFETY: non-NULL, and live for 'a by the caller's contract.
    let handle = unsafe { try_ref(p) }?;
    Ok(EngineArg::Given(&handle.engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_buffers_never_touch_the_pointer() {
        // SAFETY: len 0 never dereferences.
        unsafe {
            assert_eq!(slice::<i64>(std::ptr::null(), 0).unwrap(), &[] as &[i64]);
            assert_eq!(slice::<i64>(std::ptr::dangling::<i64>(), 0).unwrap(), &[] as &[i64]);
            assert!(slice_mut::<u8>(std::ptr::null_mut(), 0).unwrap().is_empty());
        }
    }

    #[test]
    fn bad_buffers_are_rejected() {
        let data = [1u64, 2, 3];
        // SAFETY: each call fails before dereferencing.
        unsafe {
            assert_eq!(slice::<i64>(std::ptr::null(), 1), Err(EngineError::Null));
            assert!(matches!(slice(data.as_ptr(), usize::MAX), Err(EngineError::Invalid(_))));
            assert!(matches!(slice(data.as_ptr(), usize::MAX / 8 + 1), Err(EngineError::Invalid(_))));
            let misaligned = (data.as_ptr() as *const u8).add(1) as *const u64;
            assert!(matches!(slice(misaligned, 1), Err(EngineError::Invalid(_))));
            assert!(Out::<u64>::new(std::ptr::null_mut()).is_err());
        }
        assert!(check_len::<u8>(isize::MAX as usize).is_ok());
        assert!(check_len::<u8>(isize::MAX as usize + 1).is_err());
    }
}
