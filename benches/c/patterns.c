/* The patterns benchmark: the BOTS workloads (fib, nqueens, sort, sparselu,
 * strassen, uts) and a million spawns from the main thread, each written the
 * way its own users write it: serial C; taskengine from C (te_join(NULL) in
 * binary recursions, a te_group per node in n-ary ones) and from C++ (a
 * taskengine::TaskGroup per node); oneTBB (a tbb::task_group per node); OpenMP
 * (task / taskwait). fib(32) is also timed through te_join with the engine
 * passed down, through taskengine's Engine::join in Rust (benches/c/rust_fib.rs,
 * a program named by TE_BENCH_RUST_FIB) and through rayon::join
 * (benches/c/rayon_fib.rs, named by TE_BENCH_RAYON_FIB).
 *
 * One run times every version, in rounds: each version once per round, so that
 * all of a workload's versions meet the same load, up to TE_BENCH_REPS rounds
 * (default 5; a version leaves once its runs add up to TE_BENCH_BUDGET_MS,
 * default 2500). Every result is checked against an independent answer (exit
 * 1 on a wrong one). One row per (workload, version): the median time, the
 * speed-up over serial, the ratio to the best peer (the faster of oneTBB and
 * OpenMP) and the target the row is held to. Every runtime gets
 * TE_BENCH_THREADS threads (default 2), started once before any timing. Each
 * version but the serial one runs in a child process of its own, where a run
 * is stopped after TE_BENCH_CAP_MS (default 10000); TE_BENCH_FORK=0 runs them
 * all here instead (for a profiler; no cap, and every runtime's threads exist
 * side by side). TE_BENCH_ONLY=fib,nqueens runs some workloads only;
 * TE_BENCH_PATTERNS_JSON names a file for the same numbers as JSON
 * (scripts/bench_summary.py prints them). `make bench-patterns`. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, popen, dprintf */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "patterns.h"
#include "taskengine.h"

enum { MAX_REPS = 25, MAX_ROWS = 96 };

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Lets the previous runtime's threads go back to sleep before the next one runs. */
static void settle(void) {
  struct timespec ts = {0, 30 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

static long env_long(const char *name, long fallback, long lo, long hi) {
  const char *s = getenv(name);
  char *end;
  long v;
  if (!s || !*s) return fallback;
  v = strtol(s, &end, 10);
  if (*end || v < lo || v > hi) {
    fprintf(stderr, "patterns: %s=%s is not a number in [%ld, %ld]\n", name, s, lo, hi);
    exit(EXIT_FAILURE);
  }
  return v;
}

static void loadavg(char *buf, size_t len) {
  FILE *f = fopen("/proc/loadavg", "r");
  buf[0] = 0;
  if (f) {
    if (fgets(buf, (int)len, f)) buf[strcspn(buf, " ")] = 0; /* the 1-minute figure */
    fclose(f);
  }
  if (!buf[0]) snprintf(buf, len, "?");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the rows ---- */

struct row {
  const struct pb_workload *w;
  const struct pb_version *v;
  double ms; /* median; NAN when skipped; the cap when stopped before a run ended */
  int runs;
  int stopped; /* killed at the cap */
  char skipped[80];
};

static struct row rows[MAX_ROWS];
static int nrows;
static unsigned threads;
static int reps;
static double budget_ms, cap_ms;
static int in_child;

/* A failure ends the process; a child leaves at once, without running the
 * runtimes' exit-time teardown. */
static void die(void) {
  if (in_child) _exit(EXIT_FAILURE);
  exit(EXIT_FAILURE);
}

/* One run of a version: a fresh input, the timed call, the check of its result.
 * Exits on a failure. */
static double run_once(const struct pb_workload *w, const struct pb_version *v) {
  double t;
  int failed;
  if (w->prepare) w->prepare();
  t = now_ms();
  failed = v->run();
  t = now_ms() - t;
  if (failed) {
    fprintf(stderr, "patterns: %s, %s: the runtime reported a failure\n", w->name, v->name);
    die();
  }
  if (!w->verify(v->kind == PB_SERIAL)) {
    fprintf(stderr, "patterns: %s, %s: WRONG RESULT\n", w->name, v->name);
    die();
  }
  return t;
}

/* Starts the runtime a version uses, once, before its first run. */
static int init_runtime(const struct pb_version *v) {
  switch (v->kind) {
  case PB_OURS:
    return strcmp(v->id, "te_cpp") == 0 ? pb_tecpp_init(threads) : pb_te_init(threads);
  case PB_TBB:
    return pb_tbb_init(threads);
  case PB_OMP:
    return pb_omp_init(threads);
  default:
    return 0;
  }
}

/* How a row's runs are made. The serial version runs in this process (it needs
 * no threads, and the other versions' checks compare with what it computed);
 * every other one in a child process of its own, started after the serial
 * reference exists: its runtime's threads are the only ones it meets, and a
 * run that lasts cap_ms is stopped by killing the child. */
struct runner {
  int active;
  pid_t pid;    /* 0: runs here */
  int cmd, res; /* the child's command and answer pipes */
  double times[MAX_REPS], total;
  int n;
};

static struct runner runners[MAX_ROWS];

/* Reads one line from fd before `deadline`: 1, 0 at end of file, -1 at the deadline. */
static int read_line(int fd, double deadline, char *buf, size_t len) {
  size_t n = 0;
  for (;;) {
    struct pollfd p;
    double left = deadline - now_ms();
    ssize_t got;
    if (left <= 0) return -1;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, (int)left + 1) <= 0) continue; /* timed out or interrupted: look again */
    got = read(fd, buf + n, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return 0;
    if (buf[n] == '\n' || n + 2 >= len) {
      buf[n] = 0;
      return 1;
    }
    n++;
  }
}

/* The child: starts its runtime, says "ready", then runs once per 'r' it reads,
 * answering with the time; leaves on anything else or end of file. */
static void child_loop(const struct pb_workload *w, const struct pb_version *v, int cmd, int res) {
  char c;
  in_child = 1;
  if (init_runtime(v) || dprintf(res, "ready\n") < 0) _exit(EXIT_FAILURE);
  while (read(cmd, &c, 1) == 1 && c == 'r')
    if (dprintf(res, "%.6f\n", run_once(w, v)) < 0) _exit(EXIT_FAILURE);
  _exit(0); /* the runtime's threads go with the process */
}

static void child_failed(const struct row *r) {
  fprintf(stderr, "patterns: %s, %s: its process failed (see above)\n", r->w->name, r->v->name);
  exit(EXIT_FAILURE);
}

static void stop_child(struct runner *rn, struct row *r) {
  kill(rn->pid, SIGKILL);
  while (waitpid(rn->pid, NULL, 0) < 0 && errno == EINTR) {
  }
  close(rn->cmd);
  close(rn->res);
  rn->pid = 0;
  rn->active = 0;
  r->stopped = 1;
}

static void start_child(int row) {
  struct runner *rn = &runners[row];
  int to[2], from[2], i;
  char line[64];
  fflush(stdout);
  fflush(stderr);
  if (pipe(to) != 0 || pipe(from) != 0 || (rn->pid = fork()) < 0) {
    perror("patterns: pipe/fork");
    exit(EXIT_FAILURE);
  }
  if (rn->pid == 0) {
    for (i = 0; i < row; i++) /* the other children's pipes: theirs to close */
      if (runners[i].pid > 0) {
        close(runners[i].cmd);
        close(runners[i].res);
      }
    close(to[1]);
    close(from[0]);
    child_loop(rows[row].w, rows[row].v, to[0], from[1]);
  }
  close(to[0]);
  close(from[1]);
  rn->cmd = to[1];
  rn->res = from[0];
  switch (read_line(rn->res, now_ms() + cap_ms, line, sizeof line)) {
  case 1:
    if (strcmp(line, "ready") == 0) return;
    /* fall through */
  case 0:
    child_failed(&rows[row]);
    break;
  default:
    stop_child(rn, &rows[row]);
  }
}

/* A version that is a program of its own (rust_fib, rayon_fib), run once: it
 * prints its time in ms first. */
static double run_external(const struct row *r) {
  const char *program = getenv(r->v->program_env);
  char cmd[4096];
  FILE *p;
  double ms = 0;
  int ok;
  snprintf(cmd, sizeof cmd, "TE_BENCH_THREADS=%u TE_BENCH_REPS=1 '%s'", threads, program);
  fflush(stdout);
  p = popen(cmd, "r");
  ok = p && fscanf(p, "%lf", &ms) == 1 && ms > 0;
  if (p && pclose(p) != 0) ok = 0;
  if (!ok) {
    fprintf(stderr, "patterns: %s, %s: %s failed\n", r->w->name, r->v->name, program);
    exit(EXIT_FAILURE);
  }
  return ms;
}

/* One run of a row, by whichever runner it has; NAN when none was made. */
static double run_row(int row) {
  struct runner *rn = &runners[row];
  struct row *r = &rows[row];
  char line[64];
  if (r->v->program_env) return run_external(r);
  if (rn->pid == 0) return run_once(r->w, r->v);
  if (write(rn->cmd, "r", 1) != 1) child_failed(r);
  switch (read_line(rn->res, now_ms() + cap_ms, line, sizeof line)) {
  case 1:
    return strtod(line, NULL);
  case 0:
    child_failed(r);
    return NAN;
  default:
    stop_child(rn, r);
    return NAN;
  }
}

/* Times the rows [first, end) of one workload in rounds: each round runs every
 * version still active once, in order, so that the versions' runs are taken
 * close together in time (the load of the machine drifts). A version leaves
 * after `reps` runs, once its runs add up to `budget_ms`, or when stopped. */
static void measure_workload(int first, int end, int fork_each) {
  int i, round, any = 1;
  for (i = first; i < end; i++) {
    memset(&runners[i], 0, sizeof runners[i]);
    runners[i].active = !rows[i].skipped[0];
  }
  for (round = 0; round < reps && any; round++) {
    fprintf(stderr, "%s: round %d...\n", rows[first].w->name, round + 1);
    any = 0;
    for (i = first; i < end; i++) {
      struct runner *rn = &runners[i];
      double t;
      if (!rn->active) continue;
      if (round == 0 && fork_each && rows[i].v->kind != PB_SERIAL && !rows[i].v->program_env) {
        start_child(i);
        if (!rn->active) continue;
      }
      t = run_row(i);
      if (isnan(t)) {
        rn->active = 0;
        continue;
      }
      rn->times[rn->n++] = t;
      rn->total += t;
      if (rn->total >= budget_ms) rn->active = 0;
      any |= rn->active;
      settle();
    }
  }
  for (i = first; i < end; i++) {
    struct runner *rn = &runners[i];
    struct row *r = &rows[i];
    if (rn->pid > 0) { /* done: tell it to leave */
      int status = 0;
      if (write(rn->cmd, "q", 1) != 1) child_failed(r);
      close(rn->cmd);
      close(rn->res);
      while (waitpid(rn->pid, &status, 0) < 0 && errno == EINTR) {
      }
      rn->pid = 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) child_failed(r);
    }
    r->runs = rn->n;
    if (r->skipped[0])
      r->ms = NAN;
    else
      r->ms = rn->n ? median(rn->times, rn->n) : r->stopped ? cap_ms : NAN;
  }
}

static const struct row *find_row(const struct pb_workload *w, const char *version) {
  int i;
  for (i = 0; i < nrows; i++)
    if (rows[i].w == w && strcmp(rows[i].v->id, version) == 0 && !isnan(rows[i].ms)) return &rows[i];
  return NULL;
}

/* The faster of oneTBB and OpenMP. */
static const struct row *best_peer(const struct pb_workload *w) {
  const struct row *tbb = find_row(w, "tbb"), *omp = find_row(w, "omp");
  if (tbb && omp) return tbb->ms <= omp->ms ? tbb : omp;
  return tbb ? tbb : omp;
}

static const char *short_name(const struct row *r) {
  if (!r) return "-";
  if (strcmp(r->v->id, "tbb") == 0) return "oneTBB";
  if (strcmp(r->v->id, "omp") == 0) return "OpenMP";
  if (strcmp(r->v->id, "rayon") == 0) return "Rayon";
  return r->v->id;
}

/* ---- the targets (issue 10) ---- */

struct target {
  const char *workload, *version; /* the row held to it */
  const char *ref;                /* a version id of the same workload, or "peer" */
  double limit;
  const char *what;
};

static const struct target targets[] = {
    {"fib", "te_c", "rayon", 1.10, "fib(32), te_join(NULL) per call <= 1.10x rayon::join"},
    {"fib", "te_c", "te_c_engine", 1.05, "fib(32), te_join(NULL) <= 1.05x the engine passed down"},
    {"fib", "te_cpp", "tbb", 1.00, "fib(32), C++ TaskGroup per call <= 1.00x oneTBB"},
    {"fib", "te_rust", "rayon", 1.00, "fib(32), Rust Engine::join <= 1.00x rayon::join (no regression)"},
    {"nqueens", "te_c", "tbb", 1.00, "nqueens(12), C te_group per node <= 1.00x oneTBB"},
    {"nqueens", "te_cpp", "tbb", 1.00, "nqueens(12), C++ TaskGroup per node <= 1.00x oneTBB"},
    {"spawn", "te_c", "omp", 1.00, "1M te_group_spawn from main <= 1.00x OpenMP from one thread"},
};
enum { NTARGETS = sizeof targets / sizeof targets[0] };

static int lower_bound(const struct row *r) { return r->stopped && r->runs == 0; }

/* A target's outcome: ratio = the row's time / the reference's (NAN when one
 * is missing); prefix "> " or "< " when a time is only a bound; met 1, 0, or
 * -1 when a bound cannot tell. */
struct outcome {
  const struct row *ref;
  double ratio;
  const char *prefix;
  int met;
};

static struct outcome judge(const struct target *t, const struct row *r) {
  struct outcome o;
  o.ref = strcmp(t->ref, "peer") == 0 ? best_peer(r->w) : find_row(r->w, t->ref);
  o.ratio = NAN;
  o.prefix = "";
  o.met = -1;
  if (!o.ref || isnan(r->ms) || (lower_bound(r) && lower_bound(o.ref))) return o;
  o.ratio = r->ms / o.ref->ms;
  if (lower_bound(r)) {
    o.prefix = "> ";
    o.met = o.ratio > t->limit ? 0 : -1;
  } else if (lower_bound(o.ref)) {
    o.prefix = "< ";
    o.met = o.ratio <= t->limit ? 1 : -1;
  } else {
    o.met = o.ratio <= t->limit;
  }
  return o;
}

static const char *met_word(int met) { return met == 1 ? "met" : met == 0 ? "MISSED" : "unknown"; }

/* The target a row is held to: its first specific one, else (taskengine rows)
 * the best peer's time. */
static int row_target(const struct row *r, struct target *out) {
  int i;
  if (r->v->kind != PB_OURS) return 0;
  for (i = 0; i < NTARGETS; i++)
    if (strcmp(targets[i].workload, r->w->id) == 0 && strcmp(targets[i].version, r->v->id) == 0) {
      *out = targets[i];
      return 1;
    }
  out->workload = r->w->id;
  out->version = r->v->id;
  out->ref = "peer";
  out->limit = 1.00;
  out->what = "<= 1.00x the best peer";
  return 1;
}

/* What a target compares with: the peer's name once known. */
static const char *ref_label(const struct target *t, const struct row *ref) {
  if (ref) return short_name(ref);
  if (strcmp(t->ref, "tbb") == 0) return "oneTBB";
  if (strcmp(t->ref, "omp") == 0) return "OpenMP";
  if (strcmp(t->ref, "rayon") == 0) return "Rayon";
  return strcmp(t->ref, "peer") == 0 ? "best peer" : t->ref;
}

static void format_ms(double ms, char *buf, size_t len) {
  if (isnan(ms))
    snprintf(buf, len, "-");
  else if (ms >= 1000)
    snprintf(buf, len, "%.2f s", ms / 1000);
  else
    snprintf(buf, len, "%.1f ms", ms);
}

static void print_table(void) {
  int i;
  const struct pb_workload *last = NULL;
  printf("\n%-28s %-38s %11s %4s %9s %16s  %s\n", "workload", "version", "median", "runs", "vs serial",
         "vs best peer", "target");
  for (i = 0; i < nrows; i++) {
    const struct row *r = &rows[i];
    const struct row *serial = find_row(r->w, "serial"), *peer = best_peer(r->w);
    char time[24], speed[16], vs_peer[40], tgt[64], runs[8];
    const char *bound;
    struct target t;
    if (r->w != last) printf("\n");
    if (r->skipped[0]) {
      printf("%-28s %-38s %s\n", r->w != last ? r->w->name : "", r->v->name, r->skipped);
      last = r->w;
      continue;
    }
    /* Stopped before any run ended: the cap is a lower bound of the time. */
    bound = r->stopped && r->runs == 0 ? "> " : "";
    format_ms(r->ms, time + strlen(strcpy(time, bound)), sizeof time - strlen(bound));
    if (serial)
      snprintf(speed, sizeof speed, "%s%.2fx", r->stopped && r->runs == 0 ? "< " : "", serial->ms / r->ms);
    else
      snprintf(speed, sizeof speed, "-");
    if (peer && r->v->kind != PB_SERIAL)
      snprintf(vs_peer, sizeof vs_peer, "%s%.2fx %s", bound, r->ms / peer->ms, short_name(peer));
    else
      snprintf(vs_peer, sizeof vs_peer, "-");
    snprintf(runs, sizeof runs, "%d%s", r->runs, r->stopped ? "*" : "");
    tgt[0] = 0;
    if (row_target(r, &t)) {
      struct outcome o = judge(&t, r);
      if (isnan(o.ratio))
        snprintf(tgt, sizeof tgt, "<=%.2fx %s: n/a", t.limit, ref_label(&t, o.ref));
      else
        snprintf(tgt, sizeof tgt, "<=%.2fx %s: %s%.2fx %s", t.limit, ref_label(&t, o.ref), o.prefix, o.ratio,
                 met_word(o.met));
    }
    printf("%-28s %-38s %11s %4s %9s %16s  %s\n", r->w != last ? r->w->name : "", r->v->name, time, runs, speed,
           vs_peer, tgt);
    last = r->w;
  }
  printf("\nvs serial: serial time / this time (higher is better); vs best peer: this time / the faster of "
         "oneTBB and OpenMP (lower is better);\n* a run was stopped at %.0f s (TE_BENCH_CAP_MS): the median of the runs "
         "that finished, or with none, the cap as a lower bound\n",
         cap_ms / 1000);
}

static const struct row *target_row(const struct target *t) {
  int i;
  for (i = 0; i < nrows; i++)
    if (strcmp(rows[i].w->id, t->workload) == 0 && strcmp(rows[i].v->id, t->version) == 0) return &rows[i];
  return NULL;
}

static void print_targets(void) {
  int i, met = 0, total = 0;
  printf("\ntargets:\n");
  for (i = 0; i < NTARGETS; i++) {
    const struct row *r = target_row(&targets[i]);
    struct outcome o;
    if (!r) continue;
    o = judge(&targets[i], r);
    if (isnan(o.ratio))
      printf("  %-66s    n/a\n", targets[i].what);
    else
      printf("  %-66s %2s%5.2fx %s\n", targets[i].what, o.prefix, o.ratio, met_word(o.met));
  }
  for (i = 0; i < nrows; i++) {
    struct target t;
    if (strcmp(rows[i].w->id, "spawn") == 0 || !row_target(&rows[i], &t)) continue;
    t.ref = "peer";
    t.limit = 1.00;
    if (isnan(judge(&t, &rows[i]).ratio)) continue;
    total++;
    met += judge(&t, &rows[i]).met == 1;
  }
  if (total)
    printf("  %-66s %d of %d met\n", "BOTS workloads, each taskengine row <= 1.00x the best peer", met, total);
}

static void json_number(FILE *f, double v) {
  if (isnan(v) || isinf(v))
    fprintf(f, "null");
  else
    fprintf(f, "%.6g", v);
}

/* "ref", "limit", "ratio" (a bound when "bound" says so) and "met" (null when unknown). */
static void json_target(FILE *f, const struct target *t, const struct row *r, const char *open, const char *close) {
  struct outcome o = judge(t, r);
  fprintf(f, "%s\"ref\": \"%s\", \"limit\": %.2f, \"ratio\": ", open, ref_label(t, o.ref), t->limit);
  json_number(f, o.ratio);
  if (o.prefix[0]) fprintf(f, ", \"bound\": \"%s\"", o.prefix[0] == '>' ? "lower" : "upper");
  fprintf(f, ", \"met\": %s%s", o.met == 1 ? "true" : o.met == 0 ? "false" : "null", close);
}

static void write_json(const char *path, const char *load_start, const char *load_end) {
  FILE *f = fopen(path, "w");
  int i, first = 1;
  if (!f) {
    fprintf(stderr, "patterns: cannot write %s\n", path);
    return;
  }
  fprintf(f, "{\n  \"benchmark\": \"patterns\",\n  \"taskengine\": \"%s\",\n  \"threads\": %u,\n", te_version(),
          threads);
  fprintf(f, "  \"max_runs\": %d,\n  \"loadavg_start\": \"%s\",\n  \"loadavg_end\": \"%s\",\n  \"rows\": [", reps,
          load_start, load_end);
  for (i = 0; i < nrows; i++) {
    const struct row *r = &rows[i], *serial = find_row(r->w, "serial"), *peer = best_peer(r->w);
    static const char *const kinds[] = {"serial", "taskengine", "oneTBB", "OpenMP", "other"};
    struct target t;
    fprintf(f, "%s\n    {\"workload\": \"%s\", \"workload_name\": \"%s\", \"version\": \"%s\", \"name\": \"%s\", ",
            i ? "," : "", r->w->id, r->w->name, r->v->id, r->v->name);
    fprintf(f, "\"kind\": \"%s\", \"median_ms\": ", kinds[r->v->kind]);
    json_number(f, r->ms);
    fprintf(f, ", \"runs\": %d, \"vs_serial\": ", r->runs);
    json_number(f, serial ? serial->ms / r->ms : NAN);
    fprintf(f, ", \"vs_best_peer\": ");
    json_number(f, peer && r->v->kind != PB_SERIAL ? r->ms / peer->ms : NAN);
    fprintf(f, ", \"best_peer\": \"%s\"", short_name(peer));
    if (row_target(r, &t)) json_target(f, &t, r, ", \"target\": {", "}");
    if (r->stopped) fprintf(f, ", \"stopped_at_ms\": %.0f, \"lower_bound\": %s", cap_ms, r->runs ? "false" : "true");
    if (r->skipped[0]) fprintf(f, ", \"skipped\": \"%s\"", r->skipped);
    fprintf(f, "}");
  }
  fprintf(f, "\n  ],\n  \"targets\": [");
  for (i = 0; i < NTARGETS; i++) {
    const struct row *r = target_row(&targets[i]);
    if (!r) continue;
    fprintf(f, "%s\n    {\"what\": \"%s\", ", first ? "" : ",", targets[i].what);
    json_target(f, &targets[i], r, "", "}");
    first = 0;
  }
  fprintf(f, "\n  ]\n}\n");
  fclose(f);
}

static int selected(const char *only, const char *id) {
  size_t n = strlen(id);
  const char *p = only;
  if (!only || !*only) return 1;
  while ((p = strstr(p, id)) != NULL) {
    if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    p += n;
  }
  return 0;
}

int main(void) {
  const char *only = getenv("TE_BENCH_ONLY");
  const char *json = getenv("TE_BENCH_PATTERNS_JSON");
  int have_tbb = pb_tbb_available(), wi, vi, fork_each;
  char load_start[32], load_end[32];
  double started = now_ms();

  threads = (unsigned)env_long("TE_BENCH_THREADS", 2, 1, 256);
  reps = (int)env_long("TE_BENCH_REPS", 5, 1, MAX_REPS);
  budget_ms = (double)env_long("TE_BENCH_BUDGET_MS", 2500, 0, 600000);
  cap_ms = (double)env_long("TE_BENCH_CAP_MS", 10000, 100, 3600000);
  fork_each = (int)env_long("TE_BENCH_FORK", 1, 0, 1);
  if (!fork_each && (pb_te_init(threads) || pb_tecpp_init(threads) || pb_omp_init(threads) ||
                     (have_tbb && pb_tbb_init(threads))))
    return EXIT_FAILURE;
  loadavg(load_start, sizeof load_start);

  printf("taskengine %s patterns benchmark: %u threads for every runtime (TE_BENCH_THREADS), median of up to %d "
         "runs, one a round (TE_BENCH_REPS),\nfewer past %.0f ms per version (TE_BENCH_BUDGET_MS), a run stopped at %.0f s "
         "(TE_BENCH_CAP_MS); load average %s at the start\n",
         te_version(), threads, reps, budget_ms, cap_ms / 1000, load_start);
  fflush(stdout);

  for (wi = 0; wi < pb_nworkloads; wi++) {
    const struct pb_workload *w = &pb_workloads[wi];
    int first = nrows;
    if (!selected(only, w->id)) continue;
    for (vi = 0; vi < 10 && w->versions[vi].id; vi++) {
      const struct pb_version *v = &w->versions[vi];
      struct row *r;
      if (nrows == MAX_ROWS) {
        fprintf(stderr, "patterns: more than %d rows\n", MAX_ROWS);
        return EXIT_FAILURE;
      }
      r = &rows[nrows++];
      memset(r, 0, sizeof *r);
      r->w = w;
      r->v = v;
      r->ms = NAN;
      if (v->kind == PB_TBB && !have_tbb)
        snprintf(r->skipped, sizeof r->skipped, "skipped: oneTBB not installed (libtbb-dev)");
      if (v->program_env && !(getenv(v->program_env) && *getenv(v->program_env)))
        snprintf(r->skipped, sizeof r->skipped, "skipped: %s not set", v->program_env);
    }
    if (w->setup) w->setup();
    measure_workload(first, nrows, fork_each);
    if (w->teardown) w->teardown();
  }

  loadavg(load_end, sizeof load_end);
  print_table();
  print_targets();
  printf("\n%.0f s in all; load average %s at the end, on %ld CPUs (a load above the CPU count means other "
         "work shared them)\n",
         (now_ms() - started) / 1000, load_end, sysconf(_SC_NPROCESSORS_ONLN));
  if (json && *json) {
    write_json(json, load_start, load_end);
    printf("JSON: %s\n", json);
  }
  return 0;
}
