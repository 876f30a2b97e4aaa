//! How deep a worker may go on its own stack: the floors below which it takes on
//! no unrelated work while it waits, and refuses to fork any deeper.
//!
//! The bounds of the calling thread's stack come from the platform (Linux:
//! `pthread_getattr_np`; FreeBSD, DragonFly: `pthread_attr_get_np`; macOS:
//! `pthread_get_stackaddr_np`); elsewhere, or when the query fails, the stack is
//! assumed to be the size the engine asked for, starting about where the probe runs.

/// Where this worker's stack limits lie: below `steal` it takes on no unrelated
/// work while it waits (oneTBB's rule: keep half); below `fork` it refuses to fork
/// any deeper, keeping a reserve for the caller's own frames between forks.
pub(crate) struct StackLimits {
    steal: usize,
    fork: usize,
}

impl StackLimits {
    /// The calling thread's limits; `configured_size` is the stack size the engine
    /// asked for (0 = Rust's default), used when the platform cannot tell.
    pub(crate) fn of_current_thread(configured_size: usize) -> StackLimits {
        let here = approximate_stack_pointer();
        if let Some((low, size)) = current_stack_bounds() {
            return StackLimits::for_stack(low, size);
        }
        // Unknown bounds: assume the stack we asked for (Rust's 2 MiB by default)
        // starts about here.
        let size = if configured_size == 0 { 2 << 20 } else { configured_size };
        StackLimits::for_stack(here.saturating_sub(size), size)
    }

    /// The stack grows down from `low + size`.
    fn for_stack(low: usize, size: usize) -> StackLimits {
        StackLimits { steal: low + size / 2, fork: low + fork_reserve(size) }
    }

    /// True while there is stack enough to fork deeper (`join`).
    #[inline]
    pub(crate) fn can_fork_deeper(&self) -> bool {
        approximate_stack_pointer() > self.fork
    }

    /// True while there is stack enough left to take on unrelated work.
    #[inline]
    pub(crate) fn can_take_unrelated_work(&self) -> bool {
        approximate_stack_pointer() > self.steal
    }
}

/// Stack left below the fork floor: an eighth of the stack, at least 64 KiB,
/// for whatever the caller runs between two forks.
fn fork_reserve(size: usize) -> usize {
    (size / 8).max(64 * 1024).min(size / 2)
}

#[inline(always)]
fn approximate_stack_pointer() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

/// The calling thread's stack as (lowest address, size), if the platform says.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "dragonfly"))]
fn current_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: the attribute object is initialised (and on Linux filled) for the
    // calling thread by the `_np` call, read, then destroyed once.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        #[cfg(target_os = "linux")]
        let filled = libc::pthread_getattr_np(libc::pthread_self(), &mut attr) == 0;
        // The BSDs fill an initialised attribute object.
        #[cfg(not(target_os = "linux"))]
        let filled = libc::pthread_attr_init(&mut attr) == 0
            && (libc::pthread_attr_get_np(libc::pthread_self(), &mut attr) == 0 || {
                libc::pthread_attr_destroy(&mut attr);
                false
            });
        if !filled {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        (ok && size > 0).then_some((addr as usize, size))
    }
}

/// The calling thread's stack as (lowest address, size): macOS gives its top.
#[cfg(target_vendor = "apple")]
fn current_stack_bounds() -> Option<(usize, usize)> {
    // SAFETY: both only read the calling thread's own descriptor.
    let (top, size) = unsafe {
        let this = libc::pthread_self();
        (libc::pthread_get_stackaddr_np(this) as usize, libc::pthread_get_stacksize_np(this))
    };
    (top != 0 && size > 0 && size <= top).then(|| (top - size, size))
}

/// Other platforms: unknown, so the configured size is assumed.
#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "dragonfly", target_vendor = "apple")))]
fn current_stack_bounds() -> Option<(usize, usize)> {
    None
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The probe's bounds hold the probing frame, on the main thread and on a
    /// spawned one of a known size (std's own bounds, independent of ours).
    #[test]
    fn bounds_hold_the_current_frame_and_the_requested_size() {
        let check = |requested: Option<usize>| {
            let here = approximate_stack_pointer();
            if let Some((low, size)) = current_stack_bounds() {
                assert!(low < here && here < low + size, "{low:#x}+{size:#x} does not hold {here:#x}");
                if let Some(requested) = requested {
                    assert!(size >= requested, "{size} < {requested}");
                }
            }
            let limits = StackLimits::of_current_thread(requested.unwrap_or(0));
            assert!(limits.can_fork_deeper() && limits.can_take_unrelated_work());
            assert!(limits.fork < limits.steal);
        };
        check(None);
        std::thread::Builder::new().stack_size(1 << 20).spawn(move || check(Some(1 << 20))).unwrap().join().unwrap();
    }

    #[test]
    fn fork_reserve_is_an_eighth_between_64k_and_half() {
        assert_eq!(fork_reserve(8 << 20), 1 << 20);
        assert_eq!(fork_reserve(256 << 10), 64 << 10);
        assert_eq!(fork_reserve(64 << 10), 32 << 10);
    }
}
