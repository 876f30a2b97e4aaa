"""What the errors say: each names the function, the rule and the limit."""

from __future__ import annotations

import math

import numpy as np
import pytest

import taskengine
from conftest import run_python


@pytest.fixture(params=["module", "engine"])
def te(request, engine):
    return taskengine if request.param == "module" else engine


# ---- buffers ----------------------------------------------------------------


@pytest.mark.parametrize("func", ["sum", "max", "min", "sort"])
def test_masked_arrays_are_refused_not_silently_unmasked(te, func):
    data = np.ma.masked_array(np.array([1, 2, 1 << 40], dtype=np.int64), mask=[False, False, True])
    with pytest.raises(TypeError, match=rf"{func}\(\) does not take masked arrays"):
        getattr(te, func)(data)
    assert isinstance(data.mask, np.ndarray) and data.data[2] == 1 << 40  # untouched
    # What the message suggests works, and gives the masked sum numpy gives.
    assert te.sum(data.compressed()) == int(data.sum())


def test_a_0d_array_needs_a_dimension(te):
    with pytest.raises(ValueError, match=r"sum\(\) needs a buffer of at least 1 dimension, got a 0-d ndarray"):
        te.sum(np.array(5, dtype=np.int64))


@pytest.mark.parametrize("dtype", ["datetime64[ns]", "timedelta64[s]"])
def test_datetime_arrays_name_their_dtype(te, dtype):
    data = np.arange(4).astype(dtype)
    with pytest.raises(TypeError, match=rf"sort\(\) does not support the .*{dtype[:2]}.* dtype"):
        te.sort(data)
    # The way out the message gives is real.
    raw = data.view("int64")
    te.sort(raw)
    assert list(raw) == [0, 1, 2, 3]


def test_other_numpy_dtypes_name_their_dtype(te):
    with pytest.raises(TypeError, match=r"sum\(\) needs int64, uint64, float64, int32, uint32 or float32 \(sort also int16, uint16, int8, uint8\) items"):
        te.sum(np.arange(4, dtype=np.complex64))
    with pytest.raises(TypeError, match=r"sum\(\) does not take int16 items"):
        te.sum(np.arange(4, dtype=np.int16))


def test_a_released_memoryview_says_so(te):
    view = memoryview(bytearray(16)).cast("q")
    view.release()
    with pytest.raises(ValueError, match=r"sum\(\) got a released memoryview"):
        te.sum(view)
    raw = memoryview(b"abc")
    raw.release()
    with pytest.raises(ValueError, match=r"fnv1a64\(\) got a released memoryview"):
        te.fnv1a64(raw)


# ---- overflow ---------------------------------------------------------------


def test_overflow_messages_name_function_type_and_limit(te):
    with pytest.raises(OverflowError, match=r"factorial\(21\) does not fit in 64 bits: n must be <= 20"):
        te.factorial(21)
    with pytest.raises(OverflowError, match=r"fibonacci\(94\) does not fit in 64 bits: n must be <= 93"):
        te.fibonacci(94)
    big = np.array([2**62, 2**62], dtype=np.int64)
    with pytest.raises(OverflowError, match=r"sum\(\) of int64 items overflowed the int64 range"):
        te.sum(big)
    with pytest.raises(OverflowError, match=r"sum\(\) of uint64 items overflowed the uint64 range"):
        te.sum(np.array([2**63, 2**63], dtype=np.uint64))
    with pytest.raises(OverflowError, match=r"lcm\(\) result does not fit in 64 bits"):
        te.lcm(2**63, 2**63 - 1)


def test_huge_integer_arguments_get_our_message(te):
    for n in (2**70, 10**100):
        with pytest.raises(taskengine.ArithmeticOverflowError, match=r"factorial\(\w+\) does not fit .* n must be <= 20"):
            te.factorial(n)
        with pytest.raises(taskengine.ArithmeticOverflowError, match=r"n must be <= 93"):
            te.fibonacci(n)
        with pytest.raises(taskengine.ArithmeticOverflowError, match=r"isqrt\(\) argument must be < 2\*\*64"):
            te.isqrt(n)
        with pytest.raises(taskengine.ArithmeticOverflowError, match=r"gcd\(\) arguments must fit in 64 bits"):
            te.gcd(n, 3)
        # Negative ones are outside the domain, as in the math module.
        with pytest.raises(ValueError, match="not defined for negative values"):
            te.factorial(-n)
        with pytest.raises(ValueError, match="must be nonnegative"):
            te.isqrt(-n)
    assert te.isqrt(2**64 - 1) == math.isqrt(2**64 - 1)
    with pytest.raises(taskengine.ArithmeticOverflowError, match=r"isqrt\(\) argument must be < 2\*\*64"):
        te.isqrt(10**40)
    # Objects with __index__ count as integers, floats do not (as in math).
    assert te.factorial(np.int64(5)) == 120
    with pytest.raises(TypeError):
        te.factorial(5.0)


# ---- Engine -----------------------------------------------------------------


def test_engine_workers_zero_is_refused():
    with pytest.raises(ValueError, match=r"workers must be >= 1, got 0 \(None starts one per CPU\)"):
        taskengine.Engine(workers=0)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        taskengine.Engine(workers=-2)


def test_engine_docstring_documents_every_parameter():
    doc = taskengine.Engine.__doc__ or ""
    for name in (
        "workers",
        "queue_capacity",
        "work_stealing",
        "metrics",
        "spin",
        "thread_name_prefix",
        "stack_size",
        "task_pool_capacity",
    ):
        assert f"``{name}``" in doc, name


# ---- panics -----------------------------------------------------------------


def test_a_contained_panic_prints_nothing():
    result = run_python(
        """
        import taskengine
        try:
            taskengine._native._panic("quiet please")
        except taskengine.TaskPanicError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "quiet please" in result.stdout
    assert ".rs:" in result.stdout  # where it happened travels in the exception
    assert result.stderr == "", result.stderr
