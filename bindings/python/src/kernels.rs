//! The kernels, for Python: arguments checked and converted, the GIL released
//! around every call above a small size, errors mapped.
//!
//! Each function takes an [`On`], the `Engine` handle it is a method of (the
//! module-level functions are the methods of the calling context's handle).
//! Small inputs run serially on the calling thread with the GIL held (releasing
//! and retaking it would cost more than the work) and need no engine; large ones
//! run the kernels' parallel forms without the GIL.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use taskengine::kernels as k;
use taskengine::{Engine, EngineError};

use crate::buffers::{self, Access, Items, ItemsMut};
use crate::errors::{new_err, to_pyerr, utf8_error, IntoPyResult, Kind};
use crate::lease::{Backing, Lease};

/// Array sizes (in items) from which a kernel releases the GIL and runs on the
/// engine: about 10 µs of summing, so the GIL round trip is noise.
pub(crate) const RELEASE_GIL_ITEMS: usize = 1 << 14;
/// Text sizes (in bytes) from which a text kernel releases the GIL.
pub(crate) const RELEASE_GIL_BYTES: usize = 1 << 17;

/// Which engine a call runs on: the `Engine` handle whose method it is (the
/// module-level functions are the methods of the calling context's handle).
#[derive(Clone, Copy)]
pub(crate) struct On<'a>(pub(crate) &'a Backing);

impl On<'_> {
    /// The engine when the call is big enough to use one, else `None` (see
    /// [`Backing::kernel_lease`]).
    fn lease(self, py: Python<'_>, big: bool) -> PyResult<Option<Lease>> {
        self.0.kernel_lease(py, big)
    }

    /// For the scalar kernels, which need no engine: only checks an `Engine`
    /// object is open, so its methods behave alike.
    fn check(self, py: Python<'_>) -> PyResult<()> {
        self.lease(py, false).map(drop)
    }
}

/// Runs `f` without the GIL when `release`, else right here.
fn run<T: Send>(py: Python<'_>, release: bool, f: impl FnOnce() -> T + Send) -> T {
    if release {
        py.detach(f)
    } else {
        f()
    }
}

/// A kernel's numeric result, converted by item type.
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

impl Num {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Num::I(v) => v.into_pyobject(py)?.into_any().unbind(),
            Num::U(v) => v.into_pyobject(py)?.into_any().unbind(),
            Num::F(v) => v.into_pyobject(py)?.into_any().unbind(),
        })
    }
}

// ---- arrays ----------------------------------------------------------------

/// `$par(engine, data)` with an engine, else `$serial(data)`.
macro_rules! either {
    ($engine:expr, $par:path, $serial:path, $data:expr) => {
        match $engine {
            Some(engine) => $par(engine, $data),
            None => $serial($data),
        }
    };
}

/// Pieces of a `u64` reduction on the engine.
const U64_GRAIN: usize = 1 << 16;

/// The exact sum of `u64`s (the kernels have none): 128-bit partial sums cannot
/// overflow for any slice, so only the total is checked.
fn sum_u64(engine: Option<&Engine>, data: &[u64]) -> Result<u64, EngineError> {
    let wide = |s: &[u64]| s.iter().map(|&x| u128::from(x)).sum::<u128>();
    let total = match engine {
        Some(e) => e.parallel_reduce(0..data.len(), U64_GRAIN, || 0, |r| wide(&data[r]), |a, b| a + b)?,
        None => wide(data),
    };
    u64::try_from(total).map_err(|_| EngineError::Overflow)
}

/// The largest (`max`) or smallest `u64`; `Invalid` when empty, like the kernels.
fn extremum_u64(engine: Option<&Engine>, data: &[u64], max: bool) -> Result<u64, EngineError> {
    let pick = move |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(x), Some(y)) => Some(if max { x.max(y) } else { x.min(y) }),
        (x, y) => x.or(y),
    };
    let piece = move |s: &[u64]| if max { s.iter().copied().max() } else { s.iter().copied().min() };
    let best = match engine {
        Some(e) => e.parallel_reduce(0..data.len(), U64_GRAIN, || None, |r| piece(&data[r]), pick)?,
        None => piece(data),
    };
    best.ok_or_else(|| EngineError::invalid(format!("{}() of an empty buffer", if max { "max" } else { "min" })))
}

pub(crate) fn sum(py: Python<'_>, on: On<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let array = buffers::array(py, "sum", data, Access::Read)?;
    let big = array.len() >= RELEASE_GIL_ITEMS;
    let lease = on.lease(py, big)?;
    let engine = lease.as_deref();
    if let Items::Other = array.items() {
        return Err(reduction_dtype_error(py, "sum", array.dtype));
    }
    let result = run(py, big, || match array.items() {
        Items::I64(s) => either!(engine, k::par_sum_i64, k::sum_i64, s).map(Num::I),
        Items::U64(s) => sum_u64(engine, s).map(Num::U),
        Items::F64(s) => either!(engine, k::par_sum_f64, k::sum_f64, s).map(Num::F),
        Items::I32(s) => either!(engine, k::par_sum_i32, k::sum_i32, s).map(Num::I),
        Items::U32(s) => either!(engine, k::par_sum_u32, k::sum_u32, s).map(Num::U),
        Items::F32(s) => either!(engine, k::par_sum_f32, k::sum_f32, s).map(Num::F),
        Items::Other => unreachable!("refused above"),
    });
    match result {
        Ok(num) => num.into_py(py),
        Err(EngineError::Overflow) => {
            let (ty, range) = match array.dtype {
                buffers::DType::U64 => ("uint64", "uint64"),
                buffers::DType::U32 => ("uint32", "uint64"),
                buffers::DType::I32 => ("int32", "int64"),
                _ => ("int64", "int64"),
            };
            Err(new_err(
                py,
                Kind::Overflow,
                format!(
                    "sum() of {ty} items overflowed the {range} range (the exact sum is computed; it does not fit)"
                ),
            ))
        }
        Err(err) => Err(to_pyerr(py, err)),
    }
}

pub(crate) fn extremum(py: Python<'_>, on: On<'_>, data: &Bound<'_, PyAny>, max: bool) -> PyResult<Py<PyAny>> {
    let name = if max { "max" } else { "min" };
    let array = buffers::array(py, name, data, Access::Read)?;
    let big = array.len() >= RELEASE_GIL_ITEMS;
    let lease = on.lease(py, big)?;
    let engine = lease.as_deref();
    if let Items::Other = array.items() {
        return Err(reduction_dtype_error(py, name, array.dtype));
    }
    let result = run(py, big, || match (array.items(), max) {
        (Items::I64(s), true) => either!(engine, k::par_max_i64, k::max_i64, s).map(Num::I),
        (Items::I64(s), false) => either!(engine, k::par_min_i64, k::min_i64, s).map(Num::I),
        (Items::U64(s), _) => extremum_u64(engine, s, max).map(Num::U),
        (Items::F64(s), true) => either!(engine, k::par_max_f64, k::max_f64, s).map(Num::F),
        (Items::F64(s), false) => either!(engine, k::par_min_f64, k::min_f64, s).map(Num::F),
        (Items::I32(s), true) => either!(engine, k::par_max_i32, k::max_i32, s).map(|v| Num::I(v.into())),
        (Items::I32(s), false) => either!(engine, k::par_min_i32, k::min_i32, s).map(|v| Num::I(v.into())),
        (Items::U32(s), true) => either!(engine, k::par_max_u32, k::max_u32, s).map(|v| Num::U(v.into())),
        (Items::U32(s), false) => either!(engine, k::par_min_u32, k::min_u32, s).map(|v| Num::U(v.into())),
        (Items::F32(s), true) => either!(engine, k::par_max_f32, k::max_f32, s).map(|v| Num::F(v.into())),
        (Items::F32(s), false) => either!(engine, k::par_min_f32, k::min_f32, s).map(|v| Num::F(v.into())),
        (Items::Other, _) => unreachable!("refused above"),
    });
    match result {
        Ok(num) => num.into_py(py),
        Err(EngineError::Invalid(_)) if array.len() == 0 => {
            Err(new_err(py, Kind::InvalidArgument, format!("{name}() of an empty buffer")))
        }
        Err(err) => Err(to_pyerr(py, err)),
    }
}

pub(crate) fn sort(py: Python<'_>, on: On<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
    let mut array = buffers::array(py, "sort", data, Access::Write)?;
    let big = array.len() >= RELEASE_GIL_ITEMS;
    let lease = on.lease(py, big)?;
    let engine = lease.as_deref();
    let result = run(py, big, || match array.items_mut() {
        ItemsMut::I64(s) => either!(engine, k::par_sort_i64, k::sort_i64, s),
        ItemsMut::U64(s) => either!(engine, k::par_sort_u64, k::sort_u64, s),
        ItemsMut::F64(s) => either!(engine, k::par_sort_f64, k::sort_f64, s),
        ItemsMut::I32(s) => either!(engine, k::par_sort_i32, k::sort_i32, s),
        ItemsMut::U32(s) => either!(engine, k::par_sort_u32, k::sort_u32, s),
        ItemsMut::F32(s) => either!(engine, k::par_sort_f32, k::sort_f32, s),
        ItemsMut::I16(s) => either!(engine, k::par_sort_i16, k::sort_i16, s),
        ItemsMut::U16(s) => either!(engine, k::par_sort_u16, k::sort_u16, s),
        ItemsMut::I8(s) => either!(engine, k::par_sort_i8, k::sort_i8, s),
        ItemsMut::U8(s) => either!(engine, k::par_sort_u8, k::sort_u8, s),
    });
    result.py_err(py)
}

/// `sorted(data)`: a sorted copy, as `np.sort` gives, of the same kind as
/// `data` (see `taskengine._sorted`); the input may be read-only or strided.
pub(crate) fn sorted<'py>(py: Python<'py>, on: On<'_>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let helper = py.import("taskengine._sorted")?;
    let (work, finish) =
        helper.call_method1("writable_copy", (data,))?.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?;
    sort(py, on, &work)?;
    if finish.is_none() {
        Ok(work)
    } else {
        finish.call1((work,))
    }
}

/// `sum`/`min`/`max` of an item type only `sort` takes.
fn reduction_dtype_error(py: Python<'_>, func: &str, dtype: buffers::DType) -> PyErr {
    new_err(
        py,
        Kind::DType,
        format!(
            "{func}() does not take {} items (only int64, uint64, float64, int32, uint32 or float32); \
             a.astype('int64') widens them",
            dtype.name()
        ),
    )
}

// ---- integers --------------------------------------------------------------

/// An integer argument as Python gave it: its value when it fits an `i128`,
/// else only its sign (`factorial(2**70)` must say what the limit is, not
/// report a failed conversion).
enum IntArg {
    Fits(i128),
    TooLarge { negative: bool },
}

fn int_arg(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<IntArg> {
    match obj.extract::<i128>() {
        Ok(v) => Ok(IntArg::Fits(v)),
        Err(err) if err.is_instance_of::<PyOverflowError>(py) => Ok(IntArg::TooLarge { negative: obj.lt(0)? }),
        Err(err) => Err(err),
    }
}

/// `factorial(n)` / `fibonacci(n)`: negative is a `ValueError` as in
/// `math.factorial`; above `limit` the result does not fit in 64 bits.
fn counted(
    py: Python<'_>,
    func: &str,
    limit: u32,
    n: &Bound<'_, PyAny>,
    kernel: fn(u32) -> Result<u64, EngineError>,
) -> PyResult<u64> {
    let too_large = |shown: String| {
        new_err(py, Kind::Overflow, format!("{func}({shown}) does not fit in 64 bits: n must be <= {limit}"))
    };
    match int_arg(py, n)? {
        IntArg::Fits(v) if v < 0 => {
            Err(new_err(py, Kind::InvalidArgument, format!("{func}() not defined for negative values")))
        }
        IntArg::TooLarge { negative: true } => {
            Err(new_err(py, Kind::InvalidArgument, format!("{func}() not defined for negative values")))
        }
        IntArg::Fits(v) => match u32::try_from(v) {
            Ok(v) => kernel(v).map_err(|err| match err {
                EngineError::Overflow => too_large(v.to_string()),
                other => to_pyerr(py, other),
            }),
            Err(_) => Err(too_large(v.to_string())),
        },
        IntArg::TooLarge { negative: false } => Err(too_large("n".to_string())),
    }
}

/// A `gcd`/`lcm` argument: its absolute value, as `math.gcd` takes it; it must
/// fit in 64 bits.
fn magnitude(py: Python<'_>, func: &str, v: &Bound<'_, PyAny>) -> PyResult<u64> {
    let fits = match int_arg(py, v)? {
        IntArg::Fits(v) => u64::try_from(v.unsigned_abs()).ok(),
        IntArg::TooLarge { .. } => None,
    };
    fits.ok_or_else(|| new_err(py, Kind::Overflow, format!("{func}() arguments must fit in 64 bits (|x| < 2**64)")))
}

pub(crate) fn factorial(py: Python<'_>, on: On<'_>, n: &Bound<'_, PyAny>) -> PyResult<u64> {
    on.check(py)?;
    counted(py, "factorial", 20, n, k::factorial)
}

pub(crate) fn fibonacci(py: Python<'_>, on: On<'_>, n: &Bound<'_, PyAny>) -> PyResult<u64> {
    on.check(py)?;
    counted(py, "fibonacci", 93, n, k::fibonacci)
}

pub(crate) fn gcd(py: Python<'_>, on: On<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u64> {
    on.check(py)?;
    k::gcd(magnitude(py, "gcd", a)?, magnitude(py, "gcd", b)?).py_err(py)
}

pub(crate) fn lcm(py: Python<'_>, on: On<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<u64> {
    on.check(py)?;
    k::lcm(magnitude(py, "lcm", a)?, magnitude(py, "lcm", b)?).map_err(|err| match err {
        EngineError::Overflow => {
            new_err(py, Kind::Overflow, "lcm() result does not fit in 64 bits (it must be < 2**64)")
        }
        other => to_pyerr(py, other),
    })
}

pub(crate) fn isqrt(py: Python<'_>, on: On<'_>, x: &Bound<'_, PyAny>) -> PyResult<u64> {
    on.check(py)?;
    let x = match int_arg(py, x)? {
        IntArg::Fits(v) if v < 0 => None,
        IntArg::TooLarge { negative: true } => None,
        IntArg::Fits(v) => Some(u64::try_from(v).ok()),
        IntArg::TooLarge { negative: false } => Some(None),
    };
    match x {
        None => Err(new_err(py, Kind::InvalidArgument, "isqrt() argument must be nonnegative")),
        Some(None) => Err(new_err(py, Kind::Overflow, "isqrt() argument must be < 2**64")),
        Some(Some(x)) => k::isqrt(x).py_err(py),
    }
}

// ---- text ------------------------------------------------------------------

/// Text input: a `str` (its UTF-8, cached by CPython) or any bytes-like object.
enum Text<'py> {
    Str(&'py str),
    Bytes(buffers::Bytes),
}

impl Text<'_> {
    fn get<'py>(py: Python<'py>, func: &str, obj: &'py Bound<'py, PyAny>) -> PyResult<Text<'py>> {
        match obj.cast::<PyString>() {
            Ok(s) => Ok(Text::Str(s.to_str()?)),
            Err(_) => Ok(Text::Bytes(buffers::bytes(py, func, obj)?)),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Str(s) => s.as_bytes(),
            Text::Bytes(b) => b.as_slice(),
        }
    }
}

/// Maps a text kernel's error; a UTF-8 error points into `obj`.
fn text_error(py: Python<'_>, obj: &Bound<'_, PyAny>, input: &[u8], err: EngineError) -> PyErr {
    match err {
        EngineError::Utf8 { valid_up_to } => utf8_error(py, obj, input, valid_up_to),
        other => to_pyerr(py, other),
    }
}

/// Runs a `&[u8] -> String` text kernel and returns `str` for `str` input and
/// `bytes` for bytes-like input.
fn transform<'py>(
    py: Python<'py>,
    on: On<'_>,
    func: &str,
    obj: &Bound<'py, PyAny>,
    kernel: fn(&[u8]) -> Result<String, EngineError>,
) -> PyResult<Bound<'py, PyAny>> {
    on.check(py)?;
    let text = Text::get(py, func, obj)?;
    let input = text.as_bytes();
    let out =
        run(py, input.len() >= RELEASE_GIL_BYTES, || kernel(input)).map_err(|err| text_error(py, obj, input, err))?;
    Ok(match text {
        Text::Str(_) => PyString::new(py, &out).into_any(),
        Text::Bytes(_) => PyBytes::new(py, out.as_bytes()).into_any(),
    })
}

pub(crate) fn reverse<'py>(py: Python<'py>, on: On<'_>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    transform(py, on, "reverse", obj, k::utf8_reverse_string)
}

pub(crate) fn upper<'py>(py: Python<'py>, on: On<'_>, obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    transform(py, on, "upper", obj, k::upper_string)
}

pub(crate) fn fnv1a64(py: Python<'_>, on: On<'_>, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    on.check(py)?;
    let text = Text::get(py, "fnv1a64", obj)?;
    let input = text.as_bytes();
    run(py, input.len() >= RELEASE_GIL_BYTES, || k::fnv1a64(input)).py_err(py)
}
