//! `te_config` and its conversion into [`crate::Config`].

use std::ffi::{c_char, c_void, CStr};
use std::mem::size_of;
use std::sync::Arc;

use crate::error::{EngineError, Result};
use crate::Config;

/// How `te_engine_new` builds an engine. Always fill it with `te_config_init` first,
/// then change the fields you need: `size` lets later versions of the library add
/// fields at the end without breaking programs built against this header.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct te_config {
    /// sizeof(te_config), set by te_config_init.
    pub size: u32,
    /// Worker threads; 0 = one per CPU this process may use (affinity mask and
    /// cgroup quota; TASKENGINE_WORKERS is read only for the default engine).
    /// At most 4096.
    pub workers: u32,
    /// Tasks submitted from outside the engine's workers that may wait to start;
    /// 0 = unbounded. When full, te_group_spawn waits for room and
    /// te_group_try_spawn returns TE_ERR_QUEUE_FULL.
    pub queue_capacity: usize,
    /// Idle workers steal from busy ones (default true).
    pub work_stealing: bool,
    /// Keep the per-worker counters of te_engine_stats (default true).
    pub metrics: bool,
    /// Worker stack size in bytes; 0 = platform default. Otherwise at least 262144
    /// (256 KiB: the kernels and a fork's reserve need it).
    pub stack_size: usize,
    /// Worker threads are named "PREFIX-INDEX"; NULL = "taskengine". Must be
    /// UTF-8 without NUL; copied, so it need not outlive te_engine_new.
    pub thread_name_prefix: *const c_char,
    /// Called on each worker thread before it runs any task; may be NULL.
    pub on_thread_start: Option<unsafe extern "C-unwind" fn(hook_arg: *mut c_void, worker_index: u32)>,
    /// Called on each worker thread after its last task, before it exits; may be
    /// NULL. te_engine_free returns only after every stop hook has returned.
    pub on_thread_stop: Option<unsafe extern "C-unwind" fn(hook_arg: *mut c_void, worker_index: u32)>,
    /// Passed to both hooks, which may run on several workers at once. Must stay
    /// valid until te_engine_free returns.
    pub hook_arg: *mut c_void,
    /// Rounds an idle worker searches for work before it sleeps (default 64). An
    /// idle engine always ends up asleep, using no CPU; 0 sleeps at once.
    pub spin_budget: u32,
    /// Task records (and queue space for as many tasks) the engine keeps for reuse
    /// once made, so that spawning in steady state does not allocate (default
    /// 131072). Memory is taken as bursts need it and kept until te_engine_free;
    /// tasks beyond this many in flight at once are allocated. 0 = always allocate.
    pub task_pool_capacity: usize,
    /// Fewest workers te_engine_new accepts when the system cannot start all of
    /// them: the engine then runs with those it got (te_engine_workers says how
    /// many). With fewer it fails with TE_ERR_THREAD_POOL, the message naming the
    /// cause. 0 (the default) = every worker must start. Added after version 0.2:
    /// a te_config from an older header (a smaller `size`) reads as 0.
    pub min_workers: u32,
}

/// The `size` of a te_config from a header that predates `min_workers`.
const SIZE_BEFORE_MIN_WORKERS: usize = std::mem::offset_of!(te_config, min_workers);

/// The largest `size` accepted from a newer header: generous, but it bounds how
/// far past our own fields we read while checking that unknown ones are zero.
const MAX_CONFIG_SIZE: usize = 4096;

/// Fills `*cfg` with the defaults (all CPUs, unbounded queue, stealing and metrics
/// on, default stack, no hooks) and sets `cfg->size`. A NULL `cfg` is ignored.
///
/// # Safety
/// `cfg` must be NULL or point to writable memory for one `te_config`.
#[no_mangle]
pub unsafe extern "C" fn te_config_init(cfg: *mut te_config) {
    super::boundary::catch_panic(|| {
        if cfg.is_null() || !cfg.is_aligned() {
            return;
        }
        // The defaults are Config's (one definition); NULL and no hooks stand
        // for its default name prefix and hooks.
        let d = Config::default();
        let defaults = te_config {
            size: size_of::<te_config>() as u32,
            workers: u32::try_from(d.workers).unwrap_or(0),
            queue_capacity: d.queue_capacity,
            work_stealing: d.work_stealing,
            metrics: d.metrics,
            stack_size: d.stack_size,
            thread_name_prefix: std::ptr::null(),
            on_thread_start: None,
            on_thread_stop: None,
            hook_arg: std::ptr::null_mut(),
            spin_budget: d.spin_budget,
            task_pool_capacity: d.task_pool_capacity,
            min_workers: u32::try_from(d.min_workers).unwrap_or(0),
        };
        // SAFETY: non-NULL and aligned (checked); writable by the caller's contract.
        unsafe { cfg.write(defaults) }
    })
}

/// A C hook and its argument.
#[derive(Clone, Copy)]
struct Hook {
    func: unsafe extern "C-unwind" fn(*mut c_void, u32),
    arg: *mut c_void,
}

// SAFETY: te_config documents that hooks run on worker threads, several at once,
// and that `hook_arg` stays valid until te_engine_free returns.
unsafe impl Send for Hook {}
// SAFETY: as for Send; the hook is only called, never mutated.
unsafe impl Sync for Hook {}

impl Hook {
    fn call(self, index: usize) {
        // SAFETY: the caller of te_engine_new promised this hook may be called
        // with `arg` from any worker (te_config's documentation); indexes are
        // below 4096 so the cast is exact.
        unsafe { (self.func)(self.arg, index as u32) }
    }

    fn into_thread_hook(self) -> crate::ThreadHook {
        Arc::new(move |index| self.call(index))
    }
}

/// The fields of a `te_config` other than its bools, as read from C.
struct RawConfig {
    workers: u32,
    queue_capacity: usize,
    stack_size: usize,
    thread_name_prefix: *const c_char,
    on_thread_start: Option<unsafe extern "C-unwind" fn(*mut c_void, u32)>,
    on_thread_stop: Option<unsafe extern "C-unwind" fn(*mut c_void, u32)>,
    hook_arg: *mut c_void,
    spin_budget: u32,
    task_pool_capacity: usize,
}

/// Reads a caller's `te_config` (NULL = defaults) into a [`Config`].
///
/// # Safety
/// `cfg` must be NULL or point to a readable struct of at least `cfg->size` bytes
/// whose first field is `size` (a `te_config` from any version of the header).
pub(crate) unsafe fn config_from_c(cfg: *const te_config) -> Result<Config> {
    if cfg.is_null() {
        return Ok(Config::default());
    }
    if !cfg.is_aligned() {
        return Err(EngineError::invalid("te_config pointer is not aligned"));
    }
    // Only the first field is read before the size is known to cover the rest.
    // SAFETY: every version of te_config starts with `size`; aligned and non-NULL.
    let size = unsafe { std::ptr::addr_of!((*cfg).size).read() } as usize;
    let ours = size_of::<te_config>();
    // Our size or more, or exactly the size of the struct before `min_workers`.
    if size < ours && size != SIZE_BEFORE_MIN_WORKERS {
        return Err(EngineError::invalid(format!(
            "te_config.size is {size}, expected {ours}: initialise it with te_config_init"
        )));
    }
    if size > MAX_CONFIG_SIZE {
        return Err(EngineError::invalid(format!("te_config.size {size} is not a te_config size")));
    }
    if size > ours {
        // A newer header: its extra fields are fine as long as they ask for nothing
        // (all zero), as the Linux extensible-struct calls do.
        // SAFETY: the caller's struct is `size` bytes long (its own size field).
        let tail = unsafe { std::slice::from_raw_parts(cfg.cast::<u8>().add(ours), size - ours) };
        if tail.iter().any(|&b| b != 0) {
            return Err(EngineError::invalid("te_config has fields this library does not know, set to non-zero"));
        }
    }
    // The bools are read as bytes: a struct filled by hand with something other
    // than 0 or 1 there must not become an invalid Rust `bool` (any non-zero is
    // true, as in C). Every other field is valid for any bit pattern.
    // SAFETY: the struct covers every field before `min_workers` (size >=
    // SIZE_BEFORE_MIN_WORKERS), so each read is in bounds and aligned (the struct
    // pointer is).
    let (c, work_stealing, metrics) = unsafe {
        let stealing = std::ptr::addr_of!((*cfg).work_stealing).cast::<u8>().read() != 0;
        let metrics = std::ptr::addr_of!((*cfg).metrics).cast::<u8>().read() != 0;
        let c = RawConfig {
            workers: std::ptr::addr_of!((*cfg).workers).read(),
            queue_capacity: std::ptr::addr_of!((*cfg).queue_capacity).read(),
            stack_size: std::ptr::addr_of!((*cfg).stack_size).read(),
            thread_name_prefix: std::ptr::addr_of!((*cfg).thread_name_prefix).read(),
            on_thread_start: std::ptr::addr_of!((*cfg).on_thread_start).read(),
            on_thread_stop: std::ptr::addr_of!((*cfg).on_thread_stop).read(),
            hook_arg: std::ptr::addr_of!((*cfg).hook_arg).read(),
            spin_budget: std::ptr::addr_of!((*cfg).spin_budget).read(),
            task_pool_capacity: std::ptr::addr_of!((*cfg).task_pool_capacity).read(),
        };
        (c, stealing, metrics)
    };
    // An older header's struct ends before `min_workers`.
    let min_workers = if size >= ours {
        // SAFETY: the struct covers this field (size >= ours); aligned as above.
        unsafe { std::ptr::addr_of!((*cfg).min_workers).read() }
    } else {
        0
    };
    let mut config = Config {
        workers: c.workers as usize,
        queue_capacity: c.queue_capacity,
        work_stealing,
        metrics,
        spin_budget: c.spin_budget,
        stack_size: c.stack_size,
        task_pool_capacity: c.task_pool_capacity,
        min_workers: min_workers as usize,
        ..Config::default()
    };
    if !c.thread_name_prefix.is_null() {
        // SAFETY: documented as a NUL-terminated string, read only during this call.
        let prefix = unsafe { CStr::from_ptr(c.thread_name_prefix) };
        let prefix = prefix.to_str().map_err(|e| EngineError::Utf8 { valid_up_to: e.valid_up_to() })?;
        config.thread_name_prefix = prefix.to_string();
    }
    config.on_thread_start = c.on_thread_start.map(|func| Hook { func, arg: c.hook_arg }.into_thread_hook());
    config.on_thread_stop = c.on_thread_stop.map(|func| Hook { func, arg: c.hook_arg }.into_thread_hook());
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DEFAULT_SPIN_BUDGET, DEFAULT_TASK_POOL_CAPACITY};

    fn init() -> te_config {
        let mut cfg = std::mem::MaybeUninit::<te_config>::uninit();
        // SAFETY: te_config_init writes the whole struct.
        unsafe {
            te_config_init(cfg.as_mut_ptr());
            cfg.assume_init()
        }
    }

    #[test]
    fn defaults_round_trip() {
        let cfg = init();
        assert_eq!(cfg.size as usize, size_of::<te_config>());
        // SAFETY: a valid te_config.
        let c = unsafe { config_from_c(&cfg) }.unwrap();
        assert_eq!(c.workers, 0);
        assert!(c.work_stealing && c.metrics);
        assert_eq!(c.thread_name_prefix, "taskengine");
        assert_eq!(c.spin_budget, DEFAULT_SPIN_BUDGET);
        assert_eq!(c.task_pool_capacity, DEFAULT_TASK_POOL_CAPACITY);
    }

    #[test]
    fn sizes_are_checked() {
        let mut cfg = init();
        cfg.size = 8;
        // SAFETY: valid struct; the size field lies.
        assert!(matches!(unsafe { config_from_c(&cfg) }, Err(EngineError::Invalid(_))));
        // A newer, larger struct whose extra fields are zero is accepted; non-zero
        // extra fields are refused.
        #[repr(C)]
        struct Newer {
            base: te_config,
            extra: u64,
        }
        let mut newer = Newer { base: init(), extra: 0 };
        newer.base.size = size_of::<Newer>() as u32;
        // SAFETY: `Newer` starts with a te_config and is `size` bytes long.
        assert!(unsafe { config_from_c(std::ptr::addr_of!(newer).cast()) }.is_ok());
        newer.extra = 1;
        // SAFETY: as above.
        assert!(matches!(unsafe { config_from_c(std::ptr::addr_of!(newer).cast()) }, Err(EngineError::Invalid(_))));
    }

    #[test]
    fn a_struct_from_before_min_workers_is_accepted() {
        // An older header's te_config: everything up to `min_workers`, and its size.
        let mut cfg = init();
        cfg.min_workers = 3; // past the old struct's end: must not be read
        cfg.size = SIZE_BEFORE_MIN_WORKERS as u32;
        // SAFETY: a valid struct, at least `size` bytes long.
        assert_eq!(unsafe { config_from_c(&cfg) }.unwrap().min_workers, 0);
        cfg.size = size_of::<te_config>() as u32;
        // SAFETY: as above.
        assert_eq!(unsafe { config_from_c(&cfg) }.unwrap().min_workers, 3);
        for size in [SIZE_BEFORE_MIN_WORKERS - 1, SIZE_BEFORE_MIN_WORKERS + 4, size_of::<te_config>() - 1] {
            cfg.size = size as u32;
            // SAFETY: as above.
            assert!(matches!(unsafe { config_from_c(&cfg) }, Err(EngineError::Invalid(_))), "{size}");
        }
    }

    #[test]
    fn bool_bytes_other_than_0_and_1_read_as_c_does() {
        // Kept as MaybeUninit: with these bytes it is not a valid Rust value.
        let mut cfg = std::mem::MaybeUninit::<te_config>::uninit();
        // SAFETY: te_config_init fills it; then raw bytes go into the bool
        // fields' storage, as C code may write them. It is never read as a value.
        let c = unsafe {
            te_config_init(cfg.as_mut_ptr());
            std::ptr::addr_of_mut!((*cfg.as_mut_ptr()).work_stealing).cast::<u8>().write(0xAB);
            std::ptr::addr_of_mut!((*cfg.as_mut_ptr()).metrics).cast::<u8>().write(0);
            config_from_c(cfg.as_ptr())
        }
        .unwrap();
        assert!(c.work_stealing);
        assert!(!c.metrics);
    }

    #[test]
    fn prefix_must_be_utf8() {
        let mut cfg = init();
        let bad = c"a\xff";
        cfg.thread_name_prefix = bad.as_ptr();
        // SAFETY: valid struct and string.
        assert_eq!(unsafe { config_from_c(&cfg) }.unwrap_err(), EngineError::Utf8 { valid_up_to: 1 });
    }
}
