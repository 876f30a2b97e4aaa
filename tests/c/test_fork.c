/* After fork(): the child gets a working default engine, and an engine it
 * inherited from the parent (whose worker threads do not exist in the child)
 * answers TE_ERR_SHUTDOWN instead of hanging. Each child reports through its
 * exit status; a watchdog alarm turns a hang into a failure. */
#define _POSIX_C_SOURCE 200809L
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int32_t count_up(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static te_engine *parent_engine;

/* Runs in the child; returns the number of failed checks (0 = all good). */
static int child_checks(void) {
  atomic_int counter;
  te_group *group = NULL;
  te_stats stats;
  atomic_init(&counter, 0);
  alarm(30); /* a hang becomes SIGALRM, a failure */
  /* The inherited engine reports shutdown, for every kind of call. */
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_join(parent_engine, count_up, &counter, count_up, &counter));
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_group_new(parent_engine, &group));
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_spawn(parent_engine, count_up, &counter));
  CHECK(atomic_load(&counter) == 0);
  /* The default engine is rebuilt in the child and works. */
  CHECK_STATUS(TE_OK, te_join(NULL, count_up, &counter, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_new(NULL, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
  CHECK(atomic_load(&counter) == 3);
  CHECK_STATUS(TE_OK, te_engine_stats(NULL, &stats));
  /* A fresh engine in the child works too. */
  {
    te_engine *fresh = NULL;
    CHECK_STATUS(TE_OK, te_engine_new(NULL, &fresh));
    CHECK_STATUS(TE_OK, te_join(fresh, count_up, &counter, count_up, &counter));
    te_engine_free(fresh);
  }
  CHECK(atomic_load(&counter) == 5);
  /* Freeing the parent's engine in the child must not wait for its threads. */
  te_engine_free(parent_engine);
  te_default_engine_shutdown();
  return te_failures;
}

static void test_fork_child_gets_working_engines(void) {
  atomic_int counter;
  pid_t pid;
  int status = 0;
  te_config cfg;
  atomic_init(&counter, 0);
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &parent_engine));
  /* Both engines have running workers at fork time. */
  CHECK_STATUS(TE_OK, te_join(parent_engine, count_up, &counter, count_up, &counter));
  CHECK_STATUS(TE_OK, te_join(NULL, count_up, &counter, count_up, &counter));
  fflush(NULL);
  pid = fork();
  if (pid == 0) _exit(child_checks() == 0 ? 0 : 1);
  CHECK(pid > 0);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (WIFSIGNALED(status)) fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
  /* The parent's engines are unaffected. */
  CHECK_STATUS(TE_OK, te_join(parent_engine, count_up, &counter, count_up, &counter));
  CHECK_STATUS(TE_OK, te_join(NULL, count_up, &counter, count_up, &counter));
  CHECK(atomic_load(&counter) == 8);
  te_engine_free(parent_engine);
  te_default_engine_shutdown();
}

/* Teams after fork(): an inherited engine (with team threads parked at fork
 * time, which do not exist in the child) reports TE_ERR_SHUTDOWN and runs no
 * member; the default engine and a fresh one run teams in the child. */
static int32_t team_count(void *arg, uint32_t member, uint32_t members) {
  (void)member;
  (void)members;
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static int32_t team_meet(void *arg, uint32_t member, uint32_t members) {
  atomic_uint *arrived = arg;
  (void)member;
  atomic_fetch_add(arrived, 1);
  while (atomic_load(arrived) < members) sched_yield();
  return 0;
}

static int team_child_checks(void) {
  atomic_int calls;
  atomic_uint arrived;
  te_engine *fresh = NULL;
  atomic_init(&calls, 0);
  alarm(30);
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_team_run(parent_engine, 3, team_count, &calls));
  CHECK(atomic_load(&calls) == 0);
  {
    /* Its team threads do not exist here. */
    te_team_stats stats;
    CHECK_STATUS(TE_OK, te_engine_team_stats(parent_engine, &stats));
    CHECK(stats.threads_alive == 0 && stats.threads_parked == 0 && stats.runs == 1);
  }
  atomic_init(&arrived, 0);
  CHECK_STATUS(TE_OK, te_team_run(NULL, 3, team_meet, &arrived));
  CHECK_STATUS(TE_OK, te_engine_new(NULL, &fresh));
  atomic_init(&arrived, 0);
  CHECK_STATUS(TE_OK, te_team_run(fresh, 3, team_meet, &arrived));
  te_engine_free(fresh);
  te_default_engine_shutdown();
  return te_failures;
}

static void test_fork_child_teams(void) {
  atomic_uint arrived;
  pid_t pid;
  int status = 0;
  te_config cfg;
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &parent_engine));
  atomic_init(&arrived, 0);
  CHECK_STATUS(TE_OK, te_team_run(parent_engine, 3, team_meet, &arrived));
  fflush(NULL);
  pid = fork();
  if (pid == 0) _exit(team_child_checks() == 0 ? 0 : 1);
  CHECK(pid > 0);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  atomic_init(&arrived, 0);
  CHECK_STATUS(TE_OK, te_team_run(parent_engine, 3, team_meet, &arrived));
  te_engine_free(parent_engine);
}

/* fork() from inside a task, on a worker that keeps spare group handles (with
 * their records, of the parent's engine): in the child, groups on the default
 * engine work, whatever spares the copied thread-locals hold. */
static int32_t groups_in_forked_child(void *arg) {
  atomic_int counter;
  int round, i, status = 0;
  pid_t pid;
  (void)arg;
  atomic_init(&counter, 0);
  for (round = 0; round < 10; round++) { /* leave spare handles on this worker */
    te_group *g = NULL;
    if (te_group_new(NULL, &g) != TE_OK) return 1;
    for (i = 0; i < 3; i++)
      if (te_group_spawn(g, count_up, &counter) != TE_OK) return 2;
    if (te_group_wait(g) != TE_OK) return 3;
    te_group_free(g);
  }
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    int failures = 0;
    alarm(30); /* a hang becomes SIGALRM, a failure */
    atomic_store(&counter, 0);
    for (round = 0; round < 20; round++) {
      te_group *g = NULL;
      if (te_group_new(NULL, &g) != TE_OK) _exit(10);
      for (i = 0; i < 3; i++)
        if (te_group_spawn(g, count_up, &counter) != TE_OK) failures++;
      if (te_group_wait(g) != TE_OK) failures++;
      te_group_free(g);
    }
    if (te_join(NULL, count_up, &counter, count_up, &counter) != TE_OK) failures++;
    if (atomic_load(&counter) != 62) failures++;
    te_default_engine_shutdown();
    _exit(failures == 0 ? 0 : 11);
  }
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return 4;
  if (WIFSIGNALED(status)) fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 5;
}

static void test_fork_inside_a_task_with_spare_groups(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_group *outer = NULL;
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_group_new(engine, &outer));
  CHECK_STATUS(TE_OK, te_group_spawn(outer, groups_in_forked_child, NULL));
  CHECK_STATUS(TE_OK, te_group_wait(outer));
  te_group_free(outer);
  te_engine_free(engine);
}

int main(void) {
  RUN(test_fork_child_gets_working_engines);
  RUN(test_fork_child_teams);
  RUN(test_fork_inside_a_task_with_spare_groups);
  TEST_DONE();
}
