//! Every layer offers exactly the array kernels of `taskengine::kernels::catalog`:
//! the C header (and so the `extern "C"` functions it is generated from), the C++
//! wrapper's table of entry points, and the Python binding's dispatch. Each file
//! is read as text and its kernel names are compared, both ways, with the list.

use std::collections::BTreeSet;
use std::path::Path;

use taskengine::kernels::catalog::ARRAY_KERNELS;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every identifier in `text` that starts with `prefix` followed by one of the
/// catalog's kernel names and `_`, with `prefix` taken off.
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut found = BTreeSet::new();
    for family in ARRAY_KERNELS {
        let start = format!("{prefix}{}_", family.name);
        let mut rest = text;
        while let Some(at) = rest.find(&start) {
            let before = rest[..at].chars().next_back();
            let tail = &rest[at + prefix.len()..];
            let end = tail.find(|c| !is_ident(c)).unwrap_or(tail.len());
            if !before.is_some_and(is_ident) {
                found.insert(tail[..end].to_string());
            }
            rest = &rest[at + start.len()..];
        }
    }
    found
}

fn expected(suffixes: &[&str]) -> BTreeSet<String> {
    let mut want = BTreeSet::new();
    for family in ARRAY_KERNELS {
        for ty in family.types {
            for suffix in suffixes {
                want.insert(format!("{}_{ty}{suffix}", family.name));
            }
        }
    }
    want
}

fn assert_same(layer: &str, got: BTreeSet<String>, want: BTreeSet<String>) {
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{layer} disagrees with kernels::catalog: missing {missing:?}, not in the catalog {extra:?}"
    );
}

#[test]
fn c_header_declares_each_kernel_and_its_serial_form() {
    let header = read("include/taskengine.h");
    assert_same("include/taskengine.h", names_after(&header, "te_"), expected(&["", "_serial"]));
}

#[test]
fn cpp_wrapper_maps_each_element_type_to_its_entry_point() {
    // The wrapper's overloads are templates over one table of `k_*` functions,
    // each calling the parallel C entry point for its element type.
    let hpp = read("bindings/cpp/taskengine.hpp");
    assert_same("bindings/cpp/taskengine.hpp", names_after(&hpp, "te_"), expected(&[""]));
}

#[test]
fn python_binding_dispatches_each_element_type() {
    // Serial forms (`k::sum_i64`) for small inputs, parallel ones
    // (`k::par_sum_i64`) for large.
    let src = read("bindings/python/src/kernels.rs");
    assert_same("bindings/python/src/kernels.rs (serial)", names_after(&src, "k::"), expected(&[""]));
    assert_same("bindings/python/src/kernels.rs (parallel)", names_after(&src, "k::par_"), expected(&[""]));
}

#[test]
fn the_scan_finds_what_it_should() {
    // The checks above are only as good as the scanner: an identifier inside a
    // longer one does not count, and `_serial` stays part of the name.
    let text = "x te_sum_i64(a); my_te_sum_u8(b); te_sort_u8_serial(c); te_version();";
    let want: BTreeSet<String> = ["sum_i64", "sort_u8_serial"].into_iter().map(String::from).collect();
    assert_eq!(names_after(text, "te_"), want);
}
