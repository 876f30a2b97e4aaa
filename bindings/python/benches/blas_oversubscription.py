"""numpy's OpenBLAS on the engine's workers vs on its own threads, in one run
(`make bench-openblas`).

- k outer tasks (k = 1, 2, 4, 8) on an engine with one worker per CPU, each
  multiplying 1000x1000 float64 matrices (numpy.matmul) a few times: wall time,
  and the threads of the process (``/proc/self/task``: the peak alive, and the
  peak running at once, sampled every 2 ms);
- one large product (4000x4000) from the main thread.

Three ways: OpenBLAS's own threads; the adapter (``taskengine.blas``, with its
budget of one BLAS job per worker at a time); the adapter without the budget
(every call's team runs at once: the oversubscribing alternative). Times are the
median of the repeats; ratios are own-threads time over ours (> 1: faster).
Nothing here is a pass/fail test.

    python bindings/python/benches/blas_oversubscription.py [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

import taskengine
import taskengine.blas as blas

QUICK = "--quick" in sys.argv
REPEATS = 3 if QUICK else 5
PER_TASK = 2 if QUICK else 4
LARGE = 2000 if QUICK else 4000


def _threads() -> tuple[int, int]:
    """(alive, running) threads of this process, from /proc/self/task."""
    alive = running = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        alive += 1
        running += state == "R"
    return alive, running


class _Sampler:
    """Peak thread counts while a block runs."""

    def __init__(self) -> None:
        self.alive = 0
        self.running = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            alive, running = _threads()
            self.alive = max(self.alive, alive)
            self.running = max(self.running, running - 1)  # not the sampler itself
            time.sleep(0.002)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _mode(mode: str, engine: taskengine.Engine) -> Iterator[None]:
    if mode == "own threads":
        yield
        return
    blas.attach(engine)
    if mode == "adapter, no budget":
        blas.set_max_threads(1 << 20)
    try:
        yield
    finally:
        blas.set_max_threads(0)
        blas.detach()


def _measure(run: Callable[[], None]) -> tuple[float, int, int]:
    times, alive, running = [], 0, 0
    for _ in range(REPEATS):
        with _Sampler() as s:
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        alive, running = max(alive, s.alive), max(running, s.running)
    return statistics.median(times), alive, running


def main() -> None:
    cpus = os.cpu_count() or 1
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((1000, 1000)), rng.standard_normal((1000, 1000))
    big_a, big_b = rng.standard_normal((LARGE, LARGE)), rng.standard_normal((LARGE, LARGE))
    modes = ["own threads", "adapter", "adapter, no budget"]
    print(f"numpy {np.__version__}; {blas_config()}; {cpus} CPUs; engine workers = {cpus}")
    print(f"median of {REPEATS}; each outer task does {PER_TASK} matmuls of 1000x1000")
    print(f"{'workload':<26}{'mode':<22}{'time s':>9}{'ratio':>7}{'alive':>7}{'running':>9}")
    with taskengine.Engine(workers=cpus) as engine:

        def outer(k: int) -> Callable[[], None]:
            def task() -> None:
                for _ in range(PER_TASK):
                    np.matmul(a, b)

            def run() -> None:
                for t in [engine.spawn(task) for _ in range(k)]:
                    t.wait()

            return run

        def large() -> None:
            np.matmul(big_a, big_b)

        rows: list[tuple[str, Callable[[], None]]] = [(f"{k} tasks x matmul 1000", outer(k)) for k in (1, 2, 4, 8)]
        rows.append((f"one matmul {LARGE}", large))
        for name, run in rows:
            base = 0.0
            for mode in modes:
                with _mode(mode, engine):
                    run()  # warm up (team threads, OpenBLAS buffers)
                    seconds, alive, running = _measure(run)
                if mode == "own threads":
                    base = seconds
                print(f"{name:<26}{mode:<22}{seconds:>9.3f}{base / seconds:>7.2f}{alive:>7}{running:>9}", flush=True)
    print("targets: adapter never slower than own threads (ratio >= 1), faster under nesting;")
    print("         one large matmul within 1.05x of own threads (ratio >= 0.95)")


def blas_config() -> str:
    with blas.attached():
        libs = blas.libraries()
    return libs[0]["config"] if libs else "no OpenBLAS"


if __name__ == "__main__":
    main()
