"""OpenBLAS on the engine's workers: one pool per process.

numpy and scipy multiply matrices with OpenBLAS, which runs its own thread
pool. Next to an engine that is two pools fighting over the same cores, and
every task that calls ``numpy.matmul`` makes it worse. ``attach`` makes every
OpenBLAS loaded in the process (0.3.27 or later) run its threaded calls on the
engine's workers instead::

    import numpy as np
    import taskengine.blas

    with taskengine.blas.attached():          # or attach() ... detach()
        c = a @ b                             # OpenBLAS's jobs run as a team on the engine

Each call's jobs run at the same time on distinct threads (they wait on each
other), so calls from inside tasks never deadlock, and at most
``max_threads()`` BLAS jobs run at once across all calls (by default the
engine's worker count): concurrent calls from many tasks take turns on all
cores instead of oversubscribing them. ``engine=None`` runs each call on the
engine of the task making it, else on the default engine.

Attaching switches threading for the whole process: OpenBLAS expects it while no
BLAS call runs. Import numpy (or scipy) first: only libraries already loaded
are attached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from . import _native
from ._native import Engine

__all__ = ["attach", "detach", "attached", "libraries", "set_max_threads", "max_threads"]


def attach(engine: Engine | None = None) -> int:
    """Runs every loaded OpenBLAS's threaded calls on ``engine``'s workers.

    Returns how many OpenBLAS builds were attached. Raises ``TaskEngineError``
    when no OpenBLAS is loaded or all are older than 0.3.27 (the message says
    which), ``EngineShutdownError`` when the engine is closed. Attaching again
    replaces the engine.
    """
    return _native._openblas_attach(engine)


def detach() -> None:
    """Gives OpenBLAS its own threads back, once the calls running on the
    engine have finished. Does nothing when not attached."""
    _native._openblas_detach()


@contextlib.contextmanager
def attached(engine: Engine | None = None) -> Iterator[int]:
    """``attach(engine)`` for the ``with`` block, ``detach()`` after it (not
    nestable: leaving any block detaches)."""
    count = attach(engine)
    try:
        yield count
    finally:
        detach()


def libraries() -> list[dict[str, Any]]:
    """The OpenBLAS builds attached: ``filepath``, ``config`` (its
    ``openblas_get_config()``) and ``max_threads`` (its ``MAX_THREADS``)."""
    return _native._openblas_libraries()


def set_max_threads(n: int) -> None:
    """At most ``n`` BLAS jobs run on the engine at once, across all calls
    (``0``: the attached engine's worker count, the default). A call with more
    jobs than that still runs, alone."""
    _native._openblas_set_max_threads(n)


def max_threads() -> int:
    """The limit in force (see ``set_max_threads``)."""
    return _native._openblas_max_threads()
