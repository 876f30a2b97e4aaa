"""The module-level functions are the bound methods of one handle, the calling
context's: written once, they behave as the ``Engine`` methods of the same names,
pickle, and build the default engine only for work big enough to need it."""

from __future__ import annotations

import math
import pickle

import pytest

import taskengine
from taskengine import _native
from conftest import run_python

MODULE_FUNCTIONS = [
    "spawn",
    "spawn_retry",
    "team",
    "sum",
    "max",
    "min",
    "sort",
    "sorted",
    "factorial",
    "fibonacci",
    "gcd",
    "lcm",
    "isqrt",
    "fnv1a64",
    "reverse",
    "upper",
]


@pytest.mark.parametrize("name", MODULE_FUNCTIONS)
def test_each_is_the_context_handles_method(name):
    func = getattr(taskengine, name)
    assert func.__self__ is _native._context
    assert func.__name__ == name
    assert func.__doc__ == getattr(taskengine.Engine, name).__doc__
    assert getattr(_native, name) is func


def test_the_context_handle_is_not_an_engine_of_ones_own():
    context = _native._context
    assert not context.closed
    context.close()  # does nothing, like the default engine's handle
    assert taskengine.factorial(5) == math.factorial(5)
    assert context.workers == taskengine.default_engine().workers
    assert "calling context" in repr(context)


def test_module_functions_pickle_by_reference():
    for name in ["sum", "upper", "spawn"]:
        func = pickle.loads(pickle.dumps(getattr(taskengine, name)))
        assert func.__self__ is not None and func.__name__ == name
    assert pickle.loads(pickle.dumps(taskengine.upper))("straße") == "straße".upper()


def test_small_calls_on_either_handle_leave_the_default_engine_unbuilt():
    # One rule for both handles: a kernel call small enough to run on the calling
    # thread needs no engine and builds none; a large one builds the default engine.
    result = run_python(
        """
        import array, taskengine
        from taskengine import _native
        small = array.array("q", range(8))
        assert taskengine.sum(small) == 28
        assert taskengine.default_engine().sum(small) == 28
        assert taskengine.default_engine().sorted(small).tolist() == sorted(small.tolist())
        print(_native._default_engine_workers())
        big = array.array("q", range(1 << 20))
        assert taskengine.default_engine().sum(big) == (1 << 20) * ((1 << 20) - 1) // 2
        print(_native._default_engine_workers() is not None)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "True"]


def test_inside_a_task_module_functions_use_that_tasks_engine():
    # A large sum inside a task of an engine of one's own runs there: the
    # default engine is never built.
    result = run_python(
        """
        import array, taskengine
        from taskengine import _native
        big = array.array("q", range(1 << 18))
        with taskengine.Engine(workers=2) as engine:
            total = engine.spawn(taskengine.sum, big).wait(timeout=30)
        assert total == (1 << 18) * ((1 << 18) - 1) // 2, total
        print(_native._default_engine_workers())
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None"]
