// The patterns benchmark's oneTBB versions: a tbb::task_group per node, in a
// task_arena of TE_BENCH_THREADS threads (the main thread is one of them, as
// the master thread is one of OpenMP's). Built with TE_BENCH_HAVE_TBB when the
// Makefile finds oneTBB (Debian's libtbb-dev); without it every entry point
// reports that the rows are skipped. The library never depends on it.
#include "patterns_cpp.hpp"

#if TE_BENCH_HAVE_TBB

#include <atomic>
#include <memory>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

namespace {

std::unique_ptr<tbb::global_control> control;
std::unique_ptr<tbb::task_arena> arena;

struct TbbGroup {
  tbb::task_group group;
  template <class F>
  void run(F &&f) {
    group.run(std::forward<F>(f));
  }
  void wait() { group.wait(); }
};

struct TbbRoot {
  template <class F>
  static int run(const char *what, F &&f) {
    return pb::report_failures("oneTBB", what, [&] { arena->execute(f); });
  }
};

using E = pb::Entry<TbbGroup, TbbRoot>;

}  // namespace

extern "C" {

int pb_tbb_available(void) { return 1; }

int pb_tbb_init(unsigned threads) {
  return pb::report_failures("oneTBB", "arena", [&] {
    control.reset(new tbb::global_control(tbb::global_control::max_allowed_parallelism, threads));
    arena.reset(new tbb::task_arena(static_cast<int>(threads)));
    arena->initialize();
    arena->execute([] {  // starts the workers
      tbb::task_group g;
      g.run([] {});
      g.wait();
    });
  });
}
int pb_tbb_fib(unsigned n, uint64_t *out) { return E::fib(n, out); }
int pb_tbb_nqueens(int n, uint64_t *out) { return E::nqueens(n, out); }
int pb_tbb_sort(pb_elm *data, pb_elm *tmp, size_t n) { return E::sort(data, tmp, n); }
int pb_tbb_sparselu(float **blocks) { return E::sparselu(blocks); }
int pb_tbb_strassen(double *c, const double *a, const double *b, size_t n) { return E::strassen(c, a, b, n); }
int pb_tbb_uts(uint64_t *out) { return E::uts(out); }

int pb_tbb_spawns(long n, long *out_count) {
  std::atomic<long> counter{0};
  int failed = pb::report_failures("oneTBB", "spawns", [&] {
    arena->execute([&] {
      tbb::task_group group;
      for (long i = 0; i < n; i++) group.run([&counter] { counter.fetch_add(1, std::memory_order_relaxed); });
      group.wait();
    });
  });
  *out_count = counter.load();
  return failed;
}

}  // extern "C"

#else  // no oneTBB

namespace {
int absent() {
  std::fprintf(stderr, "patterns: built without oneTBB\n");
  return 1;
}
}  // namespace

extern "C" {
int pb_tbb_available(void) { return 0; }
int pb_tbb_init(unsigned) { return absent(); }
int pb_tbb_fib(unsigned, uint64_t *) { return absent(); }
int pb_tbb_nqueens(int, uint64_t *) { return absent(); }
int pb_tbb_sort(pb_elm *, pb_elm *, size_t) { return absent(); }
int pb_tbb_sparselu(float **) { return absent(); }
int pb_tbb_strassen(double *, const double *, const double *, size_t) { return absent(); }
int pb_tbb_uts(uint64_t *) { return absent(); }
int pb_tbb_spawns(long, long *) { return absent(); }
}  // extern "C"

#endif
