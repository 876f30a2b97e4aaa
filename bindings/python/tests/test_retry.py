"""spawn_retry: attempts counted exactly, backoff as a lower bound, a backoff
that holds no worker, fallback, and which exceptions are retried."""

from __future__ import annotations

import threading
import time

import pytest

import taskengine


class Flaky:
    """Raises ``exc`` on its first ``failures`` calls, then returns the call number."""

    def __init__(self, failures: int, exc: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.exc = exc
        self.calls = 0
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, scale: int = 1) -> int:
        with self.lock:
            self.calls += 1
            self.times.append(time.monotonic())
            call = self.calls
        if call <= self.failures:
            raise self.exc(f"call {call}")
        return call * scale


@pytest.mark.parametrize("failures", [0, 1, 3])
def test_attempts_are_counted_exactly(engine, failures):
    flaky = Flaky(failures)
    task = engine.spawn_retry(flaky, (10,), attempts=failures + 1)
    assert task.wait() == (failures + 1) * 10
    assert flaky.calls == failures + 1


def test_spent_attempts_raise_the_last_exception_with_a_note(engine):
    flaky = Flaky(100)
    task = engine.spawn_retry(flaky, attempts=3)
    with pytest.raises(ConnectionError, match="call 3") as info:
        task.wait()
    assert flaky.calls == 3
    assert any("3 attempt" in note for note in getattr(info.value, "__notes__", []))


class StrRecorded(ConnectionError):
    """Records the threads its ``__str__`` runs on."""

    threads: list[int] = []

    def __str__(self) -> str:
        StrRecorded.threads.append(threading.get_ident())
        return "recorded"


def test_a_retried_exceptions_str_never_runs_on_a_worker(engine):
    # __str__ is Python code: on a worker, outside the call that parks a thread
    # CPython ends at exit, a slow one crashed the process when it exited meanwhile.
    StrRecorded.threads.clear()

    def fails() -> None:
        raise StrRecorded()

    task = engine.spawn_retry(fails, attempts=3)
    with pytest.raises(StrRecorded):
        task.wait()
    assert set(StrRecorded.threads) <= {threading.get_ident()}


def test_other_exceptions_are_not_retried(engine):
    flaky = Flaky(5, exc=KeyError)
    task = engine.spawn_retry(flaky, attempts=5, retry_on=(ConnectionError, TimeoutError))
    with pytest.raises(KeyError):
        task.wait()
    assert flaky.calls == 1


def test_backoff_is_a_lower_bound_and_doubles(engine):
    flaky = Flaky(3)
    task = engine.spawn_retry(flaky, attempts=4, backoff=0.01, max_backoff=0.025)
    assert task.wait() == 4
    gaps = [b - a for a, b in zip(flaky.times, flaky.times[1:])]
    # 10, 20, 25 ms at least (lower bounds only, never a speed check).
    for gap, want in zip(gaps, [0.010, 0.020, 0.025]):
        assert gap >= want - 1e-4


def test_a_backoff_holds_no_worker():
    # One worker: run 1 starts another task and fails; run 2 succeeds only if that
    # task ran in between, which it can only do if the backoff left the worker free.
    with taskengine.Engine(workers=1) as engine:
        ran = threading.Event()
        calls = []

        def job() -> str:
            calls.append(1)
            if len(calls) == 1:
                taskengine.spawn(ran.set)
                raise ConnectionError("first")
            if not ran.is_set():
                raise RuntimeError("the backoff held the worker")
            return "ok"

        assert engine.spawn_retry(job, attempts=2, backoff=0.02, retry_on=ConnectionError).wait(timeout=30) == "ok"
        assert len(calls) == 2


def test_fallback_runs_when_the_attempts_are_spent(engine):
    flaky = Flaky(100)
    task = engine.spawn_retry(flaky, attempts=2, fallback=lambda: "cached")
    assert task.wait() == "cached"
    assert flaky.calls == 2
    # Not when a run succeeds.
    used = []
    assert engine.spawn_retry(Flaky(0), fallback=lambda: used.append(1)).wait() == 1
    assert used == []


def test_module_level_form_and_kwargs():
    flaky = Flaky(1)
    task = taskengine.spawn_retry(flaky, kwargs={"scale": 3}, attempts=2)
    assert task.wait() == 6


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"attempts": 0}, ValueError),
        ({"backoff": -1.0}, ValueError),
        ({"backoff": float("nan")}, ValueError),
        ({"jitter": 1.5}, ValueError),
        ({"retry_on": 3}, TypeError),
        ({"retry_on": (ValueError, "x")}, TypeError),
        ({"fallback": 3}, TypeError),
    ],
)
def test_bad_arguments(engine, kwargs, error):
    with pytest.raises(error):
        engine.spawn_retry(Flaky(0), **kwargs)


def test_min_workers_and_shortfall_in_stats():
    with taskengine.Engine(workers=2, min_workers=1) as engine:
        assert engine.stats()["worker_shortfall"] == 0
    with pytest.raises(ValueError):
        taskengine.Engine(workers=2, min_workers=-1)
