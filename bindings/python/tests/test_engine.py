"""taskengine.Engine: construction, counters, shutdown, the default engine."""

from __future__ import annotations

import os
import threading
import time

import pytest

import taskengine


def worker_thread_names() -> list[str]:
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:
            pass  # the thread ended while we looked
    return names


def test_smoke():
    with taskengine.Engine(workers=3) as engine:
        assert engine.workers == 3
        assert not engine.closed
        assert engine.spawn(sum, [1, 2, 3]).wait() == 6
    assert engine.closed
    assert engine.workers == 3


def test_default_workers_is_cpu_count():
    with taskengine.Engine() as engine:
        assert engine.workers == len(os.sched_getaffinity(0)) or engine.workers == os.cpu_count()


def test_workers_none_means_cpu_count():
    with taskengine.Engine(workers=None) as a, taskengine.Engine() as b:
        assert a.workers == b.workers == len(os.sched_getaffinity(0)) >= 1


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_thread_name_prefix_names_the_workers():
    before = worker_thread_names()
    with taskengine.Engine(workers=2, thread_name_prefix="pyte") as engine:
        engine.spawn(int).wait()
        # A thread names itself once it runs, which may be a moment after start.
        deadline = time.monotonic() + 10
        while not {"pyte-0", "pyte-1"} <= set(worker_thread_names()) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert {"pyte-0", "pyte-1"} <= set(worker_thread_names())
        assert "pyte-0" not in before
    # close() joined them.
    assert "pyte-0" not in worker_thread_names()


def test_all_keyword_arguments_are_accepted():
    with taskengine.Engine(
        workers=1,
        queue_capacity=4,
        work_stealing=False,
        metrics=False,
        spin_budget=0,
        thread_name_prefix="kw",
        stack_size=1 << 20,
        task_pool_capacity=0,
    ) as engine:
        assert engine.spawn(lambda: 5).wait() == 5
        assert engine.stats()["metrics_enabled"] is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workers": -1},
        {"queue_capacity": -1},
        {"spin_budget": -1},
        {"spin_budget": 2**32},
        {"stack_size": -5},
        {"stack_size": 65536},  # below the 256 KiB floor
        {"task_pool_capacity": -1},
        {"workers": 100_000},
        {"thread_name_prefix": "a\0b"},
    ],
)
def test_bad_configuration_is_a_value_error(kwargs):
    with pytest.raises(ValueError) as info:
        taskengine.Engine(**kwargs)
    assert isinstance(info.value, taskengine.InvalidArgumentError)
    assert isinstance(info.value, taskengine.TaskEngineError)


def test_wrong_argument_types_are_type_errors():
    with pytest.raises(TypeError):
        taskengine.Engine(workers="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        taskengine.Engine(thread_name_prefix=3)  # type: ignore[arg-type]


def test_stats_is_a_dict_of_counters(engine):
    for _ in range(20):
        engine.spawn(int).wait()
    stats = engine.stats()
    assert stats["workers"] == 2
    assert stats["metrics_enabled"] is True
    assert stats["submitted"] >= 20
    assert stats["completed"] >= 20
    assert stats["executed"] >= 20
    assert stats["pending"] == stats["submitted"] - stats["completed"]
    assert len(stats["per_worker"]) == 2
    assert sum(w["executed"] for w in stats["per_worker"]) == stats["executed"]
    for w in stats["per_worker"]:
        assert set(w) == {"executed", "stolen", "steal_attempts", "injector_pops", "sleeps", "wakes"}
    for key in ("queued_jobs", "stolen", "steal_attempts", "injector_pops", "sleeps", "wakes"):
        assert isinstance(stats[key], int) and stats[key] >= 0


def test_close_finishes_queued_work_and_is_idempotent():
    engine = taskengine.Engine(workers=1)
    done = []
    gate = threading.Event()
    engine.spawn(gate.wait, 10)
    for i in range(10):
        engine.spawn(done.append, i)
    gate.set()
    engine.close()
    assert done == list(range(10))
    engine.close()
    engine.shutdown()
    assert engine.closed


def test_closed_engine_raises_shutdown_error():
    engine = taskengine.Engine(workers=1)
    engine.shutdown()
    with pytest.raises(taskengine.EngineShutdownError):
        engine.spawn(int)
    with pytest.raises(RuntimeError):
        engine.stats()


def test_context_manager_does_not_swallow_exceptions():
    with pytest.raises(KeyError):
        with taskengine.Engine(workers=1) as engine:
            raise KeyError("x")
    assert engine.closed


def test_close_waits_for_running_python_callables():
    # The worker needs the GIL to finish: close() must release it while it joins.
    engine = taskengine.Engine(workers=2)
    finished = []
    engine.spawn(lambda: (time.sleep(0.2), finished.append(1)))
    time.sleep(0.05)
    engine.close()
    assert finished == [1]


def test_close_from_inside_own_task():
    engine = taskengine.Engine(workers=2)
    task = engine.spawn(engine.close)
    assert task.wait(timeout=10) is None
    deadline = time.monotonic() + 10
    while not engine.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.closed


def test_garbage_collected_engine_joins_its_threads():
    before = threading.active_count()
    names_before = worker_thread_names()
    engine = taskengine.Engine(workers=2, thread_name_prefix="gcte")
    engine.spawn(int).wait()
    del engine
    assert "gcte-0" not in worker_thread_names()
    assert threading.active_count() == before
    assert "gcte-0" not in names_before


def test_default_engine_handle():
    default = taskengine.default_engine()
    assert default.workers >= 1
    assert not default.closed
    assert default.spawn(max, 3, 9).wait() == 9
    default.close()  # does nothing: the default engine lives for the process
    assert taskengine.spawn(min, 3, 9).wait() == 3
    assert "default" in repr(default)


def test_repr_and_spin_default():
    with taskengine.Engine(workers=1) as engine:
        assert repr(engine) == "<taskengine.Engine workers=1>"
    assert repr(engine) == "<taskengine.Engine workers=1 closed>"
    assert taskengine.Engine.DEFAULT_SPIN_BUDGET > 0
    assert taskengine.Engine.DEFAULT_SPIN == taskengine.Engine.DEFAULT_SPIN_BUDGET


def test_engines_are_independent():
    with taskengine.Engine(workers=1) as a, taskengine.Engine(workers=2) as b:
        assert a.spawn(lambda: 1).wait() + b.spawn(lambda: 2).wait() == 3
        a.close()
        assert b.spawn(lambda: 3).wait() == 3
