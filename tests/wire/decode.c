/* Prints every op of the encoded plan in the file argv[1] as the child's
 * decoder (c/wire.c) reads it, named by the layouts generated from the op
 * table (build/ops.h): "op NAME", then "i FIELD VALUE" and "s FIELD HEX"
 * lines (a list's items as FIELD[K]).  tests/unit/wire.test.ts compares it
 * with what the TypeScript encoder was given. */
#define BK_WIRE_LAYOUTS
#include "ops.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct bk_op_layout *layout_of(unsigned code) {
  for (size_t k = 0; k < sizeof bk_op_layouts / sizeof bk_op_layouts[0]; k++)
    if (bk_op_layouts[k].code == code) return &bk_op_layouts[k];
  return NULL;
}

/* the next comma-separated word of *LIST into WORD; 0 at the end */
static int next_word(const char **list, char *word, size_t size) {
  if (!**list) return 0;
  size_t n = strcspn(*list, ",");
  if (n >= size) n = size - 1;
  memcpy(word, *list, n);
  word[n] = 0;
  *list += n + ((*list)[n] == ',');
  return 1;
}

/* the value of the int field NAME of OP by LAYOUT */
static int64_t int_named(const struct op *op, const struct bk_op_layout *l, const char *name) {
  const char *w = l->ints;
  char word[64];
  for (uint32_t k = 0; next_word(&w, word, sizeof word); k++)
    if (!strcmp(word, name)) return op_int(op, k);
  fprintf(stderr, "decode: %s has no int %s\n", l->name, name);
  exit(2);
}

static void print_str(const char *field, long item, const char *s, uint32_t len) {
  if (item >= 0) printf("s %s[%ld] ", field, item);
  else printf("s %s ", field);
  for (uint32_t k = 0; k < len; k++) printf("%02x", (unsigned char)s[k]);
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 2;
  static uint8_t buf[1 << 20];
  size_t len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  uint32_t magic;
  uint64_t flags;
  memcpy(&magic, buf, 4);
  memcpy(&flags, buf + 8, 8);
  if (len < 16 || magic != BK_MAGIC) return fprintf(stderr, "decode: not a plan\n"), 2;
  printf("flags %llu\n", (unsigned long long)flags);
  struct plan_iter it = plan_begin(buf, (uint32_t)len);
  struct op op;
  while (plan_next(&it, &op)) {
    const struct bk_op_layout *l = layout_of(op.code);
    if (!l) return fprintf(stderr, "decode: unknown op %u\n", op.code), 2;
    printf("op %s\n", l->name);
    const char *w = l->ints;
    char word[64];
    uint32_t k = 0;
    while (next_word(&w, word, sizeof word)) {
      size_t n = strlen(word);
      if (n && word[n - 1] == '*') {
        word[n - 1] = 0;
        for (long item = 0; k < op.nint; k++, item++) printf("i %s[%ld] %lld\n", word, item, (long long)op_int(&op, k));
      } else printf("i %s %lld\n", word, (long long)op_int(&op, k++));
    }
    if (k != op.nint) return fprintf(stderr, "decode: %s has %u ints, its layout %u\n", l->name, op.nint, k), 2;
    w = l->strs;
    const uint8_t *p = op.s;
    uint32_t s = 0;
    while (next_word(&w, word, sizeof word)) {
      char *hash = strchr(word, '#');
      size_t n = strlen(word);
      long count = -1; /* a single string */
      if (hash) {
        *hash = 0;
        count = (long)int_named(&op, l, hash + 1);
      } else if (n && word[n - 1] == '*') {
        word[n - 1] = 0;
        count = (long)(op.nstr - s);
      }
      for (long item = 0; item < (count < 0 ? 1 : count); item++, s++) {
        if (s >= op.nstr) return fprintf(stderr, "decode: %s has %u strings, fewer than its layout\n", l->name, op.nstr), 2;
        const char *str;
        uint32_t slen;
        p = str_next(p, &str, &slen);
        print_str(word, count < 0 ? -1 : item, str, slen);
      }
    }
    if (s != op.nstr) return fprintf(stderr, "decode: %s has %u strings, its layout %u\n", l->name, op.nstr, s), 2;
  }
  return 0;
}
