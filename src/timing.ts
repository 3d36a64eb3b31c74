// Start-up milestones for `bunker --debug run`'s timing line: each mark is
// performance.now() (ms since Bun's time origin, near the exec) and the
// process's minor page faults so far (getrusage: loading code is mostly
// faults), with a label.  Recording is a push; nothing is printed here (the
// CLI prints them).
const marks: [string, number, number][] = [];

const minorFaults = () => process.resourceUsage().minorPageFault;
// only `--debug` prints the marks: without it a mark costs nothing (getrusage
// through process.resourceUsage() was ~0.15 ms of the dozen marks of a run)
const on = process.argv.indexOf("--debug") > 0;

export function mark(label: string): void {
  if (on) marks.push([label, performance.now(), minorFaults()]);
}

/** "main +4.10 (700 faults), flags parsed +0.31 (12), ...": each step's time and faults since the one before, and the totals */
export function timingLine(): string {
  let prev = 0, prevFaults = 0;
  const steps = marks.map(([label, t, f], i) => {
    const s = `${label} +${(t - prev).toFixed(2)} (${f - prevFaults}${i ? "" : " faults"})`;
    prev = t;
    prevFaults = f;
    return s;
  });
  return `${steps.join(", ")} (ms since the time origin: ${prev.toFixed(2)}; minor faults: ${prevFaults})`;
}
