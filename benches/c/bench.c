/* The C benchmark: taskengine called from C, beside serial C and OpenMP
 * (gcc -fopenmp) in the same run, printed as a table of times and ratios.
 *
 *   fib(32)         one te_join per call     vs  one `omp task` per call
 *   1,000,000 tasks te_group_spawn from main vs  `omp task` from a single thread
 *   parallel for    te_parallel_for, 1e8 doubles vs `omp parallel for`
 *   sum             te_sum_i64, 1e8          vs  `omp parallel for reduction(+)`
 *   sort            te_sort_i64, 1e7         vs  qsort, and a merge sort on omp tasks
 *
 * Each time is the best of a few runs (fewer for slow ones). TE_BENCH_SCALE (a
 * float, default 1) shrinks the array sizes for a quick run; TE_BENCH_ONLY=fib
 * runs the fib row alone. TE_BENCH_RUST_FIB names benches/c/rust_fib (the same
 * fib(32) through Rust's Engine::join), run right after this program's own fib
 * runs. `make bench-c`
 * runs this program linked statically (as the Rust reference is) and, for fib,
 * linked to the shared library too. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, popen */
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskengine.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void check(te_status status, const char *what) {
  if (status != TE_OK) {
    fprintf(stderr, "bench: %s: %s: %s\n", what, te_status_str(status), te_last_error_message());
    exit(EXIT_FAILURE);
  }
}

static void *xmalloc(size_t bytes) {
  void *p = malloc(bytes);
  if (!p) {
    fprintf(stderr, "bench: cannot allocate %zu bytes (try TE_BENCH_SCALE=0.1)\n", bytes);
    exit(EXIT_FAILURE);
  }
  return p;
}

static te_engine *engine;
static volatile uint64_t sink; /* keeps results alive */

/* ---- results table ---- */

struct row {
  const char *name;
  double serial, te, omp;
};

static struct row rows[8];
static int nrows;

static void add_row(const char *name, double serial, double te, double omp) {
  rows[nrows].name = name;
  rows[nrows].serial = serial;
  rows[nrows].te = te;
  rows[nrows].omp = omp;
  nrows++;
}

/* ---- fib ---- */

static uint64_t fib_serial(unsigned n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

struct fib_arg {
  unsigned n;
  uint64_t result;
};

static int32_t fib_task(void *p) {
  struct fib_arg *f = p;
  struct fib_arg a, b;
  if (f->n < 2) {
    f->result = f->n;
    return 0;
  }
  a.n = f->n - 1;
  b.n = f->n - 2;
  if (te_join(engine, fib_task, &a, fib_task, &b) != TE_OK) return 1;
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

static double best_of(int reps, double (*run)(void)) {
  double best = 1e300;
  int i;
  for (i = 0; i < reps; i++) {
    double t = run();
    if (t < best) best = t;
  }
  return best;
}

enum { FIB_N = 32 };
static const uint64_t FIB_32 = 2178309; /* OEIS A000045 */

static double run_fib_serial(void) {
  volatile unsigned n = FIB_N; /* not a constant the compiler could fold */
  double t = now_ms();
  uint64_t r = fib_serial(n);
  t = now_ms() - t;
  if (r != FIB_32) exit(EXIT_FAILURE);
  return t;
}

static double run_fib_te(void) {
  struct fib_arg root;
  struct fib_arg dummy;
  double t;
  root.n = FIB_N - 1;
  dummy.n = FIB_N - 2;
  t = now_ms();
  /* The root call, from outside the pool, as rust_fib.rs does. */
  check(te_join(engine, fib_task, &root, fib_task, &dummy), "te_join");
  t = now_ms() - t;
  if (root.result + dummy.result != FIB_32) exit(EXIT_FAILURE);
  return t;
}

/* The Rust reference, as a child process: its best of five runs. */
static double run_fib_rust(const char *program) {
  char cmd[4096];
  double ms = 0;
  FILE *p;
  snprintf(cmd, sizeof cmd, "TE_BENCH_REPS=5 '%s'", program);
  p = popen(cmd, "r");
  if (!p || fscanf(p, "%lf", &ms) != 1) ms = 0;
  if (p) pclose(p);
  return ms;
}

static double run_fib_omp(void) {
  uint64_t r = 0;
  double t = now_ms();
#pragma omp parallel
#pragma omp single
  r = fib_omp(FIB_N);
  t = now_ms() - t;
  if (r != FIB_32) exit(EXIT_FAILURE);
  return t;
}

/* ---- a million tiny tasks ---- */

enum { TASKS = 1000000 };
static atomic_long task_counter;

static int32_t tiny_task(void *arg) {
  (void)arg;
  atomic_fetch_add_explicit(&task_counter, 1, memory_order_relaxed);
  return 0;
}

static double run_tasks_serial(void) {
  int32_t (*volatile fn)(void *) = tiny_task; /* called like a task, not inlined */
  double t;
  long i;
  atomic_store(&task_counter, 0);
  t = now_ms();
  for (i = 0; i < TASKS; i++) fn(NULL);
  t = now_ms() - t;
  if (atomic_load(&task_counter) != TASKS) exit(EXIT_FAILURE);
  return t;
}

static double run_tasks_te(void) {
  te_group *group = NULL;
  double t;
  long i;
  atomic_store(&task_counter, 0);
  t = now_ms();
  check(te_group_new(engine, &group), "te_group_new");
  for (i = 0; i < TASKS; i++) check(te_group_spawn(group, tiny_task, NULL), "te_group_spawn");
  check(te_group_wait(group), "te_group_wait");
  te_group_free(group);
  t = now_ms() - t;
  if (atomic_load(&task_counter) != TASKS) exit(EXIT_FAILURE);
  return t;
}

static double run_tasks_omp(void) {
  double t;
  atomic_store(&task_counter, 0);
  t = now_ms();
#pragma omp parallel
#pragma omp single
  {
    long i;
    for (i = 0; i < TASKS; i++) {
#pragma omp task
      tiny_task(NULL);
    }
#pragma omp taskwait
  }
  t = now_ms() - t;
  if (atomic_load(&task_counter) != TASKS) exit(EXIT_FAILURE);
  return t;
}

/* ---- parallel for over doubles ---- */

static double *doubles;
static size_t n_doubles;

static void fill_doubles(void) {
  size_t i;
  for (i = 0; i < n_doubles; i++) doubles[i] = (double)(i % 1000);
}

static inline void body(double *x, size_t begin, size_t end) {
  size_t i;
  for (i = begin; i < end; i++) x[i] = sqrt(x[i]) + 1.0;
}

static int32_t te_body(void *arg, size_t begin, size_t end) {
  body(arg, begin, end);
  return 0;
}

static double run_for_serial(void) {
  double t;
  fill_doubles();
  t = now_ms();
  body(doubles, 0, n_doubles);
  return now_ms() - t;
}

static double run_for_te(void) {
  double t;
  fill_doubles();
  t = now_ms();
  check(te_parallel_for(engine, 0, n_doubles, 0, te_body, doubles), "te_parallel_for");
  return now_ms() - t;
}

static double run_for_omp(void) {
  double t;
  long i, n = (long)n_doubles;
  fill_doubles();
  t = now_ms();
#pragma omp parallel for schedule(static)
  for (i = 0; i < n; i++) doubles[i] = sqrt(doubles[i]) + 1.0;
  return now_ms() - t;
}

static void check_doubles(const char *who) {
  size_t i;
  for (i = 0; i < n_doubles; i += 4099)
    if (doubles[i] != sqrt((double)(i % 1000)) + 1.0) {
      fprintf(stderr, "bench: %s computed a wrong value at %zu\n", who, i);
      exit(EXIT_FAILURE);
    }
}

static double for_serial(void) {
  double t = run_for_serial();
  check_doubles("serial for");
  return t;
}
static double for_te(void) {
  double t = run_for_te();
  check_doubles("te_parallel_for");
  return t;
}
static double for_omp(void) {
  double t = run_for_omp();
  check_doubles("omp parallel for");
  return t;
}

/* ---- sum of int64 ---- */

static int64_t *ints;
static size_t n_ints;
static int64_t int_sum_expected;

static void fill_ints(void) {
  size_t i;
  int_sum_expected = 0;
  for (i = 0; i < n_ints; i++) {
    ints[i] = (int64_t)(i % 2001) - 1000 + (int64_t)(i & 1);
    int_sum_expected += ints[i];
  }
}

static double sum_serial(void) {
  double t = now_ms();
  int64_t s = 0;
  size_t i;
  for (i = 0; i < n_ints; i++) s += ints[i];
  t = now_ms() - t;
  if (s != int_sum_expected) exit(EXIT_FAILURE);
  return t;
}

static double sum_te(void) {
  int64_t s = 0;
  double t = now_ms();
  check(te_sum_i64(engine, ints, n_ints, &s), "te_sum_i64");
  t = now_ms() - t;
  if (s != int_sum_expected) exit(EXIT_FAILURE);
  return t;
}

static double sum_omp(void) {
  int64_t s = 0;
  long i, n = (long)n_ints;
  double t = now_ms();
#pragma omp parallel for reduction(+ : s) schedule(static)
  for (i = 0; i < n; i++) s += ints[i];
  t = now_ms() - t;
  if (s != int_sum_expected) exit(EXIT_FAILURE);
  return t;
}

/* ---- sort of int64 ---- */

static int64_t *unsorted, *sort_buf, *merge_tmp;
static size_t n_sort;

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void check_sorted(const char *who) {
  size_t i;
  for (i = 1; i < n_sort; i++)
    if (sort_buf[i - 1] > sort_buf[i]) {
      fprintf(stderr, "bench: %s left the array unsorted at %zu\n", who, i);
      exit(EXIT_FAILURE);
    }
}

static double sort_qsort(void) {
  double t;
  memcpy(sort_buf, unsorted, n_sort * sizeof *sort_buf);
  t = now_ms();
  qsort(sort_buf, n_sort, sizeof *sort_buf, cmp_i64);
  t = now_ms() - t;
  check_sorted("qsort");
  return t;
}

static double sort_te(void) {
  double t;
  memcpy(sort_buf, unsorted, n_sort * sizeof *sort_buf);
  t = now_ms();
  check(te_sort_i64(engine, sort_buf, n_sort), "te_sort_i64");
  t = now_ms() - t;
  check_sorted("te_sort_i64");
  return t;
}

static double sort_te_serial(void) {
  double t;
  memcpy(sort_buf, unsorted, n_sort * sizeof *sort_buf);
  t = now_ms();
  check(te_sort_i64_serial(sort_buf, n_sort), "te_sort_i64_serial");
  t = now_ms() - t;
  check_sorted("te_sort_i64_serial");
  return t;
}

/* Merge sort on OpenMP tasks: halves in parallel down to 64 Ki elements, those
 * by qsort, then merged through a scratch buffer. */
static void omp_merge_sort(int64_t *a, int64_t *tmp, size_t n) {
  size_t half = n / 2, i = 0, j = half, k = 0;
  if (n <= ((size_t)1 << 16)) {
    qsort(a, n, sizeof *a, cmp_i64);
    return;
  }
#pragma omp task
  omp_merge_sort(a, tmp, half);
  omp_merge_sort(a + half, tmp + half, n - half);
#pragma omp taskwait
  while (i < half && j < n) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
  while (i < half) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

static double sort_omp(void) {
  double t;
  memcpy(sort_buf, unsorted, n_sort * sizeof *sort_buf);
  t = now_ms();
#pragma omp parallel
#pragma omp single
  omp_merge_sort(sort_buf, merge_tmp, n_sort);
  t = now_ms() - t;
  check_sorted("OpenMP merge sort");
  return t;
}

static double scale(void) {
  const char *s = getenv("TE_BENCH_SCALE");
  double v = s ? atof(s) : 1.0;
  return v > 0 && v <= 1 ? v : 1.0;
}

static void print_table(void) {
  int i;
  printf("\n%-34s %10s %12s %10s %10s %10s\n", "workload (ms, best of runs)", "serial C", "taskengine", "OpenMP",
         "serial/te", "te/OpenMP");
  for (i = 0; i < nrows; i++) {
    printf("%-34s %10.1f %12.1f %10.1f %9.2fx %9.2fx\n", rows[i].name, rows[i].serial, rows[i].te, rows[i].omp,
           rows[i].serial / rows[i].te, rows[i].te / rows[i].omp);
  }
  printf("(serial/te: speed-up over serial C, higher is better; te/OpenMP: time relative to OpenMP, lower is "
         "better)\n");
}

int main(void) {
  const char *rust_fib = getenv("TE_BENCH_RUST_FIB");
  double f_serial, f_te, f_omp, f_rust, sort_serial_lib;
  char name[64], name2[64], name3[64];
  check(te_engine_new(NULL, &engine), "te_engine_new");
  n_doubles = (size_t)(1e8 * scale());
  printf("taskengine %s C benchmark: %u workers, OpenMP %d threads\n", te_version(), te_engine_workers(engine),
         omp_get_max_threads());

  fprintf(stderr, "fib(%d)...\n", FIB_N);
  f_serial = best_of(3, run_fib_serial);
  /* Five C runs back to back, then five Rust runs in their own process (each
   * side's best). Back to back, because an engine whose workers have gone to
   * sleep between runs may not wake them all again (seen with this engine
   * version, from Rust too), which would time one worker instead of two. */
  f_te = best_of(5, run_fib_te);
  f_rust = rust_fib ? run_fib_rust(rust_fib) : 1e300;
  if (f_rust <= 0) f_rust = 1e300;
  f_omp = best_of(1, run_fib_omp);
  add_row("fib(32), te_join per call", f_serial, f_te, f_omp);

  if (getenv("TE_BENCH_ONLY") && strcmp(getenv("TE_BENCH_ONLY"), "fib") == 0) {
    printf("fib(32) through te_join: %.1f ms (serial C %.1f ms, OpenMP tasks %.1f ms)", f_te, f_serial, f_omp);
    if (f_rust < 1e300) printf("; Rust Engine::join %.1f ms, C/Rust = %.2fx", f_rust, f_te / f_rust);
    printf("\n");
    te_engine_free(engine);
    return 0;
  }

  fprintf(stderr, "1,000,000 tasks...\n");
  add_row("1M tasks, te_group_spawn from main", best_of(3, run_tasks_serial), best_of(5, run_tasks_te),
          best_of(5, run_tasks_omp));

  fprintf(stderr, "parallel for over %zu doubles...\n", n_doubles);
  doubles = xmalloc(n_doubles * sizeof *doubles);
  snprintf(name, sizeof name, "te_parallel_for, %.0e doubles", (double)n_doubles);
  add_row(name, best_of(3, for_serial), best_of(5, for_te), best_of(5, for_omp));
  free(doubles);

  n_ints = n_doubles;
  fprintf(stderr, "sum of %zu int64...\n", n_ints);
  ints = xmalloc(n_ints * sizeof *ints);
  fill_ints();
  snprintf(name2, sizeof name2, "te_sum_i64, %.0e int64", (double)n_ints);
  add_row(name2, best_of(3, sum_serial), best_of(5, sum_te), best_of(5, sum_omp));
  free(ints);

  n_sort = (size_t)(1e7 * scale());
  fprintf(stderr, "sort of %zu int64...\n", n_sort);
  unsorted = xmalloc(n_sort * sizeof *unsorted);
  sort_buf = xmalloc(n_sort * sizeof *sort_buf);
  merge_tmp = xmalloc(n_sort * sizeof *merge_tmp);
  {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t i;
    for (i = 0; i < n_sort; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      unsorted[i] = (int64_t)x;
    }
  }
  snprintf(name3, sizeof name3, "te_sort_i64, %.0e int64 (qsort)", (double)n_sort);
  add_row(name3, best_of(1, sort_qsort), best_of(3, sort_te), best_of(3, sort_omp));
  sort_serial_lib = best_of(3, sort_te_serial);
  free(unsorted);
  free(sort_buf);
  free(merge_tmp);

  print_table();
  printf("te_sort_i64_serial (the library's radix sort on one thread): %.1f ms; te_sort_i64 speed-up over it: %.2fx\n",
         sort_serial_lib, sort_serial_lib / rows[4].te);
  if (f_rust < 1e300) {
    printf("\nfib(32) through te_join from C: %.1f ms; through Engine::join in Rust: %.1f ms; C/Rust = %.2fx "
           "(target <= 1.20x: %s)\n",
           f_te, f_rust, f_te / f_rust, f_te / f_rust <= 1.2 ? "met" : "MISSED");
  }
  printf("1M tasks: te/OpenMP = %.2fx (target < 1.00x: %s)\n", rows[1].te / rows[1].omp,
         rows[1].te < rows[1].omp ? "met" : "MISSED");
  printf("te_parallel_for: te/OpenMP = %.2fx (target <= 1.10x: %s)\n", rows[2].te / rows[2].omp,
         rows[2].te <= 1.1 * rows[2].omp ? "met" : "MISSED");
  printf("te_sum_i64: te/OpenMP = %.2fx (target <= 1.10x: %s)\n", rows[3].te / rows[3].omp,
         rows[3].te <= 1.1 * rows[3].omp ? "met" : "MISSED");
  sink = (uint64_t)f_omp;
  te_engine_free(engine);
  return 0;
}
