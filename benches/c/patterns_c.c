/* The patterns benchmark's workloads in C: each one serial, on taskengine from
 * C, and on OpenMP tasks, plus the calls into the C++ versions (taskengine's
 * TaskGroup, oneTBB's task_group), gathered into the table patterns.c runs.
 *
 * taskengine from C is written as a C programmer writes it: the program enters
 * its engine once (a group on the engine, one task, wait), and the recursion
 * then names no engine: te_join(NULL, ...) where the shape is binary, a
 * te_group_new(NULL) + te_group_spawn per child + te_group_wait +
 * te_group_free per node where it is n-ary. OpenMP is `task` / `taskwait`
 * inside `parallel` + `single`, as BOTS writes it. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"
#include "taskengine.h"

static te_engine *engine;

static int te_failed(te_status status, const char *what) {
  fprintf(stderr, "patterns: %s: %s: %s\n", what, te_status_str(status), te_last_error_message());
  return 1;
}

/* Runs fn(arg) as one task of the engine and waits for it: how main enters. */
static int te_root(te_task_fn fn, void *arg) {
  te_group *group = NULL;
  te_status status = te_group_new(engine, &group);
  if (status != TE_OK) return te_failed(status, "te_group_new");
  status = te_group_spawn(group, fn, arg);
  if (status == TE_OK) status = te_group_wait(group);
  te_group_free(group);
  return status == TE_OK ? 0 : te_failed(status, "the root task");
}

int pb_te_init(unsigned threads) {
  te_config cfg;
  te_status status;
  te_config_init(&cfg);
  cfg.workers = threads;
  status = te_engine_new(&cfg, &engine);
  return status == TE_OK ? 0 : te_failed(status, "te_engine_new");
}

int pb_omp_init(unsigned threads) {
  omp_set_num_threads((int)threads);
#pragma omp parallel
  {
    (void)0; /* starts the team */
  }
  return 0;
}

static uint64_t count_result; /* the counting workloads' answer */

/* ================= fib ================= */

static const uint64_t FIB_32 = 2178309; /* OEIS A000045 */

static uint64_t fib_serial(unsigned n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

struct fib_arg {
  unsigned n;
  uint64_t result;
};

static int32_t fib_te(void *p) {
  struct fib_arg *f = p, a, b;
  if (f->n < 2) {
    f->result = f->n;
    return 0;
  }
  a.n = f->n - 1;
  b.n = f->n - 2;
  if (te_join(NULL, fib_te, &a, fib_te, &b) != TE_OK) return 1;
  f->result = a.result + b.result;
  return 0;
}

/* The same, handed the engine instead of finding it. */
static int32_t fib_te_engine(void *p) {
  struct fib_arg *f = p, a, b;
  if (f->n < 2) {
    f->result = f->n;
    return 0;
  }
  a.n = f->n - 1;
  b.n = f->n - 2;
  if (te_join(engine, fib_te_engine, &a, fib_te_engine, &b) != TE_OK) return 1;
  f->result = a.result + b.result;
  return 0;
}

static uint64_t fib_omp(unsigned n) {
  uint64_t a, b;
  if (n < 2) return n;
#pragma omp task shared(a)
  a = fib_omp(n - 1);
  b = fib_omp(n - 2);
#pragma omp taskwait
  return a + b;
}

static volatile unsigned fib_n = PB_FIB_N; /* not a constant the compiler could fold */

static int run_fib_serial(void) {
  count_result = fib_serial(fib_n);
  return 0;
}

static int run_fib_te(void) {
  struct fib_arg root;
  root.n = fib_n;
  if (te_root(fib_te, &root)) return 1;
  count_result = root.result;
  return 0;
}

static int run_fib_te_engine(void) {
  struct fib_arg root;
  root.n = fib_n;
  if (te_root(fib_te_engine, &root)) return 1;
  count_result = root.result;
  return 0;
}

static int run_fib_omp(void) {
  uint64_t r = 0;
  unsigned n = fib_n;
#pragma omp parallel
#pragma omp single
  r = fib_omp(n);
  count_result = r;
  return 0;
}

static int run_fib_tecpp(void) { return pb_tecpp_fib(fib_n, &count_result); }
static int run_fib_tbb(void) { return pb_tbb_fib(fib_n, &count_result); }

static void reset_count(void) { count_result = 0; }
static int verify_fib(int serial) {
  (void)serial;
  return count_result == FIB_32;
}

/* ================= nqueens ================= */

static const uint64_t NQ_12 = 14200; /* solutions on a 12x12 board, OEIS A000170 */

static uint64_t nq_serial(int n, int j, const char *a) {
  char b[PB_NQ_MAX];
  uint64_t count = 0;
  int i;
  if (j == n) return 1;
  for (i = 0; i < n; i++) {
    memcpy(b, a, (size_t)j);
    b[j] = (char)i;
    if (pb_nq_ok(j + 1, b)) count += nq_serial(n, j + 1, b);
  }
  return count;
}

struct nq_arg {
  int n, j;
  char a[PB_NQ_MAX];
  uint64_t count;
};

static int32_t nq_te(void *p) {
  struct nq_arg *me = p, kids[PB_NQ_MAX];
  te_group *group = NULL;
  te_status status;
  int i, k = 0;
  if (me->j == me->n) {
    me->count = 1;
    return 0;
  }
  if (te_group_new(NULL, &group) != TE_OK) return 1;
  for (i = 0; i < me->n; i++) {
    struct nq_arg *kid = &kids[k];
    memcpy(kid->a, me->a, (size_t)me->j);
    kid->a[me->j] = (char)i;
    if (!pb_nq_ok(me->j + 1, kid->a)) continue;
    kid->n = me->n;
    kid->j = me->j + 1;
    if (te_group_spawn(group, nq_te, kid) != TE_OK) {
      te_group_free(group); /* waits for the ones already spawned */
      return 1;
    }
    k++;
  }
  status = te_group_wait(group);
  te_group_free(group);
  if (status != TE_OK) return 1;
  me->count = 0;
  for (i = 0; i < k; i++) me->count += kids[i].count;
  return 0;
}

static uint64_t nq_omp(int n, int j, const char *a) {
  char boards[PB_NQ_MAX][PB_NQ_MAX];
  uint64_t counts[PB_NQ_MAX], total = 0;
  int i, k = 0;
  if (j == n) return 1;
  for (i = 0; i < n; i++) {
    char *b = boards[k];
    uint64_t *c = &counts[k];
    memcpy(b, a, (size_t)j);
    b[j] = (char)i;
    if (!pb_nq_ok(j + 1, b)) continue;
#pragma omp task firstprivate(b, c, n, j)
    *c = nq_omp(n, j + 1, b);
    k++;
  }
#pragma omp taskwait
  for (i = 0; i < k; i++) total += counts[i];
  return total;
}

static int run_nq_serial(void) {
  char empty[PB_NQ_MAX] = {0};
  count_result = nq_serial(PB_NQ_N, 0, empty);
  return 0;
}

static int run_nq_te(void) {
  struct nq_arg root;
  memset(&root, 0, sizeof root);
  root.n = PB_NQ_N;
  if (te_root(nq_te, &root)) return 1;
  count_result = root.count;
  return 0;
}

static int run_nq_omp(void) {
  char empty[PB_NQ_MAX] = {0};
  uint64_t r = 0;
#pragma omp parallel
#pragma omp single
  r = nq_omp(PB_NQ_N, 0, empty);
  count_result = r;
  return 0;
}

static int run_nq_tecpp(void) { return pb_tecpp_nqueens(PB_NQ_N, &count_result); }
static int run_nq_tbb(void) { return pb_tbb_nqueens(PB_NQ_N, &count_result); }

static int verify_nq(int serial) {
  (void)serial;
  return count_result == NQ_12;
}

/* ================= sort (BOTS cilksort, in halves) =================
 * sort(a, t, n, into_t) sorts a[0..n) into a (into_t = 0) or into t, using the
 * other as scratch: the two halves are sorted into the other buffer in
 * parallel, then merged back by a parallel merge that splits the larger run at
 * its middle and the smaller at the same key. */

static pb_elm *sort_input, *sort_data, *sort_tmp;
static uint64_t sort_fingerprint; /* of the input, order-independent */

static uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static void sort_leaf(pb_elm *a, pb_elm *t, size_t n, int into_t) {
  pb_seqquick(a, n);
  if (into_t) memcpy(t, a, n * sizeof *a);
}

static void merge_serial(const pb_elm *a, size_t na, const pb_elm *b, size_t nb, pb_elm *d) {
  size_t ma, mb;
  if (pb_merge_step(&a, &na, &b, &nb, d, &ma, &mb)) return;
  merge_serial(a, ma, b, mb, d);
  merge_serial(a + ma + 1, na - ma - 1, b + mb, nb - mb, d + ma + mb + 1);
}

static void sort_serial(pb_elm *a, pb_elm *t, size_t n, int into_t) {
  size_t h = n / 2;
  if (n <= PB_SORT_CUTOFF) {
    sort_leaf(a, t, n, into_t);
    return;
  }
  sort_serial(a, t, h, !into_t);
  sort_serial(a + h, t + h, n - h, !into_t);
  if (into_t)
    merge_serial(a, h, a + h, n - h, t);
  else
    merge_serial(t, h, t + h, n - h, a);
}

static void merge_omp(const pb_elm *a, size_t na, const pb_elm *b, size_t nb, pb_elm *d) {
  size_t ma, mb;
  if (pb_merge_step(&a, &na, &b, &nb, d, &ma, &mb)) return;
#pragma omp task
  merge_omp(a, ma, b, mb, d);
  merge_omp(a + ma + 1, na - ma - 1, b + mb, nb - mb, d + ma + mb + 1);
#pragma omp taskwait
}

static void sort_omp(pb_elm *a, pb_elm *t, size_t n, int into_t) {
  size_t h = n / 2;
  if (n <= PB_SORT_CUTOFF) {
    sort_leaf(a, t, n, into_t);
    return;
  }
#pragma omp task
  sort_omp(a, t, h, !into_t);
  sort_omp(a + h, t + h, n - h, !into_t);
#pragma omp taskwait
  if (into_t)
    merge_omp(a, h, a + h, n - h, t);
  else
    merge_omp(t, h, t + h, n - h, a);
}

struct merge_arg {
  const pb_elm *a, *b;
  size_t na, nb;
  pb_elm *d;
};

static int32_t merge_te(void *p) {
  struct merge_arg *m = p, left, right;
  size_t ma, mb;
  if (pb_merge_step(&m->a, &m->na, &m->b, &m->nb, m->d, &ma, &mb)) return 0;
  left.a = m->a;
  left.na = ma;
  left.b = m->b;
  left.nb = mb;
  left.d = m->d;
  right.a = m->a + ma + 1;
  right.na = m->na - ma - 1;
  right.b = m->b + mb;
  right.nb = m->nb - mb;
  right.d = m->d + ma + mb + 1;
  return te_join(NULL, merge_te, &left, merge_te, &right) == TE_OK ? 0 : 1;
}

struct sort_arg {
  pb_elm *a, *t;
  size_t n;
  int into_t;
};

static int32_t sort_te(void *p) {
  struct sort_arg *s = p, left, right;
  struct merge_arg m;
  size_t h = s->n / 2;
  if (s->n <= PB_SORT_CUTOFF) {
    sort_leaf(s->a, s->t, s->n, s->into_t);
    return 0;
  }
  left.a = s->a;
  left.t = s->t;
  left.n = h;
  left.into_t = !s->into_t;
  right.a = s->a + h;
  right.t = s->t + h;
  right.n = s->n - h;
  right.into_t = !s->into_t;
  if (te_join(NULL, sort_te, &left, sort_te, &right) != TE_OK) return 1;
  m.a = s->into_t ? s->a : s->t;
  m.na = h;
  m.b = m.a + h;
  m.nb = s->n - h;
  m.d = s->into_t ? s->t : s->a;
  return merge_te(&m);
}

static void sort_setup(void) {
  uint64_t x = 0x9E3779B97F4A7C15ull;
  size_t i, n = pb_sort_n;
  sort_input = malloc(n * sizeof *sort_input);
  sort_data = malloc(n * sizeof *sort_data);
  sort_tmp = malloc(n * sizeof *sort_tmp);
  if (!sort_input || !sort_data || !sort_tmp) {
    fprintf(stderr, "patterns: out of memory (sort)\n");
    exit(EXIT_FAILURE);
  }
  sort_fingerprint = 0;
  for (i = 0; i < n; i++) {
    x ^= x << 13; /* xorshift64 */
    x ^= x >> 7;
    x ^= x << 17;
    sort_input[i] = (pb_elm)x;
    sort_fingerprint += mix(x);
  }
}

/* The scratch is written too, so that no page of it is first touched (or
 * copied on write, in a child process) inside the timed run. */
static void sort_prepare(void) {
  memcpy(sort_data, sort_input, pb_sort_n * sizeof *sort_data);
  memset(sort_tmp, 0, pb_sort_n * sizeof *sort_tmp);
}

/* Sorted, and the same multiset of keys as the input. */
static int sort_verify(int serial) {
  uint64_t fp = 0;
  size_t i;
  (void)serial;
  for (i = 0; i < pb_sort_n; i++) {
    if (i > 0 && sort_data[i - 1] > sort_data[i]) return 0;
    fp += mix((uint64_t)sort_data[i]);
  }
  return fp == sort_fingerprint;
}

static void sort_teardown(void) {
  free(sort_input);
  free(sort_data);
  free(sort_tmp);
}

static int run_sort_serial(void) {
  sort_serial(sort_data, sort_tmp, pb_sort_n, 0);
  return 0;
}

static int run_sort_te(void) {
  struct sort_arg root;
  root.a = sort_data;
  root.t = sort_tmp;
  root.n = pb_sort_n;
  root.into_t = 0;
  return te_root(sort_te, &root);
}

static int run_sort_omp(void) {
#pragma omp parallel
#pragma omp single
  sort_omp(sort_data, sort_tmp, pb_sort_n, 0);
  return 0;
}

static int run_sort_tecpp(void) { return pb_tecpp_sort(sort_data, sort_tmp, pb_sort_n); }
static int run_sort_tbb(void) { return pb_tbb_sort(sort_data, sort_tmp, pb_sort_n); }

/* ================= sparselu (BOTS, the "single" version) =================
 * For each diagonal block: factor it, then one task per block of its row
 * (fwd) and column (bdiv), wait, then one task per inner block to update
 * (bmod, allocating fill-in), wait. */

enum { NB = PB_LU_NB, BS = PB_LU_BS };
static float *lu_input[NB * NB], *lu_work[NB * NB], *lu_ref[NB * NB];
static int lu_have_ref;

/* BOTS genmat: the sparsity pattern and the values. */
static void lu_setup(void) {
  int init_val = 1325, ii, jj, k;
  for (ii = 0; ii < NB; ii++)
    for (jj = 0; jj < NB; jj++) {
      int null_entry = 0;
      if (ii < jj && ii % 3 != 0) null_entry = 1;
      if (ii > jj && jj % 3 != 0) null_entry = 1;
      if (ii % 2 == 1) null_entry = 1;
      if (jj % 2 == 1) null_entry = 1;
      if (ii == jj) null_entry = 0;
      if (ii == jj - 1) null_entry = 0;
      if (ii - 1 == jj) null_entry = 0;
      if (null_entry) {
        lu_input[ii * NB + jj] = NULL;
        continue;
      }
      lu_input[ii * NB + jj] = pb_lu_clean_block();
      for (k = 0; k < BS * BS; k++) {
        init_val = (3125 * init_val) % 65536;
        lu_input[ii * NB + jj][k] = (float)((init_val - 32768.0) / 16384.0);
      }
    }
}

static void lu_free(float **m) {
  int i;
  for (i = 0; i < NB * NB; i++) {
    free(m[i]);
    m[i] = NULL;
  }
}

static void lu_prepare(void) {
  int i;
  lu_free(lu_work);
  for (i = 0; i < NB * NB; i++)
    if (lu_input[i]) {
      lu_work[i] = pb_lu_clean_block();
      memcpy(lu_work[i], lu_input[i], sizeof(float) * BS * BS);
    }
}

/* Block (bi, bj) of L*U from the factors in m into out, and of |L|*|U| into
 * mag: a plain triple loop over the factors, whatever scheduled them. */
static void lu_product_block(float *const *m, int bi, int bj, double *out, double *mag) {
  int k, i, j, l, kmax = bi < bj ? bi : bj;
  memset(out, 0, sizeof(double) * BS * BS);
  memset(mag, 0, sizeof(double) * BS * BS);
  for (k = 0; k <= kmax; k++) {
    const float *lb = m[bi * NB + k], *ub = m[k * NB + bj];
    if (!lb || !ub) continue;
    for (i = 0; i < BS; i++)
      for (l = 0; l < BS; l++) {
        /* L: unit lower triangle on the diagonal block, whole block below it. */
        double lv = k < bi ? lb[i * BS + l] : (l < i ? lb[i * BS + l] : (l == i ? 1.0 : 0.0));
        if (lv == 0) continue;
        for (j = 0; j < BS; j++) {
          /* U: upper triangle (with the diagonal) on the diagonal block. */
          double uv = k < bj ? ub[l * BS + j] : (j >= l ? ub[l * BS + j] : 0.0);
          out[i * BS + j] += lv * uv;
          mag[i * BS + j] += fabs(lv * uv);
        }
      }
  }
}

/* The serial factors must multiply back to the input, on a spread of blocks,
 * within LU's backward error in float (|A - LU| <= n u |L||U|, n = NB * BS;
 * without pivoting the factors grow large, so only that bound is meaningful);
 * every other version must match the serial bit for bit (the same kernels on
 * the same blocks in the same order per block). */
static int lu_verify(int serial) {
  int i;
  if (serial && !lu_have_ref) {
    static const int probe[][2] = {{0, 0}, {0, 1}, {1, 0}, {3, 3}, {6, 0}, {0, 6}, {9, 12}, {NB - 1, NB - 1},
                                   {NB - 1, NB - 2}, {NB - 2, NB - 1}, {NB / 2, NB / 2}, {12, 39}};
    static double prod[BS * BS], mag[BS * BS];
    const double gamma = (double)NB * BS * 0x1p-24;
    size_t p;
    int e;
    for (p = 0; p < sizeof probe / sizeof probe[0]; p++) {
      int bi = probe[p][0] % NB, bj = probe[p][1] % NB;
      const float *a = lu_input[bi * NB + bj];
      lu_product_block(lu_work, bi, bj, prod, mag);
      for (e = 0; e < BS * BS; e++) {
        double want = a ? a[e] : 0.0;
        if (!(fabs(prod[e] - want) <= gamma * mag[e] + 1e-30)) {
          fprintf(stderr, "patterns: sparselu: (L*U)[%d][%d] element %d is %g, A's is %g (|L||U| %g)\n", bi, bj, e,
                  prod[e], want, mag[e]);
          return 0;
        }
      }
    }
    for (i = 0; i < NB * NB; i++)
      if (lu_work[i]) {
        lu_ref[i] = pb_lu_clean_block();
        memcpy(lu_ref[i], lu_work[i], sizeof(float) * BS * BS);
      }
    lu_have_ref = 1;
    return 1;
  }
  for (i = 0; i < NB * NB; i++) {
    if (!lu_work[i] != !lu_ref[i]) return 0;
    if (lu_work[i] && memcmp(lu_work[i], lu_ref[i], sizeof(float) * BS * BS) != 0) return 0;
  }
  return 1;
}

static void lu_teardown(void) {
  lu_free(lu_input);
  lu_free(lu_work);
  lu_free(lu_ref);
  lu_have_ref = 0;
}

static void lu_serial(float **m) {
  int kk, ii, jj;
  for (kk = 0; kk < NB; kk++) {
    pb_lu0(m[kk * NB + kk]);
    for (jj = kk + 1; jj < NB; jj++)
      if (m[kk * NB + jj]) pb_fwd(m[kk * NB + kk], m[kk * NB + jj]);
    for (ii = kk + 1; ii < NB; ii++)
      if (m[ii * NB + kk]) pb_bdiv(m[kk * NB + kk], m[ii * NB + kk]);
    for (ii = kk + 1; ii < NB; ii++)
      if (m[ii * NB + kk])
        for (jj = kk + 1; jj < NB; jj++)
          if (m[kk * NB + jj]) {
            if (!m[ii * NB + jj]) m[ii * NB + jj] = pb_lu_clean_block();
            pb_bmod(m[ii * NB + kk], m[kk * NB + jj], m[ii * NB + jj]);
          }
  }
}

static void lu_omp(float **m) {
  int kk, ii, jj;
  for (kk = 0; kk < NB; kk++) {
    pb_lu0(m[kk * NB + kk]);
    for (jj = kk + 1; jj < NB; jj++)
      if (m[kk * NB + jj]) {
#pragma omp task firstprivate(kk, jj) shared(m)
        pb_fwd(m[kk * NB + kk], m[kk * NB + jj]);
      }
    for (ii = kk + 1; ii < NB; ii++)
      if (m[ii * NB + kk]) {
#pragma omp task firstprivate(kk, ii) shared(m)
        pb_bdiv(m[kk * NB + kk], m[ii * NB + kk]);
      }
#pragma omp taskwait
    for (ii = kk + 1; ii < NB; ii++)
      if (m[ii * NB + kk])
        for (jj = kk + 1; jj < NB; jj++)
          if (m[kk * NB + jj]) {
#pragma omp task firstprivate(kk, jj, ii) shared(m)
            {
              if (!m[ii * NB + jj]) m[ii * NB + jj] = pb_lu_clean_block();
              pb_bmod(m[ii * NB + kk], m[kk * NB + jj], m[ii * NB + jj]);
            }
          }
#pragma omp taskwait
  }
}

struct lu_arg {
  float **m;
  int kk, ii, jj;
};

static int32_t lu_fwd_te(void *p) {
  struct lu_arg *x = p;
  pb_fwd(x->m[x->kk * NB + x->kk], x->m[x->kk * NB + x->jj]);
  return 0;
}

static int32_t lu_bdiv_te(void *p) {
  struct lu_arg *x = p;
  pb_bdiv(x->m[x->kk * NB + x->kk], x->m[x->ii * NB + x->kk]);
  return 0;
}

static int32_t lu_bmod_te(void *p) {
  struct lu_arg *x = p;
  float **inner = &x->m[x->ii * NB + x->jj];
  if (!*inner) *inner = pb_lu_clean_block();
  pb_bmod(x->m[x->ii * NB + x->kk], x->m[x->kk * NB + x->jj], *inner);
  return 0;
}

/* One phase's group: spawn each task, wait, free. */
static int32_t lu_te(void *p) {
  float **m = p;
  struct lu_arg *args = malloc(sizeof *args * NB * NB);
  te_group *group = NULL;
  int kk, ii, jj, n, failed = 0;
  if (!args) return 1;
  for (kk = 0; kk < NB && !failed; kk++) {
    pb_lu0(m[kk * NB + kk]);
    if (te_group_new(NULL, &group) != TE_OK) {
      failed = 1;
      break;
    }
    n = 0;
    for (jj = kk + 1; jj < NB && !failed; jj++)
      if (m[kk * NB + jj]) {
        struct lu_arg *a = &args[n++];
        a->m = m;
        a->kk = kk;
        a->jj = jj;
        failed = te_group_spawn(group, lu_fwd_te, a) != TE_OK;
      }
    for (ii = kk + 1; ii < NB && !failed; ii++)
      if (m[ii * NB + kk]) {
        struct lu_arg *a = &args[n++];
        a->m = m;
        a->kk = kk;
        a->ii = ii;
        failed = te_group_spawn(group, lu_bdiv_te, a) != TE_OK;
      }
    if (te_group_wait(group) != TE_OK) failed = 1;
    te_group_free(group);
    if (failed || te_group_new(NULL, &group) != TE_OK) {
      failed = 1;
      break;
    }
    n = 0;
    for (ii = kk + 1; ii < NB && !failed; ii++)
      if (m[ii * NB + kk])
        for (jj = kk + 1; jj < NB && !failed; jj++)
          if (m[kk * NB + jj]) {
            struct lu_arg *a = &args[n++];
            a->m = m;
            a->kk = kk;
            a->ii = ii;
            a->jj = jj;
            failed = te_group_spawn(group, lu_bmod_te, a) != TE_OK;
          }
    if (te_group_wait(group) != TE_OK) failed = 1;
    te_group_free(group);
  }
  free(args);
  return failed;
}

static int run_lu_serial(void) {
  lu_serial(lu_work);
  return 0;
}

static int run_lu_te(void) { return te_root(lu_te, lu_work); }

static int run_lu_omp(void) {
  float **m = lu_work;
#pragma omp parallel
#pragma omp single
  lu_omp(m);
  return 0;
}

static int run_lu_tecpp(void) { return pb_tecpp_sparselu(lu_work); }
static int run_lu_tbb(void) { return pb_tbb_sparselu(lu_work); }

/* ================= strassen ================= */

enum { MM_N = PB_MM_N };
static double *mm_a, *mm_b, *mm_c, *mm_ref;

static void mm_setup(void) {
  size_t i, n = (size_t)MM_N * MM_N;
  uint64_t x = 88172645463325252ull;
  mm_a = malloc(n * sizeof *mm_a);
  mm_b = malloc(n * sizeof *mm_b);
  mm_c = malloc(n * sizeof *mm_c);
  mm_ref = malloc(n * sizeof *mm_ref);
  if (!mm_a || !mm_b || !mm_c || !mm_ref) {
    fprintf(stderr, "patterns: out of memory (strassen)\n");
    exit(EXIT_FAILURE);
  }
  for (i = 0; i < 2 * n; i++) {
    double v;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = (double)(x >> 11) / 9007199254740992.0 * 2.0 - 1.0; /* [-1, 1) */
    if (i < n)
      mm_a[i] = v;
    else
      mm_b[i - n] = v;
  }
}

static void mm_prepare(void) { memset(mm_c, 0xff, (size_t)MM_N * MM_N * sizeof *mm_c); /* NaNs */ }

/* The serial product against plain dot products on a spread of entries; every
 * other version against the serial bit for bit. */
static int mm_verify(int serial) {
  size_t n = MM_N, e;
  if (serial) {
    for (e = 0; e < 97; e++) {
      size_t i = (e * 389) % n, j = (e * 761 + 5) % n, k;
      double want = 0;
      for (k = 0; k < n; k++) want += mm_a[i * n + k] * mm_b[k * n + j];
      if (!(fabs(mm_c[i * n + j] - want) <= 1e-9 * (double)n)) {
        fprintf(stderr, "patterns: strassen: C[%zu][%zu] = %g, dot product %g\n", i, j, mm_c[i * n + j], want);
        return 0;
      }
    }
    memcpy(mm_ref, mm_c, n * n * sizeof *mm_c);
    return 1;
  }
  return memcmp(mm_c, mm_ref, n * n * sizeof *mm_c) == 0;
}

static void mm_teardown(void) {
  free(mm_a);
  free(mm_b);
  free(mm_c);
  free(mm_ref);
}

static void mm_serial(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t n) {
  struct pb_mm_node node;
  int k;
  if (n <= PB_MM_CUTOFF) {
    pb_mm_leaf(c, ldc, a, lda, b, ldb, n);
    return;
  }
  pb_mm_begin(&node, c, ldc, a, lda, b, ldb, n);
  for (k = 0; k < 7; k++) {
    struct pb_mm_product p = pb_mm_operands(&node, k);
    mm_serial(p.m, node.h, p.x, p.ldx, p.y, p.ldy, node.h);
  }
  pb_mm_end(&node);
}

static void mm_omp(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t n) {
  struct pb_mm_node node;
  struct pb_mm_node *np = &node;
  int k;
  if (n <= PB_MM_CUTOFF) {
    pb_mm_leaf(c, ldc, a, lda, b, ldb, n);
    return;
  }
  pb_mm_begin(&node, c, ldc, a, lda, b, ldb, n);
  for (k = 0; k < 7; k++) {
#pragma omp task firstprivate(np, k)
    {
      struct pb_mm_product p = pb_mm_operands(np, k);
      mm_omp(p.m, np->h, p.x, p.ldx, p.y, p.ldy, np->h);
    }
  }
#pragma omp taskwait
  pb_mm_end(&node);
}

struct mm_arg {
  double *c;
  const double *a, *b;
  size_t ldc, lda, ldb, n;
};

struct mm_product_arg {
  struct pb_mm_node *node;
  int k;
};

static int32_t mm_te(void *p);

static int32_t mm_te_product(void *p) {
  struct mm_product_arg *x = p;
  struct pb_mm_product pr = pb_mm_operands(x->node, x->k);
  struct mm_arg sub;
  sub.c = pr.m;
  sub.ldc = x->node->h;
  sub.a = pr.x;
  sub.lda = pr.ldx;
  sub.b = pr.y;
  sub.ldb = pr.ldy;
  sub.n = x->node->h;
  return mm_te(&sub);
}

static int32_t mm_te(void *p) {
  struct mm_arg *x = p;
  struct pb_mm_node node;
  struct mm_product_arg products[7];
  te_group *group = NULL;
  te_status status = TE_OK;
  int k;
  if (x->n <= PB_MM_CUTOFF) {
    pb_mm_leaf(x->c, x->ldc, x->a, x->lda, x->b, x->ldb, x->n);
    return 0;
  }
  pb_mm_begin(&node, x->c, x->ldc, x->a, x->lda, x->b, x->ldb, x->n);
  if (te_group_new(NULL, &group) != TE_OK) {
    pb_mm_end(&node);
    return 1;
  }
  for (k = 0; k < 7 && status == TE_OK; k++) {
    products[k].node = &node;
    products[k].k = k;
    status = te_group_spawn(group, mm_te_product, &products[k]);
  }
  if (status == TE_OK) status = te_group_wait(group);
  te_group_free(group);
  pb_mm_end(&node);
  return status == TE_OK ? 0 : 1;
}

static int run_mm_serial(void) {
  mm_serial(mm_c, MM_N, mm_a, MM_N, mm_b, MM_N, MM_N);
  return 0;
}

static int run_mm_te(void) {
  struct mm_arg root;
  root.c = mm_c;
  root.a = mm_a;
  root.b = mm_b;
  root.ldc = root.lda = root.ldb = root.n = MM_N;
  return te_root(mm_te, &root);
}

static int run_mm_omp(void) {
#pragma omp parallel
#pragma omp single
  mm_omp(mm_c, MM_N, mm_a, MM_N, mm_b, MM_N, MM_N);
  return 0;
}

static int run_mm_tecpp(void) { return pb_tecpp_strassen(mm_c, mm_a, mm_b, MM_N); }
static int run_mm_tbb(void) { return pb_tbb_strassen(mm_c, mm_a, mm_b, MM_N); }

/* ================= uts (T1) =================
 * One task per child (BOTS parTreeSearch), the node counts summed after the wait. */

static const uint64_t UTS_T1_NODES = 4130071; /* UTS's published size of T1 */

static uint64_t uts_serial(const struct pb_uts_node *parent) {
  struct pb_uts_node child;
  uint64_t count = 1;
  int i;
  for (i = 0; i < parent->children; i++) {
    pb_uts_child(parent, i, &child);
    count += uts_serial(&child);
  }
  return count;
}

static uint64_t uts_omp(const struct pb_uts_node *parent) {
  int i, n = parent->children;
  struct pb_uts_node kids[n > 0 ? n : 1];
  uint64_t counts[n > 0 ? n : 1], total = 1;
  for (i = 0; i < n; i++) {
    struct pb_uts_node *kid = &kids[i];
    uint64_t *c = &counts[i];
    pb_uts_child(parent, i, kid);
#pragma omp task firstprivate(kid, c)
    *c = uts_omp(kid);
  }
#pragma omp taskwait
  for (i = 0; i < n; i++) total += counts[i];
  return total;
}

struct uts_arg {
  struct pb_uts_node node;
  uint64_t count;
};

static int32_t uts_te(void *p) {
  struct uts_arg *me = p;
  int i, n = me->node.children;
  struct uts_arg kids[n > 0 ? n : 1];
  te_group *group = NULL;
  te_status status = TE_OK;
  if (te_group_new(NULL, &group) != TE_OK) return 1;
  for (i = 0; i < n && status == TE_OK; i++) {
    pb_uts_child(&me->node, i, &kids[i].node);
    status = te_group_spawn(group, uts_te, &kids[i]);
  }
  if (status == TE_OK) status = te_group_wait(group);
  te_group_free(group);
  if (status != TE_OK) return 1;
  me->count = 1;
  for (i = 0; i < n; i++) me->count += kids[i].count;
  return 0;
}

static int run_uts_serial(void) {
  struct pb_uts_node root;
  pb_uts_root(&root);
  count_result = uts_serial(&root);
  return 0;
}

static int run_uts_te(void) {
  struct uts_arg root;
  pb_uts_root(&root.node);
  if (te_root(uts_te, &root)) return 1;
  count_result = root.count;
  return 0;
}

static int run_uts_omp(void) {
  struct pb_uts_node root;
  uint64_t r = 0;
  pb_uts_root(&root);
#pragma omp parallel
#pragma omp single
  r = uts_omp(&root);
  count_result = r;
  return 0;
}

static int run_uts_tecpp(void) { return pb_tecpp_uts(&count_result); }
static int run_uts_tbb(void) { return pb_tbb_uts(&count_result); }

/* SHA-1 is checked against FIPS 180 before the tree is trusted. */
static void uts_setup(void) {
  static const unsigned char abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
                                        0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
  static const unsigned char two_blocks[20] = {0x84, 0x98, 0x3e, 0x44, 0x1c, 0x3b, 0xd2, 0x6e, 0xba, 0xae,
                                               0x4a, 0xa1, 0xf9, 0x51, 0x29, 0xe5, 0xe5, 0x46, 0x70, 0xf1};
  const char *msg2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  unsigned char out[20];
  pb_sha1("abc", 3, out);
  if (memcmp(out, abc, 20) != 0) {
    fprintf(stderr, "patterns: SHA-1(\"abc\") is wrong\n");
    exit(EXIT_FAILURE);
  }
  pb_sha1(msg2, strlen(msg2), out);
  if (memcmp(out, two_blocks, 20) != 0) {
    fprintf(stderr, "patterns: SHA-1 of the 56-byte FIPS vector is wrong\n");
    exit(EXIT_FAILURE);
  }
}

static int verify_uts(int serial) {
  (void)serial;
  return count_result == UTS_T1_NODES;
}

/* ================= 1M tasks spawned from the main thread, then one wait ================= */

static atomic_long spawn_counter;
static long spawn_count;

static int32_t tiny_task(void *arg) {
  (void)arg;
  atomic_fetch_add_explicit(&spawn_counter, 1, memory_order_relaxed);
  return 0;
}

static int run_spawn_serial(void) {
  int32_t (*volatile fn)(void *) = tiny_task; /* called like a task, not inlined */
  long i;
  atomic_store(&spawn_counter, 0);
  for (i = 0; i < PB_SPAWNS; i++) fn(NULL);
  spawn_count = atomic_load(&spawn_counter);
  return 0;
}

static int run_spawn_te(void) {
  te_group *group = NULL;
  te_status status;
  long i;
  atomic_store(&spawn_counter, 0);
  status = te_group_new(engine, &group);
  if (status != TE_OK) return te_failed(status, "te_group_new");
  for (i = 0; i < PB_SPAWNS && status == TE_OK; i++) status = te_group_spawn(group, tiny_task, NULL);
  if (status == TE_OK) status = te_group_wait(group);
  te_group_free(group);
  if (status != TE_OK) return te_failed(status, "1M spawns");
  spawn_count = atomic_load(&spawn_counter);
  return 0;
}

static int run_spawn_omp(void) {
  atomic_store(&spawn_counter, 0);
#pragma omp parallel
#pragma omp single
  {
    long i;
    for (i = 0; i < PB_SPAWNS; i++) {
#pragma omp task
      tiny_task(NULL);
    }
#pragma omp taskwait
  }
  spawn_count = atomic_load(&spawn_counter);
  return 0;
}

static int run_spawn_tecpp(void) { return pb_tecpp_spawns(PB_SPAWNS, &spawn_count); }
static int run_spawn_tbb(void) { return pb_tbb_spawns(PB_SPAWNS, &spawn_count); }

static void spawn_prepare(void) { spawn_count = 0; }
static int verify_spawn(int serial) {
  (void)serial;
  return spawn_count == PB_SPAWNS;
}

/* ================= the table ================= */

/* A version run here, and one that is a program of its own. */
#define RUN(id, name, kind, run) {id, name, kind, run, NULL}
#define PROGRAM(id, name, kind, env) {id, name, kind, NULL, env}
#define SERIAL(run) RUN("serial", "serial C", PB_SERIAL, run)
#define TE_CPP(run) RUN("te_cpp", "C++, taskengine::TaskGroup per node", PB_OURS, run)
#define TBB(run) RUN("tbb", "oneTBB, task_group per node", PB_TBB, run)

const struct pb_workload pb_workloads[] = {
    {"fib",
     "fib(32)",
     NULL,
     reset_count,
     verify_fib,
     NULL,
     {SERIAL(run_fib_serial),
      RUN("te_c", "C, te_join(NULL) per call", PB_OURS, run_fib_te),
      RUN("te_c_engine", "C, te_join(engine) per call", PB_OURS, run_fib_te_engine),
      RUN("te_cpp", "C++, TaskGroup per call", PB_OURS, run_fib_tecpp),
      RUN("tbb", "oneTBB, task_group per call", PB_TBB, run_fib_tbb),
      RUN("omp", "OpenMP, task + taskwait", PB_OMP, run_fib_omp),
      PROGRAM("te_rust", "Rust, taskengine Engine::join per call", PB_OURS, "TE_BENCH_RUST_FIB"),
      PROGRAM("rayon", "Rust, rayon::join per call", PB_OTHER, "TE_BENCH_RAYON_FIB")}},
    {"nqueens",
     "nqueens(12)",
     NULL,
     reset_count,
     verify_nq,
     NULL,
     {SERIAL(run_nq_serial),
      RUN("te_c", "C, te_group per node", PB_OURS, run_nq_te),
      TE_CPP(run_nq_tecpp),
      TBB(run_nq_tbb),
      RUN("omp", "OpenMP, task per placement", PB_OMP, run_nq_omp)}},
    {"sort",
     "sort 1e7 int64",
     sort_setup,
     sort_prepare,
     sort_verify,
     sort_teardown,
     {SERIAL(run_sort_serial),
      RUN("te_c", "C, te_join(NULL) per half", PB_OURS, run_sort_te),
      TE_CPP(run_sort_tecpp),
      TBB(run_sort_tbb),
      RUN("omp", "OpenMP, task + taskwait", PB_OMP, run_sort_omp)}},
    {"sparselu",
     "sparselu 50x50 blocks of 50",
     lu_setup,
     lu_prepare,
     lu_verify,
     lu_teardown,
     {SERIAL(run_lu_serial),
      RUN("te_c", "C, te_group per phase", PB_OURS, run_lu_te),
      RUN("te_cpp", "C++, TaskGroup per phase", PB_OURS, run_lu_tecpp),
      RUN("tbb", "oneTBB, task_group per phase", PB_TBB, run_lu_tbb),
      RUN("omp", "OpenMP, task per block op", PB_OMP, run_lu_omp)}},
    {"strassen",
     "strassen 1024, cutoff 64",
     mm_setup,
     mm_prepare,
     mm_verify,
     mm_teardown,
     {SERIAL(run_mm_serial),
      RUN("te_c", "C, te_group per node", PB_OURS, run_mm_te),
      TE_CPP(run_mm_tecpp),
      TBB(run_mm_tbb),
      RUN("omp", "OpenMP, task per product", PB_OMP, run_mm_omp)}},
    {"uts",
     "uts T1 (4.1M nodes)",
     uts_setup,
     reset_count,
     verify_uts,
     NULL,
     {SERIAL(run_uts_serial),
      RUN("te_c", "C, te_group per node", PB_OURS, run_uts_te),
      TE_CPP(run_uts_tecpp),
      TBB(run_uts_tbb),
      RUN("omp", "OpenMP, task per child", PB_OMP, run_uts_omp)}},
    {"spawn",
     "1M spawns from main, 1 wait",
     NULL,
     spawn_prepare,
     verify_spawn,
     NULL,
     {RUN("serial", "serial C (calls)", PB_SERIAL, run_spawn_serial),
      RUN("te_c", "C, te_group_spawn from main", PB_OURS, run_spawn_te),
      RUN("te_cpp", "C++, TaskGroup::spawn from main", PB_OURS, run_spawn_tecpp),
      RUN("tbb", "oneTBB, task_group::run from main", PB_TBB, run_spawn_tbb),
      RUN("omp", "OpenMP, task from one thread", PB_OMP, run_spawn_omp)}},
};

const int pb_nworkloads = (int)(sizeof pb_workloads / sizeof pb_workloads[0]);
