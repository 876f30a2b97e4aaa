"""taskengine: a work-stealing parallel task engine, from Python.

Native kernels run on all cores, on Python's own buffers (numpy arrays,
``array.array``, ``bytearray``, ``memoryview``) without copying and with the
GIL released. Module-level functions use the default engine; an ``Engine`` of
one's own has methods with the same names::

    import numpy as np
    import taskengine

    data = np.random.default_rng(1).integers(0, 1 << 40, 10_000_000)
    taskengine.sort(data)                       # in place, all cores
    total = taskengine.sum(data)                # exact int
    with taskengine.Engine(workers=4) as engine:
        task = engine.spawn(pow, 2, 100)        # any callable, on a worker
        print(task.wait(), engine.max(data), engine.stats()["executed"])
        # Again while it raises, waiting 10 ms, 20 ms, ... between runs (no worker waits).
        flaky = engine.spawn_retry(fetch, ("url",), attempts=4, backoff=0.01, max_backoff=0.1)

Kernels: ``sum``, ``max``, ``min`` (int64, uint64, float64, int32, uint32,
float32 buffers), ``sort`` in place and ``sorted`` returning a sorted copy
(those types and int16, uint16, int8, uint8),
``factorial``, ``fibonacci``, ``gcd``, ``lcm``, ``isqrt``, ``fnv1a64``,
``reverse``, ``upper`` (str, or UTF-8 bytes).

Inside a task (``spawn``) or an ``Executor`` call, the module-level functions
run on that task's or executor's engine. They are the bound methods of one
handle (``taskengine.sum.__self__``), so they behave, and are documented, as the
``Engine`` methods of the same names. A kernel call small enough to run on the
calling thread uses no engine: neither ``taskengine.sum(small)`` nor
``default_engine().sum(small)`` builds the default engine.

``team(members, func)`` (and ``Engine.team``) calls ``func(member, members)``
on ``members`` threads at the same time, so that the members may wait on each
other (each takes the GIL for its call).

``Executor`` is a ``concurrent.futures.ThreadPoolExecutor`` whose calls' kernels
run on an engine of one's choosing, and which survives ``fork()``. Errors are
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
    ThreadPoolError,
    AllocationError,
    FfiError,
    NotFoundError,
    UnsupportedError,
)
from ._executor import Executor
# `x as x`: sum, max, min and sorted are exported although __all__ leaves them out.
from ._native import (
    Engine,
    Task,
    __version__,
    default_engine,
    factorial,
    fibonacci,
    fnv1a64,
    gcd,
    isqrt,
    lcm,
    max as max,
    min as min,
    reverse,
    sort,
    sorted as sorted,
    spawn,
    spawn_retry,
    sum as sum,
    upper,
)
from ._native import team

__all__ = [
    "__version__",
    "Engine",
    "Task",
    "Executor",
    "default_engine",
    "spawn",
    # sum, max and min are left out on purpose: `from taskengine import *` must
    # not shadow the builtins. They are taskengine.sum, taskengine.max, ...
    "sort",
    "factorial",
    "fibonacci",
    "gcd",
    "lcm",
    "isqrt",
    "fnv1a64",
    "reverse",
    "upper",
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
    "spawn_retry",
    "team",
]

# Runs after threading's exit hooks (which let Executor calls finish): from then
# on engine workers stay out of the interpreter while it is torn down, and
# tasks still in it get a moment to return.
atexit.register(_native._at_exit)
