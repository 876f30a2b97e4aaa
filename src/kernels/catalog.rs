//! The array kernels and the element types each one takes: the one list of
//! what `te_{kernel}_{type}` (and its `_serial` form) exists. The C header, the
//! C++ wrapper and the Python binding are checked against it by
//! `tests/kernel_surface.rs`, so a type added in one layer and forgotten in
//! another fails a test instead of going unnoticed.

/// One array kernel: its name and the element types it takes, in the order of
/// the C API (`te_sum_i64`, `te_sum_f64`, ...).
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// `sum`, `max`, `min` or `sort`.
    pub name: &'static str,
    /// Rust spellings of the element types (`i64`, `f32`, ...).
    pub types: &'static [&'static str],
}

const REDUCED: &[&str] = &["i64", "f64", "i32", "u32", "f32"];

/// Every array kernel family of the C ABI.
pub const ARRAY_KERNELS: &[Family] = &[
    Family { name: "sum", types: REDUCED },
    Family { name: "max", types: REDUCED },
    Family { name: "min", types: REDUCED },
    Family { name: "sort", types: &["i64", "u64", "f64", "i32", "u32", "f32", "i16", "u16", "i8", "u8"] },
];
