"""No memory growth over many calls (RSS bounded)."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import taskengine

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")

MIB = 1 << 20


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def growth(calls, rounds: int) -> int:
    """RSS growth over `rounds` rounds of `calls()`, after a warm-up that lets
    allocators and caches reach their steady size."""
    for _ in range(rounds // 10):
        calls()
    before = rss()
    for _ in range(rounds):
        calls()
    return rss() - before


def test_kernel_calls_do_not_leak():
    small = np.arange(8, dtype=np.int64)
    floats = np.linspace(0, 1, 8)
    unsorted = np.arange(64, dtype=np.uint64)[::-1].copy()
    wrong = np.zeros(4, dtype=np.complex64)
    strided = np.arange(16, dtype=np.int64)[::2]
    with taskengine.Engine(workers=2) as engine:

        def calls():
            taskengine.sum(small)
            engine.max(floats)
            taskengine.sort(unsorted)
            taskengine.factorial(10)
            engine.gcd(12, 18)
            taskengine.fnv1a64(b"hello")
            taskengine.reverse("héllo")
            engine.upper(b"abc")
            for bad, exc in ((wrong, TypeError), (strided, ValueError)):
                try:
                    taskengine.sum(bad)
                except exc:
                    pass
            try:
                taskengine.reverse(b"\xff")
            except UnicodeDecodeError:
                pass
            try:
                taskengine.factorial(30)
            except OverflowError:
                pass

        assert growth(calls, 100_000) < 8 * MIB


def test_large_kernel_calls_do_not_leak():
    data = np.arange(200_000, dtype=np.int64)
    text = "x" * 300_000

    def calls():
        taskengine.sum(data)
        taskengine.sort(data)
        taskengine.upper(text)

    assert growth(calls, 1_000) < 8 * MIB


def test_spawn_and_wait_do_not_leak():
    with taskengine.Engine(workers=2) as engine:

        def fail():
            raise ValueError("x")

        def calls():
            engine.spawn(abs, -1).wait()
            try:
                engine.spawn(fail).wait()
            except ValueError:
                pass
            engine.spawn(int)  # never waited on

        assert growth(calls, 50_000) < 8 * MIB


def test_executor_does_not_leak():
    with taskengine.Executor() as ex:

        def calls():
            ex.submit(abs, -1).result()

        assert growth(calls, 30_000) < 8 * MIB
