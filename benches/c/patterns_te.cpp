// The patterns benchmark's C++ versions on taskengine: a taskengine::TaskGroup
// per node (on the current worker's engine), lambdas spawned into it.
#include <atomic>
#include <memory>

#include "patterns_cpp.hpp"
#include "taskengine.hpp"

namespace {

std::unique_ptr<taskengine::Engine> engine;

struct TeGroup {
  taskengine::TaskGroup group;  // the current worker's engine
  template <class F>
  void run(F &&f) {
    group.spawn(std::forward<F>(f));
  }
  void wait() { group.wait(); }
};

// main enters the engine as a C++ program does: a group on it, one task, wait.
struct TeRoot {
  template <class F>
  static int run(const char *what, F &&f) {
    return pb::report_failures("taskengine C++", what, [&] {
      taskengine::TaskGroup root(*engine);
      root.spawn(f);
      root.wait();
    });
  }
};

using E = pb::Entry<TeGroup, TeRoot>;

}  // namespace

extern "C" {

int pb_tecpp_init(unsigned threads) {
  return pb::report_failures("taskengine C++", "engine", [&] { engine.reset(new taskengine::Engine(threads)); });
}
int pb_tecpp_fib(unsigned n, uint64_t *out) { return E::fib(n, out); }
int pb_tecpp_nqueens(int n, uint64_t *out) { return E::nqueens(n, out); }
int pb_tecpp_sort(pb_elm *data, pb_elm *tmp, size_t n) { return E::sort(data, tmp, n); }
int pb_tecpp_sparselu(float **blocks) { return E::sparselu(blocks); }
int pb_tecpp_strassen(double *c, const double *a, const double *b, size_t n) { return E::strassen(c, a, b, n); }
int pb_tecpp_uts(uint64_t *out) { return E::uts(out); }

// n lambdas spawned from the main thread into one group, then one wait.
int pb_tecpp_spawns(long n, long *out_count) {
  std::atomic<long> counter{0};
  int failed = pb::report_failures("taskengine C++", "spawns", [&] {
    taskengine::TaskGroup group(*engine);
    for (long i = 0; i < n; i++) group.spawn([&counter] { counter.fetch_add(1, std::memory_order_relaxed); });
    group.wait();
  });
  *out_count = counter.load();
  return failed;
}

}  // extern "C"
