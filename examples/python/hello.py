"""hello: the same small program in every language (examples/hello.rs,
examples/c/hello.c, examples/cpp/hello.cpp)."""

import array
import threading

import taskengine


def main() -> None:
    with taskengine.Engine(workers=4) as engine:
        print(f"hello from taskengine {taskengine.__version__} with {engine.workers} workers")

        ran = 0
        lock = threading.Lock()

        def count_one() -> None:
            nonlocal ran
            with lock:
                ran += 1

        tasks = [engine.spawn(count_one) for _ in range(100)]
        for task in tasks:
            task.wait()
        print(f"100 tasks in a group: {ran} ran")

        numbers = array.array("q", range(1, 1_000_001))
        print(f"sum of 1..=1000000 = {engine.sum(numbers)}")

        values = array.array("q", [5, -3, 9, 0, 2])
        engine.sort(values)
        print(f"sorted: {values.tolist()}")

        print(f'fnv1a64("hello") = {engine.fnv1a64(b"hello"):#018x}')


if __name__ == "__main__":
    main()
