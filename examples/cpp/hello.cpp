// hello: the same small program in every language (examples/hello.rs,
// examples/c/hello.c, examples/python/hello.py).
#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <numeric>
#include <vector>

#include "taskengine.hpp"

int main() {
  try {
    taskengine::Engine engine(4);
    std::printf("hello from taskengine %s with %u workers\n", taskengine::version().c_str(), engine.workers());

    std::atomic<int> ran{0};
    taskengine::TaskGroup group(engine);
    for (int i = 0; i < 100; ++i) group.spawn([&ran] { ++ran; });
    group.wait();
    std::printf("100 tasks in a group: %d ran\n", ran.load());

    std::vector<std::int64_t> numbers(1000000);
    std::iota(numbers.begin(), numbers.end(), std::int64_t{1});
    std::printf("sum of 1..=1000000 = %" PRId64 "\n", engine.sum(numbers.data(), numbers.size()));

    std::vector<std::int64_t> values = {5, -3, 9, 0, 2};
    engine.sort(values.data(), values.size());
    std::printf("sorted: [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]\n", values[0], values[1],
                values[2], values[3], values[4]);

    std::printf("fnv1a64(\"hello\") = 0x%016" PRIx64 "\n", taskengine::fnv1a64("hello"));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "hello: %s\n", e.what());
    return 1;
  }
  return 0;
}
