//! The default engine is sized to the CPUs the process may use (its affinity mask,
//! as `taskset` or `mpirun --bind-to` set it), not to every CPU of the machine.
//! Process-global, so it has its own test binary and a single test. Linux only:
//! the mask is set and read with `sched_setaffinity`/`sched_getaffinity`.
#![cfg(target_os = "linux")]

mod common;

use common::watchdog;
use taskengine::{Config, Engine};

/// The calling thread's affinity mask, read with libc (the reference).
fn affinity() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is the calling thread; `set` is a valid, writable cpu_set_t
    // of the size passed.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    assert_eq!(rc, 0, "sched_getaffinity: {}", std::io::Error::last_os_error());
    set
}

#[test]
fn default_engine_follows_the_affinity_mask() {
    watchdog(60, "affinity", || {
        // Safe in edition 2021 but racy in general: here no other thread of this
        // single-test binary reads the environment meanwhile.
        std::env::remove_var("TASKENGINE_WORKERS");
        assert_eq!(Engine::global_workers_if_built(), None, "nothing has built the default engine yet");

        // Pin this thread (the one that builds the default engine) to the first
        // CPU it may use, as `taskset -c N` does before exec.
        let mask = affinity();
        // SAFETY: CPU_ISSET reads a valid cpu_set_t within CPU_SETSIZE.
        let cpu = (0..libc::CPU_SETSIZE as usize).find(|&c| unsafe { libc::CPU_ISSET(c, &mask) }).unwrap();
        // SAFETY: as above, a zeroed cpu_set_t is the empty set.
        let mut one: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `cpu` < CPU_SETSIZE and `one` is a valid cpu_set_t.
        unsafe { libc::CPU_SET(cpu, &mut one) };
        // SAFETY: pid 0 is the calling thread; `one` is a valid cpu_set_t of that size.
        let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) };
        assert_eq!(rc, 0, "sched_setaffinity: {}", std::io::Error::last_os_error());
        // SAFETY: CPU_COUNT reads a valid cpu_set_t.
        assert_eq!(unsafe { libc::CPU_COUNT(&affinity()) }, 1);

        assert_eq!(Config::default().resolved_workers(), 1);
        let engine = Engine::global().unwrap();
        assert_eq!(engine.workers(), 1);
        assert_eq!(Engine::global_workers_if_built(), Some(1));
        // The worker inherited the mask: it runs on that CPU.
        // SAFETY: sched_getcpu has no preconditions.
        let ran_on = engine.spawn(|| unsafe { libc::sched_getcpu() }).unwrap().wait().unwrap();
        assert_eq!(ran_on, cpu as i32);
        // An explicit engine with workers = 0 resolves the same way.
        let own = Engine::new(Config::default()).unwrap();
        assert_eq!(own.workers(), 1);
        drop(own);
        drop(engine);

        Engine::shutdown_global().unwrap();
        assert_eq!(Engine::global_workers_if_built(), None, "shut down");
    });
}
