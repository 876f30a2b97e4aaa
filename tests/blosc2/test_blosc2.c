/* te_blosc2_parallel_loop as c-blosc2's threads callback, against a real
 * libblosc2 opened by path (make takes the one the PyPI blosc2 wheel bundles).
 *
 *   test_blosc2 PATH-TO-LIBBLOSC2.so     (no argument: prints SKIP)
 *
 * References: the original data (every round trip must give it back bit for
 * bit), and buffers compressed by Blosc's own threads decompressed on the
 * engine and the other way round. Blosc's global-context calls hold a
 * process-wide mutex across the parallel region: calling them from many tasks
 * at once checks that no thread re-enters it while it waits. Under alarm(). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../c/check.h"

typedef void (*threads_cb)(void *, void (*)(void *), int, size_t, void *);
typedef void (*void_fn)(void);
typedef int16_t (*set_nthreads_fn)(int16_t);
typedef void (*set_callback_fn)(threads_cb, void *);
typedef int (*compress_fn)(int, int, int32_t, const void *, int32_t, void *, int32_t);
typedef int (*decompress_fn)(const void *, int32_t, void *, int32_t);
static void_fn b_init, b_destroy;
static set_nthreads_fn b_set_nthreads;
static set_callback_fn b_set_callback;
static compress_fn b_compress;
static decompress_fn b_decompress;

enum { ITEMS = 4 << 20, OVERHEAD = 64 };
static const int32_t BYTES = ITEMS * (int32_t)sizeof(int64_t);
static int64_t *DATA;
static uint8_t *OWN; /* compressed by Blosc's own threads */
static int OWN_SIZE;

static int round_trip_ok(const uint8_t *compressed, int size) {
  int64_t *out = malloc((size_t)BYTES);
  int ok = out && b_decompress(compressed, size, out, BYTES) == BYTES && memcmp(out, DATA, (size_t)BYTES) == 0;
  free(out);
  return ok;
}

static uint64_t team_runs(te_engine *engine) {
  te_team_stats s;
  return te_engine_team_stats(engine, &s) == TE_OK ? s.runs : 0;
}

static te_engine *ENGINE;

static void test_on_the_engine(void) {
  uint8_t *c = malloc((size_t)BYTES + OVERHEAD);
  uint64_t before = team_runs(ENGINE);
  int size;
  b_set_callback(te_blosc2_parallel_loop, ENGINE);
  b_set_nthreads(3); /* a new thread count: the global context takes the callback */
  size = b_compress(5, 1, sizeof(int64_t), DATA, BYTES, c, BYTES + OVERHEAD);
  CHECK(size > 0 && size < BYTES / 2);
  CHECK(team_runs(ENGINE) > before);
  CHECK(round_trip_ok(c, size));
  CHECK(round_trip_ok(OWN, OWN_SIZE)); /* own threads' output, read on the engine */
  /* Back to Blosc's own threads: they read what the engine wrote. */
  b_set_callback(NULL, NULL);
  b_set_nthreads(4);
  CHECK(round_trip_ok(c, size));
  free(c);
}

static int32_t decompress_task(void *arg) {
  (void)arg;
  return round_trip_ok(OWN, OWN_SIZE) ? 0 : 1;
}
static int32_t compress_task(void *arg) {
  uint8_t *c = malloc((size_t)BYTES + OVERHEAD);
  int size, ok;
  (void)arg;
  size = b_compress(5, 1, sizeof(int64_t), DATA, BYTES, c, BYTES + OVERHEAD);
  ok = size > 0 && round_trip_ok(c, size);
  free(c);
  return ok ? 0 : 1;
}

static void test_calls_from_many_tasks(void) {
  int round, t;
  b_set_callback(te_blosc2_parallel_loop, NULL); /* NULL: the calling task's engine */
  b_set_nthreads(2);
  for (round = 0; round < 10; round++) {
    te_group *g = NULL;
    CHECK_STATUS(TE_OK, te_group_new(ENGINE, &g));
    for (t = 0; t < 8; t++) CHECK_STATUS(TE_OK, te_group_spawn(g, t % 2 ? compress_task : decompress_task, NULL));
    CHECK_STATUS(TE_OK, te_group_wait(g));
    te_group_free(g);
  }
  b_set_callback(NULL, NULL);
  b_set_nthreads(4);
}

static void test_bad_arguments_run_nothing(void) {
  /* No jobs, or no job function: nothing runs, nothing crashes. */
  te_blosc2_parallel_loop(NULL, NULL, 4, 8, DATA);
  CHECK(strlen(te_last_error_message()) > 0);
  te_blosc2_parallel_loop(NULL, NULL, 0, 8, NULL);
  te_blosc2_parallel_loop(NULL, NULL, -3, 8, NULL);
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "";
  void *lib;
  te_config cfg;
  size_t i;
  if (!*path) {
    printf("SKIP test_blosc2: no libblosc2 to load (make takes it from the PyPI blosc2 wheel)\n");
    return 0;
  }
  lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    printf("SKIP test_blosc2: cannot load %s: %s\n", path, dlerror());
    return 0;
  }
  b_init = (void_fn)(uintptr_t)dlsym(lib, "blosc2_init");
  b_destroy = (void_fn)(uintptr_t)dlsym(lib, "blosc2_destroy");
  b_set_nthreads = (set_nthreads_fn)(uintptr_t)dlsym(lib, "blosc2_set_nthreads");
  b_set_callback = (set_callback_fn)(uintptr_t)dlsym(lib, "blosc2_set_threads_callback");
  b_compress = (compress_fn)(uintptr_t)dlsym(lib, "blosc2_compress");
  b_decompress = (decompress_fn)(uintptr_t)dlsym(lib, "blosc2_decompress");
  if (!b_init || !b_destroy || !b_set_nthreads || !b_set_callback || !b_compress || !b_decompress) {
    printf("SKIP test_blosc2: %s lacks the blosc2 functions used here\n", path);
    return 0;
  }
  alarm(300);
  DATA = malloc((size_t)BYTES);
  OWN = malloc((size_t)BYTES + OVERHEAD);
  if (!DATA || !OWN) return 1;
  for (i = 0; i < ITEMS; i++) DATA[i] = (int64_t)(i / 7) * 1000 + (int64_t)(i % 5);
  b_init();
  b_set_nthreads(4);
  OWN_SIZE = b_compress(5, 1, sizeof(int64_t), DATA, BYTES, OWN, BYTES + OVERHEAD);
  CHECK(OWN_SIZE > 0 && round_trip_ok(OWN, OWN_SIZE));
  te_config_init(&cfg);
  cfg.workers = 4;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &ENGINE));
  RUN(test_on_the_engine);
  RUN(test_calls_from_many_tasks);
  RUN(test_bad_arguments_run_nothing);
  b_destroy();
  te_engine_free(ENGINE);
  free(DATA);
  free(OWN);
  TEST_DONE();
}
