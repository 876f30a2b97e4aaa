/* Teams and FFTW, timed in one run.
 *
 *  1. The cost of a small team: te_team_run with members that do nothing, teams
 *     of 2 and 4 in a loop, against starting and joining the same number of
 *     pthreads per team (what a library without a pool would do).
 *  2. Oversubscription made visible: k outer tasks (k = 1, 2, 4) on the engine,
 *     each executing an FFTW plan (2^20 complex, FFTW_ESTIMATE, one FFTW thread
 *     per CPU), with FFTW's parallel loops on the engine (te_fftw_parallel_loop)
 *     vs on FFTW's own threads: time, and the most threads alive in the process
 *     while it ran (sampled from /proc/self/task: the main thread and the
 *     workers are counted too).
 *
 * Medians of several rounds. Environment: TE_BENCH_ROUNDS (default 5). */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "taskengine.h"

#ifdef TE_BENCH_HAVE_FFTW
#include <fftw3.h>
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int rounds(void) {
  const char *s = getenv("TE_BENCH_ROUNDS");
  int r = s ? atoi(s) : 5;
  return r < 1 ? 1 : r > 99 ? 99 : r;
}

static void check(te_status s, const char *what) {
  if (s != TE_OK) {
    fprintf(stderr, "%s: %s (%s)\n", what, te_status_str(s), te_last_error_message());
    exit(1);
  }
}

/* ---- 1. teams ---- */

static int32_t idle_member(void *arg, uint32_t member, uint32_t members) {
  (void)member;
  (void)members;
  atomic_fetch_add_explicit((atomic_long *)arg, 1, memory_order_relaxed);
  return 0;
}

static void *idle_thread(void *arg) {
  atomic_fetch_add_explicit((atomic_long *)arg, 1, memory_order_relaxed);
  return NULL;
}

static void bench_teams(te_engine *engine) {
  int r = rounds();
  printf("teams (members do nothing; us per team, median of %d rounds)\n", r);
  printf("  %-8s %12s %14s %8s\n", "members", "te_team_run", "pthread c+j", "ratio");
  for (uint32_t n = 2; n <= 4; n *= 2) {
    double team[99], threads[99];
    atomic_long calls;
    atomic_init(&calls, 0);
    for (int i = 0; i < 100; i++) check(te_team_run(engine, n, idle_member, &calls), "warm-up");
    for (int k = 0; k < r; k++) {
      const int teams = 10000, spawned = 1000;
      double t0 = now();
      for (int i = 0; i < teams; i++) check(te_team_run(engine, n, idle_member, &calls), "team");
      team[k] = (now() - t0) / teams * 1e6;
      t0 = now();
      for (int i = 0; i < spawned; i++) {
        pthread_t th[4];
        for (uint32_t m = 1; m < n; m++) pthread_create(&th[m], NULL, idle_thread, &calls);
        idle_thread(&calls);
        for (uint32_t m = 1; m < n; m++) pthread_join(th[m], NULL);
      }
      threads[k] = (now() - t0) / spawned * 1e6;
    }
    double a = median(team, r), b = median(threads, r);
    printf("  %-8u %12.2f %14.2f %7.2fx\n", n, a, b, b / a);
  }
  te_team_stats ts;
  check(te_engine_team_stats(engine, &ts), "team stats");
  printf("  team threads: %llu started, %llu alive, %llu parked\n", (unsigned long long)ts.threads_started,
         (unsigned long long)ts.threads_alive, (unsigned long long)ts.threads_parked);
}

/* ---- 2. FFTW under k outer tasks ---- */

#ifdef TE_BENCH_HAVE_FFTW

static int count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static atomic_int sampling, peak_threads;

static void *sampler(void *arg) {
  (void)arg;
  while (atomic_load(&sampling)) {
    int n = count_threads() - 1; /* not counting the sampler */
    if (n > atomic_load(&peak_threads)) atomic_store(&peak_threads, n);
    usleep(200);
  }
  return NULL;
}

#define FFT_N ((size_t)1 << 20)
#define MAX_K 4

typedef struct fft_job {
  fftw_plan plan;
  fftw_complex *in, *out;
} fft_job;

static int32_t run_plan(void *arg) {
  fft_job *job = arg;
  fftw_execute_dft(job->plan, job->in, job->out);
  return 0;
}

/* k tasks each executing the plan once; returns seconds. */
static double k_plans(te_engine *engine, fft_job *jobs, int k) {
  te_group *group = NULL;
  double t0 = now();
  check(te_group_new(engine, &group), "group");
  for (int i = 0; i < k; i++) check(te_group_spawn(group, run_plan, &jobs[i]), "spawn");
  check(te_group_wait(group), "wait");
  te_group_free(group);
  return now() - t0;
}

static void bench_fftw(te_engine *engine, uint32_t cpus) {
  int r = rounds();
  fft_job jobs[MAX_K];
  fftw_init_threads();
  fftw_plan_with_nthreads((int)cpus);
  for (int i = 0; i < MAX_K; i++) {
    jobs[i].in = fftw_alloc_complex(FFT_N);
    jobs[i].out = fftw_alloc_complex(FFT_N);
    for (size_t j = 0; j < FFT_N; j++) jobs[i].in[j][0] = (double)(j % 17), jobs[i].in[j][1] = (double)(j % 5);
  }
  fftw_plan plan = fftw_plan_dft_1d((int)FFT_N, jobs[0].in, jobs[0].out, FFTW_FORWARD, FFTW_ESTIMATE);
  for (int i = 0; i < MAX_K; i++) jobs[i].plan = plan;
  printf("FFTW 2^20 complex, k outer tasks each executing the plan (%u FFTW threads per plan, %u workers;\n"
         "  ms per round, median of %d; peak threads alive in the process)\n",
         cpus, te_engine_workers(engine), r);
  printf("  %-3s %14s %8s %14s %8s %8s\n", "k", "FFTW threads", "threads", "engine", "threads", "ratio");
  /* The engine's rows first: FFTW's own threads, once started, stay alive and
   * would be counted in them. */
  double ms[2][MAX_K + 1];
  int peak[2][MAX_K + 1];
  for (int variant = 1; variant >= 0; variant--) {
    if (variant == 0)
      fftw_threads_set_callback(NULL, NULL);
    else
      fftw_threads_set_callback(te_fftw_parallel_loop, engine);
    for (int k = 1; k <= MAX_K; k *= 2) {
      double t[99];
      pthread_t s;
      atomic_store(&peak_threads, 0);
      atomic_store(&sampling, 1);
      pthread_create(&s, NULL, sampler, NULL);
      k_plans(engine, jobs, k); /* warm-up (FFTW starts its threads here) */
      for (int i = 0; i < r; i++) t[i] = k_plans(engine, jobs, k) * 1e3;
      atomic_store(&sampling, 0);
      pthread_join(s, NULL);
      ms[variant][k] = median(t, r);
      peak[variant][k] = atomic_load(&peak_threads);
    }
  }
  for (int k = 1; k <= MAX_K; k *= 2)
    printf("  %-3d %14.2f %8d %14.2f %8d %7.2fx\n", k, ms[0][k], peak[0][k], ms[1][k], peak[1][k],
           ms[0][k] / ms[1][k]);
  fftw_threads_set_callback(NULL, NULL);
  fftw_destroy_plan(plan);
  for (int i = 0; i < MAX_K; i++) fftw_free(jobs[i].in), fftw_free(jobs[i].out);
  fftw_cleanup_threads();
}
#endif

int main(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  te_engine *engine = NULL;
  te_config cfg;
  te_config_init(&cfg);
  cfg.workers = (uint32_t)(cpus > 0 ? cpus : 1);
  check(te_engine_new(&cfg, &engine), "engine");
  printf("bench_team: %u workers on %ld CPUs\n", cfg.workers, cpus);
  /* FFTW first, before any team thread exists: its thread counts are then the
   * main thread, the workers and whatever the FFT itself starts. */
#ifdef TE_BENCH_HAVE_FFTW
  bench_fftw(engine, cfg.workers);
#else
  printf("FFTW rows: skipped: FFTW not installed (Debian: libfftw3-dev with libfftw3_threads)\n");
#endif
  bench_teams(engine);
  te_engine_free(engine);
  return 0;
}
