"""Statistics over a day of card transactions, generated with numpy.

The amounts (in cents) are summed exactly, ranked by sorting a copy in place
(percentiles and the number of distinct amounts), and checksummed shard by
shard on the Executor: the kernels release the GIL, so the shards hash on all
cores at once. Each step is checked against numpy or the standard library and
timed beside it.

    python examples/python/transactions.py [count]
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TypeVar

import numpy as np

import taskengine

T = TypeVar("T")


def timed(what: str, run: Callable[[], T], reference: Callable[[], object] | None = None) -> T:
    start = time.perf_counter()
    result = run()
    ours = time.perf_counter() - start
    line = f"  {what:<34} {ours * 1e3:8.1f} ms"
    if reference is not None:
        start = time.perf_counter()
        reference()
        theirs = time.perf_counter() - start
        line += f"   numpy {theirs * 1e3:8.1f} ms   ({theirs / ours:4.1f}x)"
    print(line)
    return result


def main(count: int) -> None:
    rng = np.random.default_rng(2024)
    # Log-normal amounts, like real card payments: mostly small, a long tail.
    cents = np.round(rng.lognormal(mean=7.5, sigma=1.2, size=count)).astype(np.int64)
    print(f"{count:,} transactions on {taskengine.default_engine().workers} workers")

    total = timed("total (exact)", lambda: taskengine.sum(cents), lambda: cents.sum())
    assert total == int(cents.sum())
    largest = timed("largest", lambda: taskengine.max(cents), lambda: cents.max())
    smallest = taskengine.min(cents)
    assert (smallest, largest) == (cents.min(), cents.max())

    ranked = cents.copy()
    timed("sort (in place)", lambda: taskengine.sort(ranked), lambda: np.sort(cents))
    assert np.array_equal(ranked, np.sort(cents))
    p50, p90, p99 = (int(ranked[int(q * (count - 1))]) for q in (0.5, 0.9, 0.99))
    distinct = int(np.count_nonzero(np.diff(ranked))) + 1

    # A checksum per shard, the shards hashed in parallel on the Executor.
    shards = np.array_split(ranked, 16)
    with taskengine.Executor() as executor:
        checksums = timed(
            "fnv1a64 of 16 shards (Executor)",
            lambda: list(executor.map(taskengine.fnv1a64, shards)),
        )
    assert checksums[0] == taskengine.fnv1a64(shards[0].tobytes())

    print(f"total    {total / 100:>16,.2f}")
    print(f"smallest {smallest / 100:>16,.2f}   largest {largest / 100:,.2f}")
    print(f"median   {p50 / 100:>16,.2f}   p90 {p90 / 100:,.2f}   p99 {p99 / 100:,.2f}")
    print(f"distinct amounts {distinct:,}")
    print(f"shard checksums  {checksums[0]:016x} ... {checksums[-1]:016x}")
    stats = taskengine.default_engine().stats()
    print(f"engine counters: {stats['stolen']} jobs stolen, {stats['injector_pops']} injector pops, {stats['sleeps']} sleeps")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000)
