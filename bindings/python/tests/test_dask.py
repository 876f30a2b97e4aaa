"""taskengine inside Dask: a real distributed.LocalCluster on loopback (two worker
processes of one thread each). Results are checked against numpy on the whole
array; engines against the workers' nthreads; a worker killed mid-computation
must not change the result; closing the cluster must leave no taskengine thread.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import taskengine

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import cloudpickle  # noqa: E402  (installed with distributed)
import dask.array as da  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import taskengine.dask as ted  # noqa: E402
from conftest import run_python  # noqa: E402

# Starting worker processes on two loaded cores takes seconds; bound every test.
pytestmark = pytest.mark.timeout(180)

# The workers import this module's functions by value, not from a path they lack.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _cluster() -> LocalCluster:
    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",  # loopback only
        scheduler_port=0,
        dashboard_address="127.0.0.1:0",  # loopback, any free port
        silence_logs=logging.ERROR,
    )


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, Client(cluster) as c:
        c.register_plugin(ted.EnginePlugin())
        yield c


def _worker_pid() -> int:
    return os.getpid()


def _engine_threads_here() -> set[int]:
    """Thread ids of this process's taskengine threads (the kernel's names)."""
    tids = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().startswith("taskengine"):
                    tids.add(int(tid))
        except OSError:
            pass
    return tids


# ---- results against numpy ----


def test_reductions_match_numpy(client):
    rng = np.random.default_rng(14)
    a = rng.integers(-(1 << 40), 1 << 40, size=2_000_003, dtype=np.int64)
    x = da.from_array(a, chunks=250_000)
    total, low, high = dask.compute(ted.sum(x), ted.min(x), ted.max(x))
    assert int(total) == int(a.sum())
    assert low == a.min() and high == a.max()
    # A tree of partial sums (split_every) gives the same.
    assert int(ted.sum(x, split_every=2).compute()) == int(a.sum())
    u = rng.integers(0, 1 << 46, size=100_000, dtype=np.uint64)
    assert int(ted.sum(da.from_array(u, chunks=30_000)).compute()) == int(u.sum())
    # Exact or an error, where numpy would wrap: the worker's exception reaches the client.
    big = np.full(8, 1 << 61, dtype=np.int64)
    with pytest.raises(taskengine.ArithmeticOverflowError):
        ted.sum(da.from_array(big, chunks=2)).compute()
    f = rng.standard_normal(300_000)
    assert float(ted.sum(da.from_array(f, chunks=40_000)).compute()) == pytest.approx(float(np.sum(f)), rel=1e-12)
    assert ted.max(da.from_array(f, chunks=40_000)).compute() == f.max()
    # The work ran on the workers' engines.
    executed = client.run(lambda: taskengine.default_engine().stats()["executed"])
    assert builtins_sum(executed.values()) > 0


def builtins_sum(values):
    total = 0
    for v in values:
        total += v
    return total


def test_sorts_match_numpy(client):
    rng = np.random.default_rng(41)
    a = rng.integers(-(1 << 50), 1 << 50, size=1_500_000, dtype=np.int64)
    a[::7] = 12345  # many equal items, split across buckets or not
    x = da.from_array(a, chunks=200_000)
    blocks = x.map_blocks(ted.sort_chunk, dtype=x.dtype).compute()
    expected_blocks = np.concatenate([np.sort(a[i : i + 200_000]) for i in range(0, len(a), 200_000)])
    np.testing.assert_array_equal(blocks, expected_blocks)
    np.testing.assert_array_equal(ted.sort(x).compute(), np.sort(a))
    np.testing.assert_array_equal(ted.sort(x, parts=3, samples_per_chunk=5).compute(), np.sort(a))
    f = rng.standard_normal(400_000)
    f[::1000] = np.nan
    np.testing.assert_array_equal(ted.sort(da.from_array(f, chunks=70_000)).compute(), np.sort(f))


def test_engines_sized_to_nthreads(client):
    infos = client.run(ted.engine_info)
    assert len(infos) == 2
    nthreads = client.nthreads()
    for address, info in infos.items():
        assert nthreads[address] == 1
        assert info["workers"] == 1, info
        assert info["threads"] == ["taskengine-0"], info
        assert info["outcome"] == "sized", info


def _taskengine_pools():
    import threadpoolctl

    return [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "taskengine"]


def test_threadpoolctl_on_each_worker_lists_the_engine_at_its_size(client):
    for address, pools in client.run(_taskengine_pools).items():
        assert len(pools) == 1, (address, pools)
        # The threads the engine lends to native libraries at once: its workers.
        assert pools[0]["num_threads"] == 1, (address, pools)


def _sort_or_die_once(block, marker):
    # The first call anywhere creates the marker and kills its worker process
    # outright (no exception, no cleanup): the nanny starts a new worker and
    # the scheduler runs the lost tasks again.
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return ted.sort_chunk(block)
    os._exit(17)


def test_worker_killed_mid_computation_recovers(client, tmp_path):
    before = set(client.run(_worker_pid).values())
    rng = np.random.default_rng(7)
    a = rng.integers(0, 1 << 40, size=400_000, dtype=np.int64)
    x = da.from_array(a, chunks=50_000)
    marker = str(tmp_path / "died")
    # meta: Dask must not try the function on the client to learn its type.
    sorted_blocks = x.map_blocks(_sort_or_die_once, marker, dtype=x.dtype, meta=np.empty(0, dtype=x.dtype))
    total = ted.sum(sorted_blocks)  # more work on the same graph, after the death
    got, got_total = dask.compute(sorted_blocks, total)
    assert os.path.exists(marker), "no worker died: the test tested nothing"
    expected = np.concatenate([np.sort(a[i : i + 50_000]) for i in range(0, len(a), 50_000)])
    np.testing.assert_array_equal(got, expected)
    assert int(got_total) == int(a.sum())
    # The replacement worker joined and got its engine sized by the plugin.
    client.wait_for_workers(2, timeout=120)
    after = client.run(_worker_pid)
    assert set(after.values()) != before
    for info in client.run(ted.engine_info).values():
        assert info["workers"] == 1 and info["outcome"] == "sized", info


def test_closing_the_cluster_leaves_no_thread_behind():
    before = _engine_threads_here()
    before_names = {t.name for t in threading.enumerate()}
    with _cluster() as cluster, Client(cluster) as c:
        c.register_plugin(ted.EnginePlugin())
        x = da.from_array(np.arange(1_000_000, dtype=np.int64), chunks=100_000)
        assert int(ted.sum(x).compute()) == 999_999 * 1_000_000 // 2
        pids = list(c.run(_worker_pid).values())
        assert all(info["threads"] == ["taskengine-0"] for info in c.run(ted.engine_info).values())
        # Inside the workers, before close: the engine's threads are joined.
        left = c.run(ted.shutdown_engine)
        assert left == {address: [] for address in left}, left
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # the worker processes are gone (reaped by their nannies)
    assert _engine_threads_here() <= before
    new = {t.name for t in threading.enumerate()} - before_names
    assert not [name for name in new if name.startswith("taskengine")], new


# ---- without a cluster ----


def test_taskengine_objects_pickle():
    engine = pickle.loads(pickle.dumps(taskengine.default_engine()))
    assert repr(engine).startswith("<taskengine.Engine default")
    with taskengine.Engine(workers=1) as own, pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(own)
    errors = []
    for bad in (
        lambda: taskengine.sum(np.array([2**62, 2**62], dtype=np.int64)),
        lambda: taskengine.max(np.array([], dtype=np.int64)),
        lambda: taskengine.sum(np.array([1], dtype=np.int8)),
        lambda: taskengine.reverse(b"ab\xff"),
    ):
        with pytest.raises(taskengine.TaskEngineError) as info:
            bad()
        errors.append(info.value)
    for e in errors:
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and back.args == e.args and str(back) == str(e)
    plugin = pickle.loads(cloudpickle.dumps(ted.EnginePlugin(workers=3)))
    assert plugin.workers == 3


def test_bad_input_is_refused():
    with pytest.raises(taskengine.DTypeError):
        ted.sum(da.zeros(10, dtype=np.int32, chunks=5))
    with pytest.raises(ValueError):
        ted.sort(da.zeros((4, 4), dtype=np.int64, chunks=2))
    with pytest.raises(ValueError):
        ted.sort(da.zeros(4, dtype=np.int64, chunks=2), parts=0)
    with pytest.raises(ValueError):
        ted.sort_chunk(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError):
        ted.EnginePlugin(workers=0)
    with pytest.raises(ValueError):
        ted.min(da.zeros(0, dtype=np.int64, chunks=1)).compute(scheduler="sync")
    # Empty chunks among non-empty ones add nothing to a min or max.
    x = da.concatenate([da.zeros(0, dtype=np.int64, chunks=1), da.arange(5, 9, chunks=2, dtype=np.int64)])
    assert ted.min(x).compute(scheduler="sync") == 5 and ted.max(x).compute(scheduler="sync") == 8


def test_size_default_engine_before_and_after_first_use():
    result = run_python(
        """
        import os, warnings
        os.environ.pop("TASKENGINE_WORKERS", None)
        import taskengine, taskengine.dask as ted
        import dask.array as da, numpy as np
        # Building the graphs (Dask tries chunk functions on empty stand-ins)
        # must not build this process's engine: the client needs none.
        x = da.arange(100, chunks=10, dtype=np.int64)
        ted.sum(x), ted.min(x), ted.max(x), ted.sort(x)
        assert ted.engine_info()["workers"] is None
        info = ted.size_default_engine(3)
        assert info["workers"] == 3 and len(info["threads"]) == 3, info
        assert taskengine.default_engine().workers == 3
        assert ted.size_default_engine(3)["outcome"] == "already built at that size"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            info = ted.size_default_engine(2)
        assert info["workers"] == 3 and "already built with 3" in info["outcome"], info
        assert any(issubclass(w.category, RuntimeWarning) for w in caught)
        assert ted.shutdown_engine() == []
        assert ted.engine_info()["workers"] is None
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) not installed")
def test_default_engine_follows_taskset():
    cpu = min(os.sched_getaffinity(0))
    env = {k: v for k, v in os.environ.items() if k != "TASKENGINE_WORKERS"}
    code = "import taskengine; e = taskengine.default_engine(); print(e.workers, e.stats()['workers'])"
    out = subprocess.run(
        ["taskset", "-c", str(cpu), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1"]
    # TASKENGINE_WORKERS still wins when set.
    out = subprocess.run(
        ["taskset", "-c", str(cpu), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "TASKENGINE_WORKERS": "2"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "2"]


def test_misaligned_blocks_are_summed():
    # Blocks unpickled from the network may start at any byte; the kernels
    # refuse misaligned buffers, so the chunk functions copy those.
    raw = bytearray(8 * 1000 + 1)
    a = np.frombuffer(raw, dtype=np.int64, count=1000, offset=1)
    assert not a.flags.aligned
    a[:] = np.arange(1000, dtype=np.int64) * 3 - 700  # numpy writes misaligned items fine
    x = da.from_array(a, chunks=300)
    assert int(ted.sum(x).compute(scheduler="sync")) == int(np.arange(1000).sum() * 3 - 700 * 1000)
    assert ted.min(x).compute(scheduler="sync") == -700 and ted.max(x).compute(scheduler="sync") == 999 * 3 - 700
