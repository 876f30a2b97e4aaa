/* te_arena: both kinds, good and bad input, from several threads; a large
 * capacity is reserved, not committed. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <unistd.h>

#include "check.h"

static void test_bump_basics(void) {
  te_arena *arena = NULL;
  te_arena_usage st;
  void *p = NULL, *q = NULL, *r = NULL;
  CHECK_STATUS(TE_OK, te_arena_new(TE_ARENA_BUMP, 1 << 16, &arena));
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, 100, 8, &p));
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, 10, 64, &q));
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, 0, 1, &r));
  CHECK(p && q && r && p != q && q != r && p != r);
  CHECK(((uintptr_t)p & 7) == 0 && ((uintptr_t)q & 63) == 0);
  /* The memory is usable and distinct. */
  memset(p, 0xAA, 100);
  memset(q, 0xBB, 10);
  CHECK(((unsigned char *)p)[99] == 0xAA && ((unsigned char *)q)[0] == 0xBB);
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.kind == TE_ARENA_BUMP && st.capacity == 1 << 16 && st.allocations == 3);
  CHECK(st.used >= 111 && st.used <= 111 + 64 + 8 && st.free_bytes == st.capacity - st.used);
  /* A bump dealloc checks the pointer but gives nothing back. */
  CHECK_STATUS(TE_OK, te_arena_dealloc(arena, p));
  CHECK_STATUS(TE_OK, te_arena_dealloc(arena, NULL));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_dealloc(arena, &st));
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.invalid_frees == 1);
  /* Exhaustion: an error, never a wild pointer; the output untouched. */
  p = &st;
  CHECK_STATUS(TE_ERR_NO_MEMORY, te_arena_alloc(arena, 1 << 20, 8, &p));
  CHECK_STATUS(TE_ERR_NO_MEMORY, te_arena_alloc(arena, SIZE_MAX, 8, &p));
  CHECK(p == &st);
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.failed_allocations == 2);
  /* Reset takes everything back; the peak remembers. */
  CHECK_STATUS(TE_OK, te_arena_reset(arena));
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.used == 0 && st.peak >= 111);
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, (1 << 16) - 64, 1, &p));
  te_arena_free(arena);
  te_arena_free(NULL);
}

static void test_free_list_basics(void) {
  te_arena *arena = NULL;
  te_arena_usage st, fresh;
  void *blocks[64];
  int i;
  CHECK_STATUS(TE_OK, te_arena_new(TE_ARENA_FREE_LIST, 1 << 16, &arena));
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &fresh));
  CHECK(fresh.kind == TE_ARENA_FREE_LIST && fresh.free_blocks == 1 && fresh.fragmentation == 0.0);
  for (i = 0; i < 64; i++) {
    CHECK_STATUS(TE_OK, te_arena_alloc(arena, 16 + (size_t)i * 8, 16, &blocks[i]));
    memset(blocks[i], i, 16 + (size_t)i * 8);
  }
  for (i = 0; i < 64; i++) CHECK(((unsigned char *)blocks[i])[15] == (unsigned char)i);
  /* Free every other block: fragmented. */
  for (i = 0; i < 64; i += 2) CHECK_STATUS(TE_OK, te_arena_dealloc(arena, blocks[i]));
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.free_blocks > 1 && st.fragmentation > 0.0);
  /* Double free, interior and foreign pointers: reported, nothing changes. */
  CHECK_STATUS(TE_ERR_INVALID, te_arena_dealloc(arena, blocks[0]));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_dealloc(arena, (char *)blocks[1] + 8));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_dealloc(arena, &st));
  /* Free the rest: coalesced back into one block of the original size. */
  for (i = 1; i < 64; i += 2) CHECK_STATUS(TE_OK, te_arena_dealloc(arena, blocks[i]));
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.free_blocks == 1 && st.free_bytes == fresh.free_bytes && st.largest_free_block == fresh.largest_free_block);
  CHECK(st.invalid_frees == 3 && st.allocations == 64);
  /* Reset frees everything at once. */
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, 1000, 16, &blocks[0]));
  CHECK_STATUS(TE_OK, te_arena_reset(arena));
  CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
  CHECK(st.free_bytes == fresh.free_bytes && st.free_blocks == 1);
  te_arena_free(arena);
}

static void test_bad_input(void) {
  te_arena *const sentinel = (te_arena *)(void *)&sentinel;
  te_arena *arena = sentinel;
  void *p = &arena;
  te_arena_usage st;
  memset(&st, 0x33, sizeof st);
  CHECK_STATUS(TE_ERR_INVALID, te_arena_new(7, 4096, &arena));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_new(TE_ARENA_BUMP, 0, &arena));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_new(TE_ARENA_FREE_LIST, 8, &arena));
  CHECK(arena == sentinel);
  CHECK_STATUS(TE_ERR_NULL, te_arena_new(TE_ARENA_BUMP, 4096, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_arena_alloc(NULL, 8, 8, &p));
  CHECK_STATUS(TE_ERR_NULL, te_arena_dealloc(NULL, p));
  CHECK_STATUS(TE_ERR_NULL, te_arena_reset(NULL));
  CHECK_STATUS(TE_ERR_NULL, te_arena_stats(NULL, &st));
  CHECK(st.capacity == (size_t)0x3333333333333333ull);

  arena = NULL;
  CHECK_STATUS(TE_OK, te_arena_new(TE_ARENA_FREE_LIST, 4096, &arena));
  CHECK_STATUS(TE_ERR_NULL, te_arena_alloc(arena, 8, 8, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_arena_stats(arena, NULL));
  /* Alignment: a power of two up to 4096. */
  CHECK_STATUS(TE_ERR_INVALID, te_arena_alloc(arena, 8, 3, &p));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_alloc(arena, 8, 0, &p));
  CHECK_STATUS(TE_ERR_INVALID, te_arena_alloc(arena, 8, 8192, &p));
  CHECK(p == &arena);
  te_arena_free(arena);
}

/* Four threads allocate from one bump arena and one free list at once: every
 * block is distinct (each thread fills its blocks and checks them after). */
struct worker {
  te_arena *arena;
  int id;
  int bad;
};

static void *hammer(void *arg) {
  struct worker *w = arg;
  unsigned char *mine[200];
  int i, k;
  for (i = 0; i < 200; i++) {
    size_t size = 8 + (size_t)((i * 37 + w->id * 11) % 120);
    if (te_arena_alloc(w->arena, size, 8, (void **)&mine[i]) != TE_OK) {
      w->bad++;
      mine[i] = NULL;
      continue;
    }
    memset(mine[i], w->id * 50 + i % 50, size);
  }
  for (i = 0; i < 200; i++) {
    size_t size = 8 + (size_t)((i * 37 + w->id * 11) % 120);
    if (!mine[i]) continue;
    for (k = 0; k < (int)size; k++)
      if (mine[i][k] != (unsigned char)(w->id * 50 + i % 50)) {
        w->bad++;
        break;
      }
    if (te_arena_dealloc(w->arena, mine[i]) != TE_OK) w->bad++;
  }
  return NULL;
}

static void test_threads(void) {
  uint32_t kinds[2] = {TE_ARENA_BUMP, TE_ARENA_FREE_LIST};
  int k, t;
  for (k = 0; k < 2; k++) {
    te_arena *arena = NULL;
    pthread_t threads[4];
    struct worker w[4];
    te_arena_usage st;
    CHECK_STATUS(TE_OK, te_arena_new(kinds[k], 1 << 20, &arena));
    for (t = 0; t < 4; t++) {
      w[t].arena = arena;
      w[t].id = t;
      w[t].bad = 0;
      CHECK(pthread_create(&threads[t], NULL, hammer, &w[t]) == 0);
    }
    for (t = 0; t < 4; t++) {
      CHECK(pthread_join(threads[t], NULL) == 0);
      CHECK(w[t].bad == 0);
    }
    CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
    CHECK(st.allocations == 800 && st.invalid_frees == 0);
    if (kinds[k] == TE_ARENA_FREE_LIST) CHECK(st.free_blocks == 1);
    te_arena_free(arena);
  }
}

/* Resident memory of this process, in bytes (the kernel's count). */
static size_t resident_bytes(void) {
  unsigned long size = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  fclose(f);
  return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* A 4 GiB arena of either kind costs address space, not memory: a few
 * allocations used leave the resident size far below the capacity. A
 * capacity no machine can reserve is TE_ERR_NO_MEMORY, with *out untouched. */
static void test_large_capacity_is_reserved_lazily(void) {
  const size_t capacity = (size_t)4 << 30;
  uint32_t kinds[2] = {TE_ARENA_BUMP, TE_ARENA_FREE_LIST};
  int k, i;
  if (sizeof(size_t) < 8) return;
  for (k = 0; k < 2; k++) {
    te_arena *arena = NULL;
    te_arena_usage st;
    size_t before = resident_bytes(), after;
    CHECK(before > 0);
    CHECK_STATUS(TE_OK, te_arena_new(kinds[k], capacity, &arena));
    if (!arena) continue;
    for (i = 0; i < 8; i++) {
      unsigned char *p = NULL;
      CHECK_STATUS(TE_OK, te_arena_alloc(arena, 1 << 16, 64, (void **)&p));
      if (p) memset(p, i + 1, 1 << 16);
    }
    CHECK_STATUS(TE_OK, te_arena_stats(arena, &st));
    CHECK(st.capacity > capacity / 2 && st.allocations == 8);
    after = resident_bytes();
    printf("  kind %u: 4 GiB arena, 8 x 64 KiB used: resident +%zu KiB\n", (unsigned)kinds[k],
           after > before ? (after - before) >> 10 : 0);
    CHECK(after < before + ((size_t)64 << 20));
    /* A reset of a free list clears its bitmaps without committing them. */
    CHECK_STATUS(TE_OK, te_arena_reset(arena));
    CHECK(resident_bytes() < before + ((size_t)64 << 20));
    te_arena_free(arena);
  }
  for (k = 0; k < 2; k++) {
    te_arena *const sentinel = (te_arena *)(void *)&sentinel;
    te_arena *arena = sentinel;
    CHECK_STATUS(TE_ERR_NO_MEMORY, te_arena_new(kinds[k], (size_t)1 << 60, &arena));
    CHECK_STATUS(TE_ERR_NO_MEMORY, te_arena_new(kinds[k], SIZE_MAX, &arena));
    CHECK(arena == sentinel);
  }
}

/* te_arena_destroy is the deprecated name of te_arena_free: still there, and
 * NULL is still a no-op. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
static void test_deprecated_destroy(void) {
  te_arena *arena = NULL;
  void *p = NULL;
  CHECK_STATUS(TE_OK, te_arena_new(TE_ARENA_FREE_LIST, 1 << 16, &arena));
  CHECK_STATUS(TE_OK, te_arena_alloc(arena, 64, 8, &p));
  te_arena_destroy(arena);
  te_arena_destroy(NULL);
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

int main(void) {
  RUN(test_bump_basics);
  RUN(test_free_list_basics);
  RUN(test_bad_input);
  RUN(test_threads);
  RUN(test_large_capacity_is_reserved_lazily);
  RUN(test_deprecated_destroy);
  TEST_DONE();
}
