/* te_group_spawn_retry: attempts counted exactly, backoff as a lower bound, a
 * backoff that holds no worker, the last failure reported, bad arguments, and a
 * backoff cut short by shutdown. Every test runs under an alarm() watchdog. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, alarm */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static te_engine *make_engine(uint32_t workers) {
  te_config cfg;
  te_engine *engine = NULL;
  te_config_init(&cfg);
  cfg.workers = workers;
  if (te_engine_new(&cfg, &engine) != TE_OK) {
    fprintf(stderr, "te_engine_new: %s\n", te_last_error_message());
    exit(EXIT_FAILURE);
  }
  return engine;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Fails (returning its run number) for its first `failures` runs, then succeeds. */
typedef struct {
  atomic_int runs;
  int failures;
  int64_t started[8];
} flaky;

static int32_t flaky_run(void *arg) {
  flaky *f = arg;
  int run = atomic_fetch_add(&f->runs, 1) + 1;
  if (run <= 8) f->started[run - 1] = now_ns();
  return run <= f->failures ? run : 0;
}

static void test_attempts_are_counted_exactly(void) {
  te_engine *engine = make_engine(2);
  te_group *group = NULL;
  flaky tasks[6];
  int i;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 0; i < 6; i++) {
    memset(&tasks[i], 0, sizeof tasks[i]);
    tasks[i].failures = i;
    /* Exactly enough attempts: i failures, then the success. */
    CHECK_STATUS(TE_OK, te_group_spawn_retry(group, flaky_run, &tasks[i], (uint32_t)i + 1, 0));
  }
  CHECK_STATUS(TE_OK, te_group_wait(group));
  for (i = 0; i < 6; i++) CHECK(atomic_load(&tasks[i].runs) == i + 1);
  te_group_free(group);
  te_engine_free(engine);
}

static void test_spent_retries_fail_the_group_with_the_last_code(void) {
  te_engine *engine = make_engine(2);
  te_group *group = NULL;
  flaky always = {0};
  te_status failed_with = TE_OK;
  int32_t code = 0;
  const char *message;
  always.failures = 100;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn_retry(group, flaky_run, &always, 3, 1));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_group_wait(group));
  CHECK(atomic_load(&always.runs) == 3);
  CHECK_STATUS(TE_OK, te_group_failure(group, &failed_with, &code));
  CHECK(failed_with == TE_ERR_TASK_FAILED && code == 3);
  message = te_group_failure_message(group);
  CHECK(message != NULL && strstr(message, "3 attempt") != NULL);
  te_group_free(group);
  te_engine_free(engine);
}

static void test_backoff_doubles_and_is_a_lower_bound(void) {
  te_engine *engine = make_engine(2);
  te_group *group = NULL;
  flaky f = {0};
  f.failures = 3;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn_retry(group, flaky_run, &f, 4, 10));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&f.runs) == 4);
  /* 10, 20, 40 ms before runs 2, 3, 4: each gap at least that (never a speed check). */
  CHECK(f.started[1] - f.started[0] >= 10 * 1000000LL);
  CHECK(f.started[2] - f.started[1] >= 20 * 1000000LL);
  CHECK(f.started[3] - f.started[2] >= 40 * 1000000LL);
  te_group_free(group);
  te_engine_free(engine);
}

/* Run 1 adds a task to the group and fails; run 2 succeeds only if that task ran
 * in between. With one worker it can only have run if the backoff left the worker
 * free (a sleep in place would run run 2 first). */
typedef struct {
  te_group *group;
  atomic_int runs;
  atomic_int other_ran;
} backoff_probe;

static int32_t mark_ran(void *arg) {
  atomic_store(&((backoff_probe *)arg)->other_ran, 1);
  return 0;
}

static int32_t probe_run(void *arg) {
  backoff_probe *p = arg;
  if (atomic_fetch_add(&p->runs, 1) == 0) {
    if (te_group_spawn(p->group, mark_ran, p) != TE_OK) return 77;
    return 1;
  }
  return atomic_load(&p->other_ran) ? 0 : 99;
}

static void test_backoff_holds_no_worker(void) {
  te_engine *engine = make_engine(1);
  backoff_probe p;
  memset(&p, 0, sizeof p);
  CHECK_STATUS(TE_OK, te_group_new(engine, &p.group));
  CHECK_STATUS(TE_OK, te_group_spawn_retry(p.group, probe_run, &p, 2, 20));
  CHECK_STATUS(TE_OK, te_group_wait(p.group));
  CHECK(atomic_load(&p.runs) == 2 && atomic_load(&p.other_ran) == 1);
  te_group_free(p.group);
  te_engine_free(engine);
}

static void test_bad_arguments(void) {
  te_engine *engine = make_engine(1);
  te_group *group = NULL;
  flaky f = {0};
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_retry(NULL, flaky_run, &f, 3, 0));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_retry(group, NULL, &f, 3, 0));
  CHECK_STATUS(TE_ERR_INVALID, te_group_spawn_retry(group, flaky_run, &f, 0, 0));
  te_group_cancel(group);
  CHECK_STATUS(TE_ERR_CANCELLED, te_group_spawn_retry(group, flaky_run, &f, 3, 0));
  CHECK(atomic_load(&f.runs) == 0);
  CHECK(strcmp(te_status_str(TE_ERR_THREAD_POOL), "TE_ERR_THREAD_POOL") == 0);
  te_group_free(group);
  te_engine_free(engine);
}

static void test_shutdown_ends_a_pending_backoff(void) {
  te_engine *engine = make_engine(1);
  te_group *group = NULL;
  flaky always = {0};
  always.failures = 100;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  /* An hour's backoff: te_engine_free must not wait it out. */
  CHECK_STATUS(TE_OK, te_group_spawn_retry(group, flaky_run, &always, 2, 3600u * 1000u));
  while (atomic_load(&always.runs) == 0) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  te_engine_free(engine);
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_group_wait(group));
  CHECK(atomic_load(&always.runs) == 1);
  te_group_free(group);
}

/* min_workers: a te_config field added at the end. A struct from the header
 * before it (size up to the field) still works and reads as 0 = all workers. */
static void test_min_workers_config(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_stats stats;
  te_config_init(&cfg);
  CHECK(cfg.min_workers == 0);
  cfg.workers = 2;
  cfg.min_workers = 1; /* everything starts here, so no shortfall */
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK(te_engine_workers(engine) == 2);
  CHECK_STATUS(TE_OK, te_engine_stats(engine, &stats));
  CHECK(stats.workers == 2);
  te_engine_free(engine);
  te_config_init(&cfg);
  cfg.workers = 1;
  cfg.size = (uint32_t)offsetof(te_config, min_workers);
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  te_engine_free(engine);
  cfg.size = (uint32_t)offsetof(te_config, min_workers) + 1;
  CHECK_STATUS(TE_ERR_INVALID, te_engine_new(&cfg, &engine));
}

int main(void) {
  alarm(60); /* a deadlock fails the test instead of hanging it */
  RUN(test_attempts_are_counted_exactly);
  RUN(test_spent_retries_fail_the_group_with_the_last_code);
  RUN(test_backoff_doubles_and_is_a_lower_bound);
  RUN(test_backoff_holds_no_worker);
  RUN(test_bad_arguments);
  RUN(test_shutdown_ends_a_pending_backoff);
  RUN(test_min_workers_config);
  TEST_DONE();
}
