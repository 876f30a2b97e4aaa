/* The sequential kernels of the patterns benchmark's BOTS workloads, shared by
 * every version (serial, taskengine C and C++, oneTBB, OpenMP). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patterns.h"

size_t pb_sort_n = 10000000;

/* ---- nqueens ---- */

int pb_nq_ok(int n, const char *a) {
  int i, j;
  for (i = 0; i < n; i++) {
    char p = a[i];
    for (j = i + 1; j < n; j++) {
      char q = a[j];
      if (q == p || q == p - (j - i) || q == p + (j - i)) return 0;
    }
  }
  return 1;
}

/* ---- sort ---- */

static pb_elm med3(pb_elm a, pb_elm b, pb_elm c) {
  if (a < b) return b < c ? b : (a < c ? c : a);
  return a < c ? a : (b < c ? c : b);
}

static void insertion_sort(pb_elm *a, size_t n) {
  size_t i;
  for (i = 1; i < n; i++) {
    pb_elm v = a[i];
    size_t j = i;
    while (j > 0 && a[j - 1] > v) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
}

void pb_seqquick(pb_elm *a, size_t n) {
  while (n > PB_INSERTION) {
    /* Hoare partition around the median of three: both parts are non-empty,
     * [0, j] <= pivot <= [j + 1, n). */
    pb_elm pivot = med3(a[0], a[n / 2], a[n - 1]), t;
    size_t i = 0, j = n - 1, left;
    for (;;) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i >= j) break;
      t = a[i];
      a[i] = a[j];
      a[j] = t;
      i++;
      j--;
    }
    left = j + 1;
    /* Recurse into the smaller part, loop on the larger: bounded stack. */
    if (left < n - left) {
      pb_seqquick(a, left);
      a += left;
      n -= left;
    } else {
      pb_seqquick(a + left, n - left);
      n = left;
    }
  }
  insertion_sort(a, n);
}

void pb_seqmerge(const pb_elm *a, size_t na, const pb_elm *b, size_t nb, pb_elm *d) {
  size_t i = 0, j = 0;
  while (i < na && j < nb) *d++ = b[j] < a[i] ? b[j++] : a[i++];
  memcpy(d, a + i, (na - i) * sizeof *a);
  memcpy(d + (na - i), b + j, (nb - j) * sizeof *b);
}

int pb_merge_step(const pb_elm **a, size_t *na, const pb_elm **b, size_t *nb, pb_elm *d, size_t *ma, size_t *mb) {
  if (*na < *nb) {
    const pb_elm *t = *a;
    size_t tn = *na;
    *a = *b;
    *na = *nb;
    *b = t;
    *nb = tn;
  }
  if (*nb < PB_MERGE_CUTOFF) {
    pb_seqmerge(*a, *na, *b, *nb, d);
    return 1;
  }
  *ma = *na / 2;
  *mb = pb_lower_bound(*b, *nb, (*a)[*ma]);
  d[*ma + *mb] = (*a)[*ma];
  return 0;
}

size_t pb_lower_bound(const pb_elm *b, size_t nb, pb_elm v) {
  size_t lo = 0, hi = nb;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (b[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* ---- sparselu (BOTS's kernels, unchanged in their loop order) ---- */

#define BS PB_LU_BS

void pb_lu0(float *diag) {
  int i, j, k;
  for (k = 0; k < BS; k++)
    for (i = k + 1; i < BS; i++) {
      diag[i * BS + k] = diag[i * BS + k] / diag[k * BS + k];
      for (j = k + 1; j < BS; j++) diag[i * BS + j] = diag[i * BS + j] - diag[i * BS + k] * diag[k * BS + j];
    }
}

void pb_bdiv(const float *diag, float *row) {
  int i, j, k;
  for (i = 0; i < BS; i++)
    for (k = 0; k < BS; k++) {
      row[i * BS + k] = row[i * BS + k] / diag[k * BS + k];
      for (j = k + 1; j < BS; j++) row[i * BS + j] = row[i * BS + j] - row[i * BS + k] * diag[k * BS + j];
    }
}

void pb_bmod(const float *row, const float *col, float *inner) {
  int i, j, k;
  for (i = 0; i < BS; i++)
    for (j = 0; j < BS; j++)
      for (k = 0; k < BS; k++) inner[i * BS + j] = inner[i * BS + j] - row[i * BS + k] * col[k * BS + j];
}

void pb_fwd(const float *diag, float *col) {
  int i, j, k;
  for (j = 0; j < BS; j++)
    for (k = 0; k < BS; k++)
      for (i = k + 1; i < BS; i++) col[i * BS + j] = col[i * BS + j] - diag[i * BS + k] * col[k * BS + j];
}

float *pb_lu_clean_block(void) {
  float *p = calloc((size_t)BS * BS, sizeof *p);
  if (!p) {
    fprintf(stderr, "patterns: out of memory (sparselu block)\n");
    exit(EXIT_FAILURE);
  }
  return p;
}

#undef BS

/* ---- strassen ---- */

void pb_mm_leaf(double *c, size_t ldc, const double *a, size_t lda, const double *b, size_t ldb, size_t n) {
  size_t i, j, k;
  for (i = 0; i < n; i++) {
    double *ci = c + i * ldc;
    for (j = 0; j < n; j++) ci[j] = 0;
    for (k = 0; k < n; k++) {
      double aik = a[i * lda + k];
      const double *bk = b + k * ldb;
      for (j = 0; j < n; j++) ci[j] += aik * bk[j];
    }
  }
}

/* d = x + sign * y, h x h; d has stride h. */
static void mm_sum(double *d, const double *x, size_t ldx, const double *y, size_t ldy, double sign, size_t h) {
  size_t i, j;
  for (i = 0; i < h; i++)
    for (j = 0; j < h; j++) d[i * h + j] = x[i * ldx + j] + sign * y[i * ldy + j];
}

void pb_mm_begin(struct pb_mm_node *node, double *c, size_t ldc, const double *a, size_t lda, const double *b,
                 size_t ldb, size_t n) {
  size_t h = n / 2;
  node->c = c;
  node->a = a;
  node->b = b;
  node->ldc = ldc;
  node->lda = lda;
  node->ldb = ldb;
  node->h = h;
  /* M1..M7, then two operand blocks per product. */
  node->work = malloc(21 * h * h * sizeof(double));
  if (!node->work) {
    fprintf(stderr, "patterns: out of memory (strassen)\n");
    exit(EXIT_FAILURE);
  }
}

struct pb_mm_product pb_mm_operands(const struct pb_mm_node *node, int k) {
  size_t h = node->h, lda = node->lda, ldb = node->ldb;
  const double *a11 = node->a, *a12 = a11 + h, *a21 = a11 + h * lda, *a22 = a21 + h;
  const double *b11 = node->b, *b12 = b11 + h, *b21 = b11 + h * ldb, *b22 = b21 + h;
  double *x = node->work + (7 + 2 * (size_t)k) * h * h, *y = x + h * h;
  struct pb_mm_product p;
  p.m = node->work + (size_t)k * h * h;
  p.x = x;
  p.y = y;
  p.ldx = h;
  p.ldy = h;
  switch (k) {
  case 0: /* M1 = (A11 + A22)(B11 + B22) */
    mm_sum(x, a11, lda, a22, lda, 1, h);
    mm_sum(y, b11, ldb, b22, ldb, 1, h);
    break;
  case 1: /* M2 = (A21 + A22) B11 */
    mm_sum(x, a21, lda, a22, lda, 1, h);
    p.y = b11;
    p.ldy = ldb;
    break;
  case 2: /* M3 = A11 (B12 - B22) */
    p.x = a11;
    p.ldx = lda;
    mm_sum(y, b12, ldb, b22, ldb, -1, h);
    break;
  case 3: /* M4 = A22 (B21 - B11) */
    p.x = a22;
    p.ldx = lda;
    mm_sum(y, b21, ldb, b11, ldb, -1, h);
    break;
  case 4: /* M5 = (A11 + A12) B22 */
    mm_sum(x, a11, lda, a12, lda, 1, h);
    p.y = b22;
    p.ldy = ldb;
    break;
  case 5: /* M6 = (A21 - A11)(B11 + B12) */
    mm_sum(x, a21, lda, a11, lda, -1, h);
    mm_sum(y, b11, ldb, b12, ldb, 1, h);
    break;
  default: /* M7 = (A12 - A22)(B21 + B22) */
    mm_sum(x, a12, lda, a22, lda, -1, h);
    mm_sum(y, b21, ldb, b22, ldb, 1, h);
    break;
  }
  return p;
}

void pb_mm_end(struct pb_mm_node *node) {
  size_t h = node->h, ldc = node->ldc, i, j, hh = h * h;
  const double *m = node->work;
  double *c11 = node->c, *c12 = c11 + h, *c21 = c11 + h * ldc, *c22 = c21 + h;
  for (i = 0; i < h; i++)
    for (j = 0; j < h; j++) {
      size_t e = i * h + j;
      double m1 = m[e], m2 = m[hh + e], m3 = m[2 * hh + e], m4 = m[3 * hh + e];
      double m5 = m[4 * hh + e], m6 = m[5 * hh + e], m7 = m[6 * hh + e];
      c11[i * ldc + j] = m1 + m4 - m5 + m7;
      c12[i * ldc + j] = m3 + m5;
      c21[i * ldc + j] = m2 + m4;
      c22[i * ldc + j] = m1 - m2 + m3 + m6;
    }
  free(node->work);
  node->work = NULL;
}

/* ---- uts ---- */

/* SHA-1 (FIPS 180-4), enough for UTS's short messages. */
static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t hs[5], const unsigned char *p) {
  uint32_t w[80], a = hs[0], b = hs[1], c = hs[2], d = hs[3], e = hs[4];
  int i;
  for (i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  for (i = 0; i < 80; i++) {
    uint32_t f, k, t;
    if (i < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999;
    } else if (i < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1;
    } else if (i < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDC;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6;
    }
    t = rol(a, 5) + f + e + k + w[i];
    e = d;
    d = c;
    c = rol(b, 30);
    b = a;
    a = t;
  }
  hs[0] += a;
  hs[1] += b;
  hs[2] += c;
  hs[3] += d;
  hs[4] += e;
}

void pb_sha1(const void *data, size_t len, unsigned char out[20]) {
  uint32_t hs[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  const unsigned char *p = data;
  unsigned char tail[128];
  size_t full = len / 64 * 64, rest = len - full, tail_len = rest < 56 ? 64 : 128, i;
  uint64_t bits = (uint64_t)len * 8;
  for (i = 0; i < full; i += 64) sha1_block(hs, p + i);
  memset(tail, 0, sizeof tail);
  memcpy(tail, p + full, rest);
  tail[rest] = 0x80;
  for (i = 0; i < 8; i++) tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (i = 0; i < tail_len; i += 64) sha1_block(hs, tail + i);
  for (i = 0; i < 5; i++) {
    out[4 * i] = (unsigned char)(hs[i] >> 24);
    out[4 * i + 1] = (unsigned char)(hs[i] >> 16);
    out[4 * i + 2] = (unsigned char)(hs[i] >> 8);
    out[4 * i + 3] = (unsigned char)hs[i];
  }
}

/* T1: geometric tree, fixed shape (b0 children on average down to depth 10). */
enum { UTS_ROOT_SEED = 19, UTS_DEPTH = 10 };
static const double UTS_B0 = 4.0;

/* UTS's uts_numChildren_geo with the FIXED shape function. */
static int uts_children(const struct pb_uts_node *node) {
  double b = node->height < UTS_DEPTH ? UTS_B0 : 0.0;
  double p = 1.0 / (1.0 + b), u;
  const unsigned char *s = node->state;
  uint32_t r = ((uint32_t)s[16] << 24 | (uint32_t)s[17] << 16 | (uint32_t)s[18] << 8 | s[19]) & 0x7fffffff;
  int n;
  u = (double)r / 2147483648.0;
  n = (int)floor(log(1 - u) / log(1 - p));
  return n > PB_UTS_MAX_CHILDREN ? PB_UTS_MAX_CHILDREN : n;
}

void pb_uts_root(struct pb_uts_node *root) {
  unsigned char seed[20] = {0};
  seed[16] = (unsigned char)(UTS_ROOT_SEED >> 24);
  seed[17] = (unsigned char)(UTS_ROOT_SEED >> 16);
  seed[18] = (unsigned char)(UTS_ROOT_SEED >> 8);
  seed[19] = (unsigned char)UTS_ROOT_SEED;
  pb_sha1(seed, sizeof seed, root->state);
  root->height = 0;
  root->children = uts_children(root);
}

void pb_uts_child(const struct pb_uts_node *parent, int i, struct pb_uts_node *child) {
  unsigned char msg[24];
  memcpy(msg, parent->state, 20);
  msg[20] = (unsigned char)((unsigned)i >> 24);
  msg[21] = (unsigned char)((unsigned)i >> 16);
  msg[22] = (unsigned char)((unsigned)i >> 8);
  msg[23] = (unsigned char)i;
  pb_sha1(msg, sizeof msg, child->state);
  child->height = parent->height + 1;
  child->children = uts_children(child);
}
