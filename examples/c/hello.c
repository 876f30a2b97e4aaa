/* hello: the same small program in every language (examples/hello.rs,
 * examples/cpp/hello.cpp, examples/python/hello.py). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "taskengine.h"

static int32_t count_one(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

/* Folds the indexes [begin, end) into *acc: sum of the numbers begin+1..end. */
static int32_t sum_map(void *arg, size_t begin, size_t end, void *acc) {
  uint64_t *sum = acc;
  size_t i;
  (void)arg;
  for (i = begin; i < end; i++) *sum += (uint64_t)i + 1;
  return 0;
}

static int32_t sum_combine(void *arg, void *acc, const void *other) {
  (void)arg;
  *(uint64_t *)acc += *(const uint64_t *)other;
  return 0;
}

static int fail(const char *what, te_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, te_status_str(status), te_last_error_message());
  return 1;
}

int main(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_status status;
  atomic_int ran;
  const uint64_t zero = 0;
  uint64_t sum = 0;
  int i;

  te_config_init(&cfg);
  cfg.workers = 4;
  if ((status = te_engine_new(&cfg, &engine)) != TE_OK) return fail("te_engine_new", status);
  printf("hello from taskengine %s with %u workers\n", te_version(), te_engine_workers(engine));

  atomic_init(&ran, 0);
  if ((status = te_group_new(engine, &group)) != TE_OK) return fail("te_group_new", status);
  for (i = 0; i < 100; i++) {
    if ((status = te_group_spawn(group, count_one, &ran)) != TE_OK) return fail("te_group_spawn", status);
  }
  if ((status = te_group_wait(group)) != TE_OK) return fail("te_group_wait", status);
  te_group_free(group);
  printf("100 tasks in a group: %d ran\n", atomic_load(&ran));

  status = te_parallel_reduce(engine, 0, 1000000, 0, &zero, sizeof zero, sum_map, sum_combine, NULL, &sum);
  if (status != TE_OK) return fail("te_parallel_reduce", status);
  printf("sum of 1..=1000000 = %llu\n", (unsigned long long)sum);

  te_engine_free(engine);
  return 0;
}
