"""taskengine inside Dask: the kernels as chunk functions, one engine per worker.

Needs ``dask[distributed]`` (``pip install "dask[distributed]"``)::

    import dask.array as da
    from distributed import Client, LocalCluster
    import taskengine.dask as ted

    with LocalCluster(n_workers=4, threads_per_worker=2) as cluster, Client(cluster) as client:
        client.register_plugin(ted.EnginePlugin())   # each worker: an engine of 2 workers
        x = da.random.randint(0, 1 << 40, size=10**8, chunks=10**7)
        total = ted.sum(x).compute()                 # exact, like numpy's
        ordered = ted.sort(x).compute()              # == np.sort(x.compute())

What is here:

- Chunk functions: :func:`sort_chunk` (for ``map_blocks``), and the whole-array
  reductions :func:`sum`, :func:`min`, :func:`max` built on ``da.reduction``
  with the kernels as the chunk and aggregate functions; :func:`sort`, a
  distributed sort by regular sampling (each chunk sorted by ``taskengine.sort``,
  splitters taken from a sample of every sorted chunk, each chunk's runs sent to
  their bucket, each bucket sorted again). Arrays of int64, uint64 or float64.
  The results are numpy's, with the kernels' rules: integer sums are exact
  (``ArithmeticOverflowError`` instead of wrapping), float sums compensated,
  ``min``/``max`` skip NaNs unless all items are NaN (like ``np.nanmin``), the
  sort puts NaNs last (like ``np.sort``).
- :class:`EnginePlugin`, a ``distributed.WorkerPlugin``: a worker with
  ``nthreads=k`` gets a default engine of ``k`` workers, so the worker's ``k``
  task threads, each waiting on its kernel, keep exactly ``k`` cores busy
  rather than ``k`` times the machine. The default engine is sized when it is
  built: a worker process that has already used taskengine before the plugin
  runs keeps its engine, and the plugin says so (a warning in the worker's
  log, and :func:`engine_info` on that worker).

Pickling: these functions travel by module path. ``taskengine.default_engine()``
pickles as "the default engine" of the process that unpickles it; an
``Engine`` of one's own does not pickle (its threads live in its process):
create it inside the task, or use the default engine with the plugin. The
exceptions pickle, so a failing chunk raises the same exception on the client.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from typing import Any, Callable, Sequence

import dask.array as da
import numpy as np
from dask.delayed import delayed
from distributed import WorkerPlugin
from distributed.core import Status

from . import _native
from ._errors import DTypeError

__all__ = [
    "sort_chunk",
    "sum",
    "min",
    "max",
    "sort",
    "EnginePlugin",
    "size_default_engine",
    "engine_info",
    "engine_threads",
    "shutdown_engine",
]

_log = logging.getLogger(__name__)

# dask.array is only partly typed (untyped functions, a mistyped map_blocks).
_da: Any = da

# The item types the kernels take (native byte order).
_KERNEL_DTYPES = (np.dtype(np.int64), np.dtype(np.uint64), np.dtype(np.float64))

# What the plugin did in this process, for engine_info().
_sizing: dict[str, Any] = {}


def _check_dtype(dtype: np.dtype[Any]) -> None:
    if dtype not in _KERNEL_DTYPES:
        raise DTypeError(f"taskengine kernels take int64, uint64 or float64 arrays, not {dtype}")


def _flat(block: Any) -> np.ndarray[Any, Any]:
    """The block as one aligned, C-contiguous run of items (a view when it already
    is one). Blocks that came over the network may sit at any byte offset in
    their frame, and the kernels refuse misaligned buffers: those are copied."""
    arr = np.asarray(block)
    _check_dtype(arr.dtype)
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        arr = np.array(arr, order="C", copy=True)
    return arr.reshape(-1)


# ---- chunk functions ----


def sort_chunk(block: Any) -> np.ndarray[Any, Any]:
    """A sorted copy of a one-dimensional block (``x.map_blocks(sort_chunk)``)."""
    arr = np.asarray(block)
    _check_dtype(arr.dtype)
    if arr.ndim != 1:
        raise ValueError(f"sort_chunk sorts one-dimensional blocks, got {arr.ndim} dimensions")
    out = np.array(arr, order="C", copy=True)
    _native.sort(out)
    return out


def _shaped(value: Any, like: np.ndarray[Any, Any], keepdims: bool) -> np.ndarray[Any, Any]:
    shape = (1,) * like.ndim if keepdims else ()
    return np.full(shape, value, dtype=like.dtype)


def _meta(x: np.ndarray[Any, Any], keepdims: bool) -> np.ndarray[Any, Any]:
    # Dask calls chunk and aggregate functions on empty stand-ins to learn the
    # result's type: answer without the engine, so the client builds none.
    return _shaped(0, x, keepdims)


def _sum_block(
    x: np.ndarray[Any, Any], axis: Any = None, keepdims: bool = False, computing_meta: bool = False
) -> np.ndarray[Any, Any]:
    if computing_meta:
        return _meta(x, keepdims)
    return _shaped(_native.sum(_flat(x)), x, keepdims)


def _empty_partial(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # An empty block adds nothing to a min or max (what dask's own chunk_max does).
    return np.empty((1,) * (x.ndim - 1) + (0,), dtype=x.dtype) if x.ndim else np.empty(0, dtype=x.dtype)


def _extremum_step(
    kernel: str,
    is_chunk: bool,
    x: np.ndarray[Any, Any],
    axis: Any = None,
    keepdims: bool = False,
    computing_meta: bool = False,
) -> np.ndarray[Any, Any]:
    # One function for min and max, chunk and aggregate steps: bound with
    # functools.partial, which pickles by reference for distributed workers.
    if computing_meta:
        return _meta(x, keepdims)
    if is_chunk and x.size == 0:
        return _empty_partial(x)
    return _shaped(getattr(_native, kernel)(_flat(x)), x, keepdims)


def _extremum(x: da.Array, kernel: str, split_every: int | None) -> da.Array:
    aggregate = functools.partial(_extremum_step, kernel, False)
    chunk = functools.partial(_extremum_step, kernel, True)
    return _whole_array_reduction(x, chunk, aggregate, aggregate, f"taskengine-{kernel}", split_every)


def _whole_array_reduction(
    x: da.Array,
    chunk: Callable[..., Any],
    combine: Callable[..., Any],
    aggregate: Callable[..., Any],
    name: str,
    split_every: int | None,
) -> da.Array:
    _check_dtype(np.dtype(x.dtype))
    result: da.Array = _da.reduction(
        x,
        chunk=chunk,
        combine=combine,
        aggregate=aggregate,
        axis=None,
        keepdims=False,
        dtype=x.dtype,
        split_every=split_every,
        name=name,
    )
    return result


def sum(x: da.Array, split_every: int | None = None) -> da.Array:
    """The sum of every item of ``x`` (a 0-d dask array): each block summed by
    ``taskengine.sum``, the partial sums too. Integers exactly
    (``ArithmeticOverflowError`` when the sum does not fit), floats compensated."""
    return _whole_array_reduction(x, _sum_block, _sum_block, _sum_block, "taskengine-sum", split_every)


def min(x: da.Array, split_every: int | None = None) -> da.Array:
    """The smallest item of a non-empty ``x`` (NaNs skipped unless all are NaN)."""
    return _extremum(x, "min", split_every)


def max(x: da.Array, split_every: int | None = None) -> da.Array:
    """The largest item of a non-empty ``x`` (NaNs skipped unless all are NaN)."""
    return _extremum(x, "max", split_every)


# ---- distributed sort by regular sampling ----


def _sample(sorted_block: np.ndarray[Any, Any], per_block: int) -> np.ndarray[Any, Any]:
    # Evenly spaced items of a sorted block: its quantiles.
    if len(sorted_block) == 0:
        return sorted_block[:0]
    picks = np.linspace(0, len(sorted_block) - 1, num=per_block).round().astype(np.intp)
    return sorted_block[picks]


def _splitters(samples: Sequence[np.ndarray[Any, Any]], parts: int) -> np.ndarray[Any, Any]:
    pool = np.concatenate(samples)
    _native.sort(pool)
    if len(pool) == 0:
        return pool
    # parts - 1 cut points at the sample's quantiles.
    cuts = (np.arange(1, parts) * len(pool)) // parts
    return pool[cuts]


def _split(sorted_block: np.ndarray[Any, Any], splitters: np.ndarray[Any, Any], parts: int) -> tuple[Any, ...]:
    # Bucket j holds the items v with splitters[j-1] < v <= splitters[j]
    # (side="right" keeps equal items together, in the lower bucket).
    if len(splitters) == 0:
        return (sorted_block,) + (sorted_block[:0],) * (parts - 1)
    bounds = np.searchsorted(sorted_block, splitters, side="right")
    return tuple(np.split(sorted_block, bounds))


def _bucket(*runs: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out = np.concatenate(runs)
    _native.sort(out)
    return out


def sort(x: da.Array, parts: int | None = None, samples_per_chunk: int = 128) -> da.Array:
    """``x`` (one-dimensional) sorted, as a dask array of ``parts`` chunks (default:
    as many as ``x`` has) whose sizes are known once computed.

    Regular sampling: every chunk is sorted with ``taskengine.sort``;
    ``samples_per_chunk`` evenly spaced items of each give the ``parts - 1``
    splitters; each sorted chunk is cut at the splitters and bucket ``j``
    gathers the ``j``-th run of every chunk and sorts it. Many equal items may
    make one bucket much larger than the others (still correct)."""
    return _sample_sort(x, parts, samples_per_chunk, sort_chunk, _bucket)


def _sample_sort(
    x: da.Array,
    parts: int | None,
    samples_per_chunk: int,
    sort_block: Callable[[Any], np.ndarray[Any, Any]],
    sort_bucket: Callable[..., np.ndarray[Any, Any]],
) -> da.Array:
    # The algorithm of sort(), with the block and bucket sorts as parameters
    # (the benchmark runs it with numpy's too).
    if x.ndim != 1:
        raise ValueError(f"sort takes a one-dimensional array, got {x.ndim} dimensions")
    _check_dtype(np.dtype(x.dtype))
    if samples_per_chunk < 1:
        raise ValueError("samples_per_chunk must be >= 1")
    nparts = x.numblocks[0] if parts is None else parts
    if nparts < 1:
        raise ValueError("parts must be >= 1")
    meta = np.empty(0, dtype=x.dtype)  # no trial call of sort_block on the client
    sorted_blocks = _da.map_blocks(sort_block, x, dtype=x.dtype, meta=meta).to_delayed().ravel()
    sample = delayed(_sample, pure=True)
    samples = [sample(block, samples_per_chunk) for block in sorted_blocks]
    splitters = delayed(_splitters, pure=True)(samples, nparts)
    split = delayed(_split, pure=True, nout=nparts)
    runs = [split(block, splitters, nparts) for block in sorted_blocks]
    bucket = delayed(sort_bucket, pure=True)
    buckets = [bucket(*(run[j] for run in runs)) for j in range(nparts)]
    result: da.Array = _da.concatenate([_da.from_delayed(b, shape=(np.nan,), dtype=x.dtype) for b in buckets])
    return result


# ---- one engine per worker ----


def engine_threads() -> list[str]:
    """Names of this process's taskengine threads (Linux: as the kernel keeps
    them, at most 15 bytes; workers are ``taskengine-N``). Empty elsewhere."""
    names = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/comm", encoding="utf-8", errors="replace") as f:
                name = f.read().strip()
        except OSError:
            continue  # the thread ended meanwhile
        if name.startswith("taskengine"):
            names.append(name)
    return sorted(names)


def size_default_engine(workers: int) -> dict[str, Any]:
    """Builds this process's default engine with ``workers`` workers, unless it
    is already built: then it is left as it is and a ``RuntimeWarning`` says so
    (an engine cannot be resized; ``TASKENGINE_WORKERS`` only sizes one not built
    yet). Returns what :func:`engine_info` reports."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    built = _native._default_engine_workers()
    if built is None:
        # Read by the default engine when it is built; also sizes the engines of
        # processes this worker starts. Set before any task runs here.
        os.environ["TASKENGINE_WORKERS"] = str(workers)
        _sizing.update(requested=workers, outcome="sized")
        _native.default_engine().workers  # build it now, at that size
    elif built == workers:
        _sizing.update(requested=workers, outcome="already built at that size")
    else:
        _sizing.update(requested=workers, outcome=f"already built with {built} workers; left as is")
        message = (
            f"taskengine: this process's default engine was built with {built} workers before "
            f"it could be sized to {workers}; it keeps {built} (an engine cannot be resized). "
            "Register EnginePlugin before running taskengine code on the workers, or set "
            "TASKENGINE_WORKERS in the workers' environment."
        )
        _log.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    return engine_info()


def engine_info() -> dict[str, Any]:
    """This process's default engine: ``workers`` (None when not built or shut
    down), its live ``threads``, ``TASKENGINE_WORKERS``, and what the plugin did
    (``requested``, ``outcome``). Cheap; builds nothing (``client.run(engine_info)``)."""
    return {
        "workers": _native._default_engine_workers(),
        "threads": engine_threads(),
        "TASKENGINE_WORKERS": os.environ.get("TASKENGINE_WORKERS"),
        **_sizing,
    }


def shutdown_engine() -> list[str]:
    """Shuts this process's default engine down (queued work finishes, threads
    joined) and returns the taskengine threads still alive (none). For a worker
    process about to exit; later kernels here raise ``EngineShutdownError``."""
    _native._shutdown_default_engine()
    return engine_threads()


class EnginePlugin(WorkerPlugin):
    """Sizes each worker's default engine to the worker's ``nthreads`` (or to
    ``workers`` when given), and on a worker under a nanny (its own process,
    ending when the worker closes) joins the engine's threads at close.

    Where threadpoolctl is installed, the worker registers the engine with it
    (``taskengine.threadpoolctl``), so ``threadpool_info()`` there lists it.

    Register it before submitting taskengine work: ``client.register_plugin(EnginePlugin())``.
    Workers started later (restarts included) run it when they join."""

    name = "taskengine"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers

    def setup(self, worker: Any) -> None:
        size_default_engine(self.workers or worker.state.nthreads)
        # So that threadpoolctl on the worker (threadpool_info, and Dask's own
        # calls to it) lists the engine beside the BLAS and OpenMP pools.
        try:
            import taskengine.threadpoolctl  # noqa: F401
        except ImportError:  # threadpoolctl not installed on the worker
            pass

    def teardown(self, worker: Any) -> None:
        # Only when the worker closes in a process of its own: an in-process
        # worker (LocalCluster(processes=False)) shares the client's default
        # engine, and a plugin removed from a running worker leaves it in use.
        if worker.nanny is not None and worker.status in (Status.closing, Status.closing_gracefully, Status.closed):
            _native._shutdown_default_engine()
