//! Python buffers (numpy arrays, `array.array`, `bytearray`, `memoryview`, ...)
//! as Rust slices, without copying.
//!
//! The item type is read from the buffer's struct-module format here rather
//! than through `PyBuffer<T>`: we need to tell a wrong type (`TypeError`) from
//! a wrong layout (`ValueError`), and to accept every spelling of a native
//! 8-byte item (`q`, `l`, `<q`, `=d`, ...) while refusing a foreign byte order.

use std::ffi::CStr;

use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyMemoryView};

use crate::errors::{new_err, Kind};

/// The item types the array kernels handle (`sum`, `min` and `max` take the
/// 8- and 4-byte ones; `sort` all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DType {
    I64,
    U64,
    F64,
    I32,
    U32,
    F32,
    I16,
    U16,
    I8,
    U8,
}

impl DType {
    /// numpy's name for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DType::I64 => "int64",
            DType::U64 => "uint64",
            DType::F64 => "float64",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::F32 => "float32",
            DType::I16 => "int16",
            DType::U16 => "uint16",
            DType::I8 => "int8",
            DType::U8 => "uint8",
        }
    }
}

/// The item types named in errors.
const SUPPORTED: &str = "int64, uint64, float64, int32, uint32 or float32 (sort also int16, uint16, int8, uint8)";

/// What a kernel needs of a buffer besides its item type.
#[derive(Clone, Copy)]
pub(crate) enum Access {
    Read,
    /// Written in place (implies one dimension: an in-place sort of a 2-D
    /// buffer would sort it flattened, which nobody means).
    Write,
}

/// A buffer held for the length of one kernel call: the exporting object
/// cannot be resized or freed while we hold it.
pub(crate) struct Array {
    buf: PyUntypedBuffer,
    pub(crate) dtype: DType,
    len: usize,
}

/// A read-only view of an [`Array`]'s items.
pub(crate) enum Items<'a> {
    I64(&'a [i64]),
    U64(&'a [u64]),
    F64(&'a [f64]),
    I32(&'a [i32]),
    U32(&'a [u32]),
    F32(&'a [f32]),
    /// Items no reduction takes (16- and 8-bit).
    Other,
}

/// A writable view of an [`Array`]'s items.
pub(crate) enum ItemsMut<'a> {
    I64(&'a mut [i64]),
    U64(&'a mut [u64]),
    F64(&'a mut [f64]),
    I32(&'a mut [i32]),
    U32(&'a mut [u32]),
    F32(&'a mut [f32]),
    I16(&'a mut [i16]),
    U16(&'a mut [u16]),
    I8(&'a mut [i8]),
    U8(&'a mut [u8]),
}

/// The item type a struct-module format and item size name, if the kernels
/// take it: a native-order integer or float of one of our sizes.
fn dtype_of(format: &CStr, item_size: usize) -> Option<DType> {
    let (order, code) = match format.to_bytes() {
        [code] => (b'@', *code),
        [order, code] => (*order, *code),
        _ => return None,
    };
    let native = match order {
        b'@' | b'=' => true,
        b'<' => cfg!(target_endian = "little"),
        b'>' | b'!' => cfg!(target_endian = "big"),
        _ => false,
    };
    if !native {
        return None;
    }
    // The size comes from the exporter: 'l' is 8 bytes natively here but 4
    // in the standard ('=') sizes.
    match (code, item_size) {
        (b'q' | b'l' | b'n', 8) => Some(DType::I64),
        (b'Q' | b'L' | b'N', 8) => Some(DType::U64),
        (b'd', 8) => Some(DType::F64),
        (b'i' | b'l', 4) => Some(DType::I32),
        (b'I' | b'L', 4) => Some(DType::U32),
        (b'f', 4) => Some(DType::F32),
        (b'h', 2) => Some(DType::I16),
        (b'H', 2) => Some(DType::U16),
        (b'b', 1) => Some(DType::I8),
        (b'B', 1) => Some(DType::U8),
        _ => None,
    }
}

/// Whether `obj` is a numpy masked array, whose buffer is its data without the
/// mask: a kernel would silently use the masked-out items.
fn is_masked(py: Python<'_>, obj: &Bound<'_, PyAny>) -> bool {
    static MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    static MASKED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let Ok(modules) = MODULES
        .get_or_try_init(py, || -> PyResult<_> { Ok(py.import("sys")?.getattr("modules")?.cast_into()?.unbind()) })
    else {
        return false;
    };
    // A masked array cannot exist before numpy.ma is imported (numpy 2 imports
    // it lazily), and looking it up in sys.modules is cheap.
    let Ok(Some(ma)) = modules.bind(py).get_item("numpy.ma") else { return false };
    match MASKED.get_or_try_init(py, || ma.getattr("MaskedArray").map(Bound::unbind)) {
        Ok(cls) => obj.is_instance(cls.bind(py)).unwrap_or(false),
        Err(_) => false,
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Why `obj` gave no usable buffer, as precisely as we can tell.
fn export_failure(py: Python<'_>, func: &str, obj: &Bound<'_, PyAny>, err: PyErr) -> PyErr {
    let dtype_error = |message: String| new_err(py, Kind::DType, message);
    if obj.is_instance_of::<PyMemoryView>() && err.is_instance_of::<PyValueError>(py) {
        return new_err(py, Kind::InvalidArgument, format!("{func}() got a released memoryview"));
    }
    // A 0-d numpy array exports a buffer without a shape.
    if obj.getattr("ndim").and_then(|n| n.extract::<usize>()).ok() == Some(0) {
        return new_err(
            py,
            Kind::InvalidArgument,
            format!("{func}() needs a buffer of at least 1 dimension, got a 0-d {}", type_name(obj)),
        );
    }
    if let Ok(dtype) = obj.getattr("dtype") {
        let shown = dtype.str().map(|s| s.to_string()).unwrap_or_else(|_| "?".into());
        let kind = dtype.getattr("kind").and_then(|k| k.extract::<String>()).unwrap_or_default();
        if kind == "M" || kind == "m" {
            return dtype_error(format!(
                "{func}() does not support the {shown} dtype ({}); \
                 a.view('int64') gives the raw counts",
                SUPPORTED
            ));
        }
        return dtype_error(format!("{func}() needs {SUPPORTED} items, got dtype {shown} ({err})"));
    }
    dtype_error(format!(
        "{func}() needs a buffer of {SUPPORTED} (a numpy array, array.array, memoryview), got {}",
        type_name(obj)
    ))
}

/// Gets `obj`'s buffer for the kernel `func`, checking item type, layout and,
/// for `Access::Write`, writability.
pub(crate) fn array(py: Python<'_>, func: &str, obj: &Bound<'_, PyAny>, access: Access) -> PyResult<Array> {
    if is_masked(py, obj) {
        return Err(new_err(
            py,
            Kind::DType,
            format!(
                "{func}() does not take masked arrays: it would use the masked-out items; \
                 pass a.compressed() (only the unmasked items) or a.filled(value)"
            ),
        ));
    }
    let buf = PyUntypedBuffer::get(obj).map_err(|err| export_failure(py, func, obj, err))?;
    let dtype = match dtype_of(buf.format(), buf.item_size()) {
        Some(dtype) => dtype,
        _ => {
            return Err(new_err(
                py,
                Kind::DType,
                format!(
                    "{func}() needs {SUPPORTED} items in native byte order, got format '{}' ({} bytes)",
                    buf.format().to_string_lossy(),
                    buf.item_size()
                ),
            ))
        }
    };
    if !buf.is_c_contiguous() {
        return Err(new_err(
            py,
            Kind::InvalidArgument,
            format!("{func}() needs a C-contiguous buffer (copy it first, e.g. numpy.ascontiguousarray)"),
        ));
    }
    let len = buf.item_count();
    let align = buf.item_size();
    if len > 0 && (buf.buf_ptr() as usize) % align != 0 {
        return Err(new_err(py, Kind::InvalidArgument, format!("{func}() needs a buffer aligned to {align} bytes")));
    }
    if let Access::Write = access {
        if buf.readonly() {
            return Err(new_err(
                py,
                Kind::InvalidArgument,
                format!("{func}() works in place and needs a writable buffer; this one is read-only"),
            ));
        }
        if buf.dimensions() > 1 {
            return Err(new_err(
                py,
                Kind::InvalidArgument,
                format!("{func}() needs a one-dimensional buffer, got {} dimensions", buf.dimensions()),
            ));
        }
    }
    Ok(Array { buf, dtype, len })
}

impl Array {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The items, read-only.
    pub(crate) fn items(&self) -> Items<'_> {
        let ptr = self.buf.buf_ptr();
        let len = self.len;
        // SAFETY: (every arm) `array()` checked that the buffer is
        // C-contiguous with `len` items of this type's size, and aligned to
        // that size (the type's alignment) when non-empty; an empty slice is made without the pointer,
        // which may be NULL. The exporter keeps the memory alive and unmoved
        // while `self.buf` is held, which outlives the borrow of `self`. Other
        // threads may write the same memory only through their own buffer
        // exports, outside what Rust can see: the same contract numpy and
        // every GIL-releasing extension have with their callers.
        unsafe {
            match self.dtype {
                DType::I64 => Items::I64(slice(ptr.cast(), len)),
                DType::U64 => Items::U64(slice(ptr.cast(), len)),
                DType::F64 => Items::F64(slice(ptr.cast(), len)),
                DType::I32 => Items::I32(slice(ptr.cast(), len)),
                DType::U32 => Items::U32(slice(ptr.cast(), len)),
                DType::F32 => Items::F32(slice(ptr.cast(), len)),
                DType::I16 | DType::U16 | DType::I8 | DType::U8 => Items::Other,
            }
        }
    }

    /// The items, writable; only for an `Array` got with `Access::Write`.
    pub(crate) fn items_mut(&mut self) -> ItemsMut<'_> {
        assert!(!self.buf.readonly(), "items_mut on a read-only buffer");
        let ptr = self.buf.buf_ptr();
        let len = self.len;
        // SAFETY: as in `items`, and the exporter granted write access (not
        // read-only, checked above); `&mut self` keeps this the only view we hand out.
        unsafe {
            match self.dtype {
                DType::I64 => ItemsMut::I64(slice_mut(ptr.cast(), len)),
                DType::U64 => ItemsMut::U64(slice_mut(ptr.cast(), len)),
                DType::F64 => ItemsMut::F64(slice_mut(ptr.cast(), len)),
                DType::I32 => ItemsMut::I32(slice_mut(ptr.cast(), len)),
                DType::U32 => ItemsMut::U32(slice_mut(ptr.cast(), len)),
                DType::F32 => ItemsMut::F32(slice_mut(ptr.cast(), len)),
                DType::I16 => ItemsMut::I16(slice_mut(ptr.cast(), len)),
                DType::U16 => ItemsMut::U16(slice_mut(ptr.cast(), len)),
                DType::I8 => ItemsMut::I8(slice_mut(ptr.cast(), len)),
                DType::U8 => ItemsMut::U8(slice_mut(ptr.cast(), len)),
            }
        }
    }
}

/// # Safety
/// When `len > 0`, `ptr` points to `len` initialized, aligned `T`s that stay
/// valid and unmodified by Rust code for `'a`.
unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}

/// # Safety
/// As for [`slice`], plus: writable, and no other reference to it exists for `'a`.
unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { std::slice::from_raw_parts_mut(ptr, len) }
}

/// Raw bytes of any C-contiguous buffer (`bytes`, `bytearray`, arrays of any
/// type), for hashing.
pub(crate) struct Bytes {
    buf: PyUntypedBuffer,
}

pub(crate) fn bytes(py: Python<'_>, func: &str, obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    let buf = PyUntypedBuffer::get(obj).map_err(|err| {
        if obj.is_instance_of::<PyMemoryView>() && err.is_instance_of::<PyValueError>(py) {
            return new_err(py, Kind::InvalidArgument, format!("{func}() got a released memoryview"));
        }
        new_err(
            py,
            Kind::DType,
            format!(
                "{func}() needs str or a bytes-like object, got {}",
                obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
            ),
        )
    })?;
    if !buf.is_c_contiguous() {
        return Err(new_err(py, Kind::InvalidArgument, format!("{func}() needs a C-contiguous buffer")));
    }
    Ok(Bytes { buf })
}

impl Bytes {
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: C-contiguous (checked in `bytes`), so `len_bytes` bytes from
        // `buf_ptr` are the buffer's memory, kept alive while `self.buf` is held;
        // bytes need no alignment. Concurrent writers: see `Array::items`.
        unsafe { slice(self.buf.buf_ptr().cast::<u8>(), self.buf.len_bytes()) }
    }
}
