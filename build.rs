//! Build script: compiles the bundled C kernels and sets the shared library's SONAME.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc");

    let mut sources: Vec<_> = std::fs::read_dir("csrc")
        .expect("csrc/ is part of the crate")
        .map(|e| e.expect("readable csrc entry").path())
        .collect();
    sources.sort();
    let mut build = cc::Build::new();
    for path in &sources {
        println!("cargo:rerun-if-changed={}", path.display());
        if path.extension().is_some_and(|e| e == "c") {
            build.file(path);
        }
    }
    build
        .include(Path::new("csrc"))
        .std("c99")
        .opt_level(3)
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        // TwoSum in the compensated sum needs every rounding as written.
        .flag("-ffp-contract=off")
        // sqrt() as one instruction: the kernels check their domain themselves.
        .flag_if_supported("-fno-math-errno")
        .compile("te_kernels");

    // The C ABI's major version: programs linked against libtaskengine.so record
    // this name and keep working across compatible (same .so.N) releases. N moves
    // with every ABI break (1: te_arena_free became the destructor and the block
    // free te_arena_dealloc), so an old binary fails to load instead of misbehaving.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtaskengine.so.1");
    }
}
