/* Engines, configuration, stats, status names, version and the last error. */
#define _GNU_SOURCE /* pthread_getname_np, to check worker thread names */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static void test_version_matches_macros(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "%d.%d.%d", TE_VERSION_MAJOR,
           TE_VERSION_MINOR, TE_VERSION_PATCH);
  CHECK(te_version() != NULL);
  CHECK(strcmp(te_version(), expected) == 0);
}

static void test_status_names(void) {
  /* Every name is the constant's own spelling, in DESIGN.md's order. */
  static const char *const names[] = {
      "TE_OK",          "TE_ERR_NULL",        "TE_ERR_INVALID",
      "TE_ERR_OVERFLOW", "TE_ERR_NO_MEMORY",  "TE_ERR_SHUTDOWN",
      "TE_ERR_CANCELLED", "TE_ERR_TIMEOUT",   "TE_ERR_TASK_FAILED",
      "TE_ERR_PANIC",   "TE_ERR_UTF8",        "TE_ERR_QUEUE_FULL",
      "TE_ERR_BUFFER_TOO_SMALL", "TE_ERR_STACK", "TE_ERR_THREAD_POOL",
      "TE_ERR_MEMORY", "TE_ERR_FFI", "TE_ERR_NOT_FOUND", "TE_ERR_UNSUPPORTED"};
  int i;
  CHECK(TE_OK == 0 && TE_ERR_NULL == 1 && TE_ERR_BUFFER_TOO_SMALL == 12 && TE_ERR_STACK == 13);
  /* Added at the end, never renumbering the ones before. */
  CHECK(TE_ERR_THREAD_POOL == 14 && TE_ERR_MEMORY == 15 && TE_ERR_FFI == 16);
  CHECK(TE_ERR_NOT_FOUND == 17 && TE_ERR_UNSUPPORTED == 18);
  for (i = 0; i <= 18; i++) {
    CHECK(strcmp(te_status_str((te_status)i), names[i]) == 0);
  }
  /* Values a C enum object can hold but that are no status. */
  CHECK(strcmp(te_status_str((te_status)19), "TE_UNKNOWN_STATUS") == 0);
  CHECK(strcmp(te_status_str((te_status)-1), "TE_UNKNOWN_STATUS") == 0);
  CHECK(strcmp(te_status_str((te_status)INT32_MAX), "TE_UNKNOWN_STATUS") == 0);
}

static void test_config_init(void) {
  te_config cfg;
  memset(&cfg, 0xAB, sizeof cfg);
  te_config_init(&cfg);
  CHECK(cfg.size == sizeof(te_config));
  CHECK(cfg.workers == 0);
  CHECK(cfg.queue_capacity == 0);
  CHECK(cfg.work_stealing == true);
  CHECK(cfg.metrics == true);
  CHECK(cfg.stack_size == 0);
  CHECK(cfg.thread_name_prefix == NULL);
  CHECK(cfg.on_thread_start == NULL && cfg.on_thread_stop == NULL);
  CHECK(cfg.hook_arg == NULL);
  CHECK(cfg.spin_budget > 0);
  CHECK(cfg.task_pool_capacity == 131072);
  te_config_init(NULL); /* ignored, no crash */
}

static int32_t count_up(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static void test_engine_new_and_free(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_config_init(&cfg);
  cfg.workers = 3;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK(engine != NULL);
  CHECK(te_engine_workers(engine) == 3);
  te_engine_free(engine);

  /* No task pool: every task record comes from the heap, and still works. */
  {
    atomic_int counter;
    atomic_init(&counter, 0);
    cfg.task_pool_capacity = 0;
    CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
    CHECK_STATUS(TE_OK, te_join(engine, count_up, &counter, count_up, &counter));
    CHECK_STATUS(TE_OK, te_spawn(engine, count_up, &counter));
    while (atomic_load(&counter) < 3) {
    }
    te_engine_free(engine);
  }

  /* NULL config = defaults: one worker per CPU, so at least one. */
  engine = NULL;
  CHECK_STATUS(TE_OK, te_engine_new(NULL, &engine));
  CHECK(engine != NULL && te_engine_workers(engine) >= 1);
  te_engine_free(engine);
  te_engine_free(NULL);

  /* Create and free in a loop: nothing accumulates, nothing hangs. */
  {
    int i;
    for (i = 0; i < 20; i++) {
      engine = NULL;
      cfg.workers = 2;
      CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
      te_engine_free(engine);
    }
  }
}

static void test_engine_new_bad_input(void) {
  te_config cfg;
  te_engine *const sentinel = (te_engine *)&cfg; /* never dereferenced */
  te_engine *engine = sentinel;

  te_config_init(&cfg);
  CHECK_STATUS(TE_ERR_NULL, te_engine_new(&cfg, NULL));

  cfg.size = 4; /* an uninitialised or foreign struct */
  CHECK_STATUS(TE_ERR_INVALID, te_engine_new(&cfg, &engine));
  CHECK(engine == sentinel);
  CHECK(strstr(te_last_error_message(), "te_config_init") != NULL);

  te_config_init(&cfg);
  cfg.workers = 4097;
  CHECK_STATUS(TE_ERR_INVALID, te_engine_new(&cfg, &engine));
  CHECK(engine == sentinel);

  te_config_init(&cfg);
  cfg.stack_size = 65536; /* below the 256 KiB floor */
  CHECK_STATUS(TE_ERR_INVALID, te_engine_new(&cfg, &engine));
  CHECK(engine == sentinel);

  te_config_init(&cfg);
  cfg.thread_name_prefix = "bad\xff\xfe";
  CHECK_STATUS(TE_ERR_UTF8, te_engine_new(&cfg, &engine));
  CHECK(engine == sentinel);
}

/* A struct from a newer header: our fields, then one we do not know. */
struct newer_config {
  te_config base;
  uint64_t future_field;
};

static void test_config_from_newer_header(void) {
  struct newer_config cfg;
  te_engine *engine = NULL;
  memset(&cfg, 0, sizeof cfg);
  te_config_init(&cfg.base);
  cfg.base.size = sizeof cfg;
  cfg.base.workers = 1;
  /* Unknown fields left at zero ask for nothing: accepted. */
  CHECK_STATUS(TE_OK, te_engine_new(&cfg.base, &engine));
  te_engine_free(engine);
  /* An unknown field that asks for something cannot be honoured: refused. */
  cfg.future_field = 1;
  engine = NULL;
  CHECK_STATUS(TE_ERR_INVALID, te_engine_new(&cfg.base, &engine));
  CHECK(engine == NULL);
}

struct hook_log {
  atomic_int starts;
  atomic_int stops;
  atomic_uint seen_mask; /* bit i: worker i started */
  atomic_int bad_names;
};

static void on_start(void *arg, uint32_t index) {
  struct hook_log *log = arg;
  char name[32] = {0};
  char expected[32];
  atomic_fetch_add(&log->starts, 1);
  atomic_fetch_or(&log->seen_mask, 1u << index);
  pthread_getname_np(pthread_self(), name, sizeof name);
  snprintf(expected, sizeof expected, "hooked-%u", index);
  if (strcmp(name, expected) != 0) atomic_fetch_add(&log->bad_names, 1);
}

static void on_stop(void *arg, uint32_t index) {
  struct hook_log *log = arg;
  (void)index;
  atomic_fetch_add(&log->stops, 1);
}

static void test_hooks_and_thread_names(void) {
  struct hook_log log;
  te_config cfg;
  te_engine *engine = NULL;
  atomic_init(&log.starts, 0);
  atomic_init(&log.stops, 0);
  atomic_init(&log.seen_mask, 0);
  atomic_init(&log.bad_names, 0);
  te_config_init(&cfg);
  cfg.workers = 3;
  cfg.thread_name_prefix = "hooked";
  cfg.on_thread_start = on_start;
  cfg.on_thread_stop = on_stop;
  cfg.hook_arg = &log;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  te_engine_free(engine);
  /* te_engine_free returns only after every stop hook ran. */
  CHECK(atomic_load(&log.starts) == 3);
  CHECK(atomic_load(&log.stops) == 3);
  CHECK(atomic_load(&log.seen_mask) == 7u);
  CHECK(atomic_load(&log.bad_names) == 0);
}

static int32_t record_index(void *arg) {
  atomic_int *slot = arg;
  atomic_store(slot, te_current_worker_index());
  return 0;
}

static void test_current_worker_index(void) {
  te_config cfg;
  te_engine *engine = NULL;
  atomic_int a, b;
  atomic_init(&a, -7);
  atomic_init(&b, -7);
  CHECK(te_current_worker_index() == -1);
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_join(engine, record_index, &a, record_index, &b));
  CHECK(atomic_load(&a) >= 0 && atomic_load(&a) < 2);
  CHECK(atomic_load(&b) >= 0 && atomic_load(&b) < 2);
  te_engine_free(engine);
}

static int32_t nothing(void *arg) {
  (void)arg;
  return 0;
}

static void test_stats(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_stats stats, untouched;
  te_worker_stats ws;
  uint64_t executed = 0;
  uint32_t i;
  int k;
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (k = 0; k < 1000; k++) CHECK_STATUS(TE_OK, te_group_spawn(group, nothing, NULL));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);

  CHECK_STATUS(TE_OK, te_engine_stats(engine, &stats));
  CHECK(stats.workers == 2);
  CHECK(stats.metrics_enabled);
  CHECK(stats.submitted == 1000);
  CHECK(stats.completed == 1000);
  CHECK(stats.pending == 0);
  CHECK(stats.executed >= 1000);
  for (i = 0; i < 2; i++) {
    CHECK_STATUS(TE_OK, te_engine_worker_stats(engine, i, &ws));
    executed += ws.executed;
  }
  CHECK(executed == stats.executed);

  memset(&untouched, 0x5A, sizeof untouched);
  stats = untouched;
  CHECK_STATUS(TE_ERR_NULL, te_engine_stats(engine, NULL));
  memset(&ws, 0x5A, sizeof ws);
  CHECK_STATUS(TE_ERR_INVALID, te_engine_worker_stats(engine, 2, &ws));
  CHECK_STATUS(TE_ERR_INVALID, te_engine_worker_stats(engine, UINT32_MAX, &ws));
  CHECK(ws.executed == 0x5A5A5A5A5A5A5A5Aull);
  CHECK_STATUS(TE_ERR_NULL, te_engine_worker_stats(engine, 0, NULL));
  te_engine_free(engine);

  /* Without metrics the counters stay at zero but the shape is right. */
  cfg.metrics = false;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_join(engine, nothing, NULL, nothing, NULL));
  CHECK_STATUS(TE_OK, te_engine_stats(engine, &stats));
  CHECK(!stats.metrics_enabled && stats.workers == 2 && stats.executed == 0);
  te_engine_free(engine);
}

static void *fail_on_other_thread(void *arg) {
  (void)arg;
  /* This thread's failure must not show in the main thread's message. */
  te_engine_new(NULL, NULL);
  return NULL;
}

static void test_last_error_is_per_thread(void) {
  pthread_t thread;
  te_config cfg;
  te_engine *engine = NULL;
  te_config_init(&cfg);
  cfg.workers = 5000;
  CHECK_STATUS(TE_ERR_INVALID, te_engine_new(&cfg, &engine));
  CHECK(strstr(te_last_error_message(), "4096") != NULL);
  CHECK(pthread_create(&thread, NULL, fail_on_other_thread, NULL) == 0);
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(strstr(te_last_error_message(), "4096") != NULL);
  /* A success leaves it alone, as errno. */
  cfg.workers = 1;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK(strstr(te_last_error_message(), "4096") != NULL);
  te_engine_free(engine);
}

int main(void) {
  RUN(test_version_matches_macros);
  RUN(test_status_names);
  RUN(test_config_init);
  RUN(test_engine_new_and_free);
  RUN(test_engine_new_bad_input);
  RUN(test_config_from_newer_header);
  RUN(test_hooks_and_thread_names);
  RUN(test_current_worker_index);
  RUN(test_stats);
  RUN(test_last_error_is_per_thread);
  TEST_DONE();
}
