"""Kernels on a buffer another thread keeps writing.

A Python thread toggling bytes of a 1 MiB bytearray while the kernels run on
it (without the GIL) gets wrong results or errors, never a crash. Each run is
a fresh interpreter, so a crash is reported as a failure here instead of
taking pytest down with it.
"""

from __future__ import annotations

import pytest

from conftest import run_python

SCRIPT = """
import threading, time, taskengine

# 1 MiB of valid UTF-8 ("a", U+00E9, U+20AC, U+1D11E: 10 bytes) ending on a
# two-byte sequence, whose lead byte the writer turns into a four-byte one's:
# a length read before the change and used after it is what broke.
unit = "a\\u00e9\\u20ac\\U0001d11e".encode()
buf = bytearray(unit * 104857 + b"abcd" + "\\u00e9".encode())
assert len(buf) == 1 << 20 and len(buf) % 8 == 0
n = len(buf)
words = memoryview(buf).cast("q")
stop = False

def write():
    x = 1
    while not stop:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        if MODE in ("reverse", "upper"):
            # The tail's lead byte, and now and then an ASCII letter's case,
            # which keeps the rest valid.
            buf[n - 2] ^= 0x33
            buf[(x % (n // 10)) * 10] ^= 0x20
        else:
            # Any byte of any element: the radix sort's key bytes included.
            buf[x % n] ^= 0x7F

def call():
    if MODE == "reverse":
        taskengine.reverse(buf)
    elif MODE == "upper":
        taskengine.upper(buf)
    elif MODE == "sort":
        taskengine.sort(words)
    else:
        taskengine.sum(words)

writer = threading.Thread(target=write)
writer.start()
calls = errors = 0
end = time.monotonic() + SECONDS
try:
    while time.monotonic() < end:
        try:
            call()
        except (taskengine.TaskEngineError, ValueError, OverflowError):
            errors += 1  # a Utf8 error (or an overflowing sum) is allowed
        calls += 1
finally:
    stop = True
    writer.join()
print("done", MODE, calls, "calls", errors, "errors")
"""


@pytest.mark.parametrize("mode", ["reverse", "upper", "sort", "sum"])
def test_kernels_survive_a_racing_writer(mode: str) -> None:
    code = f"MODE = {mode!r}\nSECONDS = 0.5\n" + SCRIPT
    result = run_python(code, timeout=50)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-2000:]}"
    assert f"done {mode}" in result.stdout, result.stdout + result.stderr
