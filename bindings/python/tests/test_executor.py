"""taskengine.Executor: a concurrent.futures.Executor on the engine."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
import time

import pytest

import taskengine


def test_is_a_real_executor():
    assert issubclass(taskengine.Executor, cf.Executor)


def test_submit_and_result(engine):
    with taskengine.Executor(engine) as ex:
        futures = [ex.submit(pow, 2, i) for i in range(50)]
        assert [f.result(timeout=10) for f in futures] == [2**i for i in range(50)]
        assert ex.submit(lambda *, k: k * 2, k=21).result() == 42
    assert engine.stats()["executed"] >= 1


def test_calls_run_on_engine_workers_not_the_caller():
    with taskengine.Engine(workers=2, thread_name_prefix="exw") as engine, taskengine.Executor(engine) as ex:
        names = {
            ex.submit(lambda: open(f"/proc/self/task/{threading.get_native_id()}/comm").read().strip()).result()
            for _ in range(20)
        }
        assert names <= {"exw-0", "exw-1"}


def test_map_in_order_and_with_timeout(engine):
    with taskengine.Executor(engine) as ex:
        assert list(ex.map(lambda x, y: x * y, range(10), range(10))) == [i * i for i in range(10)]
        with pytest.raises(TimeoutError):
            list(ex.map(time.sleep, [0.5], timeout=0.05))


def test_exceptions_travel_through_the_future(engine):
    def fail(x):
        raise ValueError(f"bad {x}")

    with taskengine.Executor(engine) as ex:
        future = ex.submit(fail, 7)
        with pytest.raises(ValueError, match="bad 7"):
            future.result(timeout=10)
        assert isinstance(future.exception(), ValueError)
        with pytest.raises(ValueError):
            list(ex.map(fail, [1]))


def test_default_engine_and_max_workers_default():
    with taskengine.Executor() as ex:
        assert ex.max_workers == taskengine.default_engine().workers
        assert ex.submit(sum, [1, 2]).result(timeout=10) == 3


def test_bad_max_workers():
    with pytest.raises(ValueError):
        taskengine.Executor(max_workers=0)


def test_max_workers_limits_concurrency():
    with taskengine.Engine(workers=4) as engine, taskengine.Executor(engine, max_workers=2) as ex:
        lock = threading.Lock()
        running = peak = 0

        def job():
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.02)
            with lock:
                running -= 1

        cf.wait([ex.submit(job) for _ in range(12)], timeout=20)
        assert peak == 2


def test_cancel_a_queued_future():
    with taskengine.Engine(workers=1) as engine, taskengine.Executor(engine, max_workers=1) as ex:
        gate = threading.Event()
        first = ex.submit(gate.wait, 10)
        second = ex.submit(pow, 2, 2)
        assert second.cancel()
        assert second.cancelled()
        deadline = time.monotonic() + 10
        while not first.running() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert not first.cancel()  # running: too late
        gate.set()
        assert first.result(timeout=10) is True
        with pytest.raises(cf.CancelledError):
            second.result()


def test_shutdown_cancel_futures():
    with taskengine.Engine(workers=1) as engine:
        ex = taskengine.Executor(engine, max_workers=1)
        gate = threading.Event()
        running = ex.submit(gate.wait, 10)
        queued = [ex.submit(pow, 2, i) for i in range(5)]
        time.sleep(0.05)
        threading.Timer(0.1, gate.set).start()
        ex.shutdown(wait=True, cancel_futures=True)
        assert running.result() is True
        assert all(f.cancelled() for f in queued)


def test_shutdown_without_cancel_finishes_everything():
    ex = taskengine.Executor(max_workers=1)
    futures = [ex.submit(time.sleep, 0.01) for _ in range(5)]
    ex.shutdown(wait=True)
    assert all(f.done() and not f.cancelled() for f in futures)


def test_shutdown_wait_false_returns_at_once():
    ex = taskengine.Executor(max_workers=1)
    gate = threading.Event()
    future = ex.submit(gate.wait, 10)
    start = time.monotonic()
    ex.shutdown(wait=False)
    assert time.monotonic() - start < 0.5
    gate.set()
    assert future.result(timeout=10) is True


def test_submit_after_shutdown(engine):
    ex = taskengine.Executor(engine)
    ex.shutdown()
    with pytest.raises(RuntimeError):
        ex.submit(int)


def test_submit_to_a_closed_engine():
    engine = taskengine.Engine(workers=1)
    ex = taskengine.Executor(engine)
    engine.close()
    with pytest.raises(taskengine.EngineShutdownError):
        ex.submit(int)
    ex.shutdown()  # nothing left to wait for


def test_shutdown_from_inside_a_call_does_not_deadlock(engine):
    ex = taskengine.Executor(engine)
    assert ex.submit(lambda: ex.shutdown(wait=True)).result(timeout=10) is None


def test_as_completed_and_wait(engine):
    with taskengine.Executor(engine) as ex:
        futures = [ex.submit(time.sleep, d) for d in (0.2, 0.01, 0.1)]
        done, pending = cf.wait(futures, timeout=10, return_when=cf.FIRST_COMPLETED)
        assert futures[1] in done
        order = list(cf.as_completed(futures, timeout=10))
        assert set(order) == set(futures)
        done, pending = cf.wait(futures, timeout=10)
        assert not pending


def test_run_in_executor(engine):
    async def main(ex):
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(*(loop.run_in_executor(ex, pow, 3, i) for i in range(10)))
        failed = loop.run_in_executor(ex, int, "not a number")
        with pytest.raises(ValueError):
            await failed
        return results

    with taskengine.Executor(engine) as ex:
        assert asyncio.run(main(ex)) == [3**i for i in range(10)]


def test_submit_from_inside_a_call(engine):
    with taskengine.Executor(engine) as ex:

        def parent():
            return [ex.submit(pow, i, 2) for i in range(5)]

        children = ex.submit(parent).result(timeout=10)
        assert [c.result(timeout=10) for c in children] == [0, 1, 4, 9, 16]


def test_many_submissions():
    with taskengine.Executor() as ex:
        futures = [ex.submit(abs, -i) for i in range(20_000)]
        assert sum(f.result() for f in futures) == sum(range(20_000))


def test_done_callbacks_may_submit_more_work(engine):
    with taskengine.Executor(engine) as ex:
        chained: list[cf.Future[int]] = []
        ready = threading.Event()

        def on_done(f):
            chained.append(ex.submit(lambda: f.result() + 1))
            ready.set()

        ex.submit(lambda: 41).add_done_callback(on_done)
        assert ready.wait(10)
        assert chained[0].result(timeout=10) == 42
