"""``taskengine.Executor``: ``concurrent.futures`` on the engine's workers."""

from __future__ import annotations

import collections
import concurrent.futures
import os
import threading
import weakref
from typing import Any, Callable, TypeVar

from . import _native

__all__ = ["Executor"]

T = TypeVar("T")

# Executors that may still have work, for the exit and fork hooks.
_live: weakref.WeakSet[Executor] = weakref.WeakSet()
_exiting = False
# The executor whose runner is on this thread, if any (see `shutdown`).
_runner_of = threading.local()


class _WorkItem:
    __slots__ = ("future", "fn", "args", "kwargs")

    def __init__(self, future: concurrent.futures.Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any):
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            self.future.set_exception(exc)
            # Break the cycle exception -> frame -> self.
            self = None  # type: ignore[assignment]
        else:
            self.future.set_result(result)


class Executor(concurrent.futures.Executor):
    """A ``concurrent.futures.Executor`` whose calls run on a taskengine engine.

    ``engine``: the ``Engine`` to run on (default: the default engine).
    ``max_workers``: how many of this executor's calls may run at once (default:
    the engine's worker count). Each call takes the GIL while it runs, so pure
    Python calls take turns; calls into native code that releases the GIL (the
    taskengine kernels, numpy, I/O) run in parallel.

    Calls queue here, in submission order; at most ``max_workers`` runners on the
    engine take them one after the other.
    """

    def __init__(self, engine: _native.Engine | None = None, max_workers: int | None = None) -> None:
        self._engine = engine if engine is not None else _native.default_engine()
        if max_workers is None:
            max_workers = self._engine.workers
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: collections.deque[_WorkItem] = collections.deque()
        self._running: set[_WorkItem] = set()
        self._runners = 0
        self._shutdown = False
        _live.add(self)

    @property
    def engine(self) -> _native.Engine:
        """The engine the calls run on."""
        return self._engine

    @property
    def max_workers(self) -> int:
        """How many calls may run at once."""
        return self._max_workers

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        item = _WorkItem(future, fn, args, kwargs)
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _exiting:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            self._queue.append(item)
            start_runner = self._runners < self._max_workers
            if start_runner:
                self._runners += 1
        if start_runner:
            try:
                self._engine.spawn(self._run)
            except BaseException:
                self._runner_failed()
                if future.done():
                    # Our item was drained with the error: report it here.
                    raise
        return future

    submit.__doc__ = concurrent.futures.Executor.submit.__doc__

    def _runner_failed(self) -> None:
        # A runner could not start (the engine is closed). If none is left to
        # take the queued items, they would wait forever: fail them instead.
        with self._lock:
            self._runners -= 1
            orphans = list(self._queue) if self._runners == 0 else []
            if orphans:
                self._queue.clear()
            self._idle.notify_all()
        for item in orphans:
            if item.future.set_running_or_notify_cancel():
                item.future.set_exception(_native_shutdown_error())

    def _run(self) -> None:
        # One runner on an engine worker: take queued calls until none is left.
        # (A worker may run a runner while it waits inside another one.)
        outer = getattr(_runner_of, "executor", None)
        _runner_of.executor = self
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._runners -= 1
                        self._idle.notify_all()
                        return
                    item = self._queue.popleft()
                    self._running.add(item)
                try:
                    item.run()
                finally:
                    with self._lock:
                        self._running.discard(item)
                del item
        finally:
            _runner_of.executor = outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            cancelled = list(self._queue) if cancel_futures else []
            if cancel_futures:
                self._queue.clear()
        for item in cancelled:
            item.future.cancel()
        if wait:
            # A call of ours may shut its own executor down: do not wait for it.
            own = 1 if getattr(_runner_of, "executor", None) is self else 0
            with self._lock:
                while self._runners > own:
                    self._idle.wait()

    shutdown.__doc__ = concurrent.futures.Executor.shutdown.__doc__

    def _after_fork_in_child(self) -> None:
        # The runners were threads of the parent: none exists here. The calls
        # they had are the parent's to finish; in the child they are cancelled
        # (queued) or failed (running), so nothing here waits on them forever.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        queued, running = list(self._queue), list(self._running)
        self._queue.clear()
        self._running.clear()
        self._runners = 0
        for item in queued:
            item.future.cancel()
        for item in running:
            item.future.set_exception(
                concurrent.futures.BrokenExecutor("the call was running in the parent process when it forked")
            )


def _native_shutdown_error() -> BaseException:
    from ._errors import EngineShutdownError

    return EngineShutdownError("the engine has been shut down")


def _at_exit() -> None:
    # Like ThreadPoolExecutor: calls already submitted finish before the
    # interpreter goes away (threading's exit hooks run before atexit's).
    global _exiting
    _exiting = True
    for executor in list(_live):
        executor.shutdown(wait=True)


def _after_fork_in_child() -> None:
    for executor in list(_live):
        executor._after_fork_in_child()


threading._register_atexit(_at_exit)  # type: ignore[attr-defined]
os.register_at_fork(after_in_child=_after_fork_in_child)
