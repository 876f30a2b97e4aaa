// Counts every call of the program's operator new, so that a test can show that
// a path of the wrapper allocates nothing (see test_group_per_node_allocates_nothing).
#include <atomic>
#include <cstdlib>
#include <new>

std::atomic<long> te_test_news{0};

void *operator new(std::size_t size) {
  te_test_news.fetch_add(1, std::memory_order_relaxed);
  if (void *p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}

void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
