/* te_openblas_attach / te_openblas_detach from C, against a real OpenBLAS
 * opened by path with RTLD_LOCAL (as numpy opens its own), so that only the
 * adapter's search of every loaded object can find it.
 *
 *   test_openblas PATH-TO-LIBOPENBLAS.so [PATH-TO-OLD-OPENBLAS-FIXTURE.so]
 *   (no first argument: prints SKIP)
 *
 * References: the same dgemm on OpenBLAS's own threads (bitwise: the adapter
 * runs the very jobs OpenBLAS made, each writing its own block), and a plain
 * triple loop (within rounding). Every wait is under alarm(). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../c/check.h"

enum { ROW_MAJOR = 101, NO_TRANS = 111 };

/* cblas_dgemm with 32-bit (LP64) or 64-bit (ILP64 "64_") integers. */
typedef void (*dgemm32_fn)(int, int, int, int32_t, int32_t, int32_t, double, const double *, int32_t,
                           const double *, int32_t, double, double *, int32_t);
typedef void (*dgemm64_fn)(int, int, int, int64_t, int64_t, int64_t, double, const double *, int64_t,
                           const double *, int64_t, double, double *, int64_t);
typedef void (*set_threads_fn)(int);

static dgemm32_fn dgemm32;
static dgemm64_fn dgemm64;
static void **callback_var; /* OpenBLAS's openblas_threads_callback_, when exported */

static void dgemm(int n, const double *a, const double *b, double *c) {
  if (dgemm64) {
    dgemm64(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
  } else {
    dgemm32(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
  }
}

static double *matrix(int n, unsigned seed) {
  double *m = malloc(sizeof(double) * (size_t)n * (size_t)n);
  size_t i;
  if (!m) abort();
  for (i = 0; i < (size_t)n * (size_t)n; i++) {
    seed = seed * 1103515245u + 12345u;
    m[i] = (double)((seed >> 8) & 0xffff) / 65536.0 - 0.5;
  }
  return m;
}

static int installed(void) { return callback_var ? *(void *volatile *)callback_var != NULL : -1; }

/* ---- the tests ---- */

enum { N = 600, SMALL = 160 };
static double *A, *B, *OWN;

static void test_not_found_before_loading(void) {
  CHECK_STATUS(TE_ERR_NOT_FOUND, te_openblas_attach(NULL));
  CHECK(strstr(te_last_error_message(), "no OpenBLAS is loaded") != NULL);
  CHECK(te_openblas_attached() == 0);
  te_openblas_detach(); /* a no-op */
  CHECK(strcmp(te_status_str(TE_ERR_NOT_FOUND), "TE_ERR_NOT_FOUND") == 0);
  CHECK(strcmp(te_status_str(TE_ERR_UNSUPPORTED), "TE_ERR_UNSUPPORTED") == 0);
}

/* An OpenBLAS older than 0.3.27 alone: TE_ERR_UNSUPPORTED, naming it. */
static const char *OLD_PATH;
static void test_unsupported_when_only_an_old_openblas_is_loaded(void) {
  if (!OLD_PATH || !dlopen(OLD_PATH, RTLD_NOW | RTLD_LOCAL)) {
    printf("  (no old-OpenBLAS fixture given: skipped)\n");
    return;
  }
  CHECK_STATUS(TE_ERR_UNSUPPORTED, te_openblas_attach(NULL));
  CHECK(strstr(te_last_error_message(), "0.3.27") != NULL);
  CHECK(strstr(te_last_error_message(), "OpenBLAS 0.3.20") != NULL);
  CHECK(te_openblas_attached() == 0);
}

static void test_dgemm_equals_own_threads_and_the_triple_loop(void) {
  te_engine *engine = NULL;
  te_config cfg;
  te_team_stats teams;
  double *c = calloc((size_t)N * N, sizeof(double));
  int i, j, k, off = 0;
  te_config_init(&cfg);
  cfg.workers = 4;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_openblas_attach(engine));
  CHECK(te_openblas_attached() == 1); /* the old fixture, if loaded, is left alone */
  CHECK(installed() != 0);
  CHECK(te_openblas_max_threads() == 4);
  dgemm(N, A, B, c);
  CHECK(memcmp(c, OWN, sizeof(double) * N * N) == 0);
  /* The jobs ran as a team on this engine. */
  CHECK_STATUS(TE_OK, te_engine_team_stats(engine, &teams));
  CHECK(teams.runs >= 1);
  for (i = 0; i < N; i += 7) {
    for (j = 0; j < N; j += 5) {
      double s = 0.0;
      for (k = 0; k < N; k++) s += A[i * N + k] * B[k * N + j];
      if (fabs(s - c[i * N + j]) > 1e-12 * N) off++;
    }
  }
  CHECK(off == 0);
  te_openblas_detach();
  CHECK(te_openblas_attached() == 0);
  CHECK(installed() != 1);
  te_engine_free(engine);
  free(c);
}

/* 200 rounds of 8 group tasks, each forking two products with te_join. */
static double *SA, *SB, *SREF;
static int32_t product(void *arg) {
  double *c = malloc(sizeof(double) * SMALL * SMALL);
  int32_t bad;
  (void)arg;
  dgemm(SMALL, SA, SB, c);
  bad = memcmp(c, SREF, sizeof(double) * SMALL * SMALL) != 0;
  free(c);
  return bad;
}
static int32_t forked_products(void *arg) {
  (void)arg;
  return te_join(NULL, product, NULL, product, NULL) == TE_OK ? 0 : 1;
}

static void test_groups_and_joins_never_deadlock(void) {
  te_engine *engine = NULL;
  te_config cfg;
  int round, t;
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_openblas_attach(engine));
  for (round = 0; round < 200; round++) {
    te_group *g = NULL;
    CHECK_STATUS(TE_OK, te_group_new(engine, &g));
    for (t = 0; t < 8; t++) CHECK_STATUS(TE_OK, te_group_spawn(g, t % 2 ? forked_products : product, NULL));
    CHECK_STATUS(TE_OK, te_group_wait(g));
    te_group_free(g);
  }
  te_openblas_detach();
  te_engine_free(engine);
}

static void test_engine_freed_while_attached(void) {
  te_engine *engine = NULL;
  double *c = calloc((size_t)N * N, sizeof(double));
  CHECK_STATUS(TE_OK, te_engine_new(NULL, &engine));
  CHECK_STATUS(TE_OK, te_openblas_attach(engine));
  te_engine_free(engine);
  dgemm(N, A, B, c); /* the jobs now run on threads started for the call */
  CHECK(memcmp(c, OWN, sizeof(double) * N * N) == 0);
  te_openblas_detach();
  free(c);
}

static void test_budget(void) {
  double *c = calloc((size_t)N * N, sizeof(double));
  CHECK_STATUS(TE_OK, te_openblas_attach(NULL));
  CHECK_STATUS(TE_OK, te_openblas_set_max_threads(1));
  CHECK(te_openblas_max_threads() == 1);
  dgemm(N, A, B, c); /* more jobs than the budget: runs alone */
  CHECK(memcmp(c, OWN, sizeof(double) * N * N) == 0);
  CHECK_STATUS(TE_OK, te_openblas_set_max_threads(0));
  te_openblas_detach();
  CHECK(installed() != 1);
  free(c);
}

int main(int argc, char **argv) {
  void *lib;
  set_threads_fn set_threads = NULL;
  const char *path = argc > 1 ? argv[1] : "";
  if (!*path) {
    printf("SKIP test_openblas: no OpenBLAS to load (make passes numpy's, from .venv)\n");
    return 0;
  }
  alarm(300);
  OLD_PATH = argc > 2 ? argv[2] : NULL;
  RUN(test_not_found_before_loading);
  RUN(test_unsupported_when_only_an_old_openblas_is_loaded);
  lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    printf("SKIP test_openblas: cannot load %s: %s\n", path, dlerror());
    return 0;
  }
  dgemm64 = (dgemm64_fn)(uintptr_t)dlsym(lib, "scipy_cblas_dgemm64_");
  if (!dgemm64) dgemm64 = (dgemm64_fn)(uintptr_t)dlsym(lib, "cblas_dgemm64_");
  if (!dgemm64) dgemm32 = (dgemm32_fn)(uintptr_t)dlsym(lib, "scipy_cblas_dgemm");
  if (!dgemm64 && !dgemm32) dgemm32 = (dgemm32_fn)(uintptr_t)dlsym(lib, "cblas_dgemm");
  set_threads = (set_threads_fn)(uintptr_t)dlsym(lib, dgemm64 ? "scipy_openblas_set_num_threads64_" : "openblas_set_num_threads");
  if (!set_threads && dgemm64) set_threads = (set_threads_fn)(uintptr_t)dlsym(lib, "openblas_set_num_threads64_");
  callback_var = dlsym(lib, "openblas_threads_callback_");
  if (!dgemm64 && !dgemm32) {
    printf("SKIP test_openblas: %s has no cblas_dgemm\n", path);
    return 0;
  }
  /* Four jobs per large call even on a 2-core machine. */
  if (set_threads) set_threads(4);
  CHECK(installed() != 1);
  A = matrix(N, 1);
  B = matrix(N, 2);
  OWN = calloc((size_t)N * N, sizeof(double));
  dgemm(N, A, B, OWN);
  SA = matrix(SMALL, 3);
  SB = matrix(SMALL, 4);
  SREF = calloc((size_t)SMALL * SMALL, sizeof(double));
  dgemm(SMALL, SA, SB, SREF);
  RUN(test_dgemm_equals_own_threads_and_the_triple_loop);
  RUN(test_groups_and_joins_never_deadlock);
  RUN(test_engine_freed_while_attached);
  RUN(test_budget);
  free(A);
  free(B);
  free(OWN);
  free(SA);
  free(SB);
  free(SREF);
  TEST_DONE();
}
