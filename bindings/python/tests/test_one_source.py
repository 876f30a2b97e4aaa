"""Facts defined once in Rust, checked where Python repeats them: the defaults in
``Engine``'s signature and the status codes of the exception classes (the keys
of ``stats()`` are built from the Rust counters' own list); and the deprecated
spelling ``spin`` of ``spin_budget``."""

from __future__ import annotations

import array
import inspect
import warnings

import pytest

import taskengine
from taskengine import _errors, _native


def test_engine_signature_defaults_are_the_rust_config_defaults():
    rust = _native._config_defaults()
    params = inspect.signature(taskengine.Engine).parameters
    # None stands for the Rust default where a literal would hide it (or, for
    # workers, because 0 is refused from Python).
    none_means_default = {"workers", "spin_budget", "thread_name_prefix", "task_pool_capacity"}
    for name, value in rust.items():
        default = params[name].default
        if name in none_means_default:
            assert default is None, name
        else:
            assert default == value and type(default) is type(value), (name, default, value)
    assert set(params) - set(rust) == {"spin"}  # the deprecated alias
    with taskengine.Engine(workers=1) as engine:
        assert engine.stats()["workers"] == 1
    assert taskengine.Engine.DEFAULT_SPIN_BUDGET == rust["spin_budget"]


def test_spin_is_a_deprecated_alias_of_spin_budget():
    with pytest.warns(DeprecationWarning, match="spin_budget"):
        engine = taskengine.Engine(workers=1, spin=3)
    engine.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        taskengine.Engine(workers=1, spin_budget=3).close()
    with pytest.raises(taskengine.InvalidArgumentError):
        taskengine.Engine(workers=1, spin=1, spin_budget=2)
    with pytest.raises(taskengine.InvalidArgumentError, match="spin_budget"):
        taskengine.Engine(workers=1, spin_budget=-1)


def test_every_exception_class_carries_a_real_status_code():
    # te_status_str through ctypes would need the C library; the codes are
    # checked against the Rust enum in tests/one_source.rs. Here: each class's
    # code is the one an error of that class really carries.
    with pytest.raises(_errors.ArithmeticOverflowError) as overflow:
        taskengine.factorial(21)
    assert overflow.value.code == 3
    with pytest.raises(_errors.Utf8Error) as utf8:
        taskengine.reverse(b"\xff")
    assert utf8.value.code == 10
    engine = taskengine.Engine(workers=1)
    engine.close()
    with pytest.raises(_errors.EngineShutdownError) as shut:
        engine.sum(array.array("q"))
    assert shut.value.code == 5
