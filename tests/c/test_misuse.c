/* What a careless or hostile host does: recursion too deep for the stack, waits
 * that would wait for themselves, shutdowns from inside the engine, loops whose
 * body fails at once over a huge range, engines freed while their tasks still use
 * the NULL (current) engine. Every one of these must end with a documented status,
 * never a crash or a hang (make runs this under `timeout`). */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static te_engine *make_engine(uint32_t workers, size_t stack_size) {
  te_config cfg;
  te_engine *engine = NULL;
  te_config_init(&cfg);
  cfg.workers = workers;
  cfg.stack_size = stack_size;
  if (te_engine_new(&cfg, &engine) != TE_OK) {
    fprintf(stderr, "te_engine_new: %s\n", te_last_error_message());
    exit(EXIT_FAILURE);
  }
  return engine;
}

static int thread_count(void) {
  int n = 0;
  DIR *dir = opendir("/proc/self/task");
  struct dirent *e;
  if (!dir) return -1;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(dir);
  return n;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static int32_t nothing(void *arg) {
  (void)arg;
  return 0;
}

/* ---- a join chain deeper than any stack ---- */

struct chain {
  long depth;        /* levels still to go */
  te_status status;  /* what the deepest refused te_join said, passed up */
};

static int32_t chain_link(void *arg) {
  struct chain *c = arg;
  struct chain next;
  te_status s;
  if (c->depth == 0) return 0;
  next.depth = c->depth - 1;
  next.status = TE_OK;
  s = te_join(NULL, chain_link, &next, nothing, NULL);
  c->status = s == TE_ERR_TASK_FAILED ? next.status : s;
  return c->status == TE_OK ? 0 : 1;
}

static void test_deep_join_chain_is_refused_not_a_crash(void) {
  /* 100,000 levels: far beyond a 2 MiB (default) or 256 KiB stack. */
  size_t stacks[2] = {0, 256 * 1024};
  int i;
  for (i = 0; i < 2; i++) {
    te_engine *engine = make_engine(2, stacks[i]);
    struct chain top = {100000, TE_OK};
    te_status s = te_join(engine, chain_link, &top, nothing, NULL);
    CHECK(s == TE_ERR_TASK_FAILED);
    CHECK(top.status == TE_ERR_STACK);
    /* A chain that fits still works on the same engine afterwards. */
    top.depth = 200;
    top.status = TE_OK;
    CHECK_STATUS(TE_OK, te_join(engine, chain_link, &top, nothing, NULL));
    CHECK(top.status == TE_OK);
    te_engine_free(engine);
  }
  CHECK(strcmp(te_status_str(TE_ERR_STACK), "TE_ERR_STACK") == 0);
}

/* ---- a failing loop body over a range that could never be walked ---- */

static atomic_long calls;

static int32_t fail_at_once(void *arg, size_t begin, size_t end) {
  (void)arg;
  (void)begin;
  (void)end;
  atomic_fetch_add(&calls, 1);
  return 7;
}

static int32_t map_fail(void *arg, size_t begin, size_t end, void *acc) {
  (void)acc;
  return fail_at_once(arg, begin, end);
}

static int32_t combine_add(void *arg, void *acc, const void *other) {
  (void)arg;
  *(int64_t *)acc += *(const int64_t *)other;
  return 0;
}

static void test_failing_body_stops_the_loop(void) {
  te_engine *engine = make_engine(2, 0);
  int64_t zero = 0, out = 42;
  atomic_store(&calls, 0);
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_parallel_for(engine, 0, SIZE_MAX, 1, fail_at_once, NULL));
  /* Pieces already split off may have started, but not a walk of 2^64. */
  CHECK(atomic_load(&calls) >= 1 && atomic_load(&calls) < 100000);
  atomic_store(&calls, 0);
  CHECK_STATUS(TE_ERR_TASK_FAILED,
               te_parallel_reduce(engine, 0, SIZE_MAX, 1, &zero, sizeof zero, map_fail, combine_add, NULL, &out));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_parallel_reduce_deterministic(engine, 0, SIZE_MAX, 1, &zero, sizeof zero,
                                                                    map_fail, combine_add, NULL, &out));
  CHECK(out == 42); /* untouched on failure */
  CHECK(atomic_load(&calls) >= 2 && atomic_load(&calls) < 200000);
  te_engine_free(engine);
}

/* ---- a task waiting for its own group ---- */

struct self_wait {
  te_group *group;
  te_status plain, isolated, timed;
};

static int32_t wait_for_own_group(void *arg) {
  struct self_wait *w = arg;
  w->plain = te_group_wait(w->group);
  w->isolated = te_group_wait_isolated(w->group);
  w->timed = te_group_wait_timeout(w->group, 60000);
  return 0;
}

static void test_waiting_for_own_group_is_refused(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  struct self_wait w;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  w.group = group;
  w.plain = w.isolated = w.timed = TE_OK;
  CHECK_STATUS(TE_OK, te_group_spawn(group, wait_for_own_group, &w));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(w.plain == TE_ERR_INVALID);
  CHECK(w.isolated == TE_ERR_INVALID);
  CHECK(w.timed == TE_ERR_INVALID);
  te_group_free(group);
  te_engine_free(engine);
}

/* ---- a task freeing its own group ---- */

static atomic_int counted, freed;

static int32_t count_slowly(void *arg) {
  (void)arg;
  sleep_ms(2);
  atomic_fetch_add(&counted, 1);
  return 0;
}

static int32_t free_own_group(void *arg) {
  te_group_free((te_group *)arg); /* cannot wait for itself: releases the handle */
  atomic_store(&freed, 1);
  return 0;
}

static void test_task_freeing_its_own_group_does_not_hang(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  int i, spins = 0;
  atomic_store(&counted, 0);
  atomic_store(&freed, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 0; i < 20; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, count_slowly, NULL));
  CHECK_STATUS(TE_OK, te_group_spawn(group, free_own_group, group));
  /* The group is gone from our side now; its tasks still all run. */
  while ((atomic_load(&counted) < 20 || !atomic_load(&freed)) && spins++ < 10000) sleep_ms(1);
  CHECK(atomic_load(&counted) == 20);
  CHECK(atomic_load(&freed) == 1);
  te_engine_free(engine);
}

/* ---- a group freed twice, and used after its free, inside a task ---- */

struct freed_twice {
  te_status spawn_after, wait_after, cancel_after;
  size_t pending_after;
  int distinct;
  atomic_int ran_first, ran_second;
  char message[200];
};

static int32_t count_into(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return 0;
}

static int32_t free_group_twice(void *arg) {
  struct freed_twice *t = arg;
  te_group *group = NULL, *first = NULL, *second = NULL;
  int i;
  if (te_group_new(NULL, &group) != TE_OK) return 1;
  te_group_free(group);
  te_group_free(group); /* the misuse: a worker keeps the handle, so this is caught */
  snprintf(t->message, sizeof t->message, "%s", te_last_error_message());
  t->spawn_after = te_group_spawn(group, nothing, NULL);
  t->wait_after = te_group_wait(group);
  t->cancel_after = te_group_cancel(group);
  t->pending_after = te_group_pending(group);
  /* Two new groups must be two handles, not the twice-freed one handed out twice. */
  if (te_group_new(NULL, &first) != TE_OK) return 2;
  if (te_group_new(NULL, &second) != TE_OK) return 3;
  t->distinct = first != second;
  for (i = 0; i < 3; i++) te_group_spawn(first, count_into, &t->ran_first);
  for (i = 0; i < 5; i++) te_group_spawn(second, count_into, &t->ran_second);
  if (te_group_wait(first) != TE_OK || te_group_wait(second) != TE_OK) return 4;
  te_group_free(second);
  te_group_free(first);
  return 0;
}

/* 100 groups of one counting task each, one after another, inside a task. */
static int32_t groups_in_a_row(void *arg) {
  int round;
  (void)arg;
  for (round = 0; round < 100; round++) {
    te_group *g = NULL;
    if (te_group_new(NULL, &g) != TE_OK) return 1;
    if (te_group_spawn(g, count_into, &counted) != TE_OK) return 2;
    if (te_group_wait(g) != TE_OK) return 3;
    te_group_free(g);
  }
  return 0;
}

static void test_group_freed_twice_in_a_task_is_caught(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *outer = NULL;
  struct freed_twice t;
  memset(&t, 0, sizeof t);
  CHECK_STATUS(TE_OK, te_group_new(engine, &outer));
  CHECK_STATUS(TE_OK, te_group_spawn(outer, free_group_twice, &t));
  CHECK_STATUS(TE_OK, te_group_wait(outer));
  te_group_free(outer);
  CHECK(strstr(t.message, "te_group_free") != NULL);
  CHECK(t.spawn_after == TE_ERR_INVALID);
  CHECK(t.wait_after == TE_ERR_INVALID);
  CHECK(t.cancel_after == TE_ERR_INVALID);
  CHECK(t.pending_after == 0);
  CHECK(t.distinct);
  CHECK(atomic_load(&t.ran_first) == 3);
  CHECK(atomic_load(&t.ran_second) == 5);
  /* The workers' spare handles still serve groups made inside tasks. */
  atomic_store(&counted, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &outer));
  for (int i = 0; i < 8; i++) CHECK_STATUS(TE_OK, te_group_spawn(outer, groups_in_a_row, NULL));
  CHECK_STATUS(TE_OK, te_group_wait(outer));
  te_group_free(outer);
  CHECK(atomic_load(&counted) == 8 * 100);
  te_engine_free(engine);
}

/* ---- an engine freed twice, and a pointer that never was an engine ---- */

static void test_engine_freed_twice_is_refused(void) {
  te_engine *engine = make_engine(2, 0);
  long long not_an_engine[4] = {0, 0, 0, 0};
  int i;
  CHECK_STATUS(TE_OK, te_join(engine, nothing, NULL, nothing, NULL));
  te_engine_free(engine);
  te_engine_free(engine); /* the misuse: refused without reading through it */
  CHECK(strstr(te_last_error_message(), "already freed") != NULL);
  te_engine_free((te_engine *)not_an_engine);
  CHECK(strstr(te_last_error_message(), "te_engine_new") != NULL);
  CHECK(not_an_engine[0] == 0 && not_an_engine[3] == 0);
  /* Engines made afterwards work and are freed as usual. */
  for (i = 0; i < 3; i++) {
    te_engine *again = make_engine(1, 0);
    CHECK_STATUS(TE_OK, te_join(again, nothing, NULL, nothing, NULL));
    te_engine_free(again);
  }
}

/* ---- an arena freed twice ---- */

static void test_arena_freed_twice_is_refused(void) {
  te_arena *arena = NULL, *again = NULL;
  void *block = NULL;
  long long not_an_arena[4] = {0, 0, 0, 0};
  CHECK_STATUS(TE_OK, te_arena_new(TE_ARENA_BUMP, 1 << 16, &arena));
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, 100, 8, &block));
  te_arena_free(arena);
  te_arena_free(arena); /* the misuse: refused without reading through it */
  CHECK(strstr(te_last_error_message(), "already freed") != NULL);
  te_arena_free((te_arena *)not_an_arena);
  CHECK(strstr(te_last_error_message(), "te_arena_new") != NULL);
  CHECK(not_an_arena[0] == 0 && not_an_arena[3] == 0);
  CHECK_STATUS(TE_OK, te_arena_new(TE_ARENA_FREE_LIST, 1 << 16, &again));
  CHECK_STATUS(TE_OK, te_arena_alloc(again, 100, 8, &block));
  te_arena_free(again);
}

/* ---- te_engine_free from one of the engine's own tasks ---- */

static atomic_int stops;

static void count_stop(void *arg, uint32_t index) {
  (void)arg;
  (void)index;
  sleep_ms(20); /* a slow hook: an early return would be seen */
  atomic_fetch_add(&stops, 1);
}

static int32_t free_own_engine(void *arg) {
  te_engine_free((te_engine *)arg);
  return strstr(te_last_error_message(), "own tasks") != NULL ? 0 : 1;
}

static void test_engine_free_from_own_task_is_refused(void) {
  te_config cfg;
  te_engine *engine = NULL;
  te_group *group = NULL;
  te_config_init(&cfg);
  cfg.workers = 3;
  cfg.on_thread_stop = count_stop;
  atomic_store(&stops, 0);
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, free_own_engine, engine));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
  /* Still alive and usable; freed from here, every stop hook has run. */
  CHECK_STATUS(TE_OK, te_join(engine, nothing, NULL, nothing, NULL));
  CHECK(atomic_load(&stops) == 0);
  te_engine_free(engine);
  CHECK(atomic_load(&stops) == 3);
}

/* ---- a draining engine's tasks keep their engine for NULL ---- */

struct drain_probe {
  uint32_t workers_seen;
  te_status join, group_new, group_wait, loop;
};

static int32_t add_one(void *arg, size_t begin, size_t end) {
  (void)arg;
  (void)begin;
  (void)end;
  return 0;
}

static int32_t probe_current_engine(void *arg) {
  struct drain_probe *p = arg;
  te_group *group = NULL;
  sleep_ms(30); /* still queued or running when the free starts */
  p->workers_seen = te_engine_workers(NULL);
  p->join = te_join(NULL, nothing, NULL, nothing, NULL);
  p->group_new = te_group_new(NULL, &group);
  if (p->group_new == TE_OK) {
    te_group_spawn(group, nothing, NULL);
    p->group_wait = te_group_wait(group);
    te_group_free(group);
  }
  p->loop = te_parallel_for(NULL, 0, 1000, 10, add_one, NULL);
  return 0;
}

static void check_probes(const struct drain_probe *probes, int n, uint32_t workers) {
  int i;
  for (i = 0; i < n; i++) {
    CHECK(probes[i].workers_seen == workers);
    CHECK(probes[i].join == TE_OK);
    CHECK(probes[i].group_new == TE_OK);
    CHECK(probes[i].group_wait == TE_OK);
    CHECK(probes[i].loop == TE_OK);
  }
}

#define PROBES 6

static void test_draining_engine_tasks_keep_their_engine(void) {
  /* The default engine is never started by this: its size would show it. */
  te_engine *engine = make_engine(2, 0);
  struct drain_probe probes[PROBES];
  int before, i;
  memset(probes, 0, sizeof probes);
  before = thread_count();
  for (i = 0; i < PROBES; i++) CHECK_STATUS(TE_OK, te_spawn(engine, probe_current_engine, &probes[i]));
  te_engine_free(engine); /* drains the six probes */
  check_probes(probes, PROBES, 2);
  CHECK(thread_count() == before - 2);
}

static void test_draining_default_engine_tasks_keep_it(void) {
  /* Last: shuts the default engine down for the rest of the process. */
  struct drain_probe probes[PROBES];
  int i;
  uint32_t workers = te_engine_workers(NULL);
  memset(probes, 0, sizeof probes);
  CHECK(workers == 6);
  for (i = 0; i < PROBES; i++) CHECK_STATUS(TE_OK, te_spawn(NULL, probe_current_engine, &probes[i]));
  CHECK_STATUS(TE_OK, te_default_engine_shutdown());
  check_probes(probes, PROBES, workers);
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_join(NULL, nothing, NULL, nothing, NULL));
}

/* ---- te_default_engine_shutdown from a task of the default engine ---- */

struct halves {
  atomic_int b_started;
  te_status a_status, b_status;
};

static int32_t half_a(void *arg) {
  struct halves *h = arg;
  int spins = 0;
  /* Hold this worker until b runs elsewhere (stolen), at most ~2 s. */
  while (!atomic_load(&h->b_started) && spins++ < 2000) sleep_ms(1);
  h->a_status = te_default_engine_shutdown();
  return 0;
}

static int32_t half_b(void *arg) {
  struct halves *h = arg;
  atomic_store(&h->b_started, 1);
  h->b_status = te_default_engine_shutdown();
  return 0;
}

static void test_default_shutdown_from_its_task_is_refused(void) {
  struct halves h;
  atomic_store(&h.b_started, 0);
  h.a_status = h.b_status = TE_OK;
  CHECK_STATUS(TE_OK, te_join(NULL, half_a, &h, half_b, &h));
  CHECK(atomic_load(&h.b_started) == 1);
  CHECK(h.a_status == TE_ERR_INVALID);
  CHECK(h.b_status == TE_ERR_INVALID);
  /* Still running. */
  CHECK_STATUS(TE_OK, te_join(NULL, nothing, NULL, nothing, NULL));
}

int main(void) {
  /* The default engine, if anything started it, would have 6 workers. */
  setenv("TASKENGINE_WORKERS", "6", 1);
  RUN(test_deep_join_chain_is_refused_not_a_crash);
  RUN(test_failing_body_stops_the_loop);
  RUN(test_waiting_for_own_group_is_refused);
  RUN(test_task_freeing_its_own_group_does_not_hang);
  RUN(test_group_freed_twice_in_a_task_is_caught);
  RUN(test_engine_freed_twice_is_refused);
  RUN(test_arena_freed_twice_is_refused);
  RUN(test_engine_free_from_own_task_is_refused);
  RUN(test_draining_engine_tasks_keep_their_engine);
  RUN(test_default_shutdown_from_its_task_is_refused);
  RUN(test_draining_default_engine_tasks_keep_it);
  TEST_DONE();
}
