/* The patterns benchmark's shared pieces: the BOTS workloads' sequential
 * kernels (one compiled copy, so every version computes bit for bit the same
 * thing), their sizes, and the entry points of the C++ versions (taskengine's
 * TaskGroup and oneTBB's task_group), which live in C++ translation units.
 *
 * Every parallel version has the same shape as the serial one; only the way it
 * forks and waits differs, written as that runtime's users write it. */
#ifndef TE_BENCH_PATTERNS_H
#define TE_BENCH_PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sizes ---- */

enum {
  PB_FIB_N = 32,
  PB_NQ_N = 12,         /* nqueens board */
  PB_NQ_MAX = 16,       /* largest board a node's child array holds */
  PB_SORT_CUTOFF = 2048, /* BOTS sort: sequential quicksort below this */
  PB_MERGE_CUTOFF = 2048, /* BOTS sort: sequential merge when the smaller run is below this */
  PB_INSERTION = 20,     /* BOTS sort: insertion sort below this */
  PB_LU_NB = 50,         /* sparselu: blocks per side (BOTS: 50) */
  PB_LU_BS = 50,         /* sparselu: block side */
  PB_MM_N = 1024,        /* strassen: matrix side */
  PB_MM_CUTOFF = 64,     /* strassen: plain multiply at or below this side */
  PB_UTS_MAX_CHILDREN = 100,
  PB_SPAWNS = 1000000
};

extern size_t pb_sort_n; /* elements sorted (1e7) */

/* ---- nqueens (BOTS): a[0..n) holds the column of the queen in each row ---- */

/* 1 if no two of the n queens in a[0..n) attack each other (BOTS ok()). */
int pb_nq_ok(int n, const char *a);

/* ---- sort (BOTS cilksort, in two halves): int64 keys ---- */

typedef int64_t pb_elm;

/* Sorts a[0..n) in place: quicksort with a median-of-three pivot, insertion sort
 * below PB_INSERTION (BOTS seqquick). */
void pb_seqquick(pb_elm *a, size_t n);
/* Merges sorted a[0..na) and b[0..nb) into d (BOTS seqmerge). */
void pb_seqmerge(const pb_elm *a, size_t na, const pb_elm *b, size_t nb, pb_elm *d);
/* One step of the parallel merge d = merge(a[0..na), b[0..nb)) (BOTS
 * cilkmerge): 1 when it merged sequentially (the smaller run is below
 * PB_MERGE_CUTOFF); else 0, with a made the larger run, its middle a[*ma]
 * stored at d[*ma + *mb], and two merges left, independent of each other:
 * (a, *ma) with (b, *mb) into d, and (a + *ma + 1, *na - *ma - 1) with
 * (b + *mb, *nb - *mb) into d + *ma + *mb + 1. */
int pb_merge_step(const pb_elm **a, size_t *na, const pb_elm **b, size_t *nb, pb_elm *d, size_t *ma, size_t *mb);
/* How many of the sorted b[0..nb) are less than v. */
size_t pb_lower_bound(const pb_elm *b, size_t nb, pb_elm v);

/* ---- sparselu (BOTS): an NB x NB matrix of BS x BS float blocks, NULL = zero ---- */

void pb_lu0(float *diag);
void pb_fwd(const float *diag, float *col);
void pb_bdiv(const float *diag, float *row);
void pb_bmod(const float *row, const float *col, float *inner);
/* A zeroed block for a fill-in (BOTS allocate_clean_block); exits on failure. */
float *pb_lu_clean_block(void);

/* ---- strassen (BOTS): C = A * B on n x n doubles, row strides given ---- */

/* The plain multiply used at and below PB_MM_CUTOFF. */
void pb_mm_leaf(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t n);

/* One recursion level: seven half-size products M1..M7, each formed from sums
 * of quarters; begin allocates the level's scratch, product k (0..6) forms its
 * operands (one task each) and says what to multiply, end adds the products
 * into C and frees the scratch. */
struct pb_mm_node {
  double *c;
  const double *a, *b;
  size_t ldc, lda, ldb, h;
  double *work; /* 7 products and their operands, h*h each */
};
void pb_mm_begin(struct pb_mm_node *node, double *c, size_t ldc, const double *a, size_t lda, const double *b,
                 size_t ldb, size_t n);
struct pb_mm_product {
  double *m;
  const double *x, *y;
  size_t ldx, ldy;
};
struct pb_mm_product pb_mm_operands(const struct pb_mm_node *node, int k);
void pb_mm_end(struct pb_mm_node *node);

/* ---- uts (Unbalanced Tree Search, T1: geometric, fixed depth 10, b0 = 4,
 * root seed 19; children's states by SHA-1 as in UTS's BRG RNG) ---- */

struct pb_uts_node {
  int height;
  int children;
  unsigned char state[20];
};
void pb_uts_root(struct pb_uts_node *root);
/* The i-th child of `parent`, with its own child count computed. */
void pb_uts_child(const struct pb_uts_node *parent, int i, struct pb_uts_node *child);
/* SHA-1 of a buffer (checked against FIPS 180 vectors at start-up). */
void pb_sha1(const void *data, size_t len, unsigned char out[20]);

/* ---- the C++ versions (patterns_te.cpp, patterns_tbb.cpp) ----
 * Each returns 0 on success, non-zero (after a message on stderr) on a failure
 * of the runtime. init starts the runtime, once, before any timing (in the
 * child process that runs the version: patterns.c). */

#define PB_CPP_VERSIONS(P)                                                      \
  int P##_init(unsigned threads);                                               \
  int P##_fib(unsigned n, uint64_t *out);                                       \
  int P##_nqueens(int n, uint64_t *out);                                        \
  int P##_sort(pb_elm *data, pb_elm *tmp, size_t n);                            \
  int P##_sparselu(float **blocks);                                             \
  int P##_strassen(double *c, const double *a, const double *b, size_t n);      \
  int P##_uts(uint64_t *out);                                                   \
  int P##_spawns(long n, long *out_count);

PB_CPP_VERSIONS(pb_tecpp)
PB_CPP_VERSIONS(pb_tbb)
/* 0 when the program was built without oneTBB (its rows are then skipped). */
int pb_tbb_available(void);

/* ---- the table the harness (patterns.c) runs: the C versions live in
 * patterns_c.c ---- */

/* PB_OTHER: a peer that is not one of the best peer's candidates (Rayon). */
enum pb_kind { PB_SERIAL, PB_OURS, PB_TBB, PB_OMP, PB_OTHER };

struct pb_version {
  const char *id;   /* short, for the JSON summary and the targets */
  const char *name; /* as printed */
  enum pb_kind kind;
  int (*run)(void); /* 0 on success; NULL for a program of its own: */
  const char *program_env; /* the variable naming it (it prints its time in ms) */
};

struct pb_workload {
  const char *id;
  const char *name;
  void (*setup)(void);        /* once, untimed: inputs */
  void (*prepare)(void);      /* before each run, untimed: a fresh copy of the input */
  int (*verify)(int serial);  /* after each run, untimed: 1 if the result is right */
  void (*teardown)(void);
  struct pb_version versions[10];
};

extern const struct pb_workload pb_workloads[];
extern const int pb_nworkloads;
/* Start taskengine's engine for the C versions, and OpenMP's team. */
int pb_te_init(unsigned threads);
int pb_omp_init(unsigned threads);

#ifdef __cplusplus
}
#endif

#endif
