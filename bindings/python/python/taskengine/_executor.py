"""``taskengine.Executor``: a ``ThreadPoolExecutor`` that is fork-safe and tied to an engine.

The calls run on threads of their own, not on the engine's compute workers: a
call may block (sleep, wait on I/O, wait on another future of the same
executor) without holding back the kernels, and nested ``submit().result()``
goes exactly as deep as with ``concurrent.futures.ThreadPoolExecutor``, which
this class is (``asyncio``'s ``loop.set_default_executor`` accepts it).

What it adds:

- ``engine=``: inside a call, the module-level kernels (``taskengine.sum``,
  ``taskengine.sort``, ...) and ``taskengine.spawn`` run on that engine (the
  default engine when ``engine`` is None), and its ``stats()`` count that work.
- Fork safety: a child forked while the executor is busy gets a working
  executor. The parent's calls stay the parent's: in the child, those still
  queued are cancelled and those that were running fail with
  ``BrokenThreadPool``, so nothing in the child waits for them forever.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.thread
import functools
import os
import queue
import threading
import weakref
from concurrent.futures.thread import BrokenThreadPool
from typing import Any, Callable, TypeVar

from . import _native

__all__ = ["Executor"]

T = TypeVar("T")

# Executors that may have work, for the fork hooks. Guarded by the GIL.
_live: weakref.WeakSet[Executor] = weakref.WeakSet()


def _start_thread(engine: _native.Engine, initializer: Callable[..., object] | None, *initargs: Any) -> None:
    # Runs first on each of the executor's threads. Holds no reference to the
    # executor itself: its threads must not keep it alive (they end when it is
    # collected, as ThreadPoolExecutor's do).
    _native._bind_thread(engine)
    if initializer is not None:
        initializer(*initargs)


class Executor(concurrent.futures.ThreadPoolExecutor):
    """A ``concurrent.futures.ThreadPoolExecutor`` tied to a taskengine engine.

    ``max_workers``, ``thread_name_prefix``, ``initializer`` and ``initargs``
    mean what they mean for ``ThreadPoolExecutor`` (the default worker count
    is the standard library's). ``engine`` (keyword only): the ``Engine`` that
    the module-level kernels use inside the calls (None: the default engine).

    The calls run on the executor's own threads and may block; the kernels they
    call release the GIL and run on the engine's workers. A child forked while
    calls run gets a working executor (see the module documentation).
    """

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        engine: _native.Engine | None = None,
    ) -> None:
        if engine is not None and not isinstance(engine, _native.Engine):
            raise TypeError(f"engine must be a taskengine.Engine or None, got {type(engine).__name__}")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        start = initializer
        if engine is not None:
            start = functools.partial(_start_thread, engine, initializer)
        super().__init__(max_workers, thread_name_prefix, start, initargs)
        self._engine = engine
        # Futures not known to be finished, for a forked child. The lock is
        # held by submit (around ThreadPoolExecutor's own locks) and across a
        # fork, so that no fork falls between queueing a call and noting it.
        self._track_lock = threading.Lock()
        self._futures: weakref.WeakSet[concurrent.futures.Future[Any]] = weakref.WeakSet()
        _live.add(self)

    @property
    def engine(self) -> _native.Engine:
        """The engine the calls' kernels run on."""
        return self._engine if self._engine is not None else _native.default_engine()

    @property
    def max_workers(self) -> int:
        """The most threads (and so calls running at once) this executor has."""
        return self._max_workers

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        with self._track_lock:
            future = super().submit(fn, *args, **kwargs)
            self._futures.add(future)
        return future

    submit.__doc__ = concurrent.futures.Executor.submit.__doc__

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=cancel_futures)
        if wait:
            # A call may shut its own executor down: wait for the other threads.
            me = threading.current_thread()
            for thread in list(self._threads):
                if thread is not me:
                    thread.join()

    shutdown.__doc__ = concurrent.futures.Executor.shutdown.__doc__

    # ---- fork -----------------------------------------------------------------

    def _before_fork(self) -> None:
        self._track_lock.acquire()

    def _after_fork_in_parent(self) -> None:
        self._track_lock.release()

    def _after_fork_in_child(self) -> None:
        # Only the forking thread exists here: every lock another thread held
        # stays held forever, so state is replaced, never waited for.
        self._track_lock = threading.Lock()
        self._shutdown_lock = threading.Lock()
        self._idle_semaphore = threading.Semaphore(0)
        self._work_queue = queue.SimpleQueue()
        self._threads = set()
        futures, self._futures = list(self._futures), weakref.WeakSet()
        for future in futures:
            _reinit_locks(future)
            if not future.cancel() and not future.done():
                future.set_exception(BrokenThreadPool("the call was running in the parent when the process forked"))


def _reinit_locks(future: concurrent.futures.Future[Any]) -> None:
    # A parent thread may have held the future's lock, or a waiter's (wait(),
    # as_completed()), at fork time. `_at_fork_reinit` is what the threading
    # module itself uses on its locks in a child.
    future._condition._at_fork_reinit()  # type: ignore[attr-defined]
    for waiter in future._waiters:
        for value in list(vars(waiter).values()):
            reinit = getattr(value, "_at_fork_reinit", None)
            if reinit is not None:
                reinit()


def _before_fork() -> None:
    global _forking
    _forking = list(_live)
    for executor in _forking:
        executor._before_fork()


def _after_fork_in_parent() -> None:
    global _forking
    for executor in reversed(_forking):
        executor._after_fork_in_parent()
    _forking = []


def _after_fork_in_child() -> None:
    global _forking
    for executor in _forking:
        executor._after_fork_in_child()
    _forking = []
    # The parent's pool threads do not exist here, but before 3.12 the exit
    # hook of concurrent.futures still joins them: from a pool thread that
    # forked, that is joining itself (RuntimeError, exit status 1). 3.12 clears
    # this table in the child itself.
    getattr(concurrent.futures.thread, "_threads_queues", {}).clear()


# The executors whose locks the forking thread holds, from before to after.
_forking: list[Executor] = []

# Registered after concurrent.futures.thread's own hooks, so that ours run
# first before a fork (taking each executor's locks before the module-wide one
# that its submit takes last) and after those hooks in the child.
os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)
