"""Process-global behaviour, each in a fresh interpreter: fork, Ctrl-C, exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import run_python

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def test_fork_child_gets_a_working_default_engine():
    result = run_python(
        """
        import os, sys, numpy as np, taskengine
        # The parent uses the default engine, an engine of its own and an
        # executor, so that all three exist (with threads) at fork time.
        assert taskengine.spawn(pow, 2, 5).wait() == 32
        assert taskengine.sum(np.ones(1_000_000, dtype=np.int64)) == 1_000_000
        own = taskengine.Engine(workers=2)
        ex = taskengine.Executor()
        assert ex.submit(abs, -3).result() == 3
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                assert taskengine.spawn(pow, 2, 10).wait(timeout=20) == 1024, "default engine"
                try:
                    own.spawn(int)
                    code = 3
                except taskengine.EngineShutdownError:
                    pass
                assert ex.submit(pow, 3, 3).result(timeout=20) == 27, "executor"
                data = np.arange(1_000_000, dtype=np.int64)[::-1].copy()
                taskengine.sort(data)  # large: runs on the child's new default engine
                assert data[0] == 0 and data[-1] == 999_999, "sort"
                assert taskengine.sum(data) == 999_999 * 1_000_000 // 2, "sum"
                try:
                    own.sum(data)
                    code = 4
                except taskengine.EngineShutdownError:
                    pass
                with taskengine.Engine(workers=2) as fresh:
                    assert fresh.spawn(min, 4, 2).wait(timeout=20) == 2
            except BaseException as exc:
                print("child failed:", repr(exc), flush=True)
                code = 2
            sys.stdout.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert own.spawn(int).wait() == 0  # the parent's engine is untouched
        print("child exit", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "child exit 0" in result.stdout, result.stdout


def test_forked_child_exits_normally_with_inherited_engines():
    # Interpreter teardown in the child drops the parent's engine objects:
    # that must neither join threads that do not exist nor hang.
    result = run_python(
        """
        import os, taskengine
        own = taskengine.Engine(workers=2)
        own.spawn(int).wait()
        taskengine.spawn(int).wait()
        pid = os.fork()
        if pid == 0:
            taskengine.spawn(int).wait()
            raise SystemExit(7)
        _, status = os.waitpid(pid, 0)
        print("child exit", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "child exit 7" in result.stdout


def interrupt_after_start(code: str) -> tuple[float, int, str]:
    """Starts `code`, which prints 'waiting' just before a long wait, sends it
    SIGINT, and returns how long it took to exit, its exit status and stderr."""
    # A launcher that runs us in the background (a CI job, `cmd &`) leaves SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler: give the
    # child the handler an interactive user's Python has.
    prologue = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", prologue + textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # well inside the wait
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        elapsed = time.monotonic() - sent
        _, err = proc.communicate(timeout=10)
        return elapsed, proc.returncode, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "wait",
    [
        "task.wait()",
        "task.wait(timeout=120)",
    ],
)
def test_ctrl_c_interrupts_a_task_wait(wait):
    elapsed, status, err = interrupt_after_start(
        f"""
        import threading, taskengine
        never = threading.Event()
        task = taskengine.spawn(never.wait, 120)
        print("waiting", flush=True)
        {wait}
        """
    )
    assert "KeyboardInterrupt" in err, err
    assert status == -signal.SIGINT
    assert elapsed < 1.0


def test_ctrl_c_then_exit_with_an_engine_still_busy():
    # The Engine object is dropped during interpreter teardown while its worker
    # still sleeps in a callable: the process leaves without waiting for it.
    elapsed, status, err = interrupt_after_start(
        """
        import time, taskengine
        engine = taskengine.Engine(workers=1)
        task = engine.spawn(time.sleep, 120)
        print("waiting", flush=True)
        try:
            task.wait()
        except KeyboardInterrupt:
            raise SystemExit(5)
        """
    )
    assert status == 5, err
    assert elapsed < 5.0


def test_ctrl_c_interrupts_engine_close():
    elapsed, status, err = interrupt_after_start(
        """
        import os, threading, taskengine
        engine = taskengine.Engine(workers=1)
        never = threading.Event()
        engine.spawn(never.wait, 120)
        print("waiting", flush=True)
        try:
            engine.close()
        except KeyboardInterrupt:
            os._exit(42)
        """
    )
    assert status == 42, err
    assert elapsed < 1.0


def test_ctrl_c_interrupts_an_executor_result():
    elapsed, status, err = interrupt_after_start(
        """
        import os, threading, taskengine
        never = threading.Event()
        ex = taskengine.Executor()
        future = ex.submit(never.wait, 120)
        print("waiting", flush=True)
        try:
            future.result()
        except KeyboardInterrupt:
            os._exit(42)
        """
    )
    assert status == 42, err
    assert elapsed < 1.0


def test_exit_finishes_submitted_executor_work():
    result = run_python(
        """
        import time, taskengine
        ex = taskengine.Executor(max_workers=1)
        for i in range(3):
            ex.submit(lambda i=i: (time.sleep(0.05), print("done", i, flush=True)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["done 0", "done 1", "done 2"]


def test_exit_while_a_task_runs_is_clean():
    # A worker still inside a Python callable when the interpreter exits: the
    # process must exit promptly and without a crash.
    start = time.monotonic()
    result = run_python(
        """
        import time, taskengine
        taskengine.spawn(time.sleep, 30)
        time.sleep(0.1)
        print("leaving", flush=True)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "leaving" in result.stdout
    assert time.monotonic() - start < 10


BUSY_AT_EXIT = """
import sys, time, taskengine

def busy(n):
    x = 0
    for i in range(n):
        x += i
    return x

def forever():
    while True:
        pass

engine = taskengine.Engine(workers=3) if sys.argv[1] == "own" else taskengine.default_engine()
for n in (10**5, 10**6, 3 * 10**6):
    engine.spawn(busy, n)
engine.spawn(forever)  # still running Python code when the interpreter goes
taskengine.spawn(busy, 10**6)
time.sleep(0.05)
print("leaving", flush=True)
"""


@pytest.mark.parametrize("engine", ["default", "own"])
def test_exit_while_tasks_run_python_code_never_crashes(engine):
    # Tasks inside Python when the interpreter is torn down: CPython < 3.14
    # ends such a thread with pthread_exit, which crashed the process when the
    # thread was an engine worker. Fifteen exits, three at a time.
    runs, failures = 15, []
    for _ in range(runs // 3):
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", BUSY_AT_EXIT, engine],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for proc in procs:
            try:
                out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                failures.append(f"hung: {err[-500:]}")
                continue
            if proc.returncode != 0 or "leaving" not in out or err:
                failures.append(f"exit {proc.returncode}: {err[-500:]}")
    assert not failures, failures


def test_fork_while_the_executor_is_busy():
    # Forks while the executor's threads keep finishing futures (taking their
    # locks) and feeders wait on them: the child must get a working executor
    # at once, and the call that was running in the parent fails in the child.
    result = run_python(
        """
        import concurrent.futures as cf, os, signal, sys, threading, time, taskengine
        ex = taskengine.Executor(4)
        sys.setswitchinterval(1e-5)  # preempt often, lock-holding code included
        stop = threading.Event()

        def churn():
            while not stop.is_set():
                fs = [ex.submit(abs, -i) for i in range(20)]
                cf.wait(fs)
                for f in cf.as_completed(fs):
                    f.result()

        feeders = [threading.Thread(target=churn) for _ in range(4)]
        for t in feeders:
            t.start()
        blocked = ex.submit(stop.wait)
        fs = [ex.submit(abs, 1) for _ in range(100)]
        cf.wait(fs)  # the feeders are going by now
        while not blocked.running():
            time.sleep(0.001)
        hung = bad = 0
        for _ in range(100):
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    assert ex.submit(pow, 3, 3).result(timeout=20) == 27
                    try:
                        blocked.result(timeout=20)
                        code = 3
                    except cf.BrokenExecutor:
                        pass
                except BaseException as exc:
                    print("child:", repr(exc), flush=True)
                    code = 2
                os._exit(code)
            deadline = time.monotonic() + 20  # a watchdog, not a timing check
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    bad += os.waitstatus_to_exitcode(status) != 0
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    hung += 1
                    break
                time.sleep(0.002)
        stop.set()
        for t in feeders:
            t.join()
        print("hung", hung, "bad", bad)
        """,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "hung 0 bad 0" in result.stdout, result.stdout + result.stderr
