//! Finding the OpenBLAS builds loaded in the process, with the dynamic linker
//! only (no link-time dependency on OpenBLAS).
//!
//! A build is recognised by its `openblas_get_config` under one of the names
//! builds export: plain (`libopenblas`), `64_`-suffixed (ILP64 builds), and
//! scipy-openblas's `scipy_` prefixed ones (numpy and scipy wheels). numpy loads
//! its OpenBLAS with `RTLD_LOCAL`, so a global `dlsym` does not see it: every
//! loaded object is also opened again (`RTLD_NOLOAD`, which only takes a
//! reference) and searched. Builds are told apart by their load address.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

use super::{SetCallback, ThreadsCallback};
use crate::error::{EngineError, Result};

/// Symbol name affixes of the builds we know: (prefix, suffix).
const AFFIXES: [(&str, &str); 4] = [("", ""), ("", "64_"), ("scipy_", "64_"), ("scipy_", "")];

/// One OpenBLAS build in the process, held open (so it cannot be unloaded
/// while its callback points into this library) until dropped.
#[derive(Debug)]
pub(crate) struct Library {
    handle: *mut c_void,
    base: usize,
    /// The file it was loaded from.
    pub(crate) path: String,
    /// What `openblas_get_config` says ("OpenBLAS 0.3.31 ... MAX_THREADS=64").
    pub(crate) config: String,
    /// Its `MAX_THREADS` (the size of its per-thread arrays); when the
    /// configuration does not say, its current thread count, which never
    /// exceeds it.
    pub(crate) max_threads: usize,
    /// Built with OpenMP (its per-thread buffers are preallocated for the
    /// numbers 0..threads), rather than its own pthreads server.
    pub(crate) openmp: bool,
    set_callback: Option<SetCallback>,
}

// SAFETY: `handle` is a dlopen handle, usable from any thread; the rest is
// plain data and function pointers.
unsafe impl Send for Library {}

impl Library {
    /// Installs `callback` (None: OpenBLAS's own threads again).
    pub(crate) fn set_callback(&self, callback: Option<ThreadsCallback>) {
        if let Some(set) = self.set_callback {
            // SAFETY: the library's own setter, which stores the pointer; the
            // library stays loaded while we hold `handle`.
            unsafe { set(callback) }
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: a handle from dlopen, closed once.
        unsafe { libc::dlclose(self.handle) };
    }
}

/// The OpenBLAS builds loaded that have the threads callback (0.3.27+); older
/// ones are left alone. Fails with `NotFound` when there is none at all,
/// `Unsupported` when every one found is older than 0.3.27.
pub(crate) fn find() -> Result<Vec<Library>> {
    let mut libraries: Vec<Library> = Vec::new();
    let mut consider = |scope: *mut c_void| {
        for (prefix, suffix) in AFFIXES {
            let getter = lookup(scope, &format!("{prefix}openblas_get_config{suffix}"));
            if getter.is_null() {
                continue;
            }
            if let Some(lib) = open(getter, prefix, suffix) {
                if libraries.iter().all(|l| l.base != lib.base) {
                    libraries.push(lib);
                }
            }
        }
    };
    consider(libc::RTLD_DEFAULT);
    for path in loaded_objects() {
        let Ok(c_path) = CString::new(path) else { continue };
        // SAFETY: a NUL-terminated path; RTLD_NOLOAD never loads anything new,
        // it only takes a reference to an object already there.
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
        if handle.is_null() {
            continue;
        }
        consider(handle);
        // SAFETY: the handle we just opened.
        unsafe { libc::dlclose(handle) };
    }
    if libraries.is_empty() {
        return Err(EngineError::NotFound(
            "no OpenBLAS is loaded in this process (looked for openblas_get_config, plain, 64_-suffixed \
             and scipy_-prefixed, in every loaded object)"
                .to_string(),
        ));
    }
    let (usable, too_old): (Vec<Library>, Vec<Library>) = libraries.into_iter().partition(|l| l.set_callback.is_some());
    if usable.is_empty() {
        let list: Vec<String> = too_old.iter().map(|l| format!("{} ({})", l.path, l.config)).collect();
        return Err(EngineError::Unsupported(format!(
            "the OpenBLAS loaded has no openblas_set_threads_callback_function (added in 0.3.27): {}",
            list.join("; ")
        )));
    }
    Ok(usable)
}

/// `dlsym` that returns NULL for a missing symbol.
fn lookup(scope: *mut c_void, name: &str) -> *mut c_void {
    let Ok(name) = CString::new(name) else { return std::ptr::null_mut() };
    // SAFETY: `scope` is RTLD_DEFAULT or a live handle; `name` is NUL-terminated.
    unsafe { libc::dlsym(scope, name.as_ptr()) }
}

/// The build that defines `getter`, opened again by its own path so that its
/// other symbols are looked up in it first.
fn open(getter: *mut c_void, prefix: &str, suffix: &str) -> Option<Library> {
    // SAFETY: Dl_info is plain data; dladdr fills it for an address in a loaded object.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `getter` is an address dlsym returned.
    if unsafe { libc::dladdr(getter, &mut info) } == 0 || info.dli_fbase.is_null() {
        return None;
    }
    let base = info.dli_fbase as usize;
    let path = if info.dli_fname.is_null() {
        String::new()
    } else {
        // SAFETY: dladdr's file name is NUL-terminated and lives as long as the object.
        unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy().into_owned()
    };
    let handle = {
        let c_path = CString::new(path.clone()).ok()?;
        // SAFETY: as in `find`: only a reference to a loaded object. A statically
        // linked program's own OpenBLAS is in the main program (NULL path).
        let h = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD) };
        if h.is_null() {
            // SAFETY: dlopen(NULL) is the main program, always there.
            unsafe { libc::dlopen(std::ptr::null(), libc::RTLD_LAZY) }
        } else {
            h
        }
    };
    if handle.is_null() {
        return None;
    }
    // A symbol of this build, not one of the same name elsewhere in its scope.
    let own = |name: &str| -> *mut c_void {
        let p = lookup(handle, &format!("{prefix}{name}{suffix}"));
        if p.is_null() {
            return p;
        }
        // SAFETY: as above.
        let mut i: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: an address dlsym returned.
        let ok = unsafe { libc::dladdr(p, &mut i) } != 0 && i.dli_fbase as usize == base;
        if ok {
            p
        } else {
            std::ptr::null_mut()
        }
    };
    type GetConfig = unsafe extern "C" fn() -> *const c_char;
    type GetNumThreads = unsafe extern "C" fn() -> c_int;
    // SAFETY: `openblas_get_config` is `char *(void)` in every OpenBLAS.
    let get_config: GetConfig = unsafe { std::mem::transmute::<*mut c_void, GetConfig>(getter) };
    // SAFETY: it returns a static NUL-terminated string.
    let config = unsafe {
        let p = get_config();
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    let setter = own("openblas_set_threads_callback_function");
    let set_callback = (!setter.is_null()).then(|| {
        // SAFETY: `void openblas_set_threads_callback_function(openblas_threads_callback)`
        // since 0.3.27; a function pointer argument passes like Option<fn>.
        unsafe { std::mem::transmute::<*mut c_void, SetCallback>(setter) }
    });
    let max_threads = match parse_max_threads(&config) {
        Some(n) => n,
        None => {
            let p = own("openblas_get_num_threads");
            if p.is_null() {
                1
            } else {
                // SAFETY: `int openblas_get_num_threads(void)`.
                let f = unsafe { std::mem::transmute::<*mut c_void, GetNumThreads>(p) };
                // SAFETY: a plain getter.
                (unsafe { f() }).max(1) as usize
            }
        }
    };
    let openmp = config.split_whitespace().any(|w| w == "USE_OPENMP");
    Some(Library { handle, base, path, config, max_threads, openmp, set_callback })
}

/// `MAX_THREADS=N` from an OpenBLAS configuration string.
pub(crate) fn parse_max_threads(config: &str) -> Option<usize> {
    config.split_whitespace().find_map(|w| w.strip_prefix("MAX_THREADS=")?.parse().ok()).filter(|&n| n > 0)
}

/// The paths of every shared object loaded (the main program, which has no
/// name here, is covered by RTLD_DEFAULT). ELF systems: `dl_iterate_phdr`.
#[cfg(not(target_vendor = "apple"))]
fn loaded_objects() -> Vec<String> {
    unsafe extern "C" fn each(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut c_void) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid info, and `data` is the Vec below.
        let (info, paths) = unsafe { (&*info, &mut *(data as *mut Vec<String>)) };
        if !info.dlpi_name.is_null() {
            // SAFETY: a NUL-terminated name owned by the dynamic linker.
            let name = unsafe { CStr::from_ptr(info.dlpi_name) }.to_string_lossy();
            if !name.is_empty() {
                paths.push(name.into_owned());
            }
        }
        0
    }
    let mut paths: Vec<String> = Vec::new();
    // SAFETY: `each` only reads the info and pushes to `paths`, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut paths as *mut Vec<String> as *mut c_void) };
    paths
}

/// The paths of every image dyld has loaded (the main program's too: a build
/// found twice is the same load address, counted once).
#[cfg(target_vendor = "apple")]
fn loaded_objects() -> Vec<String> {
    // SAFETY: dyld's own count; an image unloaded meanwhile gives a NULL name below.
    let count = unsafe { dyld::_dyld_image_count() };
    (0..count)
        .filter_map(|index| {
            // SAFETY: any index is allowed; NULL when out of range.
            let name = unsafe { dyld::_dyld_get_image_name(index) };
            // SAFETY: a NUL-terminated name owned by dyld.
            (!name.is_null()).then(|| unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned())
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// `<mach-o/dyld.h>`, declared here: the `libc` crate deprecates its copies.
/// cbindgen:ignore
#[cfg(target_vendor = "apple")]
mod dyld {
    use std::ffi::c_char;

    extern "C" {
        pub(super) fn _dyld_image_count() -> u32;
        pub(super) fn _dyld_get_image_name(image_index: u32) -> *const c_char;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_threads_is_read_from_the_configuration() {
        let numpy = "OpenBLAS 0.3.31.188.0  USE64BITINT DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64";
        assert_eq!(parse_max_threads(numpy), Some(64));
        assert_eq!(parse_max_threads("OpenBLAS 0.3.20 DYNAMIC_ARCH NO_AFFINITY Haswell"), None);
        assert_eq!(parse_max_threads("MAX_THREADS=0"), None);
        assert_eq!(parse_max_threads("MAX_THREADS=x"), None);
    }

    #[test]
    fn a_process_without_openblas_gets_not_found() {
        // The test binary links no OpenBLAS (this crate never does).
        match find() {
            Err(EngineError::NotFound(text)) => assert!(text.contains("no OpenBLAS"), "{text}"),
            Err(other) => panic!("expected NotFound, got {other}"),
            Ok(found) => panic!("found an OpenBLAS in the test binary: {found:?}"),
        }
    }
}
