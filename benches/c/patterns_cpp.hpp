// The patterns benchmark's workloads in C++, written once for any task group
// with run(f) and wait(), the way tbb::task_group users write them: a group per
// node, lambdas spawned into it, wait, results read after the wait. Binary
// shapes spawn one half and compute the other on the spot; n-ary ones spawn
// every child. patterns_te.cpp instantiates it with taskengine::TaskGroup,
// patterns_tbb.cpp with tbb::task_group.
#ifndef TE_BENCH_PATTERNS_CPP_HPP
#define TE_BENCH_PATTERNS_CPP_HPP

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

#include "patterns.h"

namespace pb {

template <class Group>
struct Patterns {
  static std::uint64_t fib(unsigned n) {
    if (n < 2) return n;
    std::uint64_t x = 0, y = 0;
    Group g;
    g.run([&] { x = fib(n - 1); });
    y = fib(n - 2);
    g.wait();
    return x + y;
  }

  static std::uint64_t nqueens(int n, int j, const char *a) {
    if (j == n) return 1;
    char boards[PB_NQ_MAX][PB_NQ_MAX];
    std::uint64_t counts[PB_NQ_MAX];
    int k = 0;
    Group g;
    for (int i = 0; i < n; i++) {
      char *b = boards[k];
      std::memcpy(b, a, static_cast<std::size_t>(j));
      b[j] = static_cast<char>(i);
      if (!pb_nq_ok(j + 1, b)) continue;
      std::uint64_t *c = &counts[k];
      g.run([=] { *c = nqueens(n, j + 1, b); });
      k++;
    }
    g.wait();
    std::uint64_t total = 0;
    for (int i = 0; i < k; i++) total += counts[i];
    return total;
  }

  static void merge(const pb_elm *a, std::size_t na, const pb_elm *b, std::size_t nb, pb_elm *d) {
    std::size_t ma, mb;
    if (pb_merge_step(&a, &na, &b, &nb, d, &ma, &mb)) return;
    Group g;
    g.run([=] { merge(a, ma, b, mb, d); });
    merge(a + ma + 1, na - ma - 1, b + mb, nb - mb, d + ma + mb + 1);
    g.wait();
  }

  // Sorts a[0..n) into a, or into t when into_t, using the other as scratch.
  static void sort(pb_elm *a, pb_elm *t, std::size_t n, bool into_t) {
    if (n <= PB_SORT_CUTOFF) {
      pb_seqquick(a, n);
      if (into_t) std::memcpy(t, a, n * sizeof *a);
      return;
    }
    std::size_t h = n / 2;
    {
      Group g;
      g.run([=] { sort(a, t, h, !into_t); });
      sort(a + h, t + h, n - h, !into_t);
      g.wait();
    }
    if (into_t)
      merge(a, h, a + h, n - h, t);
    else
      merge(t, h, t + h, n - h, a);
  }

  static void sparselu(float **m) {
    const int nb = PB_LU_NB;
    for (int kk = 0; kk < nb; kk++) {
      pb_lu0(m[kk * nb + kk]);
      {
        Group g;
        for (int jj = kk + 1; jj < nb; jj++)
          if (m[kk * nb + jj]) g.run([=] { pb_fwd(m[kk * nb + kk], m[kk * nb + jj]); });
        for (int ii = kk + 1; ii < nb; ii++)
          if (m[ii * nb + kk]) g.run([=] { pb_bdiv(m[kk * nb + kk], m[ii * nb + kk]); });
        g.wait();
      }
      {
        Group g;
        for (int ii = kk + 1; ii < nb; ii++)
          if (m[ii * nb + kk])
            for (int jj = kk + 1; jj < nb; jj++)
              if (m[kk * nb + jj])
                g.run([=] {
                  float *&inner = m[ii * nb + jj];
                  if (!inner) inner = pb_lu_clean_block();
                  pb_bmod(m[ii * nb + kk], m[kk * nb + jj], inner);
                });
        g.wait();
      }
    }
  }

  static void strassen(double *c, std::size_t ldc, const double *a, std::size_t lda, const double *b,
                       std::size_t ldb, std::size_t n) {
    if (n <= PB_MM_CUTOFF) {
      pb_mm_leaf(c, ldc, a, lda, b, ldb, n);
      return;
    }
    pb_mm_node node;
    pb_mm_begin(&node, c, ldc, a, lda, b, ldb, n);
    {
      Group g;
      for (int k = 0; k < 7; k++)
        g.run([&node, k] {
          pb_mm_product p = pb_mm_operands(&node, k);
          strassen(p.m, node.h, p.x, p.ldx, p.y, p.ldy, node.h);
        });
      g.wait();
    }
    pb_mm_end(&node);
  }

  static std::uint64_t uts(const pb_uts_node &parent) {
    pb_uts_node kids[PB_UTS_MAX_CHILDREN];
    std::uint64_t counts[PB_UTS_MAX_CHILDREN];
    Group g;
    for (int i = 0; i < parent.children; i++) {
      pb_uts_child(&parent, i, &kids[i]);
      g.run([&kids, &counts, i] { counts[i] = uts(kids[i]); });
    }
    g.wait();
    std::uint64_t total = 1;
    for (int i = 0; i < parent.children; i++) total += counts[i];
    return total;
  }
};

// The C entry points' bodies: Root::run(what, f) runs f() inside the runtime
// (from the main thread, as a program enters it) and returns 0, or reports an
// exception and returns 1.
template <class Group, class Root>
struct Entry {
  using P = Patterns<Group>;

  static int fib(unsigned n, std::uint64_t *out) {
    return Root::run("fib", [=] { *out = P::fib(n); });
  }
  static int nqueens(int n, std::uint64_t *out) {
    return Root::run("nqueens", [=] {
      char empty[PB_NQ_MAX] = {};
      *out = P::nqueens(n, 0, empty);
    });
  }
  static int sort(pb_elm *data, pb_elm *tmp, std::size_t n) {
    return Root::run("sort", [=] { P::sort(data, tmp, n, false); });
  }
  static int sparselu(float **blocks) {
    return Root::run("sparselu", [=] { P::sparselu(blocks); });
  }
  static int strassen(double *c, const double *a, const double *b, std::size_t n) {
    return Root::run("strassen", [=] { P::strassen(c, n, a, n, b, n, n); });
  }
  static int uts(std::uint64_t *out) {
    return Root::run("uts", [=] {
      pb_uts_node root;
      pb_uts_root(&root);
      *out = P::uts(root);
    });
  }
};

template <class F>
int report_failures(const char *runtime, const char *what, F &&f) {
  try {
    f();
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "patterns: %s, %s: %s\n", runtime, what, e.what());
  } catch (...) {
    std::fprintf(stderr, "patterns: %s, %s: an exception\n", runtime, what);
  }
  return 1;
}

}  // namespace pb

#endif
