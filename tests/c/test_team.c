/* te_team_run: all members run at the same time on distinct threads (a barrier
 * among all of them passes), from outside, from inside tasks, with every worker
 * blocked, nested; failures; a loop of 10,000 teams; bad arguments;
 * shutdown (fork() is checked in test_fork.c). A watchdog alarm turns a deadlock into a failure. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

#define MAX_SEEN 64

/* A team whose members all wait at a pthread barrier and record their thread. */
typedef struct barrier_team {
  pthread_barrier_t barrier;
  pthread_t threads[MAX_SEEN];
  atomic_int calls[MAX_SEEN];
  atomic_int bad;
} barrier_team;

static int32_t barrier_member(void *arg, uint32_t member, uint32_t members) {
  barrier_team *t = arg;
  if (member >= members || members > MAX_SEEN) {
    atomic_fetch_add(&t->bad, 1);
    return 99;
  }
  t->threads[member] = pthread_self();
  atomic_fetch_add(&t->calls[member], 1);
  pthread_barrier_wait(&t->barrier);
  return 0;
}

/* Runs a barrier team of n on `engine`; returns the number of problems seen. */
static int run_barrier_team(te_engine *engine, uint32_t n) {
  barrier_team t;
  int problems = 0;
  memset(&t, 0, sizeof t);
  pthread_barrier_init(&t.barrier, NULL, n);
  pthread_t caller = pthread_self();
  te_status s = te_team_run(engine, n, barrier_member, &t);
  pthread_barrier_destroy(&t.barrier);
  if (s != TE_OK) {
    fprintf(stderr, "team of %u: %s (%s)\n", n, te_status_str(s), te_last_error_message());
    return 1;
  }
  problems += atomic_load(&t.bad);
  for (uint32_t i = 0; i < n; i++) {
    problems += atomic_load(&t.calls[i]) != 1;
    for (uint32_t j = 0; j < i; j++) problems += pthread_equal(t.threads[i], t.threads[j]) != 0;
  }
  problems += !pthread_equal(t.threads[0], caller); /* member 0 is the caller */
  return problems;
}

/* Members wait for each other by spinning (yielding), as OpenBLAS's do. */
static int32_t spin_member(void *arg, uint32_t member, uint32_t members) {
  atomic_uint *arrived = arg;
  (void)member;
  atomic_fetch_add(arrived, 1);
  while (atomic_load(arrived) < members) sched_yield();
  return 0;
}

static int run_spin_team(te_engine *engine, uint32_t n) {
  atomic_uint arrived;
  atomic_init(&arrived, 0);
  return te_team_run(engine, n, spin_member, &arrived) != TE_OK || atomic_load(&arrived) != n;
}

static void test_barrier_from_outside(void) {
  te_engine *engine = NULL;
  te_config cfg;
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  for (uint32_t n = 1; n <= 9; n++) {
    CHECK(run_barrier_team(engine, n) == 0);
    CHECK(run_spin_team(engine, n) == 0);
    CHECK(run_barrier_team(NULL, n) == 0); /* the default engine */
  }
  CHECK(run_barrier_team(engine, MAX_SEEN) == 0);
  te_engine_free(engine);
}

/* Group tasks that run teams (NULL engine = the task's engine). */
static atomic_int inside_problems;

static int32_t task_running_teams(void *arg) {
  (void)arg;
  atomic_fetch_add(&inside_problems, run_barrier_team(NULL, 4));
  atomic_fetch_add(&inside_problems, run_spin_team(NULL, 3));
  return 0;
}

static void test_barrier_from_inside_tasks(void) {
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_config cfg;
  te_config_init(&cfg);
  cfg.workers = 2;
  atomic_init(&inside_problems, 0);
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (int i = 0; i < 8; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, task_running_teams, NULL));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&inside_problems) == 0);
  te_group_free(group);
  te_engine_free(engine);
}

/* Every worker blocks until a team run from outside has finished. */
typedef struct blocked {
  pthread_barrier_t started;
  atomic_int done;
} blocked;

static int32_t block_until_done(void *arg) {
  blocked *b = arg;
  pthread_barrier_wait(&b->started);
  while (!atomic_load(&b->done)) sched_yield();
  return 0;
}

static void test_every_worker_blocked(void) {
  for (uint32_t workers = 1; workers <= 4; workers *= 2) {
    te_engine *engine = NULL;
    te_group *group = NULL;
    te_config cfg;
    blocked b;
    te_config_init(&cfg);
    cfg.workers = workers;
    pthread_barrier_init(&b.started, NULL, workers + 1);
    atomic_init(&b.done, 0);
    CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
    CHECK_STATUS(TE_OK, te_group_new(engine, &group));
    for (uint32_t i = 0; i < workers; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, block_until_done, &b));
    pthread_barrier_wait(&b.started);
    CHECK(run_barrier_team(engine, workers + 2) == 0);
    CHECK(run_spin_team(engine, workers + 2) == 0);
    atomic_store(&b.done, 1);
    CHECK_STATUS(TE_OK, te_group_wait(group));
    te_group_free(group);
    te_engine_free(engine);
    pthread_barrier_destroy(&b.started);
  }
}

/* Each member runs a team of its own, then all meet. */
typedef struct nested {
  pthread_barrier_t outer;
  atomic_int problems;
} nested;

static int32_t nesting_member(void *arg, uint32_t member, uint32_t members) {
  nested *n = arg;
  (void)member;
  (void)members;
  atomic_fetch_add(&n->problems, run_barrier_team(NULL, 3));
  pthread_barrier_wait(&n->outer);
  return 0;
}

static int32_t task_nesting(void *arg) {
  nested *n = arg;
  return te_team_run(NULL, 3, nesting_member, n);
}

static void test_nested_teams(void) {
  nested n;
  te_group *group = NULL;
  pthread_barrier_init(&n.outer, NULL, 3);
  atomic_init(&n.problems, 0);
  CHECK_STATUS(TE_OK, te_team_run(NULL, 3, nesting_member, &n));
  CHECK(atomic_load(&n.problems) == 0);
  /* The same from inside a task. */
  CHECK_STATUS(TE_OK, te_group_new(NULL, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, task_nesting, &n));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
  CHECK(atomic_load(&n.problems) == 0);
  pthread_barrier_destroy(&n.outer);
}

static atomic_int failing_calls;

static int32_t fail_member_two(void *arg, uint32_t member, uint32_t members) {
  (void)arg;
  (void)members;
  atomic_fetch_add(&failing_calls, 1);
  return member == 2 ? 42 : 0;
}

static void test_failure_code(void) {
  atomic_init(&failing_calls, 0);
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_team_run(NULL, 5, fail_member_two, NULL));
  CHECK(strstr(te_last_error_message(), "42") != NULL);
  CHECK(atomic_load(&failing_calls) == 5); /* every member ran */
}

static int32_t count_member(void *arg, uint32_t member, uint32_t members) {
  (void)member;
  (void)members;
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}

static void test_many_teams(void) {
  te_engine *engine = NULL;
  te_config cfg;
  te_team_stats stats;
  atomic_long calls;
  te_config_init(&cfg);
  cfg.workers = 2;
  atomic_init(&calls, 0);
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  int failed = 0;
  for (int i = 0; i < 10000; i++) failed += te_team_run(engine, 2, count_member, &calls) != TE_OK;
  for (int i = 0; i < 1000; i++) failed += te_team_run(engine, 4, count_member, &calls) != TE_OK;
  CHECK(failed == 0);
  CHECK(atomic_load(&calls) == 24000);
  CHECK_STATUS(TE_OK, te_engine_team_stats(engine, &stats));
  CHECK(stats.runs == 11000);
  CHECK(stats.threads_started == 3); /* reused from the cache, never more */
  CHECK(stats.threads_alive == 3 && stats.threads_parked == 3);
  te_engine_free(engine);
}

/* Inside a member, NULL is the team's engine (on team threads). */
static int32_t report_workers(void *arg, uint32_t member, uint32_t members) {
  (void)members;
  ((uint32_t *)arg)[member] = te_engine_workers(NULL);
  return 0;
}

static void test_null_engine_in_members(void) {
  te_engine *engine = NULL;
  te_config cfg;
  uint32_t seen[3] = {0, 0, 0};
  te_config_init(&cfg);
  cfg.workers = 3;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_team_run(engine, 3, report_workers, seen));
  CHECK(seen[0] == 3 && seen[1] == 3 && seen[2] == 3);
  te_engine_free(engine);
}

static int32_t never_called(void *arg, uint32_t member, uint32_t members) {
  (void)member;
  (void)members;
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static void test_bad_arguments(void) {
  atomic_int calls;
  te_team_stats stats;
  atomic_init(&calls, 0);
  CHECK_STATUS(TE_ERR_INVALID, te_team_run(NULL, 0, never_called, &calls));
  CHECK_STATUS(TE_ERR_INVALID, te_team_run(NULL, TE_TEAM_MAX_MEMBERS + 1, never_called, &calls));
  CHECK_STATUS(TE_ERR_INVALID, te_team_run(NULL, UINT32_MAX, never_called, &calls));
  CHECK_STATUS(TE_ERR_NULL, te_team_run(NULL, 2, NULL, &calls));
  CHECK_STATUS(TE_ERR_NULL, te_engine_team_stats(NULL, NULL));
  CHECK(atomic_load(&calls) == 0);
  CHECK_STATUS(TE_OK, te_team_run(NULL, 1, never_called, &calls));
  CHECK(atomic_load(&calls) == 1);
  CHECK_STATUS(TE_OK, te_engine_team_stats(NULL, &stats));
}

/* Freeing the engine, or shutting the default one down, from a member would wait
 * for the team's own caller: refused, changing nothing. */
static int32_t free_from_member(void *arg, uint32_t member, uint32_t members) {
  (void)members;
  if (member == 1) te_engine_free((te_engine *)arg); /* refused: still alive */
  return 0;
}

static int32_t shutdown_from_member(void *arg, uint32_t member, uint32_t members) {
  (void)arg;
  (void)member;
  (void)members;
  return te_default_engine_shutdown() == TE_ERR_INVALID ? 0 : 1;
}

static void test_free_from_member_is_refused(void) {
  te_engine *engine = NULL;
  CHECK_STATUS(TE_OK, te_engine_new(NULL, &engine));
  CHECK_STATUS(TE_OK, te_team_run(engine, 3, free_from_member, engine));
  CHECK(run_barrier_team(engine, 3) == 0); /* still alive */
  te_engine_free(engine);
  /* On the default engine: every member's shutdown is refused. */
  CHECK_STATUS(TE_OK, te_team_run(NULL, 3, shutdown_from_member, NULL));
  CHECK(run_barrier_team(NULL, 2) == 0);
}

static void test_after_shutdown(void) {
  atomic_int calls;
  atomic_init(&calls, 0);
  CHECK_STATUS(TE_OK, te_default_engine_shutdown());
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_team_run(NULL, 2, never_called, &calls));
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_team_run(NULL, 1, never_called, &calls));
  CHECK(atomic_load(&calls) == 0);
}

int main(void) {
  alarm(120); /* a deadlock becomes SIGALRM, a failure */
  RUN(test_barrier_from_outside);
  RUN(test_barrier_from_inside_tasks);
  RUN(test_every_worker_blocked);
  RUN(test_nested_teams);
  RUN(test_failure_code);
  RUN(test_many_teams);
  RUN(test_null_engine_in_members);
  RUN(test_bad_arguments);
  RUN(test_free_from_member_is_refused);
  RUN(test_after_shutdown);
  TEST_DONE();
}
