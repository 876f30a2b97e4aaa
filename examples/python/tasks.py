"""tasks: the engine's task model from Python, as examples/tasks.rs,
examples/c/tasks.c and examples/cpp/tasks.cpp show it in theirs: a configured
engine, the math kernels, and a call retried with backoff (``spawn_retry``),
with a fallback when it gives up. Prints the lines of tests/c/tasks.expected."""

from __future__ import annotations

import itertools

import taskengine


def main() -> None:
    # Two workers; if the system can only start one, run with one.
    with taskengine.Engine(workers=2, min_workers=1) as engine:
        missing = engine.stats()["worker_shortfall"]
        print(f"engine: {engine.workers} workers, {f'{missing} missing' if missing else 'none missing'}")
        print(f"factorial(20) = {engine.factorial(20)}")
        print(f"gcd(12, 18) = {engine.gcd(12, 18)}")

        # Raises on its first two calls; up to 3 runs, 1 ms then 2 ms apart.
        counter = itertools.count(1)

        def flaky() -> int:
            run = next(counter)
            if run < 3:
                raise ConnectionError("service busy")
            return run

        task = engine.spawn_retry(flaky, attempts=3, backoff=0.001, max_backoff=0.01, retry_on=ConnectionError)
        print(f"flaky task: succeeded on attempt {task.wait()}")

        calls: list[int] = []

        def hopeless() -> int:
            calls.append(1)
            raise ConnectionError("down")

        try:
            engine.spawn_retry(hopeless, attempts=3, backoff=0.001, retry_on=ConnectionError).wait()
        except ConnectionError:
            print(f"hopeless task: failed after {len(calls)} attempts")
        fallback = engine.spawn_retry(hopeless, attempts=3, backoff=0.001, fallback=lambda: 42)
        print(f"with a fallback: {fallback.wait()}")


if __name__ == "__main__":
    main()
