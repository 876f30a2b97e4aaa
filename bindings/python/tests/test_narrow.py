"""int32/uint32/float32 (sum, min, max, sort) and int16/uint16/int8/uint8 (sort)
against numpy and the standard library; ``sorted``, the copy form of ``sort``."""

from __future__ import annotations

import array
import math

import numpy as np
import pytest

import taskengine

SIZES = [0, 1, 2, 191, 16_384, 100_000, 300_001]
SORT_TYPES = [np.int32, np.uint32, np.int16, np.uint16, np.int8, np.uint8]


@pytest.fixture(params=["module", "engine"])
def te(request, engine):
    return taskengine if request.param == "module" else engine


def random_ints(dtype, n, seed):
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, n, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("dtype", SORT_TYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", SIZES)
def test_integer_sort_matches_numpy(te, dtype, n):
    data = random_ints(dtype, n, n)
    want = np.sort(data, kind="stable")
    copy = te.sorted(data)
    assert copy.dtype == data.dtype and np.array_equal(copy, want)
    te.sort(data)
    assert np.array_equal(data, want)


def float_key(bits: int) -> tuple[int, int]:
    """The documented order, written from a float32's IEEE bits: numbers
    ascending (-0.0 before +0.0), then positive NaNs, then negative NaNs."""
    negative = bits >> 31
    if bits & 0x7FFFFFFF > 0x7F800000:
        return (2 if negative else 1, (~bits & 0xFFFFFFFF) if negative else bits)
    return (0, (~bits & 0xFFFFFFFF) if negative else bits | 0x80000000)


def test_float32_sort_order_and_bits(te):
    rng = np.random.default_rng(7)
    specials = np.array(
        [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, np.finfo(np.float32).tiny], dtype=np.float32
    )
    data = np.concatenate([specials, rng.standard_normal(1000).astype(np.float32), specials])
    data = np.concatenate([data, np.frombuffer(rng.bytes(4 * 2000), dtype=np.float32)])
    # Bits, not Python floats: converting may change a NaN's payload.
    want = sorted(data.view(np.uint32).tolist(), key=float_key)
    got = te.sorted(data)
    assert got.view(np.uint32).tolist() == want
    big = rng.standard_normal(300_001).astype(np.float32)
    te.sort(big)
    assert np.array_equal(big, np.sort(big))


@pytest.mark.parametrize("n", SIZES)
def test_int_sums_are_exact(te, n):
    i32 = random_ints(np.int32, n, n + 1)
    u32 = random_ints(np.uint32, n, n + 2)
    assert te.sum(i32) == sum(int(x) for x in i32)
    assert te.sum(u32) == sum(int(x) for x in u32)
    assert isinstance(te.sum(i32), int)
    # numpy's own sum of the same data, in exact Python ints.
    assert te.sum(u32) == int(np.sum(u32, dtype=object))


def test_int_sum_extremes(te):
    lows = np.full(300_001, np.iinfo(np.int32).min, dtype=np.int32)
    highs = np.full(300_001, np.iinfo(np.uint32).max, dtype=np.uint32)
    assert te.sum(lows) == 300_001 * -(2**31)
    assert te.sum(highs) == 300_001 * (2**32 - 1)


@pytest.mark.parametrize("n", SIZES)
def test_float32_sum_is_compensated(te, n):
    data = np.random.default_rng(n).standard_normal(n).astype(np.float32) * np.float32(1e6)
    exact = math.fsum(float(x) for x in data)
    got = te.sum(data)
    assert isinstance(got, float)
    assert got == pytest.approx(exact, rel=1e-15, abs=1e-9)
    # Integers below 2**24 are exact floats: their sum is exact.
    ints = np.random.default_rng(n).integers(-(2**23), 2**23, n).astype(np.float32)
    assert te.sum(ints) == math.fsum(float(x) for x in ints)


def test_float32_sum_policies(te):
    assert te.sum(np.array([1e30, 1.0, -1e30], dtype=np.float32)) == 1.0
    empty = te.sum(np.zeros(0, dtype=np.float32))
    assert empty == 0.0 and math.copysign(1.0, empty) == 1.0
    assert math.isnan(te.sum(np.array([1.0, np.nan], dtype=np.float32)))
    assert math.isnan(te.sum(np.array([np.inf, -np.inf], dtype=np.float32)))
    assert te.sum(np.array([-np.inf, 3.0], dtype=np.float32)) == -math.inf
    big = np.full(100_000, np.finfo(np.float32).max, dtype=np.float32)
    assert te.sum(big) == float(np.finfo(np.float32).max) * 100_000


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.float32], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [1, 2, 16_384, 300_001])
def test_extrema_match_numpy(te, dtype, n):
    if dtype is np.float32:
        data = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        data[:: max(1, n // 7)] = np.nan
        if np.isnan(data).all():
            assert math.isnan(te.min(data))
            return
        want_min, want_max = float(np.nanmin(data)), float(np.nanmax(data))
    else:
        data = random_ints(dtype, n, n)
        want_min, want_max = int(data.min()), int(data.max())
    assert te.min(data) == want_min and te.max(data) == want_max


def test_extrema_edges(te):
    for dtype in (np.int32, np.uint32, np.float32):
        with pytest.raises(ValueError, match=r"min\(\) of an empty buffer"):
            te.min(np.zeros(0, dtype=dtype))
        with pytest.raises(ValueError, match=r"max\(\) of an empty buffer"):
            te.max(np.zeros(0, dtype=dtype))
    i = np.iinfo(np.int32)
    assert te.min(np.array([i.max, i.min], dtype=np.int32)) == i.min
    zeros = np.array([0.0, -0.0, 0.0], dtype=np.float32)
    assert math.copysign(1.0, te.min(zeros)) == -1.0
    assert math.copysign(1.0, te.max(zeros)) == 1.0


def test_layout_rules_are_those_of_the_64_bit_kernels(te):
    strided = np.arange(20, dtype=np.int32)[::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        te.sum(strided)
    with pytest.raises(ValueError, match="C-contiguous"):
        te.sort(strided)
    frozen = np.arange(10, dtype=np.float32)[::-1].copy()
    frozen.flags.writeable = False
    assert te.max(frozen) == 9.0
    with pytest.raises(ValueError, match="read-only"):
        te.sort(frozen)
    # The copy form takes both, and leaves them alone.
    assert np.array_equal(te.sorted(strided), np.sort(strided))
    out = te.sorted(frozen)
    assert np.array_equal(out, np.arange(10, dtype=np.float32)) and out.flags.writeable
    assert frozen[0] == 9.0


def test_sorted_keeps_the_kind_and_leaves_the_input(te):
    a = array.array("i", [3, -1, 2])
    out = te.sorted(a)
    assert type(out) is array.array and out.typecode == "i" and list(out) == [-1, 2, 3]
    assert list(a) == [3, -1, 2]
    assert te.sorted(b"banana") == b"aaabnn"
    ba = bytearray(b"cab")
    out_ba = te.sorted(ba)
    assert type(out_ba) is bytearray and out_ba == b"abc" and ba == b"cab"
    view = memoryview(array.array("h", [5, -5, 0]))
    mv = te.sorted(view)
    assert isinstance(mv, memoryview) and mv.tolist() == [-5, 0, 5]
    assert te.sorted(np.zeros(0, dtype=np.uint8)).size == 0
    with pytest.raises(ValueError, match="one-dimensional"):
        te.sorted(np.zeros((2, 2), dtype=np.int32))


def test_scratch_cache_controls(engine):
    data = np.random.default_rng(3).integers(0, 2**40, 200_000)
    engine.sort(data)
    assert engine.scratch_cached_bytes() >= data.nbytes
    engine.trim_scratch()
    assert engine.scratch_cached_bytes() == 0
    engine.set_scratch_limit(0)
    again = np.random.default_rng(4).integers(0, 2**40, 200_000)
    engine.sort(again)
    assert engine.scratch_cached_bytes() == 0 and np.array_equal(again, np.sort(again))
