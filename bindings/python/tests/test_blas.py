"""taskengine.blas: numpy's OpenBLAS on the engine's workers, and the
threadpoolctl controller.

The reference for every product is the same product computed by OpenBLAS on
its own threads with the same thread count: the adapter runs exactly the jobs
OpenBLAS made (the split depends on the thread count and the shapes only), and
each job writes its own block of the result in a fixed order, so the results
are bitwise equal.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import threadpoolctl

import taskengine
import taskengine.blas as blas
import taskengine.threadpoolctl  # noqa: F401  (registers the controller)

from conftest import run_python


def _openblas_info() -> dict[str, Any]:
    found = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"]
    if not found:
        pytest.skip("numpy is not using an OpenBLAS here (nothing to attach)")
    return found[0]


@pytest.fixture
def openblas() -> Iterator[ctypes.CDLL]:
    """numpy's OpenBLAS, opened again (it is already loaded) to read its
    callback pointer; detached and at default limits after each test."""
    lib = ctypes.CDLL(_openblas_info()["filepath"], mode=os.RTLD_NOLOAD)
    yield lib
    blas.detach()
    blas.set_max_threads(0)


def _callback(lib: ctypes.CDLL) -> int | None:
    """The threads callback OpenBLAS will call (None: its own threads). The
    variable is exported by the scipy-openblas builds numpy ships."""
    try:
        return ctypes.c_void_p.in_dll(lib, "openblas_threads_callback_").value
    except ValueError:
        pytest.skip("this OpenBLAS does not export openblas_threads_callback_")


def _matrices(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)), rng.standard_normal((n, n))


def test_dgemm_2000_equals_openblas_own_threads(openblas):
    a, b = _matrices(2000, 1)
    assert _callback(openblas) is None
    reference = np.matmul(a, b)
    with taskengine.Engine(workers=2) as engine:
        assert blas.attach(engine) >= 1
        assert _callback(openblas) is not None
        product = np.matmul(a, b)
        assert engine.team_stats()["runs"] >= 1, "the jobs did not run as a team on the engine"
        blas.detach()
    assert np.array_equal(product, reference)
    # Against an independent check too: a few entries by exact dot products.
    for i, j in [(0, 0), (1999, 1999), (123, 1777)]:
        assert product[i, j] == pytest.approx(float(np.dot(a[i, :], b[:, j])), rel=1e-9, abs=1e-9)


def test_libraries_and_context_manager(openblas):
    info = _openblas_info()
    with blas.attached() as count:
        assert count >= 1
        libs = blas.libraries()
        assert os.path.realpath(libs[0]["filepath"]) == os.path.realpath(info["filepath"])
        assert libs[0]["config"].startswith("OpenBLAS ")
        assert libs[0]["max_threads"] >= info["num_threads"]
        assert _callback(openblas) is not None
    assert blas.libraries() == []
    assert _callback(openblas) is None


def test_detach_restores_openblas_own_threads(openblas):
    a, b = _matrices(300, 2)
    reference = a @ b
    blas.attach()
    assert _callback(openblas) is not None
    blas.detach()
    assert _callback(openblas) is None
    assert np.array_equal(a @ b, reference)
    blas.detach()  # a second detach is a no-op


def _fork_join_matmul(engine: taskengine.Engine, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """An Executor call that forks two engine tasks, multiplies while they run,
    and joins them: three products in flight from one call."""
    children = [engine.spawn(np.matmul, a, b) for _ in range(2)]
    mine = a @ b
    for child in children:
        assert np.array_equal(child.wait(timeout=120), mine)
    return mine


@pytest.mark.timeout(240)
@pytest.mark.parametrize("tasks", [2, 4, 8])
def test_concurrent_calls_from_tasks_never_deadlock(openblas, tasks):
    # 160x160: large enough that OpenBLAS splits each product into jobs.
    # (Tasks that wait on their own sub-tasks are left to the C test: waits
    # from inside Python tasks are the Python binding's business.)
    a, b = _matrices(160, 3)
    reference = a @ b
    with taskengine.Engine(workers=2) as engine, taskengine.Executor(max_workers=4, engine=engine) as ex:
        blas.attach(engine)
        for _ in range(200):
            running = []
            for t in range(tasks):
                if t % 2 == 0:
                    running.append(engine.spawn(np.matmul, a, b))  # on a worker
                else:
                    running.append(ex.submit(_fork_join_matmul, engine, a, b))
            for r in running:
                out = r.wait(timeout=120) if isinstance(r, taskengine.Task) else r.result(timeout=120)
                assert np.array_equal(out, reference)
        blas.detach()


@pytest.mark.timeout(120)
def test_busy_worker_does_not_stall_a_dgemm_from_outside(openblas):
    a, b = _matrices(1000, 4)
    reference = a @ b
    release = threading.Event()
    with taskengine.Engine(workers=2) as engine:
        blas.attach(engine)
        busy = engine.spawn(release.wait, 120)
        result: list[np.ndarray] = []
        caller = threading.Thread(target=lambda: result.append(a @ b))
        caller.start()
        caller.join(timeout=60)
        finished = not caller.is_alive()
        release.set()
        busy.wait(timeout=60)
        caller.join(timeout=60)
        blas.detach()
    assert finished, "a dgemm waited for a worker busy with another task"
    assert np.array_equal(result[0], reference)


def test_calls_still_complete_after_the_engine_is_closed(openblas):
    a, b = _matrices(400, 5)
    reference = a @ b
    engine = taskengine.Engine(workers=2)
    blas.attach(engine)
    engine.close()
    # The adapter still holds the engine; its jobs now run on threads of their own.
    assert np.array_equal(a @ b, reference)
    blas.detach()
    with pytest.raises(taskengine.EngineShutdownError):
        blas.attach(engine)


def test_attach_without_openblas_is_a_clear_error():
    proc = run_python(
        """
        import sys
        import taskengine, taskengine.blas
        assert "numpy" not in sys.modules
        try:
            taskengine.blas.attach()
        except taskengine.NotFoundError as e:
            print("error:", e)
        else:
            print("attached")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "error: not found: no OpenBLAS is loaded" in proc.stdout


def test_threadpoolctl_lists_and_limits_the_engine(openblas):
    a, b = _matrices(300, 6)
    reference = a @ b
    with taskengine.Engine(workers=2) as engine:
        blas.attach(engine)
        ours = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "taskengine"]
        assert len(ours) == 1
        assert ours[0]["internal_api"] == "taskengine"
        assert ours[0]["num_threads"] == blas.max_threads() == 2
        assert ours[0]["version"] == taskengine.__version__
        assert ours[0]["openblas_attached"] >= 1
        with threadpoolctl.threadpool_limits(1):
            assert blas.max_threads() == 1
            limited = {i["user_api"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}
            assert limited["taskengine"] == 1 and limited["blas"] == 1
            assert np.array_equal(a @ b, np.matmul(a, b))
        assert blas.max_threads() == 2
        with threadpoolctl.threadpool_limits(limits=1, user_api="taskengine"):
            # Only the engine is limited: OpenBLAS still splits calls in two,
            # and those calls run alone, one at a time.
            assert blas.max_threads() == 1
            assert np.array_equal(a @ b, reference)
        blas.detach()


def test_a_forked_child_still_multiplies():
    proc = run_python(
        """
        import os
        import numpy as np
        import taskengine.blas as blas
        rng = np.random.default_rng(7)
        a, b = rng.standard_normal((400, 400)), rng.standard_normal((400, 400))
        reference = a @ b
        blas.attach()
        assert np.array_equal(a @ b, reference)
        pid = os.fork()
        if pid == 0:
            os._exit(0 if np.array_equal(a @ b, reference) else 3)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
        assert np.array_equal(a @ b, reference)
        blas.detach()
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert "child exit 0" in proc.stdout
