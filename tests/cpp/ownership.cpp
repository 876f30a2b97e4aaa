// Tests of the ownership helper every handle class shares (raw(), release(),
// adopt()) and of the kernels written once as templates: handles travel to C
// code and back without a double free or a leak (the suite also runs under
// ASan and valgrind), and the kernels take every element type of the C API,
// as pointer + size or as a container, on an Engine, an EngineRef or the default
// engine, with the results of std:: algorithms.
#include "taskengine.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <atomic>
#include <type_traits>
#include <vector>

namespace {

int failures = 0;

#define OCHECK(cond)                                                               \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                  \
    }                                                                              \
  } while (0)

// Whether `engine.sort(p, n)` compiles for a T*: only the C API's types do.
template <class T, class = void>
struct Sortable : std::false_type {};
template <class T>
struct Sortable<T, std::void_t<decltype(std::declval<taskengine::EngineRef &>().sort(
                       std::declval<T *>(), std::size_t{0}))>> : std::true_type {};

void engine_round_trip() {
  taskengine::Engine engine(2);
  te_engine *handle = engine.release();
  OCHECK(handle != nullptr && engine.raw() == nullptr);
  OCHECK(te_engine_workers(handle) == 2);  // still alive, now C's to free
  taskengine::Engine back = taskengine::Engine::adopt(handle);
  OCHECK(back.raw() == handle && back.workers() == 2);
  std::vector<std::int64_t> v{5, -3, 9};
  OCHECK(back.sum(v) == 11);
  // An engine with hooks can be released too: the hooks stay allocated.
  std::atomic<int> stops{0};
  taskengine::Engine hooked(taskengine::Config().workers(1).on_thread_stop([&](std::uint32_t) { ++stops; }));
  te_engine_free(hooked.release());
  OCHECK(stops == 1);
  taskengine::Engine empty = taskengine::Engine::adopt(nullptr);
  OCHECK(empty.raw() == nullptr);
}

void group_round_trip() {
  taskengine::Engine engine(2);
  std::atomic<int> ran{0};
  taskengine::TaskGroup group(engine);
  group.spawn([&] { ++ran; });
  te_group *handle = group.release();
  OCHECK(group.raw() == nullptr);
  OCHECK(te_group_wait(handle) == TE_OK && ran == 1);
  // Adopted back with a task queued: the destructor waits for it.
  taskengine::TaskGroup back = taskengine::TaskGroup::adopt(handle);
  back.spawn([&] { ++ran; });
  back.wait();
  OCHECK(ran == 2);
  {
    // A group made by C code, adopted; its failure is seen by wait().
    te_group *raw = nullptr;
    OCHECK(te_group_new(engine.raw(), &raw) == TE_OK);
    taskengine::TaskGroup adopted = taskengine::TaskGroup::adopt(raw);
    adopted.spawn([] { throw std::runtime_error("from an adopted group"); });
    bool threw = false;
    try {
      adopted.wait();
    } catch (const std::runtime_error &e) {
      threw = std::string(e.what()) == "from an adopted group";
    }
    OCHECK(threw);
  }
  {
    // Released after a task threw, adopted again: the exception slot is freed
    // by the adopter (ASan/valgrind would report the leak otherwise).
    taskengine::TaskGroup failing(engine);
    failing.spawn([] { throw 7; });
    te_group *raw = failing.release();
    OCHECK(te_group_wait(raw) == TE_ERR_TASK_FAILED);
    taskengine::TaskGroup again = taskengine::TaskGroup::adopt(raw);
  }
}

void arena_round_trip() {
  taskengine::Arena arena(taskengine::Arena::Kind::Bump, 4096);
  void *p = arena.alloc(64);
  te_arena *handle = arena.release();
  OCHECK(arena.raw() == nullptr);
  void *q = nullptr;
  OCHECK(te_arena_alloc(handle, 64, 8, &q) == TE_OK && q != p);
  taskengine::Arena back = taskengine::Arena::adopt(handle);
  OCHECK(back.stats().used >= 128);
}

double EngineRef_sum(taskengine::EngineRef ref, const std::vector<double> &d) { return ref.sum(d); }

template <class T>
void check_type(taskengine::EngineRef ref, T lo, T hi) {
  std::vector<T> v(5000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(lo + static_cast<T>((i * 7919) % 97));
  v[1234] = hi;
  std::vector<T> want = v;
  std::sort(want.begin(), want.end());
  std::vector<T> a = v, b = v;
  ref.sort(a.data(), a.size());
  taskengine::sort(b);  // a container, on the default engine
  OCHECK(a == want && b == want);
}

void kernels_everywhere() {
  taskengine::Engine engine(3);
  taskengine::EngineRef ref(engine);
  check_type<std::int64_t>(ref, -50, std::numeric_limits<std::int64_t>::max());
  check_type<std::uint64_t>(ref, 3, std::numeric_limits<std::uint64_t>::max());
  check_type<double>(ref, -1.5, 1e300);
  check_type<std::int32_t>(ref, -50, std::numeric_limits<std::int32_t>::max());
  check_type<std::uint32_t>(ref, 0, std::numeric_limits<std::uint32_t>::max());
  check_type<float>(ref, -2.5f, 3e38f);
  check_type<std::int16_t>(ref, -50, 32767);
  check_type<std::uint16_t>(ref, 0, 65535);
  check_type<std::int8_t>(ref, -50, 127);
  check_type<std::uint8_t>(ref, 0, 255);
  static_assert(Sortable<std::int16_t>::value && !Sortable<const std::int16_t>::value);
  static_assert(!Sortable<char>::value && !Sortable<long double>::value);

  std::array<std::int32_t, 4> small{7, -2, 40, 1};
  static_assert(std::is_same_v<decltype(taskengine::sum(small)), std::int64_t>);
  static_assert(std::is_same_v<decltype(engine.sum(small.data(), small.size())), std::int64_t>);
  static_assert(std::is_same_v<decltype(ref.max(std::vector<float>{1.0f})), float>);
  OCHECK(taskengine::sum(small) == 46 && engine.max(small) == 40 && ref.min(small) == -2);
  const std::vector<std::uint32_t> u{4000000000u, 4000000000u};
  OCHECK(engine.sum(u) == 8000000000ull);  // exact in 64 bits
  std::vector<double> d{1.0, 1e100, 1.0, -1e100};  // exact sum 2; naive summing gives 0
  OCHECK(taskengine::sum(d.data(), d.size()) == 2.0 && EngineRef_sum(ref, d) == 2.0);
}

}  // namespace

int ownership_test_failures() {
  engine_round_trip();
  group_round_trip();
  arena_round_trip();
  kernels_everywhere();
  return failures;
}
