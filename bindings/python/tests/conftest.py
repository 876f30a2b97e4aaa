"""Shared helpers for the taskengine Python suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import taskengine


def run_python(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Runs `code` in a fresh interpreter (for process-global behaviour: fork,
    signals, interpreter exit) and returns the finished process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def engine():
    with taskengine.Engine(workers=2) as e:
        yield e
