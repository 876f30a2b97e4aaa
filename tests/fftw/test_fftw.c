/* te_fftw_parallel_loop against FFTW itself: the same plan executed with
 * FFTW's own threads and with its parallel loops on the engine gives bitwise
 * the same transform (2^20 and 2^22 complex 1-D, 2048x2048 2-D); plans
 * executed from inside tasks (several at once, nested) finish and are right;
 * the callback is really used (counted); bad arguments run nothing; a shut
 * down default engine still runs every job. alarm() turns a hang into a
 * failure. Built only where fftw3.h and libfftw3_threads are found. */
#define _POSIX_C_SOURCE 200809L
#include <fftw3.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../c/check.h"

#define FFT_THREADS 4

static te_engine *engine;
static atomic_long callback_calls;

/* Counts FFTW's parallel loops, then hands them to the adapter. */
static void counting_loop(void *(*work)(char *), char *jobdata, size_t elsize, int njobs, void *data) {
  atomic_fetch_add(&callback_calls, 1);
  te_fftw_parallel_loop(work, jobdata, elsize, njobs, data);
}

static void fill(fftw_complex *x, size_t n, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    /* SplitMix64 into [-1, 1). */
    for (int k = 0; k < 2; k++) {
      uint64_t z = (s += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      x[i][k] = (double)(z >> 11) / (double)(1ull << 52) - 1.0;
    }
  }
}

/* Executes `plan` once with FFTW's own threads and once on the engine (data =
 * `data`), from the same input; true when the outputs are bitwise equal. */
static int same_as_fftw_threads(fftw_plan plan, fftw_complex *in, fftw_complex *out, fftw_complex *ref, size_t n,
                                void *data) {
  fill(in, n, 42);
  fftw_threads_set_callback(NULL, NULL); /* FFTW's own threads */
  fftw_execute(plan);
  memcpy(ref, out, n * sizeof(fftw_complex));
  memset(out, 0, n * sizeof(fftw_complex));
  fill(in, n, 42);
  long before = atomic_load(&callback_calls);
  fftw_threads_set_callback(counting_loop, data);
  fftw_execute(plan);
  fftw_threads_set_callback(NULL, NULL);
  CHECK(atomic_load(&callback_calls) > before); /* the adapter ran the loops */
  return memcmp(ref, out, n * sizeof(fftw_complex)) == 0;
}

static void test_1d(size_t n) {
  fftw_complex *in = fftw_alloc_complex(n), *out = fftw_alloc_complex(n), *ref = fftw_alloc_complex(n);
  fftw_plan plan = fftw_plan_dft_1d((int)n, in, out, FFTW_FORWARD, FFTW_ESTIMATE);
  CHECK(plan != NULL);
  CHECK(same_as_fftw_threads(plan, in, out, ref, n, engine));
  CHECK(same_as_fftw_threads(plan, in, out, ref, n, NULL)); /* the default engine */
  /* And a sanity check against the definition: bin 0 is the sum of the input. */
  fill(in, n, 42);
  double re = 0, im = 0;
  for (size_t i = 0; i < n; i++) re += in[i][0], im += in[i][1];
  CHECK(fabs(out[0][0] - re) < 1e-6 * (double)n && fabs(out[0][1] - im) < 1e-6 * (double)n);
  fftw_destroy_plan(plan);
  fftw_free(in), fftw_free(out), fftw_free(ref);
}

static void test_1d_2_20(void) { test_1d((size_t)1 << 20); }
static void test_1d_2_22(void) { test_1d((size_t)1 << 22); }

static void test_2d_2048(void) {
  size_t n = 2048 * 2048;
  fftw_complex *in = fftw_alloc_complex(n), *out = fftw_alloc_complex(n), *ref = fftw_alloc_complex(n);
  fftw_plan plan = fftw_plan_dft_2d(2048, 2048, in, out, FFTW_FORWARD, FFTW_ESTIMATE);
  CHECK(plan != NULL);
  CHECK(same_as_fftw_threads(plan, in, out, ref, n, engine));
  fftw_destroy_plan(plan);
  fftw_free(in), fftw_free(out), fftw_free(ref);
}

/* Tasks that each execute a plan (new-array execute: thread-safe), nested. */
#define NESTED_TASKS 4
#define NESTED_N ((size_t)1 << 18)

typedef struct nested_job {
  fftw_plan plan;
  fftw_complex *in, *out;
  fftw_complex *ref; /* read only */
  int equal;
} nested_job;

static int32_t execute_in_task(void *arg) {
  nested_job *job = arg;
  fill(job->in, NESTED_N, 7);
  fftw_execute_dft(job->plan, job->in, job->out);
  job->equal = memcmp(job->out, job->ref, NESTED_N * sizeof(fftw_complex)) == 0;
  return 0;
}

/* A task that executes a plan from inside a task that is itself in a group. */
static int32_t execute_two_nested(void *arg) {
  nested_job *jobs = arg;
  te_group *inner = NULL;
  if (te_group_new(NULL, &inner) != TE_OK) return 1;
  te_group_spawn(inner, execute_in_task, &jobs[0]);
  execute_in_task(&jobs[1]);
  te_status s = te_group_wait(inner);
  te_group_free(inner);
  return s == TE_OK ? 0 : 1;
}

static void run_nested(void *data) {
  fftw_complex *ref = fftw_alloc_complex(NESTED_N), *in0 = fftw_alloc_complex(NESTED_N);
  fftw_plan plan = fftw_plan_dft_1d((int)NESTED_N, in0, ref, FFTW_FORWARD, FFTW_ESTIMATE);
  nested_job jobs[NESTED_TASKS + 2];
  te_group *group = NULL;
  fill(in0, NESTED_N, 7);
  fftw_threads_set_callback(NULL, NULL);
  fftw_execute(plan); /* the reference, with FFTW's own threads */
  for (int i = 0; i < NESTED_TASKS + 2; i++) {
    jobs[i].plan = plan;
    jobs[i].in = fftw_alloc_complex(NESTED_N);
    jobs[i].out = fftw_alloc_complex(NESTED_N);
    jobs[i].ref = ref;
    jobs[i].equal = 0;
  }
  fftw_threads_set_callback(counting_loop, data);
  CHECK_STATUS(TE_OK, te_group_new(engine, &group));
  for (int i = 0; i < NESTED_TASKS; i++) CHECK_STATUS(TE_OK, te_group_spawn(group, execute_in_task, &jobs[i]));
  CHECK_STATUS(TE_OK, te_group_spawn(group, execute_two_nested, &jobs[NESTED_TASKS]));
  CHECK_STATUS(TE_OK, te_group_wait(group));
  fftw_threads_set_callback(NULL, NULL);
  te_group_free(group);
  for (int i = 0; i < NESTED_TASKS + 2; i++) {
    CHECK(jobs[i].equal);
    fftw_free(jobs[i].in), fftw_free(jobs[i].out);
  }
  fftw_destroy_plan(plan);
  fftw_free(ref), fftw_free(in0);
}

static void test_nested_from_tasks(void) {
  run_nested(engine); /* the engine given */
  run_nested(NULL);   /* NULL inside a task: the task's engine */
}

/* Jobs that count themselves. */
typedef struct counted {
  atomic_int runs;
  char pad[60];
} counted;

static void *count_job(char *job) {
  atomic_fetch_add(&((counted *)job)->runs, 1);
  return NULL;
}

static void test_bad_arguments_and_shutdown(void) {
  counted jobs[16];
  for (int i = 0; i < 16; i++) atomic_init(&jobs[i].runs, 0);
  te_fftw_parallel_loop(NULL, (char *)jobs, sizeof(counted), 16, engine);
  te_fftw_parallel_loop(count_job, (char *)jobs, sizeof(counted), 0, engine);
  te_fftw_parallel_loop(count_job, (char *)jobs, sizeof(counted), -3, engine);
  te_fftw_parallel_loop(count_job, NULL, sizeof(counted), 16, engine);
  te_fftw_parallel_loop(count_job, (char *)jobs, SIZE_MAX / 2, 16, engine);
  for (int i = 0; i < 16; i++) CHECK(atomic_load(&jobs[i].runs) == 0);
  /* Every job exactly once: on the engine, the default engine, and after the
   * default engine was shut down (then on the calling thread). */
  te_fftw_parallel_loop(count_job, (char *)jobs, sizeof(counted), 16, engine);
  te_fftw_parallel_loop(count_job, (char *)jobs, sizeof(counted), 16, NULL);
  CHECK_STATUS(TE_OK, te_default_engine_shutdown());
  te_fftw_parallel_loop(count_job, (char *)jobs, sizeof(counted), 16, NULL);
  for (int i = 0; i < 16; i++) CHECK(atomic_load(&jobs[i].runs) == 3);
}

int main(void) {
  te_config cfg;
  alarm(120); /* a deadlock becomes SIGALRM, a failure */
  atomic_init(&callback_calls, 0);
  CHECK(fftw_init_threads() != 0);
  fftw_plan_with_nthreads(FFT_THREADS);
  te_config_init(&cfg);
  cfg.workers = FFT_THREADS;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  RUN(test_1d_2_20);
  RUN(test_1d_2_22);
  RUN(test_2d_2048);
  RUN(test_nested_from_tasks);
  RUN(test_bad_arguments_and_shutdown);
  te_engine_free(engine);
  fftw_cleanup_threads();
  TEST_DONE();
}
