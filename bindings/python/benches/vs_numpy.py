"""taskengine against numpy, in one run (`make bench-python`).

- sort of 1e7 int64 (numpy 2.x sorts int64 with SIMD, single-threaded), and
  of 1e7 float32 and int32, also in the copy form (``taskengine.sorted``
  against ``np.sort``);
- sum of 1e8 int64;
- the per-call overhead of tiny calls: factorial(10) beside math.factorial,
  sum of 8 int64 beside np.sum.

Each large measurement is repeated and the best and median times reported; the
ratio is numpy's best time over ours (> 1: taskengine is faster). The targets
are printed next to the ratios; nothing here is a pass/fail test.

    python bindings/python/benches/vs_numpy.py [--quick]
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import time
import timeit
from typing import Callable

import numpy as np

import taskengine

QUICK = "--quick" in sys.argv
SORT_N = 1_000_000 if QUICK else 10_000_000
SUM_N = 10_000_000 if QUICK else 100_000_000
REPEAT = 3 if QUICK else 7


def best_and_median(run: Callable[[], object], prepare: Callable[[], None] | None = None) -> tuple[float, float]:
    times = []
    for _ in range(REPEAT):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def per_call_ns(stmt: Callable[[], object]) -> float:
    timer = timeit.Timer(stmt)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=number)) / number * 1e9


def row(name: str, ours: tuple[float, float], theirs: tuple[float, float], target: float | None) -> None:
    ratio = theirs[0] / ours[0]
    verdict = "" if target is None else f"target >= {target:.1f}x: {'met' if ratio >= target else 'NOT met'}"
    print(
        f"{name:<22} {ours[0] * 1e3:9.1f} {ours[1] * 1e3:9.1f}   {theirs[0] * 1e3:9.1f} {theirs[1] * 1e3:9.1f}"
        f"   {ratio:5.2f}x  {verdict}"
    )


def main() -> None:
    engine = taskengine.default_engine()
    print(f"taskengine {taskengine.__version__}, numpy {np.__version__}, Python {platform.python_version()}")
    print(f"{os.cpu_count()} CPUs, default engine with {engine.workers} workers; load average {os.getloadavg()[0]:.2f}")
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features  # type: ignore[import-not-found]

        print("numpy SIMD:", " ".join(k for k in ("AVX2", "AVX512F", "AVX512_SKX", "AVX512_ICL") if features.get(k)))
    except ImportError:  # a numpy without that (private) table
        pass
    print()
    print(f"{'':<22} {'taskengine ms':>19}   {'numpy ms':>19}   ratio")
    print(f"{'':<22} {'best':>9} {'median':>9}   {'best':>9} {'median':>9}")

    rng = np.random.default_rng(7)

    # Sort: both sides sort a fresh copy in place (ndarray.sort is numpy's
    # in-place sort; np.sort would add a copy to its time).
    source = rng.integers(-(2**62), 2**62, SORT_N, dtype=np.int64)
    work = np.empty_like(source)

    def refill() -> None:
        np.copyto(work, source)

    ours = best_and_median(lambda: taskengine.sort(work), refill)
    assert np.all(work[:-1] <= work[1:])
    theirs = best_and_median(lambda: work.sort(), refill)
    row(f"sort {SORT_N:.0e} int64", ours, theirs, 1.5)

    floats = rng.standard_normal(SORT_N)
    fwork = np.empty_like(floats)
    ours = best_and_median(lambda: taskengine.sort(fwork), lambda: np.copyto(fwork, floats))
    theirs = best_and_median(lambda: fwork.sort(), lambda: np.copyto(fwork, floats))
    row(f"sort {SORT_N:.0e} float64", ours, theirs, None)
    del floats, fwork, source, work

    for name, src in (
        ("float32", rng.standard_normal(SORT_N).astype(np.float32)),
        ("int32", rng.integers(-(2**31), 2**31, SORT_N, dtype=np.int32)),
    ):
        w = np.empty_like(src)
        ours = best_and_median(lambda: taskengine.sort(w), lambda: np.copyto(w, src))
        assert np.all(w[:-1] <= w[1:])
        theirs = best_and_median(lambda: w.sort(), lambda: np.copyto(w, src))
        row(f"sort {SORT_N:.0e} {name}", ours, theirs, 5.0)
        ours = best_and_median(lambda: taskengine.sorted(src))
        theirs = best_and_median(lambda: np.sort(src))
        row(f"sorted {SORT_N:.0e} {name}", ours, theirs, 5.0)
        del w

    # Sum: values small enough that numpy's wrapping sum is also exact.
    big = rng.integers(-(2**20), 2**20, SUM_N, dtype=np.int64)
    assert taskengine.sum(big) == int(big.sum())
    ours = best_and_median(lambda: taskengine.sum(big))
    theirs = best_and_median(lambda: big.sum())
    row(f"sum {SUM_N:.0e} int64", ours, theirs, 1.5)
    del big

    print()
    print("per call (tiny inputs, GIL held)     taskengine      reference")
    eight = np.arange(8, dtype=np.int64)
    print(
        f"  factorial(10)                      {per_call_ns(lambda: taskengine.factorial(10)):8.0f} ns"
        f"   math.factorial {per_call_ns(lambda: math.factorial(10)):6.0f} ns"
    )
    print(
        f"  sum of 8 int64                     {per_call_ns(lambda: taskengine.sum(eight)):8.0f} ns"
        f"   np.sum         {per_call_ns(lambda: np.sum(eight)):6.0f} ns"
    )
    print(
        f"  spawn(int).wait()                  {per_call_ns(lambda: taskengine.spawn(int).wait()):8.0f} ns"
    )
    stats = engine.stats()
    print()
    print(
        f"default engine counters: {stats['stolen']} stolen, {stats['steal_attempts']} steal attempts, "
        f"{stats['sleeps']} sleeps, {stats['injector_pops']} injector pops"
    )


if __name__ == "__main__":
    main()
