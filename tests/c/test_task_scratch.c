/* te_task_scratch: memory for the running task, valid until its callback
 * returns and taken back after; NULL plus the last error outside a task, for
 * size 0 and past the per-thread limit. A watchdog alarm fails a hang. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
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

/* A nested task: fills its own scratch with `tag` and checks it after the
 * others ran. */
static int32_t fill_own(void *arg) {
  unsigned char tag = (unsigned char)(uintptr_t)arg;
  unsigned char *p = te_task_scratch(4096);
  size_t i;
  if (p == NULL) return 1;
  memset(p, tag, 4096);
  for (i = 0; i < 4096; i++)
    if (p[i] != tag) return 2;
  return 0;
}

/* The outer task: scratch survives a wait that runs other tasks (on this
 * thread too: one worker), and is aligned. */
static int32_t outer(void *arg) {
  te_engine *engine = arg;
  unsigned char *p = te_task_scratch(100000), *q;
  te_group *g = NULL;
  size_t i;
  int32_t bad = 0;
  if (p == NULL || ((uintptr_t)p % 64) != 0) return 10;
  for (i = 0; i < 100000; i++) p[i] = (unsigned char)(i * 7);
  if (te_group_new(engine, &g) != TE_OK) return 11;
  for (i = 1; i <= 16; i++)
    if (te_group_spawn(g, fill_own, (void *)(uintptr_t)i) != TE_OK) bad = 12;
  if (te_group_wait(g) != TE_OK) bad = 13;
  te_group_free(g);
  for (i = 0; i < 100000; i++)
    if (p[i] != (unsigned char)(i * 7)) return 14;
  q = te_task_scratch(1);
  if (q == NULL || q < p + 100000) return 15;
  /* Size 0 and too much: NULL with a reason, the earlier memory untouched. */
  if (te_task_scratch(0) != NULL || te_last_error_message()[0] == '\0') return 16;
  if (te_task_scratch((size_t)65 << 20) != NULL) return 17;
  if (te_task_scratch(SIZE_MAX) != NULL) return 18;
  if (p[99999] != (unsigned char)(99999 * 7)) return 19;
  return bad;
}

static void test_valid_until_return(void) {
  te_engine *engine = make_engine(1);
  te_group *g = NULL;
  CHECK_STATUS(TE_OK, te_group_new(engine, &g));
  CHECK_STATUS(TE_OK, te_group_spawn(g, outer, engine));
  CHECK_STATUS(TE_OK, te_group_wait(g));
  te_group_free(g);
  te_engine_free(engine);
}

/* Taken back after each task: on one worker, consecutive tasks get the same
 * address. */
static _Atomic(uintptr_t) seen[8];
static int32_t record(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  void *p = te_task_scratch(1 << 20);
  if (p == NULL) return 1;
  memset(p, 0xAB, 1 << 20);
  atomic_store(&seen[i], (uintptr_t)p);
  return 0;
}

static void test_reset_after_each_task(void) {
  te_engine *engine = make_engine(1);
  te_group *g = NULL;
  size_t i;
  CHECK_STATUS(TE_OK, te_group_new(engine, &g));
  for (i = 0; i < 8; i++) CHECK_STATUS(TE_OK, te_group_spawn(g, record, (void *)(uintptr_t)i));
  CHECK_STATUS(TE_OK, te_group_wait(g));
  for (i = 1; i < 8; i++) CHECK(atomic_load(&seen[i]) == atomic_load(&seen[0]) && seen[0] != 0);
  te_group_free(g);
  te_engine_free(engine);
}

/* Loop bodies and both sides of a join get scratch too. */
static int32_t body(void *arg, size_t begin, size_t end) {
  int64_t *sums = arg;
  size_t n = end - begin, i;
  int64_t *tmp = te_task_scratch(n * sizeof *tmp), s = 0;
  if (tmp == NULL) return 1;
  for (i = 0; i < n; i++) tmp[i] = (int64_t)(begin + i);
  for (i = 0; i < n; i++) s += tmp[i];
  sums[begin] = s;
  return 0;
}

static int32_t join_side(void *arg) {
  char *p = te_task_scratch(64);
  if (p == NULL) return 1;
  memset(p, 1, 64);
  *(int *)arg = p[63];
  return 0;
}

static void test_loops_and_joins(void) {
  enum { N = 100000, GRAIN = 1000 };
  int64_t *sums = calloc(N, sizeof *sums), total = 0;
  int a = 0, b = 0;
  size_t i;
  if (sums == NULL) exit(EXIT_FAILURE);
  CHECK_STATUS(TE_OK, te_parallel_for(NULL, 0, N, GRAIN, body, sums));
  for (i = 0; i < N; i++) total += sums[i];
  CHECK(total == (int64_t)N * (N - 1) / 2);
  CHECK_STATUS(TE_OK, te_join(NULL, join_side, &a, join_side, &b));
  CHECK(a == 1 && b == 1);
  free(sums);
}

static void test_outside_a_task(void) {
  CHECK(te_task_scratch(16) == NULL);
  CHECK(strstr(te_last_error_message(), "outside a task") != NULL);
  CHECK(te_task_scratch(0) == NULL);
}

/* Retried tasks and team members are engine-run callbacks too. */
static atomic_int attempts_seen;

static int32_t scratch_then_fail_once(void *arg) {
  int *p = te_task_scratch(64 * sizeof(int));
  (void)arg;
  if (!p) return 99;
  p[63] = 1;
  return atomic_fetch_add(&attempts_seen, 1) == 0 ? 7 : 0; /* fails the first time only */
}

static int32_t member_scratch(void *arg, uint32_t member, uint32_t members) {
  double *p = te_task_scratch(128 * sizeof(double));
  (void)arg;
  (void)members;
  if (!p) return 1;
  p[127] = member;
  return p[127] == member ? 0 : 2;
}

static void test_retried_tasks_and_team_members(void) {
  te_engine *engine = make_engine(2);
  te_group *group = NULL;
  atomic_init(&attempts_seen, 0);
  CHECK(te_group_new(engine, &group) == TE_OK);
  CHECK(te_group_spawn_retry(group, scratch_then_fail_once, NULL, 3, 1) == TE_OK);
  CHECK(te_group_wait(group) == TE_OK);
  CHECK(atomic_load(&attempts_seen) == 2);
  te_group_free(group);
  CHECK(te_team_run(engine, 3, member_scratch, NULL) == TE_OK);
  te_engine_free(engine);
}

int main(void) {
  alarm(120);
  RUN(test_outside_a_task);
  RUN(test_valid_until_return);
  RUN(test_reset_after_each_task);
  RUN(test_loops_and_joins);
  RUN(test_retried_tasks_and_team_members);
  te_default_engine_shutdown();
  TEST_DONE();
}
