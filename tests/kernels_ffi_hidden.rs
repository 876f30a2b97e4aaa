//! The C kernels are private: their `extern "C"` declarations must not reach
//! the public C header that cbindgen generates from this crate.

#[test]
fn kernel_declarations_stay_out_of_the_c_header() {
    let bindings = cbindgen::Builder::new()
        .with_crate(env!("CARGO_MANIFEST_DIR"))
        .with_language(cbindgen::Language::C)
        .generate()
        .expect("cbindgen parses the crate");
    let mut header = Vec::new();
    bindings.write(&mut header);
    let header = String::from_utf8(header).expect("UTF-8 header");
    assert!(!header.contains("te_k_"), "a te_k_ kernel leaked into the C header:\n{header}");
}
