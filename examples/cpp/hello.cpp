// hello: the same small program in every language (examples/hello.rs,
// examples/c/hello.c, examples/python/hello.py).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>

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

    std::uint64_t sum = engine.parallel_reduce(
        0, 1000000, std::uint64_t{0},
        [](std::uint64_t &acc, std::size_t begin, std::size_t end) {
          for (std::size_t i = begin; i < end; ++i) acc += i + 1;
        },
        [](std::uint64_t a, std::uint64_t b) { return a + b; });
    std::printf("sum of 1..=1000000 = %llu\n", static_cast<unsigned long long>(sum));
  } catch (const std::exception &e) {
    std::fprintf(stderr, "hello: %s\n", e.what());
    return 1;
  }
  return 0;
}
