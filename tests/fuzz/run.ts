// `make fuzz`: every target of targets.ts for FUZZ_SECONDS in all (default
// 60), split evenly; FUZZ_SEED repeats a run.  Prints the iterations per
// target and each failure's counterexample; exits 1 if any target failed.
import fc from "fast-check";
import { TARGETS } from "./targets.ts";

const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const only = process.env.FUZZ_TARGET;
const targets = TARGETS.filter((t) => !only || t.name === only);
const perTarget = Math.max(100, (seconds * 1000) / targets.length);
console.log(`fuzz: ${targets.length} targets, ${Math.round(perTarget)} ms each, seed ${seed}`);
let total = 0, failed = 0;
for (const t of targets) {
  const r = fc.check(t.property(), { seed, numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: perTarget, markInterruptAsFailure: false });
  total += r.numRuns;
  if (r.failed) {
    failed++;
    const ex = JSON.stringify(r.counterexample)?.slice(0, 400);
    console.log(`FAIL ${t.name} after ${r.numRuns} runs: ${(r.errorInstance as Error)?.message}\n  counterexample: ${ex}\n  again: FUZZ_SEED=${seed} FUZZ_TARGET="${t.name}" make fuzz`);
  } else console.log(`ok   ${t.name}: ${r.numRuns} runs`);
}
console.log(`fuzz: ${total} runs, ${failed} failing targets`);
process.exit(failed ? 1 : 0);
