/* The Plan buffer's decoder (layout in shim.h; each op's fields in build/ops.h,
 * generated from src/plan/ops.ts).  Pure reads of the buffer: safe in the
 * child, and built into tests/wire/decode.c, which prints what it decodes
 * for the unit test that compares it with the TypeScript encoder. */
#ifndef BUNKER_WIRE_H
#define BUNKER_WIRE_H
#include <stdint.h>

struct op {
  uint32_t code, nint, nstr;
  const int64_t *i;
  const uint8_t *s; /* first string record */
};

#pragma GCC visibility push(hidden)
/* the string record at P: its bytes at *STR (NUL-terminated), length at *LEN; returns the next record */
const uint8_t *str_next(const uint8_t *p, const char **str, uint32_t *len);
/* the K-th string of an op (0-based; "" past the last), its length at *LEN */
const char *op_str(const struct op *op, uint32_t k, uint32_t *len);
/* the K-th int of an op (0 past the last) */
int64_t op_int(const struct op *op, uint32_t k);

/* the plan's ops in order: for (it = plan_begin(plan, len); plan_next(&it, &op);) */
struct plan_iter {
  const uint8_t *p, *end;
  uint32_t left;
  int index; /* of the op plan_next returned last */
};
struct plan_iter plan_begin(const uint8_t *plan, uint32_t len);
int plan_next(struct plan_iter *it, struct op *op);
#pragma GCC visibility pop

#endif
