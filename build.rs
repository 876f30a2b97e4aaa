//! Build script: compiles the bundled C kernels and sets the shared library's SONAME.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // The C ABI's major version: programs linked against libtaskengine.so record
    // this name and keep working across compatible (same .so.0) releases.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libtaskengine.so.0");
    }
}
