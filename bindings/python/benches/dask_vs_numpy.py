"""Dask on a local cluster: sum and sort of int64 with taskengine chunk kernels
against the same graphs with numpy's chunk functions, on the same cluster in
the same run (2 worker processes x 1 thread, loopback, EnginePlugin on).

    python bindings/python/benches/dask_vs_numpy.py [--n 2e8] [--chunks 16] [--runs 3]

The data is made and kept on the workers (persist), so neither the transfer
from the client nor its generation is timed. Sum: ``taskengine.dask.sum``
against ``x.sum()`` (dask's own, np.sum per chunk). Sort: the same regular-
sampling sort, with ``taskengine.sort`` or ``np.sort`` on the chunks and
buckets, persisted on the workers. Each time is the median of ``--runs``; the
ratio is numpy's median over taskengine's (above 1: taskengine faster).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from typing import Any, Callable

import dask.array as da
import distributed
import numpy as np

import taskengine.dask as ted
from taskengine.dask import _sample_sort

# dask and distributed are only partly typed.
_da: Any = da
_dist: Any = distributed


# numpy's default sort (introsort, vectorised where the CPU allows), as numpy
# users write it.
def np_sort_block(block: Any) -> np.ndarray[Any, Any]:
    return np.sort(np.asarray(block))


def np_sort_bucket(*runs: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.concatenate(runs)
    out.sort()
    return out


def same(block: Any, run: int) -> Any:
    return block


def relabelled(x: Any, run: int) -> Any:
    # The same blocks under new keys (one trivial task per block): otherwise a
    # run would find the previous run's results, same keys, still in memory.
    return x.map_blocks(same, run, dtype=x.dtype, meta=np.empty(0, dtype=x.dtype))


def timed(fn: Callable[[int], Any], runs: int) -> tuple[float, Any]:
    times = []
    result = None
    for run in range(runs):
        result = None  # let the previous run's result go first
        t0 = time.perf_counter()
        result = fn(run)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def persisted(client: Any, arr: Any) -> Any:
    out = client.persist(arr)
    _dist.wait(out)
    return out


def check_sorted(client: Any, y: Any, n: int, total: int) -> None:
    # On the workers: every bucket sorted, and the buckets in order.
    def edges(block: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        ok = bool(np.all(block[:-1] <= block[1:]))
        lo, hi = (block[0], block[-1]) if len(block) else (0, 0)
        return np.array([[len(block), ok, lo, hi]], dtype=np.int64)

    rows = _da.map_blocks(edges, y, dtype=np.int64, chunks=((1,) * y.numblocks[0], (4,)), new_axis=1).compute()
    assert rows[:, 0].sum() == n and rows[:, 1].all(), "a bucket is not sorted"
    filled = rows[rows[:, 0] > 0]
    assert np.all(filled[:-1, 3] <= filled[1:, 2]), "buckets out of order"
    assert int(_da.compute(ted.sum(y))[0]) == total, "items lost or changed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=float, default=2e8, help="int64 items (default 2e8 = 1.6 GB)")
    parser.add_argument("--chunks", type=int, default=16, help="chunks of the array (default 16)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure; the median is reported")
    args = parser.parse_args()
    n = int(args.n)
    with _dist.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address="127.0.0.1:0",  # loopback, any free port
        silence_logs=logging.ERROR,
    ) as cluster, _dist.Client(cluster) as client:
        client.register_plugin(ted.EnginePlugin())
        engines = [info["workers"] for info in client.run(ted.engine_info).values()]
        rng = _da.random.default_rng(2026)
        # Within +-2^35: no partial sum of 2e8 items overflows int64 (the check sums them).
        x = persisted(client, rng.integers(-(1 << 35), 1 << 35, size=n, chunks=-(-n // args.chunks), dtype=np.int64))
        print(f"{n:,} int64 ({n * 8 / 1e9:.1f} GB) in {x.numblocks[0]} chunks on 2 workers x 1 thread "
              f"(engines of {engines} workers); medians of {args.runs}; a loaded machine gives noisy times")

        t_te, s_te = timed(lambda run: int(_da.compute(ted.sum(relabelled(x, run)))[0]), args.runs)
        t_np, s_np = timed(lambda run: int(relabelled(x, run).sum().compute()), args.runs)
        assert s_te == s_np, (s_te, s_np)
        print(f"sum   taskengine {t_te:8.3f} s   numpy {t_np:8.3f} s   numpy/taskengine {t_np / t_te:5.2f}")

        def te_sort(run: int) -> Any:
            return persisted(client, ted.sort(relabelled(x, run)))

        def np_sort(run: int) -> Any:
            return persisted(client, _sample_sort(relabelled(x, run), None, 128, np_sort_block, np_sort_bucket))

        t_te, y_te = timed(te_sort, args.runs)
        t_np, y_np = timed(np_sort, args.runs)
        print(f"sort  taskengine {t_te:8.3f} s   numpy {t_np:8.3f} s   numpy/taskengine {t_np / t_te:5.2f}")
        check_sorted(client, y_te, n, s_te)
        check_sorted(client, y_np, n, s_te)
        print("both sorts checked: buckets sorted and in order, same count and sum as the input")


if __name__ == "__main__":
    main()
