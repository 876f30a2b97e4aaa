"""The exceptions taskengine raises.

Every error derives from :class:`TaskEngineError` and, where Python users expect
one, from the matching built-in type too (``except ValueError`` keeps working).
``code`` is the engine's status number, the same as the C ABI's ``te_status``.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

__all__ = [
    "TaskEngineError",
    "InvalidArgumentError",
    "DTypeError",
    "ArithmeticOverflowError",
    "Utf8Error",
    "EngineShutdownError",
    "EngineMemoryError",
    "QueueFullError",
    "TaskTimeoutError",
    "TaskCancelledError",
    "TaskFailedError",
    "TaskPanicError",
    "ThreadPoolError",
    "AllocationError",
    "FfiError",
    "NotFoundError",
    "UnsupportedError",
]


class TaskEngineError(Exception):
    """Base class of every error raised by taskengine."""

    #: The engine's status number (``te_status`` in the C ABI).
    code: int = 0


class InvalidArgumentError(TaskEngineError, ValueError):
    """An argument is out of range, or a buffer has the wrong layout
    (not C-contiguous, read-only where it must be written)."""

    code = 2


class DTypeError(TaskEngineError, TypeError):
    """A buffer's item type is not one the kernel handles (int64, uint64, float64)."""

    code = 2


class ArithmeticOverflowError(TaskEngineError, OverflowError):
    """The exact result does not fit the kernel's result type."""

    code = 3


class Utf8Error(TaskEngineError, UnicodeDecodeError):
    """Input that must be UTF-8 is not; ``start`` is where the valid prefix ends."""

    code = 10

    def __reduce__(self) -> tuple[Any, ...]:
        # UnicodeDecodeError keeps its fields in C, set only by __init__: unpickle
        # through it. Without this, tblib (which Dask installs) rebuilds the error
        # with __new__ and the copy loses its message.
        return (type(self), self.args, self.__dict__ or None)


class EngineShutdownError(TaskEngineError, RuntimeError):
    """The engine was closed (or belongs to the parent of a forked process)."""

    code = 5


class EngineMemoryError(TaskEngineError, MemoryError):
    """The engine could not get the memory it needed."""

    code = 4


class QueueFullError(TaskEngineError, RuntimeError):
    """A bounded engine's submission queue is full."""

    code = 11


class TaskTimeoutError(TaskEngineError, TimeoutError):
    """A wait ran out of time before the task finished."""

    code = 7


class TaskCancelledError(TaskEngineError, concurrent.futures.CancelledError):
    """The work was cancelled before it could finish."""

    code = 6


class TaskFailedError(TaskEngineError):
    """A task reported failure."""

    code = 8


class TaskPanicError(TaskEngineError, RuntimeError):
    """Native code panicked; the engine caught it and the process is fine."""

    code = 9


class ThreadPoolError(TaskEngineError, RuntimeError):
    """The engine's worker threads could not be started (fewer than ``min_workers``)."""

    code = 14


class AllocationError(EngineMemoryError):
    """A named allocation (an arena, a scratch buffer) failed; the message says which."""

    code = 15


class FfiError(TaskEngineError, RuntimeError):
    """A native call failed in a way no other error describes."""

    code = 16


class NotFoundError(TaskEngineError, LookupError):
    """Something the call needs is not loaded in the process (``taskengine.blas.attach``: no OpenBLAS)."""

    code = 17


class UnsupportedError(TaskEngineError, RuntimeError):
    """What was found lacks what the call needs (an OpenBLAS older than 0.3.27)."""

    code = 18
