// TaskGroup::spawn_retry: runs counted exactly, the last exception rethrown, a
// backoff as a lower bound; and the error statuses added at the end.
#include "taskengine.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace {

int failures = 0;

#define RCHECK(cond)                                                               \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

struct Flaky : std::runtime_error {
  explicit Flaky(int run) : std::runtime_error("run " + std::to_string(run)) {}
};

}  // namespace

// Returns the number of failed checks.
int retry_tests() {
  taskengine::Engine engine(2);
  {
    // k failures then a success, with exactly k + 1 attempts.
    std::atomic<int> runs[5] = {};
    taskengine::TaskGroup group(engine);
    for (int k = 0; k < 5; ++k) {
      group.spawn_retry(
          [&runs, k] {
            int run = ++runs[k];
            if (run <= k) throw Flaky(run);
          },
          static_cast<std::uint32_t>(k + 1));
    }
    group.wait();
    for (int k = 0; k < 5; ++k) RCHECK(runs[k] == k + 1);
  }
  {
    // Spent: wait() rethrows the last run's exception; earlier throws only retried.
    std::atomic<int> runs{0};
    taskengine::TaskGroup group(engine);
    auto start = std::chrono::steady_clock::now();
    group.spawn_retry([&runs] { throw Flaky(++runs); }, 3, std::chrono::milliseconds(5));
    try {
      group.wait();
      RCHECK(false);
    } catch (const Flaky &e) {
      RCHECK(std::string(e.what()) == "run 3");
    }
    RCHECK(runs == 3);
    // 5 + 10 ms of backoff at least (a lower bound, not a speed check).
    RCHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(15));
  }
  {
    taskengine::TaskGroup group(engine);
    try {
      group.spawn_retry([] {}, 0);
      RCHECK(false);
    } catch (const taskengine::Error &e) {
      RCHECK(e.status() == TE_ERR_INVALID);
    }
  }
  RCHECK(TE_ERR_THREAD_POOL == 14 && TE_ERR_MEMORY == 15 && TE_ERR_FFI == 16);
  return failures;
}
