// tasks: the engine's task model from C++, as examples/tasks.rs,
// examples/c/tasks.c and examples/python/tasks.py show it in theirs: a
// configured engine, the math kernels, and a task retried with backoff
// (TaskGroup::spawn_retry), with a fallback when it gives up. Prints the lines
// of tests/c/tasks.expected.
#include "taskengine.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>

int main() {
  using namespace std::chrono_literals;
  // Two workers; if the system can only start one, run with one.
  taskengine::Engine engine(taskengine::Config().workers(2).min_workers(1));
  unsigned workers = engine.workers();
  if (workers == 2) std::printf("engine: 2 workers, none missing\n");
  else std::printf("engine: %u workers, %u missing\n", workers, 2 - workers);

  std::printf("factorial(20) = %llu\n", static_cast<unsigned long long>(taskengine::factorial(20)));
  std::printf("gcd(12, 18) = %llu\n", static_cast<unsigned long long>(taskengine::gcd(12, 18)));

  // Throws on its first two runs; up to 3 runs, 1 ms then 2 ms apart.
  std::atomic<int> runs{0};
  {
    taskengine::TaskGroup group(engine);
    group.spawn_retry([&] { if (++runs < 3) throw std::runtime_error("service busy"); }, 3, 1ms);
    group.wait();
  }
  std::printf("flaky task: succeeded on attempt %d\n", runs.load());

  // Always throws: wait() rethrows the last run's exception, then the fallback.
  runs = 0;
  int result = 0;
  try {
    taskengine::TaskGroup group(engine);
    group.spawn_retry([&] { ++runs; throw std::runtime_error("down"); }, 3, 1ms);
    group.wait();
  } catch (const std::runtime_error &) {
    std::printf("hopeless task: failed after %d attempts\n", runs.load());
    taskengine::TaskGroup fallback(engine);
    fallback.spawn([&] { result = 42; });
    fallback.wait();
  }
  std::printf("with a fallback: %d\n", result);
  return 0;
}
