/* hello: the same small program in every language (examples/hello.rs,
 * examples/cpp/hello.cpp, examples/python/hello.py). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "taskengine.h"

static int32_t count_one(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static int fail(const char *what, te_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, te_status_str(status), te_last_error_message());
  return 1;
}

int main(void) {
  enum { N = 1000000 };
  te_config cfg;
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_status status;
  atomic_int ran;
  int64_t *numbers, sum = 0;
  int64_t values[] = {5, -3, 9, 0, 2};
  uint64_t hash = 0;
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

  if (!(numbers = malloc(N * sizeof *numbers))) return 1;
  for (i = 0; i < N; i++) numbers[i] = i + 1;
  if ((status = te_sum_i64(engine, numbers, N, &sum)) != TE_OK) return fail("te_sum_i64", status);
  printf("sum of 1..=1000000 = %lld\n", (long long)sum);
  free(numbers);

  if ((status = te_sort_i64(engine, values, 5)) != TE_OK) return fail("te_sort_i64", status);
  printf("sorted: [%lld, %lld, %lld, %lld, %lld]\n", (long long)values[0], (long long)values[1],
         (long long)values[2], (long long)values[3], (long long)values[4]);

  if ((status = te_hash_fnv1a64("hello", 5, &hash)) != TE_OK) return fail("te_hash_fnv1a64", status);
  printf("fnv1a64(\"hello\") = 0x%016llx\n", (unsigned long long)hash);

  te_engine_free(engine);
  return 0;
}
