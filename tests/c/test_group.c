/* Task groups: spawning, waiting, failure, cancellation, back-pressure, timeouts. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"

static te_engine *make_engine(uint32_t workers, size_t queue_capacity) {
  te_config cfg;
  te_engine *engine = NULL;
  te_config_init(&cfg);
  cfg.workers = workers;
  cfg.queue_capacity = queue_capacity;
  if (te_engine_new(&cfg, &engine) != TE_OK) {
    fprintf(stderr, "te_engine_new: %s\n", te_last_error_message());
    exit(EXIT_FAILURE);
  }
  return engine;
}

static void sleep_ms(long ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static int32_t count_up(void *arg) {
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}

static void test_spawn_and_wait(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long counter;
  int i;
  atomic_init(&counter, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 0; i < 20000; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&counter) == 20000);
  CHECK(te_group_pending(group) == 0);
  CHECK(te_group_skipped(group) == 0);
  CHECK(!te_group_is_cancelled(group));
  /* Waiting again is allowed and gives the same answer. */
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
  te_engine_free(engine);
}

/* A task that spawns more tasks into its own group, down to depth 0. */
struct tree {
  te_group *group;
  atomic_long *leaves;
  int depth;
};

static struct tree nodes[1 << 12];
static atomic_int next_node;

static int32_t grow(void *arg) {
  struct tree *t = arg;
  int k;
  if (t->depth == 0) {
    atomic_fetch_add(t->leaves, 1);
    return 0;
  }
  for (k = 0; k < 2; k++) {
    struct tree *child = &nodes[atomic_fetch_add(&next_node, 1)];
    child->group = t->group;
    child->leaves = t->leaves;
    child->depth = t->depth - 1;
    if (te_group_spawn(t->group, grow, child) != TE_OK) return 1;
  }
  return 0;
}

static void test_nested_spawns_from_tasks(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long leaves;
  atomic_init(&leaves, 0);
  atomic_init(&next_node, 1);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  nodes[0].group = group;
  nodes[0].leaves = &leaves;
  nodes[0].depth = 10;
  CHECK_STATUS(TE_OK, te_group_spawn(group, grow, &nodes[0]));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&leaves) == 1024);
  te_group_free(group);
  te_engine_free(engine);
}

static int32_t fail_with_arg(void *arg) { return (int32_t)(intptr_t)arg; }

static void test_failing_task(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  te_status first = TE_ERR_PANIC;
  int32_t code = -1;
  int i;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  /* Before anything failed: no failure, no message. */
  CHECK_STATUS(TE_OK, te_group_failure(group, &first, &code));
  CHECK(first == TE_OK && code == 0);
  CHECK(te_group_failure_message(group) == NULL);

  for (i = 0; i < 100; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, fail_with_arg, (void *)0));
  CHECK_STATUS(TE_OK, te_group_spawn(group, fail_with_arg, (void *)(intptr_t)42));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_group_wait(group));
  CHECK(strstr(te_last_error_message(), "42") != NULL);
  CHECK_STATUS(TE_OK, te_group_failure(group, &first, &code));
  CHECK(first == TE_ERR_TASK_FAILED);
  CHECK(code == 42);
  CHECK(te_group_failure_message(group) != NULL);
  CHECK(strstr(te_group_failure_message(group), "42") != NULL);
  /* The same pointer each time: it belongs to the group. */
  CHECK(te_group_failure_message(group) == te_group_failure_message(group));
  te_group_free(group);

  /* Only the first failure is kept; a negative code is a failure too. */
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, fail_with_arg, (void *)(intptr_t)-3));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_group_wait(group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, fail_with_arg, (void *)(intptr_t)9));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_group_wait(group));
  CHECK_STATUS(TE_OK, te_group_failure(group, &first, &code));
  CHECK(code == -3);
  te_group_free(group);
  te_engine_free(engine);
}

struct gate {
  atomic_int open;
  atomic_int started;
};

static int32_t wait_for_gate(void *arg) {
  struct gate *g = arg;
  atomic_fetch_add(&g->started, 1);
  while (!atomic_load(&g->open)) sleep_ms(1);
  return 0;
}

static int32_t poll_cancel(void *arg) {
  struct gate *g = arg;
  atomic_fetch_add(&g->started, 1);
  /* A long task that stops early once its group is cancelled. */
  while (!te_current_task_cancelled()) sleep_ms(1);
  atomic_fetch_add(&g->open, 1);
  return 0;
}

static void test_cancel(void) {
  te_engine *engine = make_engine(1, 0);
  te_group *group = NULL;
  struct gate gate;
  atomic_long counter;
  int i;
  atomic_init(&gate.open, 0);
  atomic_init(&gate.started, 0);
  atomic_init(&counter, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  /* The only worker is held by a task that polls for cancellation ... */
  CHECK_STATUS(TE_OK, te_group_spawn(group, poll_cancel, &gate));
  while (atomic_load(&gate.started) == 0) sleep_ms(1);
  /* ... so these cannot start before the cancel. */
  for (i = 0; i < 50; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  CHECK(!te_current_task_cancelled()); /* not in a task */
  CHECK_STATUS(TE_OK, te_group_cancel(group));
  CHECK(te_group_is_cancelled(group));
  CHECK_STATUS(TE_ERR_CANCELLED, te_group_wait(group));
  CHECK(atomic_load(&counter) == 0);
  CHECK(te_group_skipped(group) == 50);
  CHECK(atomic_load(&gate.open) == 1); /* the running task saw the flag */
  CHECK_STATUS(TE_ERR_CANCELLED, te_group_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_cancel(group)); /* again: harmless */
  te_group_free(group);
  te_engine_free(engine);
}

static void test_wait_timeout(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  struct gate gate;
  atomic_init(&gate.open, 0);
  atomic_init(&gate.started, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, wait_for_gate, &gate));
  CHECK_STATUS(TE_ERR_TIMEOUT, te_group_wait_timeout(group, 20));
  CHECK(te_group_pending(group) == 1);
  atomic_store(&gate.open, 1);
  CHECK_STATUS(TE_OK, te_group_wait_timeout(group, 60000));
  CHECK_STATUS(TE_OK, te_group_wait_timeout(group, 0));
  te_group_free(group);
  te_engine_free(engine);
}

/* A task that fills a second group and waits for it in isolation. */
struct isolated {
  te_engine *engine;
  atomic_long *counter;
  te_status result;
};

static int32_t wait_isolated_inside(void *arg) {
  struct isolated *iso = arg;
  te_group *inner = NULL;
  int i;
  if (te_group_new(NULL, &inner) != TE_OK) return 1; /* NULL: this worker's engine */
  for (i = 0; i < 100; i++) te_group_spawn(inner, count_up, iso->counter);
  iso->result = te_group_wait_isolated(inner);
  te_group_free(inner);
  return 0;
}

static void test_wait_isolated(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long counter;
  struct isolated iso;
  atomic_init(&counter, 0);
  iso.engine = engine;
  iso.counter = &counter;
  iso.result = TE_ERR_PANIC;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, wait_isolated_inside, &iso));
  CHECK_STATUS(TE_OK, te_group_wait_isolated(group));
  CHECK(iso.result == TE_OK);
  CHECK(atomic_load(&counter) == 100);
  te_group_free(group);
  te_engine_free(engine);
}

/* Heap arguments owned by the group: freed exactly once, run or skipped. */
struct owned {
  atomic_long *ran;
  atomic_long *freed;
  int fail;
};

static int32_t run_owned(void *arg) {
  struct owned *o = arg;
  atomic_fetch_add(o->ran, 1);
  return o->fail;
}

static void free_owned(void *arg) {
  struct owned *o = arg;
  atomic_fetch_add(o->freed, 1);
  free(o);
}

static struct owned *new_owned(atomic_long *ran, atomic_long *freed, int fail) {
  struct owned *o = malloc(sizeof *o);
  if (!o) exit(EXIT_FAILURE);
  o->ran = ran;
  o->freed = freed;
  o->fail = fail;
  return o;
}

static void test_try_spawn_queue_full(void) {
  /* One worker held by a gated task, room for 2 more: the third is refused. */
  te_engine *engine = make_engine(1, 2);
  te_group *group = NULL;
  struct gate gate;
  atomic_long counter;
  atomic_init(&gate.open, 0);
  atomic_init(&gate.started, 0);
  atomic_init(&counter, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, wait_for_gate, &gate));
  while (atomic_load(&gate.started) == 0) sleep_ms(1);
  CHECK_STATUS(TE_OK, te_group_try_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_try_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_ERR_QUEUE_FULL, te_group_try_spawn(group, count_up, &counter));
  {
    /* Refused with an owned argument: it is handed to its cleanup at once. */
    atomic_long ran, freed;
    atomic_init(&ran, 0);
    atomic_init(&freed, 0);
    CHECK_STATUS(TE_ERR_QUEUE_FULL,
                 te_group_try_spawn_with_cleanup(group, run_owned, new_owned(&ran, &freed, 0), free_owned));
    CHECK(atomic_load(&ran) == 0 && atomic_load(&freed) == 1);
  }
  atomic_store(&gate.open, 1);
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&counter) == 2); /* the refused task never ran */
  /* The blocking form waits for room instead of failing. */
  {
    int i;
    for (i = 0; i < 1000; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  }
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&counter) == 1002);
  te_group_free(group);
  te_engine_free(engine);
}

static void test_free_waits_for_tasks(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long counter;
  int i;
  atomic_init(&counter, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 0; i < 5000; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  te_group_free(group); /* no wait before: free waits */
  CHECK(atomic_load(&counter) == 5000);
  te_engine_free(engine);
}

static void test_bad_input(void) {
  te_engine *engine = make_engine(1, 0);
  te_group *const sentinel = (te_group *)&engine; /* never dereferenced */
  te_group *group = sentinel;
  te_status st = TE_ERR_PANIC;
  int32_t code = 77;
  CHECK_STATUS(TE_ERR_NULL, te_group_new(engine, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn(NULL, count_up, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_try_spawn(NULL, count_up, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_wait(NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_wait_timeout(NULL, 1));
  CHECK_STATUS(TE_ERR_NULL, te_group_wait_isolated(NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_cancel(NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_failure(NULL, &st, &code));
  CHECK(st == TE_ERR_PANIC && code == 77);
  CHECK(!te_group_is_cancelled(NULL));
  CHECK(te_group_skipped(NULL) == 0);
  CHECK(te_group_pending(NULL) == 0);
  CHECK(te_group_failure_message(NULL) == NULL);
  te_group_free(NULL);

  group = NULL;
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn(group, NULL, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_try_spawn(group, NULL, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_failure(group, NULL, &code));
  CHECK_STATUS(TE_ERR_NULL, te_group_failure(group, &st, NULL));
  CHECK(st == TE_ERR_PANIC && code == 77);
  CHECK(te_group_pending(group) == 0); /* nothing was added */
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
  te_engine_free(engine);
}

static void test_group_outliving_its_engine(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long counter;
  atomic_init(&counter, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, count_up, &counter));
  te_engine_free(engine); /* finishes queued work first */
  CHECK(atomic_load(&counter) == 1);
  CHECK_STATUS(TE_ERR_SHUTDOWN, te_group_spawn(group, count_up, &counter));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  te_group_free(group);
}

static void test_spawn_with_cleanup(void) {
  te_engine *engine = make_engine(1, 0);
  te_group *group = NULL;
  struct gate gate;
  atomic_long ran, freed;
  int i;
  atomic_init(&ran, 0);
  atomic_init(&freed, 0);
  atomic_init(&gate.open, 0);
  atomic_init(&gate.started, 0);

  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 0; i < 100; i++)
    CHECK_STATUS(TE_OK, te_group_spawn_with_cleanup(group, run_owned, new_owned(&ran, &freed, i == 50 ? 8 : 0),
                                                    free_owned));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_group_wait(group));
  CHECK(atomic_load(&ran) == 100 && atomic_load(&freed) == 100);
  te_group_free(group);

  /* Cancelled before they start: never run, still freed. */
  atomic_store(&ran, 0);
  atomic_store(&freed, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, te_group_spawn(group, poll_cancel, &gate));
  while (atomic_load(&gate.started) == 0) sleep_ms(1);
  for (i = 0; i < 100; i++)
    CHECK_STATUS(TE_OK, te_group_spawn_with_cleanup(group, run_owned, new_owned(&ran, &freed, 0), free_owned));
  CHECK_STATUS(TE_OK, te_group_cancel(group));
  CHECK_STATUS(TE_ERR_CANCELLED, te_group_wait(group));
  CHECK(atomic_load(&ran) == 0 && atomic_load(&freed) == 100);
  CHECK(te_group_skipped(group) == 100);
  /* A spawn that fails hands the argument straight to its cleanup. */
  CHECK_STATUS(TE_ERR_CANCELLED, te_group_spawn_with_cleanup(group, run_owned, new_owned(&ran, &freed, 0), free_owned));
  CHECK(atomic_load(&ran) == 0 && atomic_load(&freed) == 101);
  te_group_free(group);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));

  /* The non-blocking form runs and frees like the blocking one. */
  CHECK_STATUS(TE_OK, te_group_try_spawn_with_cleanup(group, run_owned, new_owned(&ran, &freed, 0), free_owned));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&ran) == 1 && atomic_load(&freed) == 102);
  atomic_store(&ran, 0);
  te_group_free(group);
  group = NULL;

  /* NULL group or function: TE_ERR_NULL, and the given cleanup still runs. */
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_with_cleanup(NULL, run_owned, new_owned(&ran, &freed, 0), free_owned));
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_with_cleanup(group, NULL, new_owned(&ran, &freed, 0), free_owned));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_with_cleanup(group, run_owned, NULL, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_group_try_spawn_with_cleanup(NULL, run_owned, new_owned(&ran, &freed, 0), free_owned));
  CHECK(atomic_load(&ran) == 0 && atomic_load(&freed) == 105);
  te_group_free(group);
  te_engine_free(engine);
}

/* Several C threads spawn into one group at once while another waits. */
struct spawner {
  te_group *group;
  atomic_long *counter;
  int failures;
};

static void *spawn_many(void *arg) {
  struct spawner *sp = arg;
  int i;
  for (i = 0; i < 5000; i++)
    if (te_group_spawn(sp->group, count_up, sp->counter) != TE_OK) sp->failures++;
  return NULL;
}

static void test_stampede_from_many_threads(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long counter;
  pthread_t threads[4];
  struct spawner sp[4];
  int i;
  atomic_init(&counter, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 0; i < 4; i++) {
    sp[i].group = group;
    sp[i].counter = &counter;
    sp[i].failures = 0;
    CHECK(pthread_create(&threads[i], NULL, spawn_many, &sp[i]) == 0);
  }
  for (i = 0; i < 4; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(sp[i].failures == 0);
  }
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&counter) == 20000);
  te_group_free(group);
  te_engine_free(engine);
}

/* ---- argument bytes stored in the task, and the owner's user data ---- */

struct inline_arg {
  atomic_long *sum;
  int64_t add;
  uint64_t pad[2];
};

static int32_t add_inline(void *copy) {
  struct inline_arg *a = copy;
  CHECK(((uintptr_t)copy & 7) == 0); /* aligned to 8 */
  atomic_fetch_add(a->sum, a->add);
  return a->add == -13 ? 13 : 0;
}

static void test_spawn_inline(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  atomic_long sum = 0;
  struct inline_arg arg;
  unsigned char big[TE_INLINE_TASK_BYTES + 1];
  int i;
  CHECK(sizeof arg <= TE_INLINE_TASK_BYTES && TE_INLINE_TASK_BYTES == 32);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (i = 1; i <= 1000; i++) {
    arg.sum = &sum;
    arg.add = i;
    /* Copied at the call: changing `arg` afterwards changes nothing. */
    CHECK_STATUS(TE_OK, te_group_spawn_inline(group, add_inline, &arg, sizeof arg));
    arg.add = -1000000;
  }
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&sum) == 1000 * 1001 / 2);
  /* A failing one fails the group with its code; try_ variant too. */
  arg.add = -13;
  CHECK_STATUS(TE_OK, te_group_try_spawn_inline(group, add_inline, &arg, sizeof arg));
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_group_wait(group));
  {
    te_status failed_with = TE_OK;
    int32_t code = 0;
    CHECK_STATUS(TE_OK, te_group_failure(group, &failed_with, &code));
    CHECK(failed_with == TE_ERR_TASK_FAILED && code == 13);
  }
  /* Bad input changes nothing. */
  memset(big, 0, sizeof big);
  CHECK_STATUS(TE_ERR_INVALID, te_group_spawn_inline(group, add_inline, big, sizeof big));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_inline(group, NULL, &arg, sizeof arg));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_inline(NULL, add_inline, &arg, sizeof arg));
  CHECK_STATUS(TE_ERR_NULL, te_group_spawn_inline(group, add_inline, NULL, 8));
  CHECK(te_group_pending(group) == 0);
  te_group_free(group);
  te_engine_free(engine);
}

/* Every size the inline storage takes, from every alignment: byte 0 holds the
 * size, the rest a pattern the task checks, so a copy that is short, long or
 * shifted is seen. Spawned from outside the pool and from inside a task (two
 * ways into the engine's storage). */
static atomic_long inline_ok, inline_bad, inline_empty;

static unsigned char inline_pattern(size_t size, size_t i) { return (unsigned char)(size * 31 + i * 7 + 1); }

static int32_t check_inline_bytes(void *copy) {
  const unsigned char *bytes = copy;
  size_t size = bytes[0], i;
  int good = size >= 1 && size <= TE_INLINE_TASK_BYTES;
  for (i = 1; good && i < size; i++) good = bytes[i] == inline_pattern(size, i);
  atomic_fetch_add(good ? &inline_ok : &inline_bad, 1);
  return 0;
}

static int32_t count_empty_inline(void *copy) {
  (void)copy;
  atomic_fetch_add(&inline_empty, 1);
  return 0;
}

static te_status spawn_every_inline_size(te_group *group) {
  /* 8-aligned, so `buffer + offset` has every alignment. */
  uint64_t storage[(TE_INLINE_TASK_BYTES + 8) / 8 + 1];
  unsigned char *buffer = (unsigned char *)storage;
  size_t size, offset, i;
  te_status status = TE_OK;
  for (offset = 0; offset < 8 && status == TE_OK; offset++) {
    status = te_group_spawn_inline(group, count_empty_inline, buffer + offset, 0);
    for (size = 1; size <= TE_INLINE_TASK_BYTES && status == TE_OK; size++) {
      unsigned char *bytes = buffer + offset;
      bytes[0] = (unsigned char)size;
      for (i = 1; i < size; i++) bytes[i] = inline_pattern(size, i);
      status = te_group_spawn_inline(group, check_inline_bytes, bytes, size);
      memset(buffer, 0xEE, sizeof storage); /* copied at the call: later writes change nothing */
    }
  }
  return status;
}

static int32_t spawn_every_inline_size_inside(void *arg) {
  te_group *group = NULL;
  te_status status;
  (void)arg;
  if (te_group_new(NULL, &group) != TE_OK) return 1;
  status = spawn_every_inline_size(group);
  if (status == TE_OK) status = te_group_wait(group);
  te_group_free(group);
  return status == TE_OK ? 0 : 2;
}

static void test_spawn_inline_every_size_and_alignment(void) {
  te_engine *engine = make_engine(2, 0);
  te_group *group = NULL;
  long sizes = 8 * TE_INLINE_TASK_BYTES;
  atomic_store(&inline_ok, 0);
  atomic_store(&inline_bad, 0);
  atomic_store(&inline_empty, 0);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK_STATUS(TE_OK, spawn_every_inline_size(group));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&inline_ok) == sizes && atomic_load(&inline_bad) == 0 && atomic_load(&inline_empty) == 8);
  CHECK_STATUS(TE_OK, te_group_spawn(group, spawn_every_inline_size_inside, NULL));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(atomic_load(&inline_ok) == 2 * sizes && atomic_load(&inline_bad) == 0 && atomic_load(&inline_empty) == 16);
  te_group_free(group);
  te_engine_free(engine);
}

static atomic_int slot_wins;

static int32_t init_user_data(void *arg) {
  te_group *group = *(te_group **)arg;
  static int values[64];
  int *mine = &values[atomic_fetch_add(&slot_wins, 1) % 64];
  void *now = te_group_user_data_init(group, mine);
  return now == te_group_user_data(group) && now != NULL ? 0 : 1;
}

static void test_user_data(void) {
  te_engine *engine = make_engine(3, 0);
  te_group *group = NULL;
  int i, value = 5;
  CHECK(te_group_user_data(NULL) == NULL);
  CHECK(te_group_user_data_init(NULL, &value) == NULL);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK(te_group_user_data(group) == NULL);
  /* Many tasks race to store theirs: one wins, all see the winner. */
  atomic_store(&slot_wins, 0);
  for (i = 0; i < 64; i++) CHECK_STATUS(TE_OK, te_group_spawn_inline(group, init_user_data, &group, sizeof group));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  CHECK(te_group_user_data(group) != NULL);
  CHECK(te_group_user_data_init(group, &value) == te_group_user_data(group));
  CHECK(te_group_user_data(group) != &value);
  te_group_free(group);
  /* A new group (possibly in a reused handle) starts with none. */
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  CHECK(te_group_user_data(group) == NULL);
  te_group_free(group);
  te_engine_free(engine);
}

/* A group made inside a task (its first tasks go onto that worker's deque) and
 * freed by one of its own tasks, which releases it without waiting: the tasks
 * still queued must each run once, and nothing may touch the freed group (the
 * ASan and valgrind legs run this). */
struct self_freeing {
  te_group *group;
  atomic_long ran;
};

static int32_t free_my_group(void *arg) {
  struct self_freeing *s = arg;
  te_group_free(s->group);
  atomic_fetch_add(&s->ran, 1);
  return 0;
}

static int32_t count_self_freeing(void *arg) {
  atomic_fetch_add(&((struct self_freeing *)arg)->ran, 1);
  return 0;
}

static int32_t make_self_freeing_group(void *arg) {
  struct self_freeing *s = arg;
  int i;
  if (te_group_new(NULL, &s->group) != TE_OK) return 1;
  for (i = 0; i < 6; i++)
    if (te_group_spawn(s->group, count_self_freeing, s) != TE_OK) return 2;
  /* The newest task, run first by whoever takes it, frees the group. */
  if (te_group_spawn(s->group, free_my_group, s) != TE_OK) return 3;
  return 0;
}

static void test_group_freed_by_its_own_task_inside_the_pool(void) {
  static struct self_freeing rounds[200];
  int workers, i;
  for (workers = 1; workers <= 3; workers++) {
    te_engine *engine = make_engine((uint32_t)workers, 0);
    te_group *outer = NULL;
    CHECK_STATUS(TE_OK, te_group_new(engine, &outer));
    for (i = 0; i < 200; i++) {
      atomic_init(&rounds[i].ran, 0);
      CHECK_STATUS(TE_OK, te_group_spawn(outer, make_self_freeing_group, &rounds[i]));
    }
    CHECK_STATUS(TE_OK, te_group_wait(outer));
    te_group_free(outer);
    for (i = 0; i < 200; i++)
      while (atomic_load(&rounds[i].ran) < 7) sleep_ms(1);
    te_engine_free(engine); /* runs whatever is left, then joins the workers */
    for (i = 0; i < 200; i++) CHECK(atomic_load(&rounds[i].ran) == 7);
  }
}

/* Handles freed inside a task are kept with their group records and handed out
 * again: whatever state a group ended in, the next te_group_new gives an empty,
 * fresh group (no failure or message, not cancelled, no user data, nothing
 * pending). Checked from tasks, so failures are counted atomically. */
static atomic_int reuse_errors;

#define REUSE_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      atomic_fetch_add(&reuse_errors, 1);                                      \
    }                                                                          \
  } while (0)

static int32_t fail_seven(void *arg) {
  (void)arg;
  return 7;
}

static int32_t end_groups_in_every_state(void *arg) {
  atomic_long *ran = arg;
  int round, i;
  for (round = 0; round < 300; round++) {
    te_group *g = NULL;
    long before = atomic_load(ran);
    if (te_group_new(NULL, &g) != TE_OK) {
      REUSE_CHECK(!"te_group_new");
      return 1;
    }
    REUSE_CHECK(te_group_user_data(g) == NULL);
    REUSE_CHECK(te_group_failure_message(g) == NULL);
    REUSE_CHECK(!te_group_is_cancelled(g));
    REUSE_CHECK(te_group_skipped(g) == 0);
    REUSE_CHECK(te_group_pending(g) == 0);
    REUSE_CHECK(te_group_wait(g) == TE_OK);
    switch (round % 5) {
      case 0: /* succeeded */
        for (i = 0; i < 3; i++) REUSE_CHECK(te_group_spawn(g, count_up, ran) == TE_OK);
        REUSE_CHECK(te_group_wait(g) == TE_OK);
        REUSE_CHECK(atomic_load(ran) == before + 3);
        break;
      case 1: /* failed, with its message made and user data stored */
        REUSE_CHECK(te_group_spawn(g, fail_seven, NULL) == TE_OK);
        REUSE_CHECK(te_group_wait(g) == TE_ERR_TASK_FAILED);
        REUSE_CHECK(te_group_failure_message(g) != NULL);
        REUSE_CHECK(te_group_user_data_init(g, ran) == (void *)ran);
        break;
      case 2: /* cancelled: what had not started is skipped */
        for (i = 0; i < 10; i++) REUSE_CHECK(te_group_spawn(g, count_up, ran) == TE_OK);
        REUSE_CHECK(te_group_cancel(g) == TE_OK);
        REUSE_CHECK(te_group_spawn(g, count_up, ran) == TE_ERR_CANCELLED);
        REUSE_CHECK(te_group_wait(g) == TE_ERR_CANCELLED);
        REUSE_CHECK((long)te_group_skipped(g) + (atomic_load(ran) - before) == 10);
        break;
      case 3: /* more tasks than the owner keeps in slots */
        for (i = 0; i < 40; i++) REUSE_CHECK(te_group_spawn(g, count_up, ran) == TE_OK);
        REUSE_CHECK(te_group_wait(g) == TE_OK);
        REUSE_CHECK(atomic_load(ran) == before + 40);
        break;
      default: /* freed unwaited: te_group_free waits for its tasks */
        for (i = 0; i < 5; i++) REUSE_CHECK(te_group_spawn(g, count_up, ran) == TE_OK);
        break;
    }
    te_group_free(g);
    if (round % 5 == 4) REUSE_CHECK(atomic_load(ran) == before + 5);
  }
  return 0;
}

static void test_reused_handles_start_fresh(void) {
  int workers, i;
  for (workers = 1; workers <= 3; workers++) {
    te_engine *engine = make_engine((uint32_t)workers, 0);
    static atomic_long ran[4];
    te_group *outer = NULL;
    atomic_init(&reuse_errors, 0);
    CHECK_STATUS(TE_OK, te_group_new(engine, &outer));
    for (i = 0; i < 4; i++) {
      atomic_init(&ran[i], 0);
      CHECK_STATUS(TE_OK, te_group_spawn(outer, end_groups_in_every_state, &ran[i]));
    }
    CHECK_STATUS(TE_OK, te_group_wait(outer));
    te_group_free(outer);
    te_engine_free(engine);
    CHECK(atomic_load(&reuse_errors) == 0);
  }
}

int main(void) {
  RUN(test_spawn_and_wait);
  RUN(test_nested_spawns_from_tasks);
  RUN(test_failing_task);
  RUN(test_cancel);
  RUN(test_wait_timeout);
  RUN(test_wait_isolated);
  RUN(test_try_spawn_queue_full);
  RUN(test_free_waits_for_tasks);
  RUN(test_bad_input);
  RUN(test_group_outliving_its_engine);
  RUN(test_spawn_with_cleanup);
  RUN(test_stampede_from_many_threads);
  RUN(test_spawn_inline);
  RUN(test_spawn_inline_every_size_and_alignment);
  RUN(test_user_data);
  RUN(test_group_freed_by_its_own_task_inside_the_pool);
  RUN(test_reused_handles_start_fresh);
  TEST_DONE();
}
