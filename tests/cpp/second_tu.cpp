// A second translation unit including the wrapper: linking it with
// test_wrapper.cpp fails if any function in the header is not inline.
#include "taskengine.hpp"

#include <atomic>
#include <cstdint>

// Sum of 0..n-1 three ways, on the default engine and on an engine of its own.
std::int64_t second_tu_sum(std::int64_t n) {
  taskengine::Engine engine(2);
  std::atomic<std::int64_t> by_group{0};
  {
    taskengine::TaskGroup group(engine);
    for (std::int64_t i = 0; i < n; ++i) group.spawn([i, &by_group] { by_group += i; });
    group.wait();
  }
  std::atomic<std::int64_t> by_loop{0};
  taskengine::parallel_for(0, static_cast<std::size_t>(n), [&](std::size_t i) { by_loop += static_cast<std::int64_t>(i); });
  std::int64_t by_reduce = engine.parallel_reduce(
      0, static_cast<std::size_t>(n), std::int64_t{0},
      [](std::int64_t &acc, std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) acc += static_cast<std::int64_t>(i);
      },
      [](std::int64_t a, std::int64_t b) { return a + b; });
  if (by_group != by_reduce || by_loop != by_reduce) return -1;
  return by_reduce;
}
