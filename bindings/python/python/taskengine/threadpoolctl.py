"""threadpoolctl support: importing this module registers the engine with
threadpoolctl (through its documented ``threadpoolctl.register``), so that
``threadpool_info()`` lists it (``user_api`` and ``internal_api``
``"taskengine"``) and ``threadpool_limits(n)`` limits it.

What the limit means for an engine: its workers are started once and do not
come and go, so the limit is the number of threads the engine lends to native
libraries' parallel regions at once: the OpenBLAS adapter's
``taskengine.blas.max_threads()`` (by default the engine's worker count). With
``threadpool_limits(n)`` OpenBLAS itself is limited too (threadpoolctl's own
controller: each call splits into at most ``n`` jobs), so BLAS work attached to
the engine uses at most ``n`` threads in all. The engine's own kernels are not
limited (they always use every worker).

The controller finds the library by the ``te_openblas_max_threads`` symbol that
``taskengine._native`` exports, and reads and sets the limit through the C ABI.
"""

from __future__ import annotations

import abc
import ctypes

import threadpoolctl  # type: ignore[import-untyped]

from . import _native

__all__ = ["TaskEngineController"]


# The metaclass is LibController's own, spelled out for the type checkers
# (threadpoolctl ships no type information).
class TaskEngineController(threadpoolctl.LibController, metaclass=abc.ABCMeta):  # type: ignore[misc]
    """threadpoolctl's view of taskengine (see the module's docstring)."""

    user_api = "taskengine"
    internal_api = "taskengine"
    filename_prefixes = ("_native",)
    check_symbols = ("te_openblas_max_threads", "te_openblas_set_max_threads")

    def set_additional_attributes(self) -> None:
        self.dynlib.te_openblas_attached.restype = ctypes.c_uint32
        # How many OpenBLAS builds currently run on the engine.
        self.openblas_attached = int(self.dynlib.te_openblas_attached())

    def get_num_threads(self) -> int:
        self.dynlib.te_openblas_max_threads.restype = ctypes.c_uint32
        return int(self.dynlib.te_openblas_max_threads())

    def set_num_threads(self, num_threads: int) -> None:
        self.dynlib.te_openblas_set_max_threads.argtypes = [ctypes.c_uint32]
        self.dynlib.te_openblas_set_max_threads(max(0, int(num_threads)))

    def get_version(self) -> str:
        self.dynlib.te_version.restype = ctypes.c_char_p
        version = self.dynlib.te_version()
        return version.decode() if version else _native.__version__


threadpoolctl.register(TaskEngineController)
