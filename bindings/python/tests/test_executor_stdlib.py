"""CPython's thread-pool tests (Lib/test/test_concurrent_futures, 3.13), ported to
pytest and run against taskengine.Executor: it must behave as ThreadPoolExecutor.

One test per upstream test, same name, grouped by upstream file. Tests marked
`PRIVATE` read ThreadPoolExecutor's private attributes (`_threads`,
`_max_workers`, `_broken`); Executor subclasses ThreadPoolExecutor, so they
apply as they are.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import gc
import itertools
import logging
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from concurrent.futures._base import CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED, PENDING, RUNNING, Future

import pytest

import taskengine

Executor = taskengine.Executor
WORKERS = 5


@pytest.fixture
def executor():
    ex = Executor(max_workers=WORKERS)
    yield ex
    ex.shutdown(wait=True)


def mul(x, y):
    return x * y


def capture(*args, **kwargs):
    return args, kwargs


class MyObject:
    def my_method(self):
        pass


def make_dummy_object(_):
    return MyObject()


def create_future(state=PENDING, exception=None, result=None):
    f: Future[object] = Future()
    f._state = state  # type: ignore[attr-defined]
    f._exception = exception  # type: ignore[attr-defined]
    f._result = result  # type: ignore[attr-defined]
    return f


PENDING_FUTURE = create_future(state=PENDING)
RUNNING_FUTURE = create_future(state=RUNNING)
CANCELLED_FUTURE = create_future(state=CANCELLED)
CANCELLED_AND_NOTIFIED_FUTURE = create_future(state=CANCELLED_AND_NOTIFIED)
EXCEPTION_FUTURE = create_future(state=FINISHED, exception=OSError())
SUCCESSFUL_FUTURE = create_future(state=FINISHED, result=42)


def run_script(code: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


SLEEP_AND_PRINT = """
import sys, time
def sleep_and_print(t, msg):
    time.sleep(t)
    print(msg)
    sys.stdout.flush()
"""

# ---- executor.py (ExecutorTest) -----------------------------------------------


def test_submit(executor):
    assert executor.submit(pow, 2, 8).result() == 256


def test_submit_keyword(executor):
    assert executor.submit(mul, 2, y=8).result() == 16
    assert executor.submit(capture, 1, self=2, fn=3).result() == ((1,), {"self": 2, "fn": 3})
    with pytest.raises(TypeError):
        executor.submit(fn=capture, arg=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        executor.submit(arg=1)  # type: ignore[call-arg]


def test_map(executor):
    assert list(executor.map(pow, range(10), range(10))) == list(map(pow, range(10), range(10)))
    assert list(executor.map(pow, range(10), range(10), chunksize=3)) == list(map(pow, range(10), range(10)))


def test_map_exception(executor):
    i = executor.map(divmod, [1, 1, 1, 1], [2, 3, 0, 5])
    assert next(i) == (0, 1)
    assert next(i) == (0, 1)
    with pytest.raises(ZeroDivisionError):
        next(i)


def test_map_timeout(executor):
    results = []
    with pytest.raises(futures.TimeoutError):
        for r in executor.map(time.sleep, [0, 0, 6], timeout=5):
            results.append(r)
    assert results == [None, None]


def test_shutdown_race_issue12456(executor):
    executor.map(str, [2] * (WORKERS + 1))
    executor.shutdown()


def test_no_stale_references(executor):
    my_object = MyObject()
    collected = threading.Event()
    ref = weakref.ref(my_object, lambda obj: collected.set())  # noqa: F841
    executor.submit(my_object.my_method)  # the future is dropped on purpose
    del my_object
    assert collected.wait(timeout=30), "stale reference not collected"


def test_max_workers_negative():
    for number in (0, -1):
        with pytest.raises(ValueError, match="max_workers must be greater than 0"):
            Executor(max_workers=number)


def test_free_reference(executor):
    for obj in executor.map(make_dummy_object, range(10)):
        wr = weakref.ref(obj)
        del obj
        gc.collect()
        assert wr() is None


# ---- test_thread_pool.py --------------------------------------------------------


def test_map_submits_without_iteration(executor):
    finished = []
    executor.map(finished.append, range(10))
    executor.shutdown(wait=True)
    assert sorted(finished) == list(range(10))


def test_default_workers():  # PRIVATE: _max_workers
    executor = Executor()
    cpus = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()
    assert executor._max_workers == min(32, (cpus or 1) + 4)
    executor.shutdown(wait=True)


def test_saturation():  # PRIVATE: _threads
    executor = Executor(4)
    sem = threading.Semaphore(0)
    for _ in range(15 * executor._max_workers):
        executor.submit(sem.acquire)
    assert len(executor._threads) == executor._max_workers
    for _ in range(15 * executor._max_workers):
        sem.release()
    executor.shutdown(wait=True)


def test_idle_thread_reuse():  # PRIVATE: _threads
    executor = Executor()
    executor.submit(mul, 21, 2).result()
    executor.submit(mul, 6, 7).result()
    executor.submit(mul, 3, 14).result()
    assert len(executor._threads) == 1
    executor.shutdown(wait=True)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_hang_global_shutdown_lock():
    # bpo-45021: a child forked while the pool is busy must not inherit a held lock.
    def submit(pool):
        try:
            pool.submit(submit, pool)
        except RuntimeError:
            pass  # shut down: the chain ends

    with Executor(1) as pool:
        pool.submit(submit, pool)
        for _ in range(50):
            with futures.ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as workers:
                workers.submit(tuple)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_process_fork_from_a_threadpool():
    # bpo-43944: the child must not try to join the parent's threads.
    def fork_process_and_return_exitcode():
        p = mp.get_context("fork").Process(target=lambda: 1)
        p.start()
        p.join()
        return p.exitcode

    with Executor(1) as pool:
        assert pool.submit(fork_process_and_return_exitcode).result() == 0


def test_executor_map_current_future_cancel():
    stop_event = threading.Event()
    log = []

    def log_n_wait(ident):
        log.append(f"{ident=} started")
        try:
            stop_event.wait()
        finally:
            log.append(f"{ident=} stopped")

    with Executor(max_workers=1) as pool:
        fut = pool.submit(log_n_wait, ident="first")
        try:
            with contextlib.closing(pool.map(log_n_wait, ["second", "third"], timeout=0)) as gen:  # type: ignore[type-var]
                with pytest.raises(futures.TimeoutError):
                    next(gen)
        finally:
            stop_event.set()
        fut.result()
    assert log == ["ident='first' started", "ident='first' stopped"]


# ---- test_shutdown.py (ExecutorShutdownTest, ThreadPoolShutdownTest) ------------


def test_run_after_shutdown(executor):
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(pow, 2, 5)


def test_interpreter_shutdown():
    rc, out, err = run_script(
        SLEEP_AND_PRINT
        + """
from taskengine import Executor
t = Executor(5)
t.submit(sleep_and_print, 1.0, "apple")
"""
    )
    assert rc == 0 and not err, err
    assert out.strip() == "apple"


def test_submit_after_interpreter_shutdown():
    rc, out, err = run_script(
        """
        import atexit
        @atexit.register
        def run_last():
            try:
                t.submit(id, None)
            except RuntimeError:
                print("runtime-error")
                raise
        from taskengine import Executor
        t = Executor(5)
        """
    )
    assert "RuntimeError: cannot schedule new futures" in err
    assert out.strip() == "runtime-error"


def test_hang_issue12364(executor):
    fs = [executor.submit(time.sleep, 0.1) for _ in range(50)]
    executor.shutdown()
    for f in fs:
        f.result()


def test_cancel_futures(executor):
    fs = [executor.submit(time.sleep, 0.1) for _ in range(50)]
    executor.shutdown(cancel_futures=True)
    cancelled = [f for f in fs if f.cancelled()]
    assert len(cancelled) > 20
    others = [f for f in fs if not f.cancelled()]
    for f in others:
        assert f.done()
        assert f.exception() is None
    assert others


def test_hang_gh83386():
    rc, out, err = run_script(
        SLEEP_AND_PRINT
        + """
from taskengine import Executor
t = Executor(max_workers=3)
t.submit(sleep_and_print, 1.0, "apple")
t.shutdown(wait=False)
"""
    )
    assert rc == 0 and not err, err
    assert out.strip() == "apple"


def test_hang_gh94440():
    def timeout(_signum, _frame):
        raise RuntimeError("timed out waiting for shutdown")

    executor = Executor(max_workers=1)
    executor.submit(int).result()
    old_handler = signal.signal(signal.SIGALRM, timeout)
    try:
        signal.alarm(5)
        executor.submit(int).cancel()
        executor.shutdown(wait=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)


def test_threads_terminate(executor):  # PRIVATE: _threads
    sem = threading.Semaphore(0)
    for _ in range(3):
        executor.submit(sem.acquire)
    assert len(executor._threads) == 3
    for _ in range(3):
        sem.release()
    executor.shutdown()
    for t in executor._threads:
        t.join()


def test_context_manager_shutdown():  # PRIVATE: _threads
    with Executor(max_workers=5) as e:
        executor = e
        assert list(e.map(abs, range(-5, 5))) == [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]
    for t in executor._threads:
        t.join()


def test_del_shutdown():  # PRIVATE: _threads
    executor = Executor(max_workers=5)
    res = executor.map(abs, range(-5, 5))
    threads = executor._threads
    del executor
    for t in threads:
        t.join()
    assert all(r == abs(v) for r, v in zip(res, range(-5, 5)))


def test_shutdown_no_wait():  # PRIVATE: _threads
    executor = Executor(max_workers=5)
    res = executor.map(abs, range(-5, 5))
    threads = executor._threads
    executor.shutdown(wait=False)
    for t in threads:
        t.join()
    assert all(r == abs(v) for r, v in zip(res, range(-5, 5)))


def test_thread_names_assigned():  # PRIVATE: _threads
    executor = Executor(max_workers=5, thread_name_prefix="SpecialPool")
    executor.map(abs, range(-5, 5))
    threads = executor._threads
    del executor
    gc.collect()
    for t in threads:
        assert t.name.startswith("SpecialPool_") and t.name[-1] in "01234"
        t.join()


def test_thread_names_default():  # PRIVATE: _threads
    import re

    executor = Executor(max_workers=5)
    executor.map(abs, range(-5, 5))
    threads = executor._threads
    del executor
    gc.collect()
    for t in threads:
        assert re.search(r"ThreadPoolExecutor-\d+_[0-4]$", t.name), t.name
        t.join()


def test_cancel_futures_wait_false():
    rc, out, err = run_script(
        SLEEP_AND_PRINT
        + """
from taskengine import Executor
t = Executor()
t.submit(sleep_and_print, .1, "apple")
t.shutdown(wait=False, cancel_futures=True)
"""
    )
    assert rc == 0 and not err, err
    assert out.strip() in ("apple", "")


# ---- test_wait.py (WaitTests, ThreadPoolWaitTests) ------------------------------


def wait_and_raise(e):
    e.wait()
    raise Exception("this is an exception")


def test_20369(executor):
    future = executor.submit(mul, 1, 2)
    done, not_done = futures.wait([future, future], return_when=futures.ALL_COMPLETED)
    assert done == {future}
    assert not_done == set()


def test_first_completed(executor):
    event = threading.Event()
    future1 = executor.submit(mul, 21, 2)
    future2 = executor.submit(event.wait)
    try:
        done, not_done = futures.wait([CANCELLED_FUTURE, future1, future2], return_when=futures.FIRST_COMPLETED)
        assert done == {future1}
        assert not_done == {CANCELLED_FUTURE, future2}
    finally:
        event.set()
    future2.result()


def test_first_completed_some_already_completed(executor):
    event = threading.Event()
    future1 = executor.submit(event.wait)
    try:
        finished, pending = futures.wait(
            [CANCELLED_AND_NOTIFIED_FUTURE, SUCCESSFUL_FUTURE, future1], return_when=futures.FIRST_COMPLETED
        )
        assert finished == {CANCELLED_AND_NOTIFIED_FUTURE, SUCCESSFUL_FUTURE}
        assert pending == {future1}
    finally:
        event.set()
    future1.result()


def test_first_exception(executor):
    event1 = threading.Event()
    event2 = threading.Event()
    try:
        future1 = executor.submit(mul, 2, 21)
        future2 = executor.submit(wait_and_raise, event1)
        future3 = executor.submit(event2.wait)

        def wait_for_future1():
            future1.result()
            event1.set()

        t = threading.Thread(target=wait_for_future1)
        t.start()
        finished, pending = futures.wait([future1, future2, future3], return_when=futures.FIRST_EXCEPTION)
        assert finished == {future1, future2}
        assert pending == {future3}
        t.join()
    finally:
        event1.set()
        event2.set()
    future3.result()


def test_first_exception_some_already_complete(executor):
    event = threading.Event()
    future1 = executor.submit(divmod, 21, 0)
    future2 = executor.submit(event.wait)
    try:
        finished, pending = futures.wait(
            [SUCCESSFUL_FUTURE, CANCELLED_FUTURE, CANCELLED_AND_NOTIFIED_FUTURE, future1, future2],
            return_when=futures.FIRST_EXCEPTION,
        )
        assert finished == {SUCCESSFUL_FUTURE, CANCELLED_AND_NOTIFIED_FUTURE, future1}
        assert pending == {CANCELLED_FUTURE, future2}
    finally:
        event.set()
    future2.result()


def test_first_exception_one_already_failed(executor):
    event = threading.Event()
    future1 = executor.submit(event.wait)
    try:
        finished, pending = futures.wait([EXCEPTION_FUTURE, future1], return_when=futures.FIRST_EXCEPTION)
        assert finished == {EXCEPTION_FUTURE}
        assert pending == {future1}
    finally:
        event.set()
    future1.result()


def test_all_completed(executor):
    future1 = executor.submit(divmod, 2, 0)
    future2 = executor.submit(mul, 2, 21)
    finished, pending = futures.wait(
        [SUCCESSFUL_FUTURE, CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, future1, future2],
        return_when=futures.ALL_COMPLETED,
    )
    assert finished == {SUCCESSFUL_FUTURE, CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, future1, future2}
    assert pending == set()


def test_timeout(executor):
    event = threading.Event()
    future = executor.submit(event.wait)
    try:
        finished, pending = futures.wait(
            [CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, SUCCESSFUL_FUTURE, future],
            timeout=0.05,
            return_when=futures.ALL_COMPLETED,
        )
        assert finished == {CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, SUCCESSFUL_FUTURE}
        assert pending == {future}
    finally:
        event.set()
    future.result()


def test_pending_calls_race(executor):
    event = threading.Event()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        fs = {executor.submit(event.wait) for _ in range(100)}
        event.set()
        futures.wait(fs, return_when=futures.ALL_COMPLETED)
    finally:
        sys.setswitchinterval(old)


# ---- test_as_completed.py -------------------------------------------------------


def test_no_timeout(executor):
    future1 = executor.submit(mul, 2, 21)
    future2 = executor.submit(mul, 7, 6)
    completed = set(
        futures.as_completed([CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, SUCCESSFUL_FUTURE, future1, future2])
    )
    assert completed == {CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, SUCCESSFUL_FUTURE, future1, future2}


def test_future_times_out(executor):
    already_completed = {CANCELLED_AND_NOTIFIED_FUTURE, EXCEPTION_FUTURE, SUCCESSFUL_FUTURE}
    short_timeout = 0.100
    for timeout in (0, short_timeout):
        completed = set()
        future = executor.submit(time.sleep, short_timeout * 10)
        try:
            for f in futures.as_completed(already_completed | {future}, timeout):
                completed.add(f)
        except futures.TimeoutError:
            pass
        assert completed == already_completed


def test_duplicate_futures(executor):
    future1 = executor.submit(time.sleep, 2)
    completed = list(futures.as_completed(itertools.repeat(future1, 3)))
    assert len(completed) == 1


def test_free_reference_yielded_future():
    futures_list: list[Future[object]] = [Future() for _ in range(8)]
    futures_list.append(create_future(state=CANCELLED_AND_NOTIFIED))
    futures_list.append(create_future(state=FINISHED, result=42))
    with pytest.raises(futures.TimeoutError):
        for future in futures.as_completed(futures_list, timeout=0):
            futures_list.remove(future)
            wr = weakref.ref(future)
            del future
            gc.collect()
            assert wr() is None
    futures_list[0].set_result("test")
    for future in futures.as_completed(futures_list):
        futures_list.remove(future)
        wr = weakref.ref(future)
        del future
        gc.collect()
        assert wr() is None
        if futures_list:
            futures_list[0].set_result("test")


def test_correct_timeout_exception_msg():
    futures_list = [CANCELLED_AND_NOTIFIED_FUTURE, PENDING_FUTURE, RUNNING_FUTURE, SUCCESSFUL_FUTURE]
    with pytest.raises(futures.TimeoutError) as info:
        list(futures.as_completed(futures_list, timeout=0))
    assert str(info.value) == "2 (of 4) futures unfinished"


# ---- test_init.py (InitializerMixin, FailingInitializerMixin) -------------------

INITIALIZER_STATUS = "uninitialized"


def init(x):
    global INITIALIZER_STATUS
    INITIALIZER_STATUS = x


def get_init_status():
    return INITIALIZER_STATUS


def init_fail():
    time.sleep(0.1)  # let some futures be scheduled
    raise ValueError("error in initializer")


def test_initializer():
    global INITIALIZER_STATUS
    INITIALIZER_STATUS = "uninitialized"
    with Executor(max_workers=2, initializer=init, initargs=("initialized",)) as executor:
        for f in [executor.submit(get_init_status) for _ in range(2)]:
            assert f.result() == "initialized"


def test_failing_initializer(caplog):  # PRIVATE: _broken
    executor = Executor(max_workers=2, initializer=init_fail)
    try:
        with caplog.at_level(logging.CRITICAL, logger="concurrent.futures"):
            try:
                future = executor.submit(get_init_status)
            except futures.BrokenExecutor:
                pass
            else:
                with pytest.raises(futures.BrokenExecutor):
                    future.result()
            deadline = time.monotonic() + 30
            while not executor._broken and time.monotonic() < deadline:
                time.sleep(0.01)
            with pytest.raises(futures.BrokenExecutor):
                executor.submit(get_init_status)
        assert any("ValueError: error in initializer" in r.getMessage() or r.exc_info for r in caplog.records)
    finally:
        executor.shutdown(wait=True)
