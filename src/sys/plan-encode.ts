// Encodes a Plan into the flat buffer the C child reads (layout in c/shim.h,
// fields by the op table src/plan/ops.ts).
import { MAGIC, OPS, type OpDef } from "../plan/ops.ts";
import { BK_JOIN_USERNS, type Op, type Plan } from "../plan/types.ts";

type Wire = ReturnType<OpDef["wire"]>;

/** the op's ints and strings in the order of its table entry (src/plan/ops.ts) */
function fields(o: Op): { ints: (bigint | number)[]; strs: (string | Uint8Array)[] } {
  const def = OPS[o.op] as OpDef;
  const rec: Wire = def.wire(o as never);
  const ints: (bigint | number)[] = [];
  const strs: (string | Uint8Array)[] = [];
  for (const f of def.ints) {
    const v = rec[f.name];
    if (f.type === "int") ints.push(f.countOf ? (rec[f.countOf] as unknown[]).length : (v as number | bigint));
    else ints.push(...(v as number[]));
  }
  for (const f of def.strs) {
    const v = rec[f.name];
    if (f.type === "str") strs.push(v as string | Uint8Array);
    else strs.push(...(v as string[]));
  }
  return { ints, strs };
}

const enc = new TextEncoder();

/**
 * One pass into a growing buffer: strings encoded in place (encodeInto), ints
 * that fit 32 bits written as two words.  The first version's BigInt per int
 * and encoded copy per string cost ~1 ms of cold JavaScript on run's hot path.
 */
export function encodePlan(plan: Plan): Uint8Array {
  let buf = new Uint8Array(16384);
  let dv = new DataView(buf.buffer);
  let p = 16;
  const room = (n: number) => {
    if (p + n <= buf.length) return;
    const bigger = new Uint8Array(Math.max(buf.length * 2, p + n));
    bigger.set(buf.subarray(0, p));
    buf = bigger;
    dv = new DataView(buf.buffer);
  };
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, plan.ops.length, true);
  dv.setBigUint64(8, BigInt(plan.cloneFlags) | (plan.joinUserns ? BK_JOIN_USERNS : 0n), true);
  for (const o of plan.ops) {
    const { ints, strs } = fields(o);
    room(16 + 8 * ints.length);
    dv.setUint32(p, OPS[o.op].code, true);
    dv.setUint32(p + 4, ints.length, true);
    dv.setUint32(p + 8, strs.length, true);
    p += 16;
    for (const v of ints) {
      if (typeof v === "number" && v >= -0x80000000 && v <= 0x7fffffff && Number.isInteger(v)) {
        dv.setInt32(p, v, true);
        dv.setInt32(p + 4, v < 0 ? -1 : 0, true);
      } else dv.setBigInt64(p, BigInt.asIntN(64, BigInt(v)), true);
      p += 8;
    }
    for (const s of strs) {
      // UTF-8 is at most 3 bytes per UTF-16 unit
      room(4 + (typeof s === "string" ? 3 * s.length : s.length) + 8);
      let n: number;
      if (typeof s === "string") n = enc.encodeInto(s, buf.subarray(p + 4)).written;
      else {
        buf.set(s, p + 4);
        n = s.length;
      }
      dv.setUint32(p, n, true);
      p += (4 + n + 1 + 7) & ~7;
    }
  }
  return buf.subarray(0, p);
}
