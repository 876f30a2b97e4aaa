/* allocators: the engine's memory helpers, the same program in every language
 * (examples/allocators.rs, examples/cpp/allocators.cpp,
 * examples/python/allocators.py):
 * 1. a bump arena for many small allocations freed at once;
 * 2. scratch memory for each task, taken back when it returns;
 * 3. the scratch memory the engine keeps between sorts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "taskengine.h"

static int fail(const char *what, te_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, te_status_str(status), te_last_error_message());
  return 1;
}

struct job {
  uint64_t t, sum;
};

/* Squares nothing, allocates nothing from the heap: the task's numbers live in
 * scratch memory from its worker's arena, taken back when it returns. */
static int32_t fill_and_sum(void *arg) {
  struct job *job = arg;
  uint64_t *buf = te_task_scratch(10000 * sizeof *buf), sum = 0;
  size_t i;
  if (buf == NULL) return 1;
  for (i = 0; i < 10000; i++) buf[i] = (i + job->t) % 7;
  for (i = 0; i < 10000; i++) sum += buf[i];
  job->sum = sum;
  return 0;
}

int main(void) {
  enum { N = 1000000 };
  te_arena *arena = NULL;
  te_arena_usage usage;
  te_config cfg;
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_status status;
  struct job jobs[8];
  uint64_t total = 0, scratch_total = 0;
  int64_t *data;
  int sorted = 1;
  size_t i, kept = 0, after = 1;

  /* 1. A bump arena: 1000 values, one reset. */
  if ((status = te_arena_new(TE_ARENA_BUMP, 1 << 20, &arena)) != TE_OK) return fail("te_arena_new", status);
  for (i = 0; i < 1000; i++) {
    void *p = NULL;
    if ((status = te_arena_alloc(arena, sizeof(uint64_t), 8, &p)) != TE_OK) return fail("te_arena_alloc", status);
    *(uint64_t *)p = i;
    total += *(uint64_t *)p;
  }
  te_arena_stats(arena, &usage);
  printf("bump arena: 1000 values summing to %llu, %zu bytes used\n", (unsigned long long)total, usage.used);
  te_arena_reset(arena);
  te_arena_free(arena);

  /* 2. Scratch memory per task. */
  te_config_init(&cfg);
  cfg.workers = 4;
  if ((status = te_engine_new(&cfg, &engine)) != TE_OK) return fail("te_engine_new", status);
  if ((status = te_group_new(engine, &group)) != TE_OK) return fail("te_group_new", status);
  for (i = 0; i < 8; i++) {
    jobs[i].t = i;
    if ((status = te_group_spawn(group, fill_and_sum, &jobs[i])) != TE_OK) return fail("te_group_spawn", status);
  }
  if ((status = te_group_wait(group)) != TE_OK) return fail("te_group_wait", status);
  te_group_free(group);
  for (i = 0; i < 8; i++) scratch_total += jobs[i].sum;
  printf("task scratch: 8 tasks, 10000 items each, total %llu\n", (unsigned long long)scratch_total);

  /* 3. Sorting twice: the second sort reuses the first one's buffer; the
   * engine keeps at most 256 MiB (te_engine_set_scratch_limit). */
  data = malloc(N * sizeof *data);
  if (data == NULL) return 1;
  for (i = 0; i < N; i++) data[i] = (int64_t)((i * 7919) % 1000003);
  if ((status = te_sort_i64(engine, data, N)) != TE_OK) return fail("te_sort_i64", status);
  te_engine_scratch_cached(engine, &kept);
  if ((status = te_sort_i64(engine, data, N)) != TE_OK) return fail("te_sort_i64", status);
  for (i = 1; i < N; i++) sorted &= data[i - 1] <= data[i];
  printf("sort scratch: sorted = %s, kept between sorts = %s (>= 8 MB: %s)\n", sorted ? "true" : "false",
         kept > 0 ? "true" : "false", kept >= 8000000 ? "true" : "false");
  te_engine_trim_scratch(engine);
  te_engine_scratch_cached(engine, &after);
  printf("after trim: %zu bytes kept\n", after);
  free(data);
  te_engine_free(engine);
  return 0;
}
