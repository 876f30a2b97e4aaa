// Tests of taskengine::Engine::team and taskengine::team: members run at once
// (a barrier among all of them passes), exceptions are rethrown after every
// member returned, nested teams, bad sizes.
#include "taskengine.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int failures = 0;

#define TCHECK(cond)                                                               \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

// A barrier for n threads (std::barrier is C++20).
class Barrier {
 public:
  explicit Barrier(std::uint32_t n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    std::uint64_t gen = gen_;
    if (++count_ == n_) {
      count_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen != gen_; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::uint32_t n_;
  std::uint32_t count_ = 0;
  std::uint64_t gen_ = 0;
};

// Runs a barrier team of n; true when every member ran once on its own thread.
template <class Run>
bool barrier_team(Run &&run, std::uint32_t n) {
  Barrier barrier(n);
  std::mutex m;
  std::set<std::thread::id> threads;
  std::vector<int> calls(n, 0);
  run(n, [&](std::uint32_t member, std::uint32_t members) {
    barrier.wait();
    std::lock_guard<std::mutex> lock(m);
    threads.insert(std::this_thread::get_id());
    if (member < members && members == n) ++calls[member];
  });
  for (int c : calls)
    if (c != 1) return false;
  return threads.size() == n;
}

}  // namespace

int team_test_failures() {
  taskengine::Engine engine(2);
  auto on_engine = [&](std::uint32_t n, auto &&f) { engine.team(n, f); };
  auto on_default = [](std::uint32_t n, auto &&f) { taskengine::team(n, f); };
  for (std::uint32_t n = 1; n <= 6; ++n) {
    TCHECK(barrier_team(on_engine, n));
    TCHECK(barrier_team(on_default, n));
  }

  // From inside group tasks, with every worker busy in a team.
  {
    std::atomic<int> ok{0};
    taskengine::TaskGroup group(engine);
    for (int i = 0; i < 4; ++i)
      group.spawn([&] { ok += barrier_team([](std::uint32_t n, auto &&f) { taskengine::team(n, f); }, 3); });
    group.wait();
    TCHECK(ok == 4);
  }

  // Nested: every member runs a team of its own.
  {
    std::atomic<int> ok{0};
    Barrier outer(3);
    engine.team(3, [&](std::uint32_t, std::uint32_t) {
      ok += barrier_team([](std::uint32_t n, auto &&f) { taskengine::team(n, f); }, 3);
      outer.wait();
    });
    TCHECK(ok == 3);
  }

  // An exception is rethrown as it was, once every member has returned.
  {
    std::atomic<int> calls{0};
    bool caught = false;
    try {
      engine.team(4, [&](std::uint32_t member, std::uint32_t) {
        ++calls;
        if (member == 3) throw std::out_of_range("member 3");
      });
    } catch (const std::out_of_range &e) {
      caught = std::string(e.what()) == "member 3";
    }
    TCHECK(caught);
    TCHECK(calls == 4);
  }

  // Bad sizes: Error with TE_ERR_INVALID; nothing runs.
  {
    std::atomic<int> calls{0};
    for (std::uint32_t n : {0u, static_cast<std::uint32_t>(TE_TEAM_MAX_MEMBERS + 1)}) {
      te_status status = TE_OK;
      try {
        engine.team(n, [&](std::uint32_t, std::uint32_t) { ++calls; });
      } catch (const taskengine::Error &e) {
        status = e.status();
      }
      TCHECK(status == TE_ERR_INVALID);
    }
    TCHECK(calls == 0);
  }

  // Many small teams reuse the cached threads.
  {
    taskengine::Engine fresh(2);
    std::atomic<long> calls{0};
    for (int i = 0; i < 10000; ++i) fresh.team(2, [&](std::uint32_t, std::uint32_t) { ++calls; });
    TCHECK(calls == 20000);
    te_team_stats s = fresh.team_stats();
    TCHECK(s.runs == 10000 && s.threads_started == 1);
  }
  return failures;
}
