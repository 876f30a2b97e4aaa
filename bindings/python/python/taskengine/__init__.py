"""taskengine: a work-stealing parallel task engine, from Python.

Native kernels run on all cores, on Python's own buffers (numpy arrays,
``array.array``, ``bytearray``, ``memoryview``) without copying and with the
GIL released. Module-level functions use the default engine; an ``Engine`` of
one's own has methods with the same names::

    import taskengine
    with taskengine.Engine(workers=4) as engine:
        task = engine.spawn(pow, 2, 100)
        print(task.wait(), engine.stats()["executed"])

``Executor`` is a ``concurrent.futures.Executor`` over an engine. Errors are
``TaskEngineError`` subclasses that also derive from the built-in type Python
users expect (``ValueError``, ``TypeError``, ``OverflowError``, ...).
"""

from __future__ import annotations

import atexit

from . import _native
from ._errors import (
    ArithmeticOverflowError,
    DTypeError,
    EngineMemoryError,
    EngineShutdownError,
    InvalidArgumentError,
    QueueFullError,
    TaskCancelledError,
    TaskEngineError,
    TaskFailedError,
    TaskPanicError,
    TaskTimeoutError,
    Utf8Error,
)
from ._executor import Executor
from ._native import Engine, Task, __version__, default_engine, spawn

__all__ = [
    "__version__",
    "Engine",
    "Task",
    "Executor",
    "default_engine",
    "spawn",
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
]

# Runs after threading's exit hooks (which let Executor calls finish): from then
# on engine workers stay out of the interpreter while it is torn down.
atexit.register(_native._at_exit)
