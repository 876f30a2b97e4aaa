// taskengine.hpp: a header-only C++17 wrapper over taskengine.h.
//
//   taskengine::Engine engine(4);                     // RAII: freed on scope exit
//   engine.join([&] { left(); }, [&] { right(); });   // any callables
//   taskengine::TaskGroup group(engine);
//   group.spawn([i, &out] { out[i] = work(i); });     // captures welcome
//   group.wait();                                     // rethrows a task's exception
//   engine.parallel_for(0, n, [&](std::size_t i) { v[i] *= 2; });
//   engine.sort(v.data(), v.size());                  // kernels over pointer + size
//   engine.team(4, [&](std::uint32_t m, std::uint32_t n) { ... });  // 4 threads at once
//
// Failures are thrown as taskengine::Error (a std::runtime_error) carrying the
// te_status. An exception thrown by your callable is caught before it can reach
// the library and rethrown, as it was, from join(), parallel_for(), wait().
// Handles (Engine, TaskGroup, Arena) are move-only; raw() gives the C handle for
// calls this wrapper lacks, release() hands it over to C code, and
// Class::adopt(handle) takes ownership of one made by C code.
// Functions without an Engine use the default engine (the current worker's engine
// inside a task).

// C++17 or later (MSVC reports its standard in _MSVC_LANG: __cplusplus stays
// 199711L there without /Zc:__cplusplus). Below it, this one error and nothing
// else: defining the guard skips the rest of the file.
#if !defined(TASKENGINE_HPP) && \
    (!defined(__cplusplus) || (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 201703L)
#error "taskengine.hpp needs C++17 or later (-std=c++17, or /std:c++17 with MSVC); from C or older C++, include taskengine.h"
#define TASKENGINE_HPP
#endif

#ifndef TASKENGINE_HPP
#define TASKENGINE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if __cplusplus >= 202002L && defined(__has_include)
#if __has_include(<span>)
#include <span>
#define TASKENGINE_HAS_SPAN 1
#endif
#endif

#include "taskengine.h"

namespace taskengine {

// A failed call: what() reads "TE_ERR_...: details"; status() is the te_status.
class Error : public std::runtime_error {
 public:
  Error(te_status status, const std::string &what) : std::runtime_error(what), status_(status) {}
  te_status status() const noexcept { return status_; }

 private:
  te_status status_;
};

namespace detail {

// The code a trampoline returns when the callable threw; the exception itself is
// kept on the C++ side and rethrown by whoever waits.
constexpr std::int32_t kThrew = -0x7e000001;

[[noreturn]] inline void throw_status(te_status status) {
  throw Error(status, std::string(te_status_str(status)) + ": " + te_last_error_message());
}

inline void check(te_status status) {
  if (status != TE_OK) throw_status(status);
}

// The first exception thrown among tasks that may run concurrently.
class FirstException {
 public:
  void capture() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
  void rethrow_if_any() {
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error = error_;
    }
    if (error) std::rethrow_exception(error);
  }
  // Keeps `object` alive as long as this slot (a retried task's callable, which
  // runs again after its own run has returned).
  void keep(std::shared_ptr<void> object) {
    std::lock_guard<std::mutex> lock(mutex_);
    kept_.push_back(std::move(object));
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::vector<std::shared_ptr<void>> kept_;
};

struct EngineDeleter {
  void operator()(te_engine *engine) const noexcept { te_engine_free(engine); }
};

struct ArenaDeleter {
  void operator()(te_arena *arena) const noexcept { te_arena_free(arena); }
};

// Frees a group and the wrapper's exception slot kept in its user data (a
// group adopted by a TaskGroup must have no other user data).
struct GroupDeleter {
  void operator()(te_group *group) const noexcept {
    void *slot = te_group_user_data(group);
    te_group_free(group);
    delete static_cast<FirstException *>(slot);
  }
};

// Owns one C handle for a wrapper class (as wasmtime's C++ API does), and gives
// every wrapper the same three doors: raw() uses the handle, release() hands it
// to C code (the wrapper then owns nothing and the caller frees it), and
// Derived::adopt(handle) takes ownership of a handle made by C code.
template <class Derived, class T, class Deleter>
class Owner {
 public:
  // The C handle, still owned by this object (NULL after a move or release()).
  T *raw() const noexcept { return ptr_.get(); }

  // Gives the handle up, unfreed: free it with its _free function.
  T *release() noexcept { return ptr_.release(); }

  // A wrapper owning `handle` (from the _new function or a release()); it frees
  // it when destroyed. NULL gives an empty wrapper.
  static Derived adopt(T *handle) noexcept { return Derived(Adopt{}, handle); }

 protected:
  struct Adopt {};
  Owner() noexcept = default;
  explicit Owner(T *handle) noexcept : ptr_(handle) {}
  // Frees the handle held (if any) and holds `handle`.
  void own(T *handle = nullptr) noexcept { ptr_.reset(handle); }
  // Frees the handle held (if any) and takes over `other`'s.
  void own(Owner &&other) noexcept { ptr_ = std::move(other.ptr_); }

 private:
  std::unique_ptr<T, Deleter> ptr_;
};

// Thread hooks kept alive as long as the engine that calls them.
struct Hooks {
  std::function<void(std::uint32_t)> on_start;
  std::function<void(std::uint32_t)> on_stop;

  // For an engine handed to C code (Engine::release), which may call them until
  // the process ends: kept reachable, never freed. No allocation can fail here
  // (the list grows in a noexcept caller): if one does, the hooks are leaked.
  static void keep_forever(std::unique_ptr<Hooks> hooks) noexcept {
    static std::mutex lock;
    static auto *kept = new std::vector<Hooks *>();
    std::lock_guard<std::mutex> guard(lock);
    try {
      kept->push_back(hooks.get());
    } catch (...) {
    }
    static_cast<void>(hooks.release());
  }

  // A hook has nobody to report to: its exceptions are swallowed.
  static void start(void *self, std::uint32_t index) noexcept {
    try {
      static_cast<Hooks *>(self)->on_start(index);
    } catch (...) {
    }
  }
  static void stop(void *self, std::uint32_t index) noexcept {
    try {
      static_cast<Hooks *>(self)->on_stop(index);
    } catch (...) {
    }
  }
};

template <class F>
struct JoinHalf {
  F *f;
  std::exception_ptr error;

  static std::int32_t run(void *self) noexcept {
    auto *half = static_cast<JoinHalf *>(self);
    try {
      (*half->f)();
      return 0;
    } catch (...) {
      half->error = std::current_exception();
      return kThrew;
    }
  }
};

template <class A, class B>
void join(te_engine *engine, A &&a, B &&b) {
  using HalfA = JoinHalf<std::remove_reference_t<A>>;
  using HalfB = JoinHalf<std::remove_reference_t<B>>;
  HalfA ha{&a, nullptr};
  HalfB hb{&b, nullptr};
  te_status status = te_join(engine, &HalfA::run, &ha, &HalfB::run, &hb);
  if (ha.error) std::rethrow_exception(ha.error);
  if (hb.error) std::rethrow_exception(hb.error);
  check(status);
}

template <class F>
struct LoopBody {
  F *f;
  FirstException errors;

  static std::int32_t run(void *self, std::size_t begin, std::size_t end) noexcept {
    auto *body = static_cast<LoopBody *>(self);
    try {
      if constexpr (std::is_invocable_v<F &, std::size_t, std::size_t>) {
        (*body->f)(begin, end);
      } else {
        for (std::size_t i = begin; i < end; ++i) (*body->f)(i);
      }
      return 0;
    } catch (...) {
      body->errors.capture();
      return kThrew;
    }
  }
};

template <class F>
void parallel_for(te_engine *engine, std::size_t begin, std::size_t end, F &&body, std::size_t grain) {
  using Fn = std::remove_reference_t<F>;
  static_assert(std::is_invocable_v<Fn &, std::size_t> || std::is_invocable_v<Fn &, std::size_t, std::size_t>,
                "parallel_for body takes (std::size_t index) or (std::size_t begin, std::size_t end)");
  LoopBody<Fn> loop{&body, {}};
  te_status status = te_parallel_for(engine, begin, end, grain, &LoopBody<Fn>::run, &loop);
  loop.errors.rethrow_if_any();
  check(status);
}

// A team's members: f(member, members) on distinct threads at the same time.
template <class F>
struct TeamBody {
  F *f;
  FirstException errors;

  static std::int32_t run(void *self, std::uint32_t member, std::uint32_t members) noexcept {
    auto *body = static_cast<TeamBody *>(self);
    try {
      (*body->f)(member, members);
      return 0;
    } catch (...) {
      body->errors.capture();
      return kThrew;
    }
  }
};

template <class F>
void team(te_engine *engine, std::uint32_t members, F &&f) {
  using Fn = std::remove_reference_t<F>;
  static_assert(std::is_invocable_v<Fn &, std::uint32_t, std::uint32_t>,
                "a team member takes (std::uint32_t member, std::uint32_t members)");
  TeamBody<Fn> body{&f, {}};
  te_status status = te_team_run(engine, members, &TeamBody<Fn>::run, &body);
  body.errors.rethrow_if_any();
  check(status);
}

template <class T, class Map, class Combine>
struct Reduction {
  Map *map;
  Combine *combine;
  FirstException errors;

  static std::int32_t run_map(void *self, std::size_t begin, std::size_t end, void *acc) noexcept {
    auto *r = static_cast<Reduction *>(self);
    try {
      (*r->map)(*static_cast<T *>(acc), begin, end);
      return 0;
    } catch (...) {
      r->errors.capture();
      return kThrew;
    }
  }
  static std::int32_t run_combine(void *self, void *acc, const void *other) noexcept {
    auto *r = static_cast<Reduction *>(self);
    try {
      T *a = static_cast<T *>(acc);
      *a = (*r->combine)(static_cast<const T &>(*a), *static_cast<const T *>(other));
      return 0;
    } catch (...) {
      r->errors.capture();
      return kThrew;
    }
  }
};

// Values that are not plain bytes (a std::vector, a std::unordered_map) travel
// through the library as pointers to values kept here; every value made is owned
// by `values` until the reduction returns, whatever fails on the way.
template <class T, class Map, class Combine>
struct BoxedReduction {
  Map *map;
  Combine *combine;
  const T *identity;
  FirstException errors;
  std::mutex lock;
  std::vector<std::unique_ptr<T>> values;

  T *make() {
    auto value = std::make_unique<T>(*identity);
    std::lock_guard<std::mutex> guard(lock);
    values.push_back(std::move(value));
    return values.back().get();
  }

  static std::int32_t run_map(void *self, std::size_t begin, std::size_t end, void *acc) noexcept {
    auto *r = static_cast<BoxedReduction *>(self);
    try {
      T *&value = *static_cast<T **>(acc);
      if (!value) value = r->make();
      (*r->map)(*value, begin, end);
      return 0;
    } catch (...) {
      r->errors.capture();
      return kThrew;
    }
  }
  static std::int32_t run_combine(void *self, void *acc, const void *other) noexcept {
    auto *r = static_cast<BoxedReduction *>(self);
    try {
      T *&a = *static_cast<T **>(acc);
      T *b = *static_cast<T *const *>(other);
      if (!b) return 0;
      if (!a) {
        a = b;
        return 0;
      }
      *a = (*r->combine)(std::move(*a), std::move(*b));
      return 0;
    } catch (...) {
      r->errors.capture();
      return kThrew;
    }
  }
};

template <class T, class Map, class Combine>
T parallel_reduce(te_engine *engine, bool deterministic, std::size_t begin, std::size_t end, const T &identity,
                  Map &&map, Combine &&combine, std::size_t grain) {
  using M = std::remove_reference_t<Map>;
  using C = std::remove_reference_t<Combine>;
  auto reduce = deterministic ? te_parallel_reduce_deterministic : te_parallel_reduce;
  if constexpr (std::is_trivially_copyable_v<T> && alignof(T) <= 16) {
    // Plain bytes: copied by the library, in storage aligned to 16.
    Reduction<T, M, C> r{&map, &combine, {}};
    T out = identity;
    te_status status = reduce(engine, begin, end, grain, &identity, sizeof(T), &Reduction<T, M, C>::run_map,
                              &Reduction<T, M, C>::run_combine, &r, &out);
    r.errors.rethrow_if_any();
    check(status);
    return out;
  } else {
    static_assert(std::is_copy_constructible_v<T> && std::is_move_assignable_v<T>,
                  "parallel_reduce values must be copyable (from the identity) and movable");
    using R = BoxedReduction<T, M, C>;
    R r{&map, &combine, &identity, {}, {}, {}};
    T *none = nullptr;
    T *out = nullptr;
    te_status status =
        reduce(engine, begin, end, grain, &none, sizeof(T *), &R::run_map, &R::run_combine, &r, &out);
    r.errors.rethrow_if_any();
    check(status);
    return out ? std::move(*out) : identity;
  }
}

// The kernels' C entry points, picked by element type: the one list of the
// element types the C++ kernels take (one line each). Every kernel method below
// is a template over it; a type without a line here does not compile.
inline te_status k_sum(te_engine *e, const std::int64_t *d, std::size_t n, std::int64_t *o) { return te_sum_i64(e, d, n, o); }
inline te_status k_sum(te_engine *e, const double *d, std::size_t n, double *o) { return te_sum_f64(e, d, n, o); }
inline te_status k_max(te_engine *e, const std::int64_t *d, std::size_t n, std::int64_t *o) { return te_max_i64(e, d, n, o); }
inline te_status k_max(te_engine *e, const double *d, std::size_t n, double *o) { return te_max_f64(e, d, n, o); }
inline te_status k_min(te_engine *e, const std::int64_t *d, std::size_t n, std::int64_t *o) { return te_min_i64(e, d, n, o); }
inline te_status k_min(te_engine *e, const double *d, std::size_t n, double *o) { return te_min_f64(e, d, n, o); }
inline te_status k_sort(te_engine *e, std::int64_t *d, std::size_t n) { return te_sort_i64(e, d, n); }
inline te_status k_sort(te_engine *e, std::uint64_t *d, std::size_t n) { return te_sort_u64(e, d, n); }
inline te_status k_sort(te_engine *e, double *d, std::size_t n) { return te_sort_f64(e, d, n); }
inline te_status k_sum(te_engine *e, const std::int32_t *d, std::size_t n, std::int64_t *o) { return te_sum_i32(e, d, n, o); }
inline te_status k_sum(te_engine *e, const std::uint32_t *d, std::size_t n, std::uint64_t *o) { return te_sum_u32(e, d, n, o); }
inline te_status k_sum(te_engine *e, const float *d, std::size_t n, double *o) { return te_sum_f32(e, d, n, o); }
inline te_status k_max(te_engine *e, const std::int32_t *d, std::size_t n, std::int32_t *o) { return te_max_i32(e, d, n, o); }
inline te_status k_max(te_engine *e, const std::uint32_t *d, std::size_t n, std::uint32_t *o) { return te_max_u32(e, d, n, o); }
inline te_status k_max(te_engine *e, const float *d, std::size_t n, float *o) { return te_max_f32(e, d, n, o); }
inline te_status k_min(te_engine *e, const std::int32_t *d, std::size_t n, std::int32_t *o) { return te_min_i32(e, d, n, o); }
inline te_status k_min(te_engine *e, const std::uint32_t *d, std::size_t n, std::uint32_t *o) { return te_min_u32(e, d, n, o); }
inline te_status k_min(te_engine *e, const float *d, std::size_t n, float *o) { return te_min_f32(e, d, n, o); }
inline te_status k_sort(te_engine *e, std::int32_t *d, std::size_t n) { return te_sort_i32(e, d, n); }
inline te_status k_sort(te_engine *e, std::uint32_t *d, std::size_t n) { return te_sort_u32(e, d, n); }
inline te_status k_sort(te_engine *e, float *d, std::size_t n) { return te_sort_f32(e, d, n); }
inline te_status k_sort(te_engine *e, std::int16_t *d, std::size_t n) { return te_sort_i16(e, d, n); }
inline te_status k_sort(te_engine *e, std::uint16_t *d, std::size_t n) { return te_sort_u16(e, d, n); }
inline te_status k_sort(te_engine *e, std::int8_t *d, std::size_t n) { return te_sort_i8(e, d, n); }
inline te_status k_sort(te_engine *e, std::uint8_t *d, std::size_t n) { return te_sort_u8(e, d, n); }

// What a sum of T is returned as: 32-bit integers widen to 64 bits (exact),
// floats are summed and returned in double.
template <class T> struct SumOf { using type = T; };
template <> struct SumOf<std::int32_t> { using type = std::int64_t; };
template <> struct SumOf<std::uint32_t> { using type = std::uint64_t; };
template <> struct SumOf<float> { using type = double; };

template <class T>
using SumType = typename SumOf<T>::type;

// Each exists only for the element types of the table above (the defaulted
// template argument fails otherwise, so overload resolution skips it).
template <class T, class = decltype(k_sum(nullptr, static_cast<const T *>(nullptr), 0, static_cast<SumType<T> *>(nullptr)))>
SumType<T> sum(te_engine *engine, const T *data, std::size_t len) {
  SumType<T> out{};
  check(k_sum(engine, data, len, &out));
  return out;
}

template <class T, class = decltype(k_max(nullptr, static_cast<const T *>(nullptr), 0, static_cast<T *>(nullptr)))>
T max(te_engine *engine, const T *data, std::size_t len) {
  T out{};
  check(k_max(engine, data, len, &out));
  return out;
}

template <class T, class = decltype(k_min(nullptr, static_cast<const T *>(nullptr), 0, static_cast<T *>(nullptr)))>
T min(te_engine *engine, const T *data, std::size_t len) {
  T out{};
  check(k_min(engine, data, len, &out));
  return out;
}

template <class T, class = decltype(k_sort(nullptr, static_cast<T *>(nullptr), 0))>
void sort(te_engine *engine, T *data, std::size_t len) {
  check(k_sort(engine, data, len));
}

inline int mem_compare(te_engine *engine, const void *a, const void *b, std::size_t len) {
  std::int32_t out = 0;
  check(te_mem_compare(engine, a, b, len, &out));
  return out;
}

// A text kernel into a std::string: asks for the size first, then fills it.
using TextKernel = te_status (*)(const char *, std::size_t, char *, std::size_t, std::size_t *);

inline std::string text(TextKernel kernel, std::string_view in) {
  std::size_t needed = 0;
  te_status status = kernel(in.data(), in.size(), nullptr, 0, &needed);
  if (status == TE_OK) return std::string();
  if (status != TE_ERR_BUFFER_TOO_SMALL) throw_status(status);
  std::string out(needed, '\0');
  std::size_t len = 0;
  check(kernel(in.data(), in.size(), &out[0], out.size(), &len));
  out.resize(len);
  return out;
}

}  // namespace detail

// How an Engine is built; starts from te_config_init's defaults.
class Config {
 public:
  Config() noexcept { te_config_init(&cfg_); }

  Config &workers(std::uint32_t n) noexcept { return cfg_.workers = n, *this; }
  Config &queue_capacity(std::size_t n) noexcept { return cfg_.queue_capacity = n, *this; }
  Config &work_stealing(bool on) noexcept { return cfg_.work_stealing = on, *this; }
  Config &metrics(bool on) noexcept { return cfg_.metrics = on, *this; }
  Config &stack_size(std::size_t bytes) noexcept { return cfg_.stack_size = bytes, *this; }
  Config &spin_budget(std::uint32_t rounds) noexcept { return cfg_.spin_budget = rounds, *this; }
  // Task records kept for reuse, so steady-state spawning does not allocate; 0 = none.
  Config &task_pool_capacity(std::size_t records) noexcept { return cfg_.task_pool_capacity = records, *this; }
  // Fewest workers to start with when the system cannot start them all; 0 = all.
  Config &min_workers(std::uint32_t n) noexcept { return cfg_.min_workers = n, *this; }
  Config &thread_name_prefix(std::string prefix) { return prefix_ = std::move(prefix), has_prefix_ = true, *this; }
  // Run on each worker thread as it starts / before it exits; called concurrently.
  Config &on_thread_start(std::function<void(std::uint32_t)> hook) { return on_start_ = std::move(hook), *this; }
  Config &on_thread_stop(std::function<void(std::uint32_t)> hook) { return on_stop_ = std::move(hook), *this; }

  const te_config &raw() const noexcept { return cfg_; }

 private:
  friend class Engine;
  te_config cfg_;
  std::string prefix_;
  bool has_prefix_ = false;
  std::function<void(std::uint32_t)> on_start_;
  std::function<void(std::uint32_t)> on_stop_;
};

namespace detail {

// The operations of an engine, shared by the owning Engine and the non-owning
// EngineRef (each provides raw()).
template <class Derived>
class EngineOps {
 public:
  std::uint32_t workers() const noexcept { return te_engine_workers(self()); }

  te_stats stats() const {
    te_stats s;
    detail::check(te_engine_stats(self(), &s));
    return s;
  }

  // Runs a() and b(), potentially in parallel; returns when both are done.
  template <class A, class B>
  void join(A &&a, B &&b) {
    detail::join(self(), std::forward<A>(a), std::forward<B>(b));
  }

  // body(i) for each i in [begin, end), or body(b, e) on sub-ranges; in parallel.
  template <class F>
  void parallel_for(std::size_t begin, std::size_t end, F &&body, std::size_t grain = 0) {
    detail::parallel_for(self(), begin, end, std::forward<F>(body), grain);
  }

  // Folds [begin, end): each piece starts from `identity`, map(acc, b, e) folds
  // its indexes into acc, combine(left, right) merges neighbours in index order.
  template <class T, class Map, class Combine>
  T parallel_reduce(std::size_t begin, std::size_t end, const T &identity, Map &&map, Combine &&combine,
                    std::size_t grain = 0) {
    return detail::parallel_reduce(self(), false, begin, end, identity, std::forward<Map>(map),
                                   std::forward<Combine>(combine), grain);
  }

  // As parallel_reduce, with pieces and combining order independent of the
  // number of workers: floating-point results are bitwise reproducible.
  template <class T, class Map, class Combine>
  T parallel_reduce_deterministic(std::size_t begin, std::size_t end, const T &identity, Map &&map,
                                  Combine &&combine, std::size_t grain = 0) {
    return detail::parallel_reduce(self(), true, begin, end, identity, std::forward<Map>(map),
                                   std::forward<Combine>(combine), grain);
  }

  // f(member, members) for every member in [0, members), all at the same time
  // on distinct threads (this thread is member 0), so members may wait on each
  // other; returns when all have returned. The first exception a member threw is
  // rethrown (after every member returned). See te_team_run.
  template <class F>
  void team(std::uint32_t members, F &&f) {
    detail::team(self(), members, std::forward<F>(f));
  }

  // Counters of this engine's team threads.
  te_team_stats team_stats() const {
    te_team_stats s;
    detail::check(te_engine_team_stats(self(), &s));
    return s;
  }

  // ---- kernels, split across this engine's workers for large inputs ----
  // Each takes a pointer and a length, or any contiguous range (std::vector,
  // std::array, std::span, ...), of the element types of detail::k_sum & co.

  // Sum: int64 exact (Error TE_ERR_OVERFLOW if it does not fit), double
  // compensated; int32 and uint32 exact in 64 bits (int64_t, uint64_t), float
  // compensated and returned in double.
  template <class T>
  auto sum(const T *data, std::size_t len) -> decltype(detail::sum(nullptr, data, len)) {
    return detail::sum(self(), data, len);
  }
  // Extrema: Error TE_ERR_INVALID for an empty array; floats ignore NaNs.
  template <class T>
  auto max(const T *data, std::size_t len) -> decltype(detail::max(nullptr, data, len)) {
    return detail::max(self(), data, len);
  }
  template <class T>
  auto min(const T *data, std::size_t len) -> decltype(detail::min(nullptr, data, len)) {
    return detail::min(self(), data, len);
  }
  // Ascending, in place (floats: NaNs last).
  template <class T>
  auto sort(T *data, std::size_t len) -> decltype(detail::sort(nullptr, data, len)) {
    detail::sort(self(), data, len);
  }
  template <class R>
  auto sum(const R &range) -> decltype(detail::sum(nullptr, std::data(range), std::size(range))) {
    return detail::sum(self(), std::data(range), std::size(range));
  }
  template <class R>
  auto max(const R &range) -> decltype(detail::max(nullptr, std::data(range), std::size(range))) {
    return detail::max(self(), std::data(range), std::size(range));
  }
  template <class R>
  auto min(const R &range) -> decltype(detail::min(nullptr, std::data(range), std::size(range))) {
    return detail::min(self(), std::data(range), std::size(range));
  }
  template <class R>
  auto sort(R &&range) -> decltype(detail::sort(nullptr, std::data(range), std::size(range))) {
    detail::sort(self(), std::data(range), std::size(range));
  }
  // Scratch memory the engine keeps between sorts: unmap it now, or cap it
  // (0 keeps none; default 256 MiB).
  void trim_scratch() { detail::check(te_engine_trim_scratch(self())); }
  void set_scratch_limit(std::size_t bytes) { detail::check(te_engine_set_scratch_limit(self(), bytes)); }
  std::size_t scratch_cached_bytes() const {
    std::size_t out = 0;
    detail::check(te_engine_scratch_cached(self(), &out));
    return out;
  }
  // memmove (overlap allowed) and memcmp's sign (-1, 0, 1).
  void mem_copy(void *dst, const void *src, std::size_t len) { detail::check(te_mem_copy(self(), dst, src, len)); }
  int mem_compare(const void *a, const void *b, std::size_t len) { return detail::mem_compare(self(), a, b, len); }

 private:
  te_engine *self() const noexcept { return static_cast<const Derived *>(this)->raw(); }
};

}  // namespace detail

// An engine that owns its worker threads: the destructor lets queued work finish
// and joins every worker.
namespace detail {
// An engine's thread hooks, a base of Engine listed before its handle so that
// they are destroyed after it: the workers' stop hooks run while it shuts down.
class EngineHooks {
 protected:
  std::unique_ptr<Hooks> hooks_;
};
}  // namespace detail

class Engine : private detail::EngineHooks,
               public detail::EngineOps<Engine>,
               public detail::Owner<Engine, te_engine, detail::EngineDeleter> {
 public:
  // One worker per CPU.
  Engine() : Engine(Config()) {}
  explicit Engine(std::uint32_t workers) : Engine(Config().workers(workers)) {}
  explicit Engine(const Config &config) {
    te_config cfg = config.cfg_;
    if (config.has_prefix_) cfg.thread_name_prefix = config.prefix_.c_str();
    if (config.on_start_ || config.on_stop_) {
      hooks_.reset(new detail::Hooks{config.on_start_, config.on_stop_});
      cfg.hook_arg = hooks_.get();
      if (hooks_->on_start) cfg.on_thread_start = &detail::Hooks::start;
      if (hooks_->on_stop) cfg.on_thread_stop = &detail::Hooks::stop;
    }
    te_engine *engine = nullptr;
    detail::check(te_engine_new(&cfg, &engine));
    own(engine);
  }

  Engine(Engine &&) noexcept = default;
  Engine &operator=(Engine &&other) noexcept {
    if (this != &other) {
      own();  // joins our workers while their stop hooks still exist
      hooks_ = std::move(other.hooks_);
      own(std::move(other));
    }
    return *this;
  }
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;

  // Gives the handle up (see detail::Owner). Thread hooks set through Config are
  // kept for the rest of the process, since the engine calls them until freed.
  te_engine *release() noexcept {
    if (hooks_) detail::Hooks::keep_forever(std::move(hooks_));
    return Owner::release();
  }

 private:
  friend class detail::Owner<Engine, te_engine, detail::EngineDeleter>;
  Engine(Adopt, te_engine *handle) noexcept : Owner(handle) {}
};

// A non-owning reference to an engine (an Engine, a te_engine * from C, or NULL:
// the current worker's engine inside a task, else the default engine): the same
// operations as Engine, for code that is handed an engine. Copyable; it must not
// outlive the engine.
class EngineRef : public detail::EngineOps<EngineRef> {
 public:
  EngineRef() noexcept = default;
  EngineRef(Engine &engine) noexcept : engine_(engine.raw()) {}  // NOLINT: implicit on purpose
  explicit EngineRef(te_engine *engine) noexcept : engine_(engine) {}

  te_engine *raw() const noexcept { return engine_; }

 private:
  te_engine *engine_ = nullptr;
};

// A set of tasks waited for together. The destructor waits for tasks still
// running (without throwing); call wait() to see failures. As with
// tbb::task_group, an exception thrown by a task cancels the tasks not started
// yet and is rethrown by wait(). Costs no allocation: small trivially copyable
// callables (up to TE_INLINE_TASK_BYTES - 8 bytes, e.g. a lambda capturing a few
// references) are stored in the task itself, and the exception slot is only
// allocated when a task throws.
class TaskGroup : public detail::Owner<TaskGroup, te_group, detail::GroupDeleter> {
 public:
  // On the default engine (the current worker's engine inside a task).
  TaskGroup() : TaskGroup(static_cast<te_engine *>(nullptr)) {}
  explicit TaskGroup(Engine &engine) : TaskGroup(engine.raw()) {}
  explicit TaskGroup(EngineRef engine) : TaskGroup(engine.raw()) {}
  explicit TaskGroup(te_engine *engine) {
    te_group *group = nullptr;
    detail::check(te_group_new(engine, &group));
    own(group);
  }

  TaskGroup(TaskGroup &&other) noexcept : Owner(std::move(other)), waited_(other.waited_) { other.waited_ = true; }
  TaskGroup &operator=(TaskGroup &&other) noexcept {
    if (this != &other) {
      settle();
      own(std::move(other));
      waited_ = other.waited_;
      other.waited_ = true;
    }
    return *this;
  }
  // Waits for the tasks still running (their failures are dropped: a destructor
  // cannot throw), then frees the group.
  ~TaskGroup() { settle(); }
  TaskGroup(const TaskGroup &) = delete;
  TaskGroup &operator=(const TaskGroup &) = delete;

  // Gives the handle up (see detail::Owner) without waiting for its tasks. The
  // group's user data, if a task threw, is the wrapper's exception slot: adopt()
  // the handle again to have it freed, else it is left allocated.
  te_group *release() noexcept {
    waited_ = true;
    return Owner::release();
  }

  // Adds f() (a copy or move of it) as a task. Throws Error (TE_ERR_CANCELLED,
  // TE_ERR_SHUTDOWN) if it cannot be added; waits for room in a bounded queue.
  template <class F>
  void spawn(F &&f) {
    detail::check(spawn_status(std::forward<F>(f), false));
  }

  // As spawn(), but returns false instead of waiting when the queue is full.
  template <class F>
  bool try_spawn(F &&f) {
    te_status status = spawn_status(std::forward<F>(f), true);
    if (status == TE_ERR_QUEUE_FULL) return false;
    detail::check(status);
    return true;
  }

  // Adds f() as a task that runs again when it throws, up to `max_attempts` runs
  // in all (te_group_spawn_retry): `backoff` before the second run, twice as long
  // before each later one, and no worker waits meanwhile. If every run threw, the
  // last run's exception is the group's (wait() rethrows it). f (a copy or move
  // of it) is called once per run, one run at a time, and kept until the group is
  // destroyed. Throws Error (TE_ERR_INVALID for 0 attempts, TE_ERR_CANCELLED,
  // TE_ERR_SHUTDOWN) if it cannot be added.
  template <class F, class Rep = std::int64_t, class Period = std::milli>
  void spawn_retry(F &&f, std::uint32_t max_attempts,
                   std::chrono::duration<Rep, Period> backoff = std::chrono::milliseconds(0)) {
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn &>, "spawn_retry takes a callable with no arguments");
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count();
    auto backoff_ms = ms <= 0 ? 0u : ms >= 0xffffffffLL ? 0xffffffffu : static_cast<std::uint32_t>(ms);
    auto task = std::make_shared<RetryTask<Fn>>(std::forward<F>(f), raw(), max_attempts);
    errors(raw())->keep(task);
    detail::check(te_group_spawn_retry(raw(), &RetryTask<Fn>::run, task.get(), max_attempts, backoff_ms));
  }

  // Waits for every task. Rethrows the first exception a task threw; throws
  // Error(TE_ERR_CANCELLED) if the group was cancelled.
  void wait() { finish(te_group_wait(raw())); }

  // Runs only this group's tasks while waiting (see te_group_wait_isolated).
  void wait_isolated() { finish(te_group_wait_isolated(raw())); }

  // As wait(), but returns false if the tasks are not done within `timeout`.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    te_status status = te_group_wait_timeout(raw(), ms < 0 ? 0 : static_cast<std::uint64_t>(ms));
    if (status == TE_ERR_TIMEOUT) return false;
    finish(status);
    return true;
  }

  // Tasks not started yet never run; running ones may poll task_cancelled().
  void cancel() { detail::check(te_group_cancel(raw())); }
  bool cancelled() const noexcept { return te_group_is_cancelled(raw()); }
  std::size_t skipped() const noexcept { return te_group_skipped(raw()); }
  std::size_t pending() const noexcept { return te_group_pending(raw()); }

 private:
  // The group's exception slot (its user data), made by the first task that throws.
  static detail::FirstException *errors(te_group *group) {
    void *current = te_group_user_data(group);
    if (current) return static_cast<detail::FirstException *>(current);
    auto *fresh = new detail::FirstException;
    current = te_group_user_data_init(group, fresh);
    if (current != fresh) delete fresh;  // another task made it first, or no group (NULL)
    return static_cast<detail::FirstException *>(current);
  }

  // A task threw: keep the exception and cancel the tasks not started yet.
  static std::int32_t threw(te_group *group) noexcept {
    try {
      if (detail::FirstException *slot = errors(group)) slot->capture();
    } catch (...) {
      // No memory for the slot: the group still fails (with TE_ERR_TASK_FAILED).
    }
    te_group_cancel(group);
    return detail::kThrew;
  }

  // Small and trivially copyable: bit-copied into the task record.
  template <class F>
  struct InlineTask {
    F f;
    te_group *group;

    static std::int32_t run(void *self) noexcept {
      auto *task = static_cast<InlineTask *>(self);
      try {
        task->f();
        return 0;
      } catch (...) {
        return threw(task->group);
      }
    }
  };

  // Anything else: on the heap, destroyed once whether or not it ran.
  template <class F>
  struct HeapTask {
    F f;
    te_group *group;

    static std::int32_t run(void *self) noexcept {
      auto *task = static_cast<HeapTask *>(self);
      try {
        task->f();
        return 0;
      } catch (...) {
        return threw(task->group);
      }
    }
    static void destroy(void *self) noexcept { delete static_cast<HeapTask *>(self); }
  };

  // A retried task: a throw before the last run only asks for another run; the
  // last run's throw is kept and fails the group.
  template <class F>
  struct RetryTask {
    template <class G>
    RetryTask(G &&g, te_group *grp, std::uint32_t max) : f(std::forward<G>(g)), group(grp), max_attempts(max) {}
    F f;
    te_group *group;
    std::uint32_t max_attempts;
    std::atomic<std::uint32_t> runs{0};

    static std::int32_t run(void *self) noexcept {
      auto *task = static_cast<RetryTask *>(self);
      std::uint32_t run = task->runs.fetch_add(1, std::memory_order_relaxed) + 1;
      try {
        task->f();
        return 0;
      } catch (...) {
        if (run >= task->max_attempts) return threw(task->group);
        return detail::kThrew;
      }
    }
  };

  template <class F>
  static constexpr bool fits_inline() {
    using T = InlineTask<F>;
    return std::is_trivially_copyable_v<F> && sizeof(T) <= TE_INLINE_TASK_BYTES && alignof(T) <= 8;
  }

  template <class F>
  te_status spawn_status(F &&f, bool try_only) {
    waited_ = false;
    using Fn = std::decay_t<F>;
    static_assert(std::is_invocable_v<Fn &>, "spawn takes a callable with no arguments");
    if constexpr (fits_inline<Fn>()) {
      InlineTask<Fn> task{std::forward<F>(f), raw()};
      return try_only ? te_group_try_spawn_inline(raw(), &InlineTask<Fn>::run, &task, sizeof task)
                      : te_group_spawn_inline(raw(), &InlineTask<Fn>::run, &task, sizeof task);
    } else {
      // Ownership passes to the group: destroy runs exactly once, after the task
      // or instead of it (cancelled, refused).
      auto *task = new HeapTask<Fn>{std::forward<F>(f), raw()};
      return try_only ? te_group_try_spawn_with_cleanup(raw(), &HeapTask<Fn>::run, task, &HeapTask<Fn>::destroy)
                      : te_group_spawn_with_cleanup(raw(), &HeapTask<Fn>::run, task, &HeapTask<Fn>::destroy);
    }
  }

  void finish(te_status status) {
    // Every task seen finished (other statuses refused the wait, and the
    // destructor's wait gets the same answer cheaply).
    if (status == TE_OK || status == TE_ERR_TASK_FAILED || status == TE_ERR_CANCELLED || status == TE_ERR_PANIC)
      waited_ = true;
    if (status == TE_OK) return;
    if (status == TE_ERR_TASK_FAILED || status == TE_ERR_CANCELLED) {
      if (void *slot = te_group_user_data(raw())) static_cast<detail::FirstException *>(slot)->rethrow_if_any();
    }
    detail::throw_status(status);
  }

  // Waits for the tasks (they may still record an exception), then frees the
  // group and the exception slot, if one was made.
  // The destructor's wait, skipped when wait() has already seen every task.
  void settle() noexcept {
    if (raw() && !waited_) te_group_wait(raw());
  }

  // An adopted group may have tasks running: the destructor waits for them.
  friend class detail::Owner<TaskGroup, te_group, detail::GroupDeleter>;
  TaskGroup(Adopt, te_group *handle) noexcept : Owner(handle), waited_(handle == nullptr) {}

  bool waited_ = true;  // no task spawned since the last completed wait
};

// An allocator over one fixed region (see te_arena_new): a lock-free bump arena
// whose memory returns all at once on reset(), or a free list whose free() gives
// blocks back. alloc() and free() may be called from several threads at once.
class Arena : public detail::Owner<Arena, te_arena, detail::ArenaDeleter> {
 public:
  enum class Kind : std::uint32_t { Bump = TE_ARENA_BUMP, FreeList = TE_ARENA_FREE_LIST };

  Arena(Kind kind, std::size_t capacity) {
    te_arena *arena = nullptr;
    detail::check(te_arena_new(static_cast<std::uint32_t>(kind), capacity, &arena));
    own(arena);
  }

  Arena(Arena &&) noexcept = default;
  Arena &operator=(Arena &&) noexcept = default;
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;

  // Uninitialised memory; throws Error(TE_ERR_NO_MEMORY) when the region is full.
  void *alloc(std::size_t size, std::size_t align = alignof(std::max_align_t)) {
    void *p = nullptr;
    detail::check(te_arena_alloc(raw(), size, align, &p));
    return p;
  }
  // Throws Error(TE_ERR_INVALID) for a pointer the arena did not hand out.
  void free(void *p) { detail::check(te_arena_dealloc(raw(), p)); }
  // Takes everything back; no other thread may use the arena meanwhile.
  void reset() { detail::check(te_arena_reset(raw())); }
  te_arena_usage stats() const {
    te_arena_usage usage;
    detail::check(te_arena_stats(raw(), &usage));
    return usage;
  }

 private:
  friend class detail::Owner<Arena, te_arena, detail::ArenaDeleter>;
  Arena(Adopt, te_arena *handle) noexcept : Owner(handle) {}
};

// ---- kernels on the default engine (the current worker's engine inside a
// task): the Engine methods of the same names, on EngineRef() ----

template <class... A>
auto sum(A &&...args) -> decltype(EngineRef().sum(std::forward<A>(args)...)) {
  return EngineRef().sum(std::forward<A>(args)...);
}
template <class... A>
auto max(A &&...args) -> decltype(EngineRef().max(std::forward<A>(args)...)) {
  return EngineRef().max(std::forward<A>(args)...);
}
template <class... A>
auto min(A &&...args) -> decltype(EngineRef().min(std::forward<A>(args)...)) {
  return EngineRef().min(std::forward<A>(args)...);
}
template <class... A>
auto sort(A &&...args) -> decltype(EngineRef().sort(std::forward<A>(args)...)) {
  return EngineRef().sort(std::forward<A>(args)...);
}
inline void mem_copy(void *dst, const void *src, std::size_t len) { EngineRef().mem_copy(dst, src, len); }
inline int mem_compare(const void *a, const void *b, std::size_t len) { return EngineRef().mem_compare(a, b, len); }

// Scratch memory for the running task (a TaskGroup task, a parallel_for body,
// either side of a join): `count` uninitialised T's, 64-byte aligned, from the
// worker's own bump arena, valid until the task returns and taken back after;
// never freed by the caller. Throws Error(TE_ERR_INVALID) outside a task or for
// count 0, Error(TE_ERR_NO_MEMORY) past the per-thread limit (64 MiB at once).
template <class T = unsigned char>
T *task_scratch(std::size_t count) {
  static_assert(alignof(T) <= 64, "task_scratch memory is 64-byte aligned");
  if (count > SIZE_MAX / sizeof(T)) detail::throw_status(TE_ERR_NO_MEMORY);
  void *p = nullptr;
  detail::check(te_task_scratch_alloc(count * sizeof(T), &p));
  return static_cast<T *>(p);
}

// Math: Error(TE_ERR_OVERFLOW) when the result does not fit.
inline std::uint64_t factorial(std::uint32_t n) {
  std::uint64_t out = 0;
  detail::check(te_factorial(n, &out));
  return out;
}
inline std::uint64_t fibonacci(std::uint32_t n) {
  std::uint64_t out = 0;
  detail::check(te_fibonacci(n, &out));
  return out;
}
inline std::uint64_t gcd(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  detail::check(te_gcd(a, b, &out));
  return out;
}
inline std::uint64_t lcm(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  detail::check(te_lcm(a, b, &out));
  return out;
}
inline std::uint64_t isqrt(std::uint64_t x) {
  std::uint64_t out = 0;
  detail::check(te_isqrt(x, &out));
  return out;
}
inline std::uint64_t fnv1a64(const void *data, std::size_t len) {
  std::uint64_t out = 0;
  detail::check(te_hash_fnv1a64(data, len, &out));
  return out;
}
inline std::uint64_t fnv1a64(std::string_view text) { return fnv1a64(text.data(), text.size()); }

// Text: Error(TE_ERR_UTF8) for invalid UTF-8.
inline std::string utf8_reverse(std::string_view text) { return detail::text(te_utf8_reverse, text); }
inline std::string utf8_upper(std::string_view text) { return detail::text(te_utf8_upper, text); }
inline std::string ascii_upper(std::string_view text) { return detail::text(te_ascii_upper, text); }

// ---- on the default engine (the current worker's engine inside a task) ----

template <class A, class B>
inline void join(A &&a, B &&b) {
  detail::join(nullptr, std::forward<A>(a), std::forward<B>(b));
}

template <class F>
inline void parallel_for(std::size_t begin, std::size_t end, F &&body, std::size_t grain = 0) {
  detail::parallel_for(nullptr, begin, end, std::forward<F>(body), grain);
}

template <class T, class Map, class Combine>
inline T parallel_reduce(std::size_t begin, std::size_t end, const T &identity, Map &&map, Combine &&combine,
                         std::size_t grain = 0) {
  return detail::parallel_reduce(nullptr, false, begin, end, identity, std::forward<Map>(map),
                                 std::forward<Combine>(combine), grain);
}

// A team on the default engine (the current worker's engine inside a task).
template <class F>
inline void team(std::uint32_t members, F &&f) {
  detail::team(nullptr, members, std::forward<F>(f));
}

// Inside a group task: whether its group was cancelled.
inline bool task_cancelled() noexcept { return te_current_task_cancelled(); }

// The worker running the caller (0-based), or -1 outside any engine's workers.
inline int current_worker_index() noexcept { return te_current_worker_index(); }

// Stops the default engine (see te_default_engine_shutdown); throws Error
// (TE_ERR_INVALID) when called from a task running on the default engine.
inline void shutdown_default_engine() { detail::check(te_default_engine_shutdown()); }

// The library's version, "MAJOR.MINOR.PATCH".
inline std::string version() { return te_version(); }

}  // namespace taskengine

#endif  // TASKENGINE_HPP
