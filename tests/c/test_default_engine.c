/* The default engine (a NULL engine argument): use, shutdown, use after shutdown.
 * Process-global, so it has its own program. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static int32_t count_up(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static int32_t count_range(void *arg, size_t begin, size_t end) {
  atomic_fetch_add((atomic_int *)arg, (int)(end - begin));
  return 0;
}

/* Inside a task of an explicit engine, NULL means that engine, not the default. */
struct inner {
  uint32_t workers_seen;
};

static int32_t ask_workers(void *arg) {
  ((struct inner *)arg)->workers_seen = te_engine_workers(NULL);
  return 0;
}

static void test_null_engine_is_the_default(void) {
  atomic_int counter;
  te_group *group = NULL;
  te_stats stats;
  atomic_init(&counter, 0);
  CHECK(te_engine_workers(NULL) >= 1);
  CHECK_STATUS(TE_OK, te_join(NULL, count_up, &counter, count_up, &counter));
  CHECK_STATUS(TE_OK, te_parallel_for(NULL, 0, 1000, 0, count_range, &counter));
  CHECK_STATUS(TE_OK, te_group_new(NULL, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
  CHECK_STATUS(TE_OK, te_spawn(NULL, count_up, &counter));
  CHECK_STATUS(TE_OK, te_engine_stats(NULL, &stats));
  CHECK(stats.workers == te_engine_workers(NULL));
  /* Shutdown waits for the detached task. */
  te_default_engine_shutdown();
  CHECK(atomic_load(&counter) == 1004);
}

static void test_null_engine_inside_a_task_is_that_engine(void) {
  /* The default engine is gone; an explicit one with 3 workers still works
   * and is what NULL means inside its tasks. */
  te_config cfg;
  te_engine *engine = NULL;
  struct inner a = {0}, b = {0};
  te_config_init(&cfg);
  cfg.workers = 3;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_join(engine, ask_workers, &a, ask_workers, &b));
  CHECK(a.workers_seen == 3 && b.workers_seen == 3);
  te_engine_free(engine);
}

static void test_use_after_shutdown(void) {
  atomic_int counter;
  te_group *const sentinel = (te_group *)&counter;
  te_group *group = sentinel;
  te_stats stats;
  memset(&stats, 0x11, sizeof stats);
  atomic_init(&counter, 0);
  CHECK(te_engine_workers(NULL) == 0);
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_join(NULL, count_up, &counter, count_up, &counter));
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_parallel_for(NULL, 0, 10, 0, count_range, &counter));
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_group_new(NULL, &group));
  CHECK(group == sentinel);
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_spawn(NULL, count_up, &counter));
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_engine_stats(NULL, &stats));
  CHECK(stats.workers == 0x11111111u);
  CHECK(atomic_load(&counter) == 0);
  te_default_engine_shutdown(); /* twice: harmless */
}

int main(void) {
  RUN(test_null_engine_is_the_default);
  RUN(test_null_engine_inside_a_task_is_that_engine);
  RUN(test_use_after_shutdown);
  TEST_DONE();
}
