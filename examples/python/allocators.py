"""allocators: the engine's memory helpers, the same program in every language
(examples/allocators.rs, examples/c/allocators.c, examples/cpp/allocators.cpp).

Python has its own allocator for small objects, so steps 1 and 2 show the same
arithmetic with numpy scratch arrays; step 3 is the engine's own scratch memory,
which the sorts of numpy arrays use.
"""

from __future__ import annotations

import numpy as np

import taskengine


def main() -> None:
    # 1. (Rust/C/C++: a bump arena.) 1000 values, 8 bytes each.
    values = np.arange(1000, dtype=np.uint64)
    print(f"bump arena: 1000 values summing to {taskengine.sum(values)}, {values.nbytes} bytes used")

    with taskengine.Engine(workers=4) as engine:
        # 2. (Rust/C/C++: per-task scratch memory.) Eight tasks, one buffer each.
        def fill_and_sum(t: int) -> int:
            buf = (np.arange(10_000, dtype=np.uint64) + np.uint64(t)) % np.uint64(7)
            return int(taskengine.sum(buf))

        tasks = [engine.spawn(fill_and_sum, t) for t in range(8)]
        total = sum(task.wait() for task in tasks)
        print(f"task scratch: 8 tasks, 10000 items each, total {total}")

        # 3. Sorting twice: the second sort reuses the first one's buffer.
        data = (np.arange(1_000_000, dtype=np.int64) * 7919) % 1_000_003
        engine.sort(data)
        kept = engine.scratch_cached_bytes()
        engine.sort(data)
        ordered = bool(np.all(data[:-1] <= data[1:]))
        print(
            f"sort scratch: sorted = {str(ordered).lower()}, kept between sorts = {str(kept > 0).lower()} "
            f"(>= 8 MB: {str(kept >= 8_000_000).lower()})"
        )
        engine.trim_scratch()
        print(f"after trim: {engine.scratch_cached_bytes()} bytes kept")


if __name__ == "__main__":
    main()
