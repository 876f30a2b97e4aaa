//! The scheduler core (workers, deques, injector, sleep, latches, jobs) names none
//! of the layers built on it: groups, handles, scopes, teams, the timer, retries,
//! the kernels, the FFI or the `Engine` itself. What those layers keep per engine
//! travels in `services.rs`, which only the registry's constructor and shutdown
//! touch. A new `use super::group::...` in the core fails here, not in review.

use std::path::Path;

const CORE: &[&str] =
    &["registry", "job", "latch", "sleep", "queue", "pool", "admission", "fork", "stack", "unwind", "sync", "metrics"];

const LAYERS_ABOVE: &[&str] =
    &["group", "handle", "scope", "team", "timer", "retry", "task", "parallel", "in_place", "join"];

/// Every module path the file names through `super::` or `crate::`, comments excluded.
fn named_modules(source: &str) -> Vec<String> {
    let mut named = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["super::", "crate::engine::", "crate::"] {
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                rest = &rest[at + prefix.len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    named.push(name);
                }
            }
        }
    }
    named
}

#[test]
fn the_scheduler_core_names_no_layer_above_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine");
    for module in CORE {
        let path = dir.join(format!("{module}.rs"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for name in named_modules(&source) {
            assert!(!LAYERS_ABOVE.contains(&name.as_str()), "src/engine/{module}.rs names the layer `{name}`");
            assert!(
                !["kernels", "ffi", "Engine", "py"].contains(&name.as_str()),
                "src/engine/{module}.rs names `{name}`, which is built on the engine"
            );
        }
    }
}

#[test]
fn the_per_thread_state_names_no_layer() {
    // Every layer reads its hot per-thread state from `src/per_thread.rs`, so it
    // sits below all of them: its pointers to their types are kept untyped.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/per_thread.rs");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let named = named_modules(&source);
    assert!(named.is_empty(), "src/per_thread.rs names {named:?}");
}

#[test]
fn the_scan_sees_a_layer_named_in_the_core() {
    // The check above must be able to fail.
    assert!(named_modules("use super::group::QueuedTask;").contains(&"group".to_string()));
    assert!(named_modules("let x = crate::kernels::scratch::ScratchCache::new();").contains(&"kernels".to_string()));
    assert!(named_modules("// super::group in a comment").is_empty());
}

#[test]
fn the_python_binding_builds_the_engine_class_last() {
    // `engine.rs` (the `Engine` class) delegates to the kernels, tasks and teams;
    // they reach their engine through `lease.rs`, never through the class.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bindings/python/src");
    for module in ["lease", "kernels", "task", "team", "wait", "buffers", "errors"] {
        let path = dir.join(format!("{module}.rs"));
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let named = named_modules(&source);
        assert!(
            !named.iter().any(|n| n == "engine"),
            "bindings/python/src/{module}.rs names the `Engine` class's module"
        );
    }
}
