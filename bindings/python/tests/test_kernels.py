"""The kernels against numpy and the standard library; their argument checks."""

from __future__ import annotations

import array
import math
import random
import sys
import threading
import time
import unicodedata

import numpy as np
import pytest

import taskengine
from taskengine import _native

# Sizes on both sides of the GIL-release threshold and of the kernels' own
# serial/parallel switches.
SIZES = [0, 1, 2, 7, 1000, 16_383, 16_384, 100_000, 300_001]


@pytest.fixture(params=["module", "engine"])
def te(request, engine):
    """The module-level functions, or the same names on an Engine of one's own."""
    return taskengine if request.param == "module" else engine


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- sum ------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
def test_sum_int64_is_exact(te, n):
    data = rng(n).integers(-(2**40), 2**40, n, dtype=np.int64)
    assert te.sum(data) == sum(int(x) for x in data)
    assert type(te.sum(data)) is int


@pytest.mark.parametrize("n", SIZES)
def test_sum_uint64_is_exact(te, n):
    data = rng(n).integers(0, 2**44, n, dtype=np.uint64)
    assert te.sum(data) == sum(int(x) for x in data)


@pytest.mark.parametrize("n", SIZES)
def test_sum_float64_matches_fsum(te, n):
    data = rng(n).standard_normal(n) * 1e3
    assert te.sum(data) == pytest.approx(math.fsum(data.tolist()), rel=1e-12, abs=1e-9)
    assert type(te.sum(data)) is float


def test_sum_float64_is_compensated(te):
    # Naive left-to-right summation loses the small terms entirely.
    data = np.array([1e16] + [1.0] * 100_000 + [-1e16])
    assert te.sum(data) == math.fsum(data.tolist()) == 100_000.0


def test_sum_of_empty_is_zero(te):
    assert te.sum(np.array([], dtype=np.int64)) == 0
    result = te.sum(np.array([], dtype=np.float64))
    assert result == 0.0 and math.copysign(1.0, result) == 1.0


def test_sum_int64_overflow(te):
    big = np.full(3, 2**62, dtype=np.int64)
    with pytest.raises(OverflowError) as info:
        te.sum(big)
    assert isinstance(info.value, taskengine.ArithmeticOverflowError)
    # A big one that overflows on the way but not at the end is fine.
    data = np.array([2**62, 2**62, -(2**62), -(2**62), 5], dtype=np.int64)
    assert te.sum(data) == 5
    large = np.full(200_000, 2**40, dtype=np.int64)
    assert te.sum(large) == 200_000 * 2**40
    with pytest.raises(OverflowError):
        te.sum(np.full(200_000, 2**62, dtype=np.int64))


def test_sum_uint64_overflow(te):
    with pytest.raises(taskengine.ArithmeticOverflowError):
        te.sum(np.array([2**63, 2**63], dtype=np.uint64))
    assert te.sum(np.array([2**63, 2**63 - 1], dtype=np.uint64)) == 2**64 - 1
    with pytest.raises(OverflowError):
        te.sum(np.full(100_000, 2**60, dtype=np.uint64))


def test_sum_of_a_multidimensional_array_is_over_all_items(te):
    data = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    assert te.sum(data) == 276


# ---- max / min --------------------------------------------------------------


@pytest.mark.parametrize("n", [s for s in SIZES if s])
@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.float64])
def test_max_and_min_match_numpy(te, n, dtype):
    if dtype == np.float64:
        data = rng(n).standard_normal(n)
    else:
        info = np.iinfo(dtype)
        data = rng(n).integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    assert te.max(data) == data.max()
    assert te.min(data) == data.min()
    assert type(te.max(data)) is (float if dtype == np.float64 else int)


def test_max_min_of_empty_is_a_value_error(te):
    for dtype in (np.int64, np.uint64, np.float64):
        with pytest.raises(ValueError):
            te.max(np.array([], dtype=dtype))
        with pytest.raises(taskengine.InvalidArgumentError):
            te.min(np.array([], dtype=dtype))


def test_max_min_ignore_nan(te):
    data = np.array([1.0, np.nan, 3.0, -2.0])
    assert te.max(data) == 3.0 and te.min(data) == -2.0
    assert math.isnan(te.max(np.array([np.nan, np.nan])))


# ---- sort -------------------------------------------------------------------


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_sort_integers_matches_np_sort(te, n, dtype):
    info = np.iinfo(dtype)
    data = rng(n).integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    expected = np.sort(data)
    te.sort(data)
    assert np.array_equal(data, expected)


@pytest.mark.parametrize("n", SIZES)
def test_sort_float64_matches_np_sort_nans_last(te, n):
    data = rng(n).standard_normal(n)
    if n > 10:
        data[:: n // 5] = np.nan
        data[1] = -np.inf
        data[2] = np.inf
    expected = np.sort(data)  # numpy puts NaNs last too
    te.sort(data)
    assert np.array_equal(data, expected, equal_nan=True)


def test_sort_signed_zeros_and_extremes(te):
    data = np.array([0.0, -0.0, 5e-324, -5e-324, 1.7976931348623157e308, -np.inf])
    te.sort(data)
    assert data.tolist() == [-np.inf, -5e-324, -0.0, 0.0, 5e-324, 1.7976931348623157e308]
    assert math.copysign(1.0, data[2]) == -1.0
    ints = np.array([2**63 - 1, -(2**63), 0, -1], dtype=np.int64)
    te.sort(ints)
    assert ints.tolist() == [-(2**63), -1, 0, 2**63 - 1]


def test_sort_many_duplicates(te):
    data = rng(3).integers(0, 4, 200_000, dtype=np.int64)
    expected = np.sort(data)
    te.sort(data)
    assert np.array_equal(data, expected)


def test_sort_works_in_place_without_copying(te):
    base = rng(4).integers(-100, 100, 50_000, dtype=np.int64)
    view = base[10_000:40_000]  # a contiguous view into a larger array
    expected_middle = np.sort(base[10_000:40_000])
    head, tail = base[:10_000].copy(), base[40_000:].copy()
    te.sort(view)
    assert np.array_equal(base[10_000:40_000], expected_middle)
    assert np.array_equal(base[:10_000], head) and np.array_equal(base[40_000:], tail)


def test_sort_a_memoryview_of_bytearray(te):
    values = [random.Random(5).randrange(-(2**63), 2**63) for _ in range(1000)]
    buf = bytearray(array.array("q", values).tobytes())
    te.sort(memoryview(buf).cast("q"))
    assert array.array("q", bytes(buf)).tolist() == sorted(values)


# ---- other buffer types -----------------------------------------------------


def test_array_array_of_every_8_byte_code(te):
    assert te.sum(array.array("q", [1, -2, 3])) == 2
    assert te.sum(array.array("l", [1, -2, 3])) == 2  # long is 8 bytes on LP64
    assert te.sum(array.array("Q", [2**63, 5])) == 2**63 + 5
    assert te.sum(array.array("d", [0.5, 0.25])) == 0.75
    data = array.array("d", [3.0, 1.0, 2.0])
    te.sort(data)
    assert data.tolist() == [1.0, 2.0, 3.0]


def test_memoryview_casts_and_explicit_byte_order(te):
    raw = array.array("q", [5, 3, 9]).tobytes()
    assert te.max(memoryview(raw).cast("q")) == 9
    assert te.sum(np.array([1, 2], dtype="<i8")) == 3
    assert te.sum(np.array([1, 2], dtype="=u8")) == 3


# ---- argument errors --------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        np.zeros(4, dtype=np.float16),
        np.zeros(4, dtype=np.complex128),
        np.zeros(4, dtype=">i8"),  # 8 bytes, but foreign byte order
        np.zeros(4, dtype=">f4"),
        np.zeros(4, dtype=bool),
        array.array("u", "ab"),
    ],
    ids=lambda d: str(getattr(d, "dtype", type(d).__name__)),
)
def test_wrong_item_type_is_a_type_error(te, data):
    for func in (te.sum, te.max, te.min, te.sort, te.sorted):
        with pytest.raises(TypeError) as info:
            func(data)
        assert isinstance(info.value, taskengine.DTypeError)


@pytest.mark.parametrize(
    "data",
    [
        np.zeros(4, dtype=np.int8),
        np.zeros(4, dtype=np.uint16),
        bytearray(16),
    ],
    ids=lambda d: str(getattr(d, "dtype", type(d).__name__)),
)
def test_small_integers_sort_but_do_not_reduce(te, data):
    for func in (te.sum, te.max, te.min):
        with pytest.raises(taskengine.DTypeError, match=r"does not take u?int(8|16) items"):
            func(data)
    te.sort(data)


@pytest.mark.parametrize("obj", [[1, 2, 3], (1, 2), 5, "123", None, range(3)])
def test_not_a_buffer_is_a_type_error(te, obj):
    with pytest.raises(TypeError):
        te.sum(obj)
    with pytest.raises(TypeError):
        te.sort(obj)


def test_non_contiguous_is_a_value_error(te):
    strided = np.arange(20, dtype=np.int64)[::2]
    fortran = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4))
    for data in (strided, fortran, np.arange(20, dtype=np.int64)[::-1]):
        for func in (te.sum, te.max, te.sort):
            with pytest.raises(ValueError) as info:
                func(data)
            assert isinstance(info.value, taskengine.InvalidArgumentError)


def test_sort_needs_a_writable_buffer(te):
    frozen = np.arange(10, dtype=np.int64)[::-1].copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        te.sort(frozen)
    raw = memoryview(array.array("q", [3, 1, 2]).tobytes()).cast("q")  # over bytes
    with pytest.raises(ValueError):
        te.sort(raw)
    # Reading a read-only buffer is fine.
    assert te.sum(frozen) == 45


def test_sort_needs_one_dimension(te):
    grid = np.arange(12, dtype=np.int64)[::-1].copy().reshape(3, 4)
    with pytest.raises(ValueError, match="one-dimensional"):
        te.sort(grid)
    te.sort(grid.reshape(-1))
    assert grid.reshape(-1).tolist() == list(range(12))


def test_misaligned_buffer_is_a_value_error(te):
    raw = bytearray(8 * 11)
    misaligned = memoryview(raw)[1:81].cast("q")
    with pytest.raises(ValueError, match="aligned"):
        te.sum(misaligned)


# ---- integers ---------------------------------------------------------------


def test_factorial_matches_math(te):
    for n in range(21):
        assert te.factorial(n) == math.factorial(n)
    with pytest.raises(OverflowError) as info:
        te.factorial(21)
    assert isinstance(info.value, taskengine.ArithmeticOverflowError)
    with pytest.raises(OverflowError):
        te.factorial(2**40)
    with pytest.raises(ValueError):
        te.factorial(-1)


def test_fibonacci_matches_the_recurrence(te):
    a, b = 0, 1
    for n in range(94):
        assert te.fibonacci(n) == a
        a, b = b, a + b
    with pytest.raises(OverflowError):
        te.fibonacci(94)
    with pytest.raises(ValueError):
        te.fibonacci(-3)


def test_gcd_and_lcm_match_math(te):
    r = random.Random(7)
    pairs = [(0, 0), (0, 5), (5, 0), (-12, 18), (2**64 - 1, 2**63), (1, 1)]
    pairs += [(r.randrange(2**64), r.randrange(2**64)) for _ in range(500)]
    pairs += [(r.randrange(-(2**32), 2**32), r.randrange(-(2**32), 2**32)) for _ in range(500)]
    for a, b in pairs:
        assert te.gcd(a, b) == math.gcd(a, b)
        expected = math.lcm(a, b)
        if expected < 2**64:
            assert te.lcm(a, b) == expected
        else:
            with pytest.raises(OverflowError):
                te.lcm(a, b)
    with pytest.raises(OverflowError):
        te.gcd(2**64, 1)
    with pytest.raises(TypeError):
        te.gcd(1.5, 2)


def test_isqrt_matches_math(te):
    r = random.Random(8)
    values = [0, 1, 2, 3, 4, 15, 16, 17, 2**32 - 1, 2**32, 2**64 - 1, (2**32 - 1) ** 2, (2**32 - 1) ** 2 - 1]
    values += [r.randrange(2**64) for _ in range(2000)]
    for x in values:
        assert te.isqrt(x) == math.isqrt(x)
    with pytest.raises(ValueError):
        te.isqrt(-1)
    with pytest.raises(OverflowError):
        te.isqrt(2**64)


# ---- text -------------------------------------------------------------------

FNV_VECTORS = {
    b"": 0xCBF29CE484222325,
    b"a": 0xAF63DC4C8601EC8C,
    b"foobar": 0x85944171F73967E8,
}


def fnv1a64_reference(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return h


def test_fnv1a64_published_vectors(te):
    for data, expected in FNV_VECTORS.items():
        assert te.fnv1a64(data) == expected
        assert te.fnv1a64(data.decode()) == expected
        assert te.fnv1a64(bytearray(data)) == expected
        assert te.fnv1a64(memoryview(data)) == expected


def test_fnv1a64_against_a_reference(te):
    r = random.Random(9)
    for n in (1, 7, 100, 1000):
        data = bytes(r.randrange(256) for _ in range(n))
        assert te.fnv1a64(data) == fnv1a64_reference(data)
    text = "héllo, wörld ✓ 🎉"
    assert te.fnv1a64(text) == fnv1a64_reference(text.encode())
    big = np.arange(100_000, dtype=np.int64)  # any buffer: its raw bytes
    assert te.fnv1a64(big) == te.fnv1a64(big.tobytes())
    large = bytes(r.randrange(256) for _ in range(200_000))
    assert te.fnv1a64(large) == fnv1a64_reference(large)


def test_fnv1a64_needs_bytes_or_str(te):
    with pytest.raises(TypeError):
        te.fnv1a64(123)
    with pytest.raises(ValueError):
        te.fnv1a64(memoryview(bytes(20))[::2])


SAMPLES = ["", "a", "hello, world", "héllo wörld", "日本語テキスト", "emoji 🎉👍🏽 mix", "Straße", "ǅungla", "ﬃ"]


def test_reverse_str_by_code_point(te):
    for s in SAMPLES:
        assert te.reverse(s) == s[::-1]
        assert te.reverse(s.encode()) == s[::-1].encode()
    long = "".join(chr(c) for c in range(0x20, 0x3000)) * 30  # > GIL threshold in bytes
    assert te.reverse(long) == long[::-1]
    assert te.reverse(bytearray(b"abc")) == b"cba"
    assert type(te.reverse(bytearray(b"abc"))) is bytes


def test_upper_matches_str_upper(te):
    for s in SAMPLES:
        assert te.upper(s) == s.upper()
        assert te.upper(s.encode()) == s.upper().encode()
    long = "mixed Case ß text " * 20_000
    assert te.upper(long) == long.upper()


def test_upper_every_code_point_python_knows(te):
    # The kernel may know a newer Unicode than this Python: code points
    # unassigned here are skipped, and so are mappings onto code points
    # unassigned here (a lowercase letter that got its capital later).
    def known(s: str) -> bool:
        return all(unicodedata.category(c) != "Cn" for c in s)

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and known(chr(c))]
    text = "".join(chars)
    if te.upper(text) != text.upper():
        different = [c for c in chars if te.upper(c) != c.upper() and known(te.upper(c))]
        assert not different, [f"U+{ord(c):04X}" for c in different[:20]]


def test_invalid_utf8_is_a_unicode_decode_error(te):
    cases = {
        b"ab\xffcd": (2, 3),
        b"\xc3": (0, 1),  # truncated
        b"ok\xed\xa0\x80": (2, 3),  # a surrogate
        b"\xc0\xaf": (0, 1),  # overlong
        b"abc\xf4\x90\x80\x80": (3, 4),  # above U+10FFFF
    }
    for data, (start, end) in cases.items():
        for func in (te.reverse, te.upper):
            with pytest.raises(UnicodeDecodeError) as info:
                func(data)
            err = info.value
            assert isinstance(err, taskengine.Utf8Error)
            assert isinstance(err, ValueError)
            assert err.encoding == "utf-8"
            assert err.object == data
            assert err.start == start, (data, err)
            with pytest.raises(UnicodeDecodeError) as py_err:
                data.decode("utf-8")
            assert py_err.value.start == err.start


def test_text_wrong_types(te):
    with pytest.raises(TypeError):
        te.reverse(5)
    with pytest.raises(TypeError):
        te.upper(["a"])
    with pytest.raises(UnicodeEncodeError):
        te.upper("lone \ud800 surrogate")


# ---- engines ----------------------------------------------------------------


def test_closed_engine_kernels_raise():
    engine = taskengine.Engine(workers=1)
    engine.close()
    with pytest.raises(taskengine.EngineShutdownError):
        engine.sum(np.arange(3, dtype=np.int64))
    with pytest.raises(taskengine.EngineShutdownError):
        engine.sort(np.arange(100_000, dtype=np.int64))
    with pytest.raises(taskengine.EngineShutdownError):
        engine.factorial(3)
    with pytest.raises(taskengine.EngineShutdownError):
        engine.upper("x")


def test_large_kernels_run_on_the_engine():
    with taskengine.Engine(workers=2) as engine:
        before = engine.stats()["injector_pops"]
        data = rng(11).integers(0, 1000, 2_000_000, dtype=np.int64)
        engine.sort(data)
        engine.sum(data)
        # Each call from outside the pool hands its work to the workers.
        assert engine.stats()["injector_pops"] >= before + 2
        assert np.all(data[:-1] <= data[1:])


def test_single_worker_engine_gives_the_same_results():
    data = rng(12).standard_normal(1_000_000)
    with taskengine.Engine(workers=1) as one, taskengine.Engine(workers=2) as two:
        assert one.sum(data) == two.sum(data)  # deterministic for any worker count
        a, b = data.copy(), data.copy()
        one.sort(a)
        two.sort(b)
        assert np.array_equal(a, b)


def test_kernels_inside_executor_calls():
    with taskengine.Executor() as ex:
        arrays = [rng(i).integers(-1000, 1000, 200_000, dtype=np.int64) for i in range(4)]
        sums = list(ex.map(taskengine.sum, arrays))
        assert sums == [int(a.sum()) for a in arrays]
        list(ex.map(taskengine.sort, arrays))
        assert all(np.all(a[:-1] <= a[1:]) for a in arrays)


# ---- the GIL ----------------------------------------------------------------


def count_while(work, switch_interval: float = 0.005) -> int:
    """How far a Python thread counts while `work()` runs on this thread."""
    stop = threading.Event()
    started = threading.Event()
    count = 0

    def counter():
        nonlocal count
        started.set()
        while not stop.is_set():
            count += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    t = threading.Thread(target=counter)
    t.start()
    try:
        started.wait()
        before = count
        work()
        during = count - before
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(old)
    return during


def test_gil_is_released_during_a_large_sort():
    # A C call that kept the GIL would stop the counter for its whole length.
    data = rng(13).integers(-(2**62), 2**62, 5_000_000, dtype=np.int64)
    start = time.perf_counter()
    during = count_while(lambda: taskengine.sort(data))
    elapsed = time.perf_counter() - start
    assert np.all(data[:-1] <= data[1:])
    assert elapsed > 0.02, "the sort was too quick to tell"
    assert during > 10_000, during


def test_gil_is_released_during_large_sums_and_text_kernels():
    data = np.ones(20_000_000, dtype=np.int64)
    text = "abc" * 2_000_000
    with taskengine.Engine(workers=2) as engine:
        assert count_while(lambda: [engine.sum(data) for _ in range(10)]) > 10_000
        assert count_while(lambda: [taskengine.max(data) for _ in range(10)]) > 10_000
        assert count_while(lambda: [taskengine.upper(text) for _ in range(10)]) > 10_000
        assert count_while(lambda: [engine.fnv1a64(text) for _ in range(10)]) > 10_000


def test_small_calls_keep_the_gil():
    # Below the threshold the GIL stays with the caller: with a long switch
    # interval, a few thousand tiny calls finish before the counter gets a turn.
    data = np.arange(8, dtype=np.int64)
    assert count_while(lambda: [taskengine.sum(data) for _ in range(2000)], switch_interval=0.2) < 1000


def test_engine_variants_give_the_same_results():
    data = rng(14).integers(-(2**62), 2**62, 400_000, dtype=np.int64)
    expected = np.sort(data)
    for kwargs in ({"work_stealing": False}, {"metrics": False}, {"spin_budget": 0}, {"queue_capacity": 1}):
        with taskengine.Engine(workers=2, **kwargs) as engine:
            copy = data.copy()
            engine.sort(copy)
            assert np.array_equal(copy, expected), kwargs
            assert engine.sum(data >> 30) == int((data >> 30).sum())


def test_many_python_threads_share_one_engine():
    with taskengine.Engine(workers=2) as engine:
        arrays = [rng(20 + i).integers(-1000, 1000, 150_000, dtype=np.int64) for i in range(8)]
        expected = [np.sort(a) for a in arrays]
        errors = []

        def work(a, e):
            try:
                for _ in range(3):
                    b = a.copy()
                    engine.sort(b)
                    assert np.array_equal(b, e)
                    assert engine.sum(a) == int(a.sum())
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=pair) for pair in zip(arrays, expected)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and not any(t.is_alive() for t in threads)


def test_close_while_other_threads_use_the_engine():
    engine = taskengine.Engine(workers=2)
    data = np.arange(200_000, dtype=np.int64)
    outcomes = []

    def user():
        try:
            while True:
                assert engine.sum(data) == 199_999 * 200_000 // 2
                engine.spawn(int).wait(timeout=30)
        except taskengine.EngineShutdownError:
            outcomes.append("shut down")
        except BaseException as exc:  # reported below
            outcomes.append(exc)

    threads = [threading.Thread(target=user) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    engine.close()
    for t in threads:
        t.join(30)
    assert outcomes == ["shut down"] * 4


def test_small_calls_do_not_start_the_default_engine():
    # A process that only makes small calls never starts worker threads.
    from conftest import run_python

    result = run_python(
        """
        import os, numpy as np, taskengine
        taskengine.factorial(10)
        taskengine.sum(np.arange(8, dtype=np.int64))
        taskengine.upper("small")
        names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
        print(sum(n.startswith("taskengine") for n in names))
        taskengine.sum(np.arange(1_000_000, dtype=np.int64))
        names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
        print(sum(n.startswith("taskengine") for n in names) > 0)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "True"]
