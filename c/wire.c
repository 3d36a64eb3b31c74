/* The Plan buffer's decoder: see wire.h. */
#include "wire.h"

#include <stddef.h>
#include <string.h>

const uint8_t *str_next(const uint8_t *p, const char **str, uint32_t *len) {
  uint32_t n;
  memcpy(&n, p, 4);
  *str = (const char *)p + 4;
  if (len) *len = n;
  return p + ((4 + n + 1 + 7) & ~7u);
}

const char *op_str(const struct op *op, uint32_t k, uint32_t *len) {
  const uint8_t *p = op->s;
  const char *s = "";
  if (len) *len = 0;
  if (k >= op->nstr) return "";
  for (uint32_t j = 0; j <= k; j++) p = str_next(p, &s, len);
  return s;
}

int64_t op_int(const struct op *op, uint32_t k) { return k < op->nint ? op->i[k] : 0; }

/* returns the pointer past this op */
static const uint8_t *op_decode(const uint8_t *p, struct op *op) {
  uint32_t h[4];
  memcpy(h, p, 16);
  op->code = h[0];
  op->nint = h[1];
  op->nstr = h[2];
  op->i = (const int64_t *)(p + 16);
  op->s = p + 16 + 8 * (size_t)op->nint;
  const uint8_t *q = op->s;
  const char *ignored;
  for (uint32_t k = 0; k < op->nstr; k++) q = str_next(q, &ignored, NULL);
  return q;
}

struct plan_iter plan_begin(const uint8_t *plan, uint32_t len) {
  struct plan_iter it = {plan + 16, plan + len, 0, -1};
  memcpy(&it.left, plan + 4, 4);
  return it;
}

int plan_next(struct plan_iter *it, struct op *op) {
  if (!it->left || it->p >= it->end) return 0;
  it->p = op_decode(it->p, op);
  it->left--;
  it->index++;
  return 1;
}
