"""Type stubs for the extension module ``taskengine._native`` (checked by ``mypy.stubtest``)."""

from types import TracebackType
from typing import Any, Callable, Final, Protocol, TypeAlias, TypeVar, final, overload

from typing_extensions import Buffer

class _ArrayInterface(Protocol):
    @property
    def __array_interface__(self) -> dict[str, Any]: ...

# What the array kernels accept: any buffer. numpy declares `ndarray.__buffer__`
# only for Python >= 3.12, so before that an array is known by its
# `__array_interface__`.
_Array: TypeAlias = Buffer | _ArrayInterface
# `sorted` returns a copy of the same kind (a memoryview for other buffers).
_A = TypeVar("_A", bound=_Array)

__all__ = [
    "Engine",
    "Task",
    "default_engine",
    "spawn",
    "sum",
    "max",
    "min",
    "sort",
    "factorial",
    "fibonacci",
    "gcd",
    "lcm",
    "isqrt",
    "fnv1a64",
    "reverse",
    "upper",
    "_at_exit",
    "_bind_thread",
    "_panic",
    "__version__",
    "spawn_retry",
    "team",
    "sorted",
    "_default_engine_workers",
    "_shutdown_default_engine",
    "_openblas_attach",
    "_openblas_detach",
    "_openblas_libraries",
    "_openblas_set_max_threads",
    "_openblas_max_threads",
    "_context_engine",
    "_context",
    "_config_defaults",
]

__version__: Final[str]

@final
class Engine:
    DEFAULT_SPIN_BUDGET: Final[int]
    DEFAULT_SPIN: Final[int]
    def __new__(
        cls,
        workers: int | None = None,
        queue_capacity: int = 0,
        work_stealing: bool = True,
        metrics: bool = True,
        spin: int | None = None,
        thread_name_prefix: str | None = None,
        stack_size: int = 0,
        task_pool_capacity: int | None = None,
        min_workers: int = 0,
        *,
        spin_budget: int | None = None,
    ) -> Engine: ...
    @property
    def workers(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def stats(self) -> dict[str, Any]: ...
    def close(self) -> None: ...
    def shutdown(self) -> None: ...
    def spawn(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Task: ...
    def spawn_retry(
        self,
        func: Callable[..., Any],
        /,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
        *,
        attempts: int = 3,
        backoff: float = 0.0,
        max_backoff: float | None = None,
        jitter: float = 0.0,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] | None = None,
        fallback: Callable[[], Any] | None = None,
    ) -> Task: ...
    def sum(self, data: _Array, /) -> int | float: ...
    def max(self, data: _Array, /) -> int | float: ...
    def min(self, data: _Array, /) -> int | float: ...
    def sort(self, data: _Array, /) -> None: ...
    def sorted(self, data: _A, /) -> _A: ...
    def trim_scratch(self) -> None: ...
    def set_scratch_limit(self, nbytes: int, /) -> None: ...
    def scratch_cached_bytes(self) -> int: ...
    def factorial(self, n: int, /) -> int: ...
    def fibonacci(self, n: int, /) -> int: ...
    def gcd(self, a: int, b: int, /) -> int: ...
    def lcm(self, a: int, b: int, /) -> int: ...
    def isqrt(self, x: int, /) -> int: ...
    def fnv1a64(self, data: str | _Array, /) -> int: ...
    @overload
    def reverse(self, text: str, /) -> str: ...
    @overload
    def reverse(self, text: _Array, /) -> bytes: ...
    @overload
    def upper(self, text: str, /) -> str: ...
    @overload
    def upper(self, text: _Array, /) -> bytes: ...
    TEAM_MAX_MEMBERS: Final[int]
    def team(self, members: int, func: Callable[[int, int], object], /) -> None: ...
    def team_stats(self) -> dict[str, int]: ...
    def __enter__(self) -> Engine: ...
    def __exit__(
        self,
        *_exc_info: type[BaseException] | BaseException | TracebackType | None,
    ) -> bool: ...
    def __reduce__(self) -> tuple[Callable[[], Engine], tuple[()]]: ...

@final
class Task:
    def wait(self, timeout: float | None = None) -> Any: ...
    def done(self) -> bool: ...

def default_engine() -> Engine: ...
def _context_engine() -> Engine: ...
def _at_exit() -> None: ...
def _bind_thread(engine: Engine | None) -> None: ...
def _panic(message: str) -> None: ...

# The module-level functions: the bound methods of the calling context's handle
# (their signatures are Engine's).
_context: Final[Engine]
spawn = _context.spawn
spawn_retry = _context.spawn_retry
team = _context.team
sum = _context.sum
max = _context.max
min = _context.min
sort = _context.sort
sorted = _context.sorted
factorial = _context.factorial
fibonacci = _context.fibonacci
gcd = _context.gcd
lcm = _context.lcm
isqrt = _context.isqrt
fnv1a64 = _context.fnv1a64
reverse = _context.reverse
upper = _context.upper

def _default_engine_workers() -> int | None: ...
def _shutdown_default_engine() -> None: ...
def _openblas_attach(engine: Engine | None = None) -> int: ...
def _openblas_detach() -> None: ...
def _openblas_libraries() -> list[dict[str, Any]]: ...
def _openblas_set_max_threads(n: int, /) -> None: ...
def _openblas_max_threads() -> int: ...
def _config_defaults() -> dict[str, Any]: ...
