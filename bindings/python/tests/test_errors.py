"""The exception hierarchy and the panic boundary."""

from __future__ import annotations

import concurrent.futures

import pytest

import taskengine

EXPECTED_BASES = {
    taskengine.InvalidArgumentError: ValueError,
    taskengine.DTypeError: TypeError,
    taskengine.ArithmeticOverflowError: OverflowError,
    taskengine.Utf8Error: UnicodeDecodeError,
    taskengine.EngineShutdownError: RuntimeError,
    taskengine.EngineMemoryError: MemoryError,
    taskengine.QueueFullError: RuntimeError,
    taskengine.TaskTimeoutError: TimeoutError,
    taskengine.TaskCancelledError: concurrent.futures.CancelledError,
    taskengine.TaskPanicError: RuntimeError,
    taskengine.ThreadPoolError: RuntimeError,
    taskengine.AllocationError: MemoryError,
    taskengine.FfiError: RuntimeError,
}


@pytest.mark.parametrize("cls,builtin", EXPECTED_BASES.items())
def test_each_error_is_also_the_builtin_users_expect(cls, builtin):
    assert issubclass(cls, taskengine.TaskEngineError)
    assert issubclass(cls, builtin)
    assert issubclass(cls, Exception)


def test_codes_match_the_c_status_numbers():
    assert taskengine.InvalidArgumentError.code == 2
    assert taskengine.ArithmeticOverflowError.code == 3
    assert taskengine.EngineMemoryError.code == 4
    assert taskengine.EngineShutdownError.code == 5
    assert taskengine.TaskCancelledError.code == 6
    assert taskengine.TaskTimeoutError.code == 7
    assert taskengine.TaskFailedError.code == 8
    assert taskengine.TaskPanicError.code == 9
    assert taskengine.Utf8Error.code == 10
    assert taskengine.QueueFullError.code == 11
    assert taskengine.ThreadPoolError.code == 14
    assert taskengine.AllocationError.code == 15
    assert taskengine.NotFoundError.code == 17
    assert taskengine.UnsupportedError.code == 18
    assert taskengine.FfiError.code == 16


def test_utf8_error_is_a_real_unicode_decode_error():
    err = taskengine.Utf8Error("utf-8", b"ab\xff", 2, 3, "invalid start byte")
    assert err.start == 2 and err.end == 3 and err.object == b"ab\xff"
    assert "position 2" in str(err)


def test_a_rust_panic_is_a_task_panic_error_not_a_panic_exception():
    with pytest.raises(taskengine.TaskPanicError) as info:
        taskengine._native._panic("boom")
    assert "boom" in str(info.value)
    # PanicException derives from BaseException; ours must be catchable as Exception.
    assert isinstance(info.value, Exception)
    assert type(info.value).__name__ != "PanicException"


def test_the_module_still_works_after_a_panic():
    for _ in range(3):
        with pytest.raises(taskengine.TaskPanicError):
            taskengine._native._panic("again")
    assert taskengine.spawn(abs, -4).wait() == 4
