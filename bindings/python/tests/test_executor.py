"""taskengine.Executor: a ThreadPoolExecutor tied to an engine."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import os
import threading
import time

import numpy as np
import pytest

import taskengine


def test_is_a_thread_pool_executor():
    assert issubclass(taskengine.Executor, cf.ThreadPoolExecutor)


def test_submit_and_result(engine):
    with taskengine.Executor(engine=engine) as ex:
        futures = [ex.submit(pow, 2, i) for i in range(50)]
        assert [f.result(timeout=10) for f in futures] == [2**i for i in range(50)]
        assert ex.submit(lambda *, k: k * 2, k=21).result() == 42


def test_constructor_like_thread_pool_executor():
    # Positionally and by keyword, as ThreadPoolExecutor takes them.
    seen = []
    with taskengine.Executor(3, "tpx", seen.append, ("init",)) as ex:
        assert ex.max_workers == 3
        assert ex.submit(lambda: threading.current_thread().name).result(timeout=10).startswith("tpx_")
    assert seen and set(seen) == {"init"}
    with taskengine.Executor(max_workers=2, thread_name_prefix="kw", initializer=None, initargs=()) as ex:
        assert ex.max_workers == 2
    # The default worker count is the standard library's.
    with taskengine.Executor() as ours, cf.ThreadPoolExecutor() as theirs:
        assert ours.max_workers == theirs._max_workers
    with pytest.raises(TypeError):
        taskengine.Executor(5, engine=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        taskengine.Executor(2, initializer=5)  # type: ignore[arg-type]


def test_engine_is_keyword_only(engine):
    with pytest.raises(TypeError):
        taskengine.Executor(2, "", None, (), engine)  # type: ignore[misc]
    with taskengine.Executor(engine=engine) as ex:
        assert ex.engine is engine
    with taskengine.Executor() as ex:
        assert ex.engine.workers == taskengine.default_engine().workers


def test_set_default_executor():
    async def main():
        loop = asyncio.get_running_loop()
        ex = taskengine.Executor(2)
        loop.set_default_executor(ex)
        return await loop.run_in_executor(None, pow, 2, 10), ex

    result, ex = asyncio.run(main())  # asyncio.run shuts the default executor down
    assert result == 1024
    with pytest.raises(RuntimeError):
        ex.submit(int)


def test_kernels_in_calls_run_on_the_executors_engine():
    data = np.arange(1_000_000, dtype=np.int64)[::-1].copy()
    with taskengine.Engine(workers=2) as own, taskengine.Executor(2, engine=own) as ex:
        before = own.stats()["executed"]
        assert ex.submit(taskengine.sum, data).result(timeout=30) == 999_999 * 1_000_000 // 2
        ex.submit(taskengine.sort, data).result(timeout=30)
        assert data[0] == 0 and data[-1] == 999_999
        assert own.stats()["executed"] > before  # the work ran on `own`
        assert ex.submit(lambda: taskengine.spawn(pow, 2, 5).wait()).result(timeout=30) == 32
    # Once the engine is closed, the calls' kernels say so instead of moving elsewhere.
    with taskengine.Engine(workers=1) as own, taskengine.Executor(1, engine=own) as ex:
        ex.submit(int).result()
        own.close()
        with pytest.raises(taskengine.EngineShutdownError):
            ex.submit(taskengine.sum, data).result(timeout=30)


def test_blocking_calls_do_not_hold_back_the_kernels():
    # Ten calls block until after a large sort: on the engine's compute
    # workers they would hold every one of them, and the sort could not run.
    calls = 10
    gate = threading.Event()
    started = threading.Barrier(calls + 1, timeout=30)
    released_by_watchdog = threading.Event()

    def block():
        started.wait()
        gate.wait(60)

    def watchdog():
        released_by_watchdog.set()
        gate.set()

    timer = threading.Timer(30, watchdog)
    timer.start()
    try:
        with taskengine.Executor(calls) as ex:
            blocked = [ex.submit(block) for _ in range(calls)]
            started.wait()  # all ten are blocked now
            data = np.random.default_rng(5).integers(-(2**40), 2**40, 1_000_000)
            expected = np.sort(data)
            taskengine.sort(data)
            sorted_while_blocked = not released_by_watchdog.is_set()
            gate.set()
            cf.wait(blocked, timeout=30)
    finally:
        timer.cancel()
    assert np.array_equal(data, expected)
    assert sorted_while_blocked


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_nested_submit_and_result_as_deep_as_thread_pool_executor(workers):
    # Each level waits for the next inside the pool: a pool of n threads holds
    # n levels, with ThreadPoolExecutor as with this one.
    def nest(ex, depth):
        if depth == 0:
            return 0
        return ex.submit(nest, ex, depth - 1).result(timeout=30) + 1

    for executor_type in (cf.ThreadPoolExecutor, taskengine.Executor):
        with executor_type(workers) as ex:
            assert ex.submit(nest, ex, workers - 1).result(timeout=30) == workers - 1


def test_map_in_order_and_with_timeout(engine):
    with taskengine.Executor(engine=engine) as ex:
        assert list(ex.map(lambda x, y: x * y, range(10), range(10))) == [i * i for i in range(10)]
        with pytest.raises(TimeoutError):
            list(ex.map(time.sleep, [0.5], timeout=0.05))


def test_exceptions_travel_through_the_future(engine):
    def fail(x):
        raise ValueError(f"bad {x}")

    with taskengine.Executor(engine=engine) as ex:
        future = ex.submit(fail, 7)
        with pytest.raises(ValueError, match="bad 7"):
            future.result(timeout=10)
        assert isinstance(future.exception(), ValueError)
        with pytest.raises(ValueError):
            list(ex.map(fail, [1]))


def test_bad_max_workers():
    with pytest.raises(ValueError):
        taskengine.Executor(max_workers=0)


def test_max_workers_limits_concurrency():
    with taskengine.Executor(max_workers=2) as ex:
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
    with taskengine.Executor(max_workers=1) as ex:
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
    ex = taskengine.Executor(max_workers=1)
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
    ex = taskengine.Executor(engine=engine)
    ex.shutdown()
    with pytest.raises(RuntimeError):
        ex.submit(int)




def test_shutdown_from_inside_a_call_does_not_deadlock(engine):
    ex = taskengine.Executor(engine=engine)
    assert ex.submit(lambda: ex.shutdown(wait=True)).result(timeout=10) is None


def test_as_completed_and_wait(engine):
    with taskengine.Executor(engine=engine) as ex:
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

    with taskengine.Executor(engine=engine) as ex:
        assert asyncio.run(main(ex)) == [3**i for i in range(10)]


def test_submit_from_inside_a_call(engine):
    with taskengine.Executor(engine=engine) as ex:

        def parent():
            return [ex.submit(pow, i, 2) for i in range(5)]

        children = ex.submit(parent).result(timeout=10)
        assert [c.result(timeout=10) for c in children] == [0, 1, 4, 9, 16]


def test_many_submissions():
    with taskengine.Executor() as ex:
        futures = [ex.submit(abs, -i) for i in range(20_000)]
        assert sum(f.result() for f in futures) == sum(range(20_000))


def test_done_callbacks_may_submit_more_work(engine):
    with taskengine.Executor(engine=engine) as ex:
        chained: list[cf.Future[int]] = []
        ready = threading.Event()

        def on_done(f):
            chained.append(ex.submit(lambda: f.result() + 1))
            ready.set()

        ex.submit(lambda: 41).add_done_callback(on_done)
        assert ready.wait(10)
        assert chained[0].result(timeout=10) == 42
