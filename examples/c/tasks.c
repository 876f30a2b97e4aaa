/* tasks: the engine's task model from C, as examples/tasks.rs,
 * examples/cpp/tasks.cpp and examples/python/tasks.py show it in theirs: a
 * configured engine (te_config, min_workers), the math kernels, and a task
 * retried with backoff (te_group_spawn_retry), with a fallback when it gives up.
 * Prints the lines of tests/c/tasks.expected. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "taskengine.h"

static int fail(const char *what, te_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, te_status_str(status), te_last_error_message());
  return 1;
}

/* Fails (returns its run number) until its third run. */
static int32_t flaky(void *arg) {
  int run = atomic_fetch_add((atomic_int *)arg, 1) + 1;
  return run < 3 ? run : 0;
}

static int32_t hopeless(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 1;
}

static int32_t fallback(void *arg) {
  *(int *)arg = 42;
  return 0;
}

int main(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_status status;
  te_stats stats;
  uint64_t value = 0;
  atomic_int runs;
  int32_t code = 0;
  int result = 0;

  te_config_init(&cfg);
  cfg.workers = 2;
  cfg.min_workers = 1; /* if the system can only start one, run with one */
  if ((status = te_engine_new(&cfg, &engine)) != TE_OK) return fail("te_engine_new", status);
  if ((status = te_engine_stats(engine, &stats)) != TE_OK) return fail("te_engine_stats", status);
  if (stats.workers == 2) printf("engine: 2 workers, none missing\n");
  else printf("engine: %u workers, %u missing\n", stats.workers, 2 - stats.workers);

  if ((status = te_factorial(20, &value)) != TE_OK) return fail("te_factorial", status);
  printf("factorial(20) = %llu\n", (unsigned long long)value);
  if ((status = te_gcd(12, 18, &value)) != TE_OK) return fail("te_gcd", status);
  printf("gcd(12, 18) = %llu\n", (unsigned long long)value);

  /* Up to 3 runs, 1 ms then 2 ms apart; the wait covers the backoffs. */
  atomic_init(&runs, 0);
  if ((status = te_group_new(engine, &group)) != TE_OK) return fail("te_group_new", status);
  if ((status = te_group_spawn_retry(group, flaky, &runs, 3, 1)) != TE_OK) return fail("te_group_spawn_retry", status);
  if ((status = te_group_wait(group)) != TE_OK) return fail("te_group_wait", status);
  te_group_free(group);
  printf("flaky task: succeeded on attempt %d\n", atomic_load(&runs));

  atomic_store(&runs, 0);
  if ((status = te_group_new(engine, &group)) != TE_OK) return fail("te_group_new", status);
  if ((status = te_group_spawn_retry(group, hopeless, &runs, 3, 1)) != TE_OK) return fail("te_group_spawn_retry", status);
  status = te_group_wait(group);
  if (status == TE_ERR_TASK_FAILED && te_group_failure(group, &status, &code) == TE_OK &&
      strstr(te_group_failure_message(group), "3 attempt") != NULL) {
    printf("hopeless task: failed after %d attempts\n", atomic_load(&runs));
  } else {
    return fail("hopeless task", status);
  }
  te_group_free(group);

  /* The fallback: another task, run once the retries are spent. */
  if ((status = te_group_new(engine, &group)) != TE_OK) return fail("te_group_new", status);
  if ((status = te_group_spawn(group, fallback, &result)) != TE_OK) return fail("te_group_spawn", status);
  if ((status = te_group_wait(group)) != TE_OK) return fail("te_group_wait", status);
  te_group_free(group);
  printf("with a fallback: %d\n", result);

  te_engine_free(engine);
  return 0;
}
