/* wordfreq: the most frequent words of a text file, counted in parallel.
 *
 *   wordfreq FILE [TOP]      prints "COUNT WORD" lines, most frequent first
 *                            (ties by word), TOP of them (default 10)
 *
 * A word is a maximal run of ASCII letters, compared case-insensitively and
 * printed in lower case. The file is split into byte ranges; te_parallel_reduce
 * counts each range into its own hash table (a word belongs to the range it
 * starts in) and merges neighbouring tables, so no table is ever shared. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskengine.h"

struct entry {
  const char *word; /* points into the text; not NUL-terminated */
  size_t len;
  uint64_t hash;
  size_t count;
};

struct table {
  struct entry *slots;
  size_t cap; /* a power of two */
  size_t used;
};

static int is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* FNV-1a over the lower-cased word. */
static uint64_t hash_word(const char *w, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i;
  for (i = 0; i < len; i++) {
    h ^= (unsigned char)lower(w[i]);
    h *= 0x100000001b3ull;
  }
  return h;
}

static int same_word(const char *a, const char *b, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}

static struct table *table_new(size_t cap) {
  struct table *t = malloc(sizeof *t);
  if (!t) return NULL;
  t->slots = calloc(cap, sizeof *t->slots);
  if (!t->slots) {
    free(t);
    return NULL;
  }
  t->cap = cap;
  t->used = 0;
  return t;
}

static void table_free(struct table *t) {
  if (t) free(t->slots);
  free(t);
}

static struct entry *find_slot(struct entry *slots, size_t cap, const char *w, size_t len, uint64_t h) {
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].word && !(slots[i].hash == h && slots[i].len == len && same_word(slots[i].word, w, len)))
    i = (i + 1) & (cap - 1);
  return &slots[i];
}

/* Adds `count` to the word's entry. Returns 0, or -1 when out of memory. */
static int table_add(struct table *t, const char *w, size_t len, uint64_t h, size_t count) {
  struct entry *e;
  if (2 * (t->used + 1) > t->cap) {
    size_t cap = t->cap * 2, i;
    struct entry *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (i = 0; i < t->cap; i++)
      if (t->slots[i].word) *find_slot(slots, cap, t->slots[i].word, t->slots[i].len, t->slots[i].hash) = t->slots[i];
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
  }
  e = find_slot(t->slots, t->cap, w, len, h);
  if (!e->word) {
    e->word = w;
    e->len = len;
    e->hash = h;
    t->used++;
  }
  e->count += count;
  return 0;
}

struct text {
  const char *data;
  size_t len;
};

enum { OUT_OF_MEMORY = 1 };

/* Counts the words that start in [begin, end) into the table in *acc. */
static int32_t count_range(void *arg, size_t begin, size_t end, void *acc) {
  const struct text *text = arg;
  struct table **slot = acc;
  size_t i = begin;
  if (!*slot && !(*slot = table_new(1024))) return OUT_OF_MEMORY;
  /* A word running into the range from the left belongs to the range before. */
  if (i > 0 && is_letter(text->data[i - 1]))
    while (i < end && is_letter(text->data[i])) i++;
  while (i < end) {
    size_t start;
    while (i < end && !is_letter(text->data[i])) i++;
    if (i == end) break;
    start = i;
    while (i < text->len && is_letter(text->data[i])) i++; /* may run past end */
    if (table_add(*slot, text->data + start, i - start, hash_word(text->data + start, i - start), 1) != 0)
      return OUT_OF_MEMORY;
  }
  return 0;
}

/* Merges the right neighbour's table into the left one and frees it. */
static int32_t merge_tables(void *arg, void *acc, const void *other) {
  struct table **left = acc;
  struct table *right = *(struct table *const *)other;
  size_t i;
  (void)arg;
  if (!right) return 0;
  if (!*left) {
    *left = right;
    return 0;
  }
  for (i = 0; i < right->cap; i++) {
    const struct entry *e = &right->slots[i];
    if (e->word && table_add(*left, e->word, e->len, e->hash, e->count) != 0) return OUT_OF_MEMORY;
  }
  table_free(right);
  return 0;
}

static int by_count_then_word(const void *pa, const void *pb) {
  const struct entry *a = pa, *b = pb;
  size_t i, n = a->len < b->len ? a->len : b->len;
  if (a->count != b->count) return a->count > b->count ? -1 : 1;
  for (i = 0; i < n; i++) {
    char ca = lower(a->word[i]), cb = lower(b->word[i]);
    if (ca != cb) return (unsigned char)ca < (unsigned char)cb ? -1 : 1;
  }
  return a->len < b->len ? -1 : a->len > b->len;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  if (!f) return NULL;
  do {
    if (n == cap) {
      char *bigger = realloc(buf, cap = cap ? 2 * cap : 1 << 16);
      if (!bigger) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = bigger;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  struct text text;
  struct table *words = NULL;
  struct table *const none = NULL;
  struct entry *list;
  size_t top = 10, i, n = 0, len = 0;
  char *data;
  te_status status;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s FILE [TOP]\n", argv[0]);
    return 2;
  }
  if (argc == 3) top = (size_t)strtoul(argv[2], NULL, 10);
  if (!(data = read_file(argv[1], &len))) {
    perror(argv[1]);
    return 1;
  }
  text.data = data;
  text.len = len;

  /* Ranges of 64 KiB: a table each, merged pairwise on the workers. */
  status = te_parallel_reduce(NULL, 0, len, 1 << 16, &none, sizeof none, count_range, merge_tables, &text, &words);
  if (status != TE_OK) {
    fprintf(stderr, "wordfreq: %s: %s\n", te_status_str(status), te_last_error_message());
    return 1;
  }
  if (!words) words = table_new(2); /* an empty file */
  if (!words || !(list = malloc((words->used + 1) * sizeof *list))) {
    fprintf(stderr, "wordfreq: out of memory\n");
    return 1;
  }
  for (i = 0; i < words->cap; i++)
    if (words->slots[i].word) list[n++] = words->slots[i];
  qsort(list, n, sizeof *list, by_count_then_word);
  for (i = 0; i < n && i < top; i++) {
    size_t k;
    printf("%zu ", list[i].count);
    for (k = 0; k < list[i].len; k++) putchar(lower(list[i].word[k]));
    putchar('\n');
  }
  free(list);
  table_free(words);
  free(data);
  te_default_engine_shutdown();
  return 0;
}
