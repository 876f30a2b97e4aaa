//! Integration tests of the scheduler, configuration: stealing off, metrics off, thread names, hooks and stack size, invalid configs; each under a watchdog.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use taskengine::{engine_config, Config, Engine, EngineError, TaskGroup};

#[test]
fn work_stealing_off_really_disables_stealing() {
    watchdog(30, "no_steal", || {
        let e = Engine::new(engine_config! { workers: 2, enable_work_stealing: false }).unwrap();
        assert_eq!(fib(&e, 20), fib_serial(20));
        let s = e.stats();
        assert_eq!(s.stolen, 0);
        assert_eq!(s.steal_attempts, 0);
        let e = Engine::new(Config::with_workers(2)).unwrap();
        for _ in 0..20 {
            fib(&e, 20);
        }
        assert!(e.stats().steal_attempts > 0, "stealing on should try to steal");
    });
}

#[test]
fn metrics_off_keeps_counters_at_zero() {
    watchdog(30, "metrics_off", || {
        let e = Engine::new(engine_config! { workers: 2, enable_metrics: false }).unwrap();
        let g = TaskGroup::new(&e).unwrap();
        for _ in 0..100 {
            g.spawn(|| {}).unwrap();
        }
        g.wait().unwrap();
        let s = e.stats();
        assert!(!s.metrics_enabled);
        assert_eq!((s.executed, s.submitted), (0, 0));
        assert_eq!(s.workers.len(), 2);
    });
}

#[test]
fn thread_names_hooks_and_stack_size() {
    watchdog(30, "hooks", || {
        let started = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(Mutex::new(Vec::new()));
        let names = Arc::new(Mutex::new(Vec::new()));
        let mut cfg = engine_config! { workers: 3, thread_name_prefix: "pool", stack_size: 512 * 1024 };
        let (s, n) = (Arc::clone(&started), Arc::clone(&names));
        cfg.on_thread_start = Some(Arc::new(move |i| {
            s.lock().unwrap().push(i);
            n.lock().unwrap().push(std::thread::current().name().unwrap_or("").to_string());
        }));
        let st = Arc::clone(&stopped);
        cfg.on_thread_stop = Some(Arc::new(move |i| st.lock().unwrap().push(i)));
        let e = Engine::new(cfg).unwrap();
        let deep = e.spawn(Engine::current_worker_index).unwrap();
        assert!(deep.wait().unwrap().is_some_and(|i| i < 3));
        drop(e);
        // Drop returned: every stop hook has run.
        let mut s = stopped.lock().unwrap().clone();
        s.sort();
        assert_eq!(s, vec![0, 1, 2]);
        let mut st = started.lock().unwrap().clone();
        st.sort();
        assert_eq!(st, vec![0, 1, 2]);
        let mut nm = names.lock().unwrap().clone();
        nm.sort();
        assert_eq!(nm, vec!["pool-0", "pool-1", "pool-2"]);
        assert_eq!(Engine::current_worker_index(), None);
    });
}

#[test]
fn invalid_configs_are_rejected() {
    assert!(matches!(Engine::new(engine_config! { workers: 100_000 }), Err(EngineError::Invalid(_))));
    assert!(matches!(Engine::new(engine_config! { stack_size: 1024 }), Err(EngineError::Invalid(_))));
    assert!(matches!(Engine::new(engine_config! { thread_name_prefix: "a\0b" }), Err(EngineError::Invalid(_))));
}
