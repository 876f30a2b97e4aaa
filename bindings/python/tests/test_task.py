"""spawn() and Task: Python callables on the engine's workers."""

from __future__ import annotations

import threading
import time

import pytest

import taskengine


def test_result_args_and_kwargs(engine):
    assert engine.spawn(lambda a, b, *, c: (a, b, c), 1, 2, c=3).wait() == (1, 2, 3)
    assert taskengine.spawn(dict, x=1).wait() == {"x": 1}


def test_runs_on_a_worker_thread(engine):
    main = threading.get_ident()
    assert engine.spawn(threading.get_ident).wait() != main


def test_exception_comes_back_unchanged(engine):
    class Custom(Exception):
        pass

    def fail():
        raise Custom("from the worker")

    task = engine.spawn(fail)
    with pytest.raises(Custom, match="from the worker") as info:
        task.wait()
    # Raised again on every wait, same object.
    with pytest.raises(Custom) as again:
        task.wait()
    assert again.value is info.value
    assert task.done()


def test_base_exceptions_travel_too(engine):
    def leave():
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        engine.spawn(leave).wait()


def test_wait_many_times_returns_the_same_object(engine):
    task = engine.spawn(object)
    first = task.wait()
    assert task.wait() is first
    assert task.wait(timeout=0) is first


def test_timeout_leaves_the_task_running(engine):
    gate = threading.Event()
    task = engine.spawn(lambda: gate.wait(10) and "opened")
    start = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        task.wait(timeout=0.1)
    assert isinstance(info.value, taskengine.TaskTimeoutError)
    assert 0.09 <= time.monotonic() - start < 2
    assert not task.done()
    with pytest.raises(taskengine.TaskTimeoutError):
        task.wait(timeout=0)
    gate.set()
    assert task.wait(timeout=10) == "opened"


def test_nan_timeout_is_rejected(engine):
    with pytest.raises(ValueError):
        engine.spawn(int).wait(timeout=float("nan"))


def test_negative_and_infinite_timeouts(engine):
    task = engine.spawn(time.sleep, 0.05)
    with pytest.raises(TimeoutError):
        task.wait(timeout=-1)
    assert task.wait(timeout=float("inf")) is None


def test_not_callable_is_a_type_error(engine):
    with pytest.raises(TypeError):
        engine.spawn(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        taskengine.spawn()  # type: ignore[call-arg]


def test_wait_releases_the_gil(engine):
    # A Python thread keeps counting while the main thread waits.
    stop = threading.Event()
    count = 0

    def counter():
        nonlocal count
        while not stop.is_set():
            count += 1

    t = threading.Thread(target=counter)
    t.start()
    try:
        engine.spawn(time.sleep, 0.3).wait()
        seen = count
    finally:
        stop.set()
        t.join()
    assert seen > 1000


def test_many_threads_wait_on_one_task(engine):
    gate = threading.Event()
    task = engine.spawn(lambda: gate.wait(10) and 99)
    results = []

    def waiter():
        results.append(task.wait(timeout=20))

    threads = [threading.Thread(target=waiter) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(20)
    assert results == [99] * 6


def test_nested_spawn_and_wait_on_a_single_worker():
    # The waiting worker runs the inner task itself instead of blocking the
    # only worker there is.
    with taskengine.Engine(workers=1) as engine:

        def outer(depth):
            if depth == 0:
                return 1
            return engine.spawn(outer, depth - 1).wait() + 1

        assert engine.spawn(outer, 20).wait(timeout=30) == 21


def test_bounded_queue_spawn_waits_for_room():
    with taskengine.Engine(workers=1, queue_capacity=2) as engine:
        gate = threading.Event()
        tasks = [engine.spawn(gate.wait, 10)]
        # The worker is busy: the queue fills, then spawn waits without the
        # GIL (the worker's callable needs it) until there is room.
        threading.Timer(0.2, gate.set).start()
        tasks += [engine.spawn(lambda i=i: i) for i in range(10)]
        assert [t.wait(timeout=20) for t in tasks[1:]] == list(range(10))


def test_many_small_tasks(engine):
    tasks = [engine.spawn(pow, i, 2) for i in range(2000)]
    assert [t.wait() for t in tasks] == [i * i for i in range(2000)]
    assert engine.stats()["completed"] >= 2000


def test_task_dropped_without_waiting_still_runs(engine):
    seen = []
    for i in range(100):
        engine.spawn(seen.append, i)
    engine.close()
    assert sorted(seen) == list(range(100))


def test_repr(engine):
    task = engine.spawn(int)
    task.wait()
    assert repr(task) == "<taskengine.Task finished>"
