//! Facts defined once in Rust and repeated, by necessity, in other languages'
//! files: each copy is read here and compared with the Rust definition.
//! - status codes: `te_status` (with `EngineError::code`, checked in
//!   `src/ffi/status.rs`) against `csrc/te_kcommon.h`, the Python exception
//!   classes in `_errors.py` and the binding's list of them (`errors.rs`);
//! - defaults: `te_config_init` against `Config::default()`;
//! - counters: `te_stats`/`te_worker_stats` in the header against
//!   `EngineStats::counters`/`WorkerStats::counters`.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::path::Path;

use taskengine::ffi::{te_config, te_config_init, te_status};
use taskengine::{Config, EngineStats, WorkerStats};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn status_name(code: i32) -> Option<String> {
    te_status::from_code(code).map(|s| s.name().to_str().expect("ASCII").to_string())
}

#[test]
fn kernel_statuses_in_te_kcommon_h_are_te_status_codes() {
    let header = read("csrc/te_kcommon.h");
    let mut seen = 0;
    for line in header.lines() {
        let mut words = line.split_whitespace();
        let (Some("#define"), Some(name), Some(value)) = (words.next(), words.next(), words.next()) else { continue };
        let Some(rest) = name.strip_prefix("TE_K_") else { continue };
        if rest != "OK" && !rest.starts_with("ERR_") {
            continue;
        }
        let code: i32 = value.parse().unwrap_or_else(|_| panic!("{name} is not a number: {value}"));
        assert_eq!(status_name(code).as_deref(), Some(format!("TE_{rest}").as_str()), "{name} = {code}");
        seen += 1;
    }
    assert!(seen >= 6, "found only {seen} TE_K_ statuses: the parse is broken");
}

/// `class Name(...)` and its `code = N` in `_errors.py`, in file order.
fn python_classes() -> Vec<(String, i32)> {
    let text = read("bindings/python/python/taskengine/_errors.py");
    let mut out: Vec<(String, Option<i32>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("class ") {
            let name = rest.split(['(', ':']).next().expect("a class name").trim();
            out.push((name.to_string(), None));
        } else if let Some(value) = line.trim().strip_prefix("code") {
            let value = value.trim_start_matches([' ', ':', 'i', 'n', 't']).trim_start_matches(['=', ' ']);
            let last = out.last_mut().expect("code inside a class");
            last.1 = Some(value.parse().unwrap_or_else(|_| panic!("{}: code {value:?}", last.0)));
        }
    }
    out.into_iter().map(|(name, code)| (name.clone(), code.unwrap_or_else(|| panic!("{name} has no code")))).collect()
}

#[test]
fn python_exception_codes_are_te_status_codes() {
    let classes = python_classes();
    assert!(classes.len() >= 17, "found only {} classes: the parse is broken", classes.len());
    let mut covered = BTreeSet::new();
    for (name, code) in &classes {
        if name == "TaskEngineError" {
            assert_eq!(*code, 0, "the base class's code");
            continue;
        }
        assert!(*code != 0 && status_name(*code).is_some(), "{name}.code = {code} is not a failure status");
        covered.insert(*code);
    }
    // Every failure status has a Python class, except those Python never sees:
    // NULL (no pointers; bad arguments are InvalidArgumentError),
    // BUFFER_TOO_SMALL (the binding sizes every output) and STACK (raised as
    // TaskEngineError itself).
    let not_raised = ["TE_ERR_NULL", "TE_ERR_BUFFER_TOO_SMALL", "TE_ERR_STACK"];
    for code in 1.. {
        let Some(name) = status_name(code) else { break };
        assert!(
            covered.contains(&code) || not_raised.contains(&name.as_str()),
            "{name} ({code}) has no exception class in _errors.py"
        );
    }
}

#[test]
fn the_binding_looks_up_exactly_the_python_classes() {
    // `errors.rs` names each class it raises (its `NAMES`, in `Kind` order).
    let rust = read("bindings/python/src/errors.rs");
    let start = rust.find("const NAMES").expect("NAMES in errors.rs");
    let list = &rust[start..start + rust[start..].find("];").expect("end of NAMES")];
    let named: BTreeSet<String> = list.split('"').skip(1).step_by(2).map(String::from).collect();
    let classes: BTreeSet<String> = python_classes().into_iter().map(|(name, _)| name).collect();
    assert_eq!(named, classes);
    // ...and `__all__` exports each.
    let python = read("bindings/python/python/taskengine/_errors.py");
    let all_start = python.find("__all__ = [").expect("__all__");
    let all = &python[all_start..all_start + python[all_start..].find(']').expect("end of __all__")];
    let exported: BTreeSet<String> = all.split('"').skip(1).step_by(2).map(String::from).collect();
    assert_eq!(exported, classes);
}

#[test]
fn te_config_init_gives_config_default() {
    let mut cfg = MaybeUninit::<te_config>::uninit();
    // SAFETY: te_config_init writes the whole struct.
    let c = unsafe {
        te_config_init(cfg.as_mut_ptr());
        cfg.assume_init()
    };
    let d = Config::default();
    assert_eq!(c.workers as usize, d.workers);
    assert_eq!(c.queue_capacity, d.queue_capacity);
    assert_eq!(c.work_stealing, d.work_stealing);
    assert_eq!(c.metrics, d.metrics);
    assert_eq!(c.stack_size, d.stack_size);
    assert_eq!(c.spin_budget, d.spin_budget);
    assert_eq!(c.task_pool_capacity, d.task_pool_capacity);
    assert_eq!(c.min_workers as usize, d.min_workers);
    assert!(c.thread_name_prefix.is_null() && c.on_thread_start.is_none() && c.on_thread_stop.is_none());
    assert_eq!(d.thread_name_prefix, "taskengine", "the name NULL stands for, as the header says");
    assert!(read("include/taskengine.h").contains("NULL = \"taskengine\""));
}

/// The field names of `typedef struct NAME { ... } NAME;` in the header.
fn c_fields(header: &str, name: &str) -> Vec<String> {
    let start = header.find(&format!("typedef struct {name} {{")).unwrap_or_else(|| panic!("struct {name}"));
    let body = &header[start..start + header[start..].find(&format!("}} {name};")).expect("end of struct")];
    body.lines()
        .map(str::trim)
        .filter(|l| l.ends_with(';') && !l.starts_with('*') && !l.starts_with("/*"))
        .map(|l| l.trim_end_matches(';').rsplit([' ', '*']).next().expect("a field").to_string())
        .collect()
}

#[test]
fn c_stats_structs_have_the_rust_counters() {
    let header = read("include/taskengine.h");
    let engine: Vec<&str> = EngineStats::default().counters().iter().map(|(n, _)| *n).collect();
    // `worker_shortfall` came after te_stats was fixed (it has no size field to
    // grow by); C callers compare te_engine_workers() with what they asked for.
    let mut want: Vec<String> = ["workers", "metrics_enabled"].into_iter().map(String::from).collect();
    want.extend(engine.iter().filter(|n| **n != "worker_shortfall").map(|n| n.to_string()));
    assert_eq!(c_fields(&header, "te_stats"), want);
    let worker: Vec<String> = WorkerStats::default().counters().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(c_fields(&header, "te_worker_stats"), worker);
}

#[test]
fn status_names_are_their_constants() {
    // te_status::name is written out once per variant; it must spell the
    // constant the header defines with that number.
    let header = read("include/taskengine.h");
    for code in 0.. {
        let Some(status) = te_status::from_code(code) else { break };
        let name: &CStr = status.name();
        let name = name.to_str().expect("ASCII");
        assert!(header.contains(&format!("{name} = {code},")), "{name} = {code} not in the header");
    }
}
