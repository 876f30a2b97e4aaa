//! The committed C header must be exactly what cbindgen generates from the sources.
//!
//! `TASKENGINE_BLESS_HEADER=1 cargo test --test header` (or `make header`) rewrites
//! it; a build script never writes into the source tree.

use std::path::Path;

fn generate() -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(root).join("cbindgen.toml")).expect("cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        // Only the boundary is API: anything else `pub` in the crate (engine
        // constants, the kernels' private imports of C) stays out of the header.
        .with_src(Path::new(root).join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_is_fresh() {
    let fresh = generate();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/taskengine.h");
    if std::env::var_os("TASKENGINE_BLESS_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write include/taskengine.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| committed.lines().count().min(fresh.lines().count()) + 1, |i| i + 1);
        panic!(
            "include/taskengine.h is stale (first difference at line {line}); \
             regenerate it with `make header` and commit it"
        );
    }
}

#[test]
fn version_macros_match_cargo_toml() {
    let header = generate();
    for (name, value) in [
        ("TE_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("TE_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("TE_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let line = format!("#define {name} {value}");
        assert!(header.lines().any(|l| l.trim() == line), "header lacks `{line}`");
    }
}
