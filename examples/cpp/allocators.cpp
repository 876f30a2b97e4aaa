// allocators: the engine's memory helpers, the same program in every language
// (examples/allocators.rs, examples/c/allocators.c, examples/python/allocators.py):
// 1. a bump arena for many small allocations freed at once;
// 2. scratch memory for each task, taken back when it returns;
// 3. the scratch memory the engine keeps between sorts.
#include "taskengine.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  // 1. A bump arena: 1000 values, one reset.
  taskengine::Arena arena(taskengine::Arena::Kind::Bump, 1 << 20);
  std::uint64_t total = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    auto *p = static_cast<std::uint64_t *>(arena.alloc(sizeof(std::uint64_t), alignof(std::uint64_t)));
    *p = i;
    total += *p;
  }
  std::printf("bump arena: 1000 values summing to %llu, %zu bytes used\n", static_cast<unsigned long long>(total),
              arena.stats().used);
  arena.reset();

  // 2. Scratch memory per task: no heap allocation, nothing to free.
  taskengine::Engine engine(4);
  std::array<std::uint64_t, 8> sums{};
  {
    taskengine::TaskGroup group(engine);
    for (std::uint64_t t = 0; t < 8; ++t) {
      group.spawn([&sums, t] {
        auto *buf = taskengine::task_scratch<std::uint64_t>(10000);
        for (std::uint64_t i = 0; i < 10000; ++i) buf[i] = (i + t) % 7;
        std::uint64_t sum = 0;
        for (std::uint64_t i = 0; i < 10000; ++i) sum += buf[i];
        sums[t] = sum;
      });
    }
    group.wait();
  }
  std::uint64_t scratch_total = 0;
  for (auto s : sums) scratch_total += s;
  std::printf("task scratch: 8 tasks, 10000 items each, total %llu\n", static_cast<unsigned long long>(scratch_total));

  // 3. Sorting twice: the second sort reuses the first one's buffer.
  std::vector<std::int64_t> data(1000000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::int64_t>((i * 7919) % 1000003);
  engine.sort(data.data(), data.size());
  std::size_t kept = engine.scratch_cached_bytes();
  engine.sort(data.data(), data.size());
  bool sorted = true;
  for (std::size_t i = 1; i < data.size(); ++i) sorted = sorted && data[i - 1] <= data[i];
  std::printf("sort scratch: sorted = %s, kept between sorts = %s (>= 8 MB: %s)\n", sorted ? "true" : "false",
              kept > 0 ? "true" : "false", kept >= 8000000 ? "true" : "false");
  engine.trim_scratch();
  std::printf("after trim: %zu bytes kept\n", engine.scratch_cached_bytes());
  return 0;
}
