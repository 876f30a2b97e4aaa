/* A distributed sample sort of int64 and a distributed reduction: MPI between
 * ranks, taskengine inside each rank (hybrid MPI + tasks).
 *
 *   mpiexec -n 4 ./mpi_sort_c [-n items_per_rank] [-w engine_workers] [-r runs] [-e expected_workers]
 *
 * Each rank sorts its part with te_sort_i64, picks evenly spaced samples of it;
 * the gathered samples give p - 1 splitters; MPI_Alltoallv sends each rank the
 * items between its two splitters; a final te_sort_i64 sorts what arrived.
 * Only the main thread calls MPI (MPI_THREAD_FUNNELED): the engine's workers
 * never do. -w 0 (the default) uses the default engine, sized to the CPUs this
 * rank may use (its affinity mask, as `mpiexec -bind-to core` or taskset set
 * it, and any cgroup quota). Rank 0 checks the result against qsort of all
 * the data gathered, and the reductions against a serial loop. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taskengine.h"

/* Samples per rank: more than p - 1 keeps the buckets close to even. */
#define SAMPLES 64

static int rank_, ranks_;

static void die(const char *what, const char *detail) {
  fprintf(stderr, "rank %d: %s: %s\n", rank_, what, detail);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1); /* not reached */
}

static void check_te(const char *what, te_status status) {
  if (status != TE_OK) {
    char detail[512];
    snprintf(detail, sizeof detail, "%s (%s)", te_status_str(status), te_last_error_message());
    die(what, detail);
  }
}

static void check_mpi(const char *what, int rc) {
  if (rc != MPI_SUCCESS) {
    char detail[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, detail, &len);
    die(what, detail);
  }
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("malloc", "out of memory");
  return p;
}

/* SplitMix64: every rank makes its own reproducible part. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The first index in sorted[0..n) whose item is greater than v. */
static size_t upper_bound(const int64_t *sorted, size_t n, int64_t v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sorted[mid] <= v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Sorts the ranks' data together: on return *out (malloc'd, *out_len items)
 * holds this rank's slice of the global order. `data` is sorted in place. */
static void sample_sort(te_engine *engine, int64_t *data, size_t n, int64_t **out, size_t *out_len) {
  int64_t samples[SAMPLES], *all_samples, *splitters, *recv;
  int *send_counts, *recv_counts, *send_displs, *recv_displs;
  size_t total_samples, received = 0;
  int i, j;

  check_te("te_sort_i64 (local)", te_sort_i64(engine, data, n));
  for (i = 0; i < SAMPLES; i++) /* evenly spaced; repeats are fine when n is small */
    samples[i] = n ? data[(size_t)i * n / SAMPLES] : INT64_MAX;
  total_samples = (size_t)SAMPLES * (size_t)ranks_;
  all_samples = xmalloc(total_samples * sizeof *all_samples);
  check_mpi("MPI_Allgather", MPI_Allgather(samples, SAMPLES, MPI_INT64_T, all_samples, SAMPLES, MPI_INT64_T,
                                           MPI_COMM_WORLD));
  check_te("te_sort_i64 (samples)", te_sort_i64(engine, all_samples, total_samples));
  splitters = xmalloc((size_t)ranks_ * sizeof *splitters);
  for (i = 1; i < ranks_; i++) splitters[i - 1] = all_samples[(size_t)i * total_samples / (size_t)ranks_];
  free(all_samples);

  /* Bucket j: splitters[j-1] < v <= splitters[j]; data is sorted, so each
   * bucket is one run of it. */
  send_counts = xmalloc((size_t)ranks_ * sizeof(int));
  recv_counts = xmalloc((size_t)ranks_ * sizeof(int));
  send_displs = xmalloc((size_t)ranks_ * sizeof(int));
  recv_displs = xmalloc((size_t)ranks_ * sizeof(int));
  {
    size_t start = 0;
    for (j = 0; j < ranks_; j++) {
      size_t end = j == ranks_ - 1 ? n : upper_bound(data, n, splitters[j]);
      if (end < start) end = start; /* equal splitters */
      send_counts[j] = (int)(end - start);
      send_displs[j] = (int)start;
      start = end;
    }
  }
  free(splitters);
  check_mpi("MPI_Alltoall", MPI_Alltoall(send_counts, 1, MPI_INT, recv_counts, 1, MPI_INT, MPI_COMM_WORLD));
  for (j = 0; j < ranks_; j++) {
    if (received > (size_t)INT_MAX - (size_t)recv_counts[j]) die("sample_sort", "a bucket exceeds INT_MAX items");
    recv_displs[j] = (int)received;
    received += (size_t)recv_counts[j];
  }
  recv = xmalloc(received * sizeof *recv);
  check_mpi("MPI_Alltoallv", MPI_Alltoallv(data, send_counts, send_displs, MPI_INT64_T, recv, recv_counts,
                                           recv_displs, MPI_INT64_T, MPI_COMM_WORLD));
  free(send_counts);
  free(recv_counts);
  free(send_displs);
  free(recv_displs);
  /* The final local sort (the runs that arrived are each sorted already). */
  check_te("te_sort_i64 (final)", te_sort_i64(engine, recv, received));
  *out = recv;
  *out_len = received;
}

/* Gathers `len` items from every rank into a malloc'd array on rank 0. */
static int64_t *gather_all(const int64_t *data, size_t len, size_t *total) {
  int count = (int)len, i;
  int *counts = NULL, *displs = NULL;
  int64_t *all = NULL;
  if (rank_ == 0) {
    counts = xmalloc((size_t)ranks_ * sizeof(int));
    displs = xmalloc((size_t)ranks_ * sizeof(int));
  }
  check_mpi("MPI_Gather", MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD));
  *total = 0;
  if (rank_ == 0) {
    for (i = 0; i < ranks_; i++) {
      if (*total > (size_t)INT_MAX - (size_t)counts[i]) die("gather", "more than INT_MAX items to check");
      displs[i] = (int)*total;
      *total += (size_t)counts[i];
    }
    all = xmalloc(*total * sizeof *all);
  }
  check_mpi("MPI_Gatherv",
            MPI_Gatherv(data, count, MPI_INT64_T, all, counts, displs, MPI_INT64_T, 0, MPI_COMM_WORLD));
  free(counts);
  free(displs);
  return all;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long long per_rank = 1 << 20;
  long workers = 0, runs = 1, expect = 0;
  int provided = 0, opt, ok = 1;
  te_engine *engine = NULL; /* NULL: the default engine */
  int64_t *data, *original, *sorted = NULL;
  size_t n, sorted_len = 0;
  double *times;
  uint64_t seed;
  int64_t local_sum, local_min, local_max, sum, min, max;
  long r;

  while ((opt = getopt(argc, argv, "n:w:r:e:")) != -1) {
    switch (opt) {
      case 'n': per_rank = atoll(optarg); break;
      case 'w': workers = atol(optarg); break;
      case 'r': runs = atol(optarg); break;
      case 'e': expect = atol(optarg); break;
      default:
        fprintf(stderr, "usage: %s [-n items_per_rank] [-w engine_workers] [-r runs] [-e expected_workers]\n",
                argv[0]);
        return 2;
    }
  }
  if (per_rank < 1 || per_rank > INT_MAX / 4 || workers < 0 || workers > 4096 || runs < 1 || expect < 0) {
    fprintf(stderr, "%s: arguments out of range\n", argv[0]);
    return 2;
  }
  alarm(300); /* a hung collective fails instead of blocking the test run */

  check_mpi("MPI_Init_thread", MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
  if (provided < MPI_THREAD_FUNNELED) die("MPI_Init_thread", "this MPI does not provide MPI_THREAD_FUNNELED");

  if (workers > 0) {
    te_config cfg;
    te_config_init(&cfg);
    cfg.workers = (uint32_t)workers;
    check_te("te_engine_new", te_engine_new(&cfg, &engine));
  }
  {
    /* Every rank's engine size, printed by rank 0; -e checks it. */
    int mine = (int)te_engine_workers(engine), *all = rank_ == 0 ? xmalloc((size_t)ranks_ * sizeof(int)) : NULL;
    if (expect && mine != expect) {
      fprintf(stderr, "rank %d: engine has %d workers, expected %ld\n", rank_, mine, expect);
      ok = 0;
    }
    check_mpi("MPI_Gather", MPI_Gather(&mine, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD));
    if (rank_ == 0) {
      printf("%d ranks, engine workers per rank:", ranks_);
      for (r = 0; r < ranks_; r++) printf(" %d", all[r]);
      printf("%s\n", workers ? "" : " (default engine: this rank's CPUs)");
    }
    free(all);
  }

  n = (size_t)per_rank;
  data = xmalloc(n * sizeof *data);
  original = xmalloc(n * sizeof *original);
  seed = 0x5EED0000ull + (uint64_t)rank_;
  for (size_t i = 0; i < n; i++) {
    /* Within +-2^40, so that the sum of every rank's items fits in int64;
     * every 16th item equal, so that splitters repeat. */
    original[i] = (i % 16 == 0) ? 4242 : (int64_t)(splitmix64(&seed) >> 23) - ((int64_t)1 << 40);
  }

  times = xmalloc((size_t)runs * sizeof *times);
  for (r = 0; r < runs; r++) {
    double t0, local, slowest;
    memcpy(data, original, n * sizeof *data);
    free(sorted);
    check_mpi("MPI_Barrier", MPI_Barrier(MPI_COMM_WORLD));
    t0 = MPI_Wtime();
    sample_sort(engine, data, n, &sorted, &sorted_len);
    local = MPI_Wtime() - t0;
    check_mpi("MPI_Reduce", MPI_Reduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD));
    times[r] = slowest;
  }

  /* The distributed reduction: each rank's kernels, then MPI_Reduce. */
  check_te("te_sum_i64", te_sum_i64(engine, original, n, &local_sum));
  check_te("te_min_i64", te_min_i64(engine, original, n, &local_min));
  check_te("te_max_i64", te_max_i64(engine, original, n, &local_max));
  check_mpi("MPI_Reduce", MPI_Reduce(&local_sum, &sum, 1, MPI_INT64_T, MPI_SUM, 0, MPI_COMM_WORLD));
  check_mpi("MPI_Reduce", MPI_Reduce(&local_min, &min, 1, MPI_INT64_T, MPI_MIN, 0, MPI_COMM_WORLD));
  check_mpi("MPI_Reduce", MPI_Reduce(&local_max, &max, 1, MPI_INT64_T, MPI_MAX, 0, MPI_COMM_WORLD));

  {
    /* Rank 0: the reference is qsort of all the original data, gathered. */
    size_t total_in = 0, total_out = 0;
    int64_t *all_in = gather_all(original, n, &total_in);
    int64_t *all_out = gather_all(sorted, sorted_len, &total_out);
    if (rank_ == 0) {
      int64_t ref_sum = 0, ref_min = INT64_MAX, ref_max = INT64_MIN;
      for (size_t i = 0; i < total_in; i++) {
        ref_sum += all_in[i];
        if (all_in[i] < ref_min) ref_min = all_in[i];
        if (all_in[i] > ref_max) ref_max = all_in[i];
      }
      qsort(all_in, total_in, sizeof *all_in, cmp_i64);
      if (total_out != total_in || memcmp(all_in, all_out, total_in * sizeof *all_in) != 0) {
        fprintf(stderr, "sample sort: result differs from qsort of the gathered data\n");
        ok = 0;
      } else {
        printf("sample sort of %zu int64 over %d ranks: equal to qsort of the gathered data\n", total_in, ranks_);
      }
      if (sum != ref_sum || min != ref_min || max != ref_max) {
        fprintf(stderr, "reduction: sum/min/max differ from the serial loop\n");
        ok = 0;
      } else {
        printf("reduction (te_sum/min/max_i64 per rank + MPI_Reduce): equal to a serial loop\n");
      }
      qsort(times, (size_t)runs, sizeof *times, cmp_double);
      printf("sample sort time: median %.4f s over %ld run(s) (slowest rank)\n", times[runs / 2], runs);
    }
    free(all_in);
    free(all_out);
  }
  {
    int all_ok = 0;
    check_mpi("MPI_Allreduce", MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    ok = all_ok;
  }

  free(times);
  free(sorted);
  free(original);
  free(data);
  te_engine_free(engine);
  MPI_Finalize();
  return ok ? 0 : 1;
}
