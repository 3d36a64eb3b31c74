// Start-up milestones for `bunker --debug run`'s timing line: each mark is
// performance.now() (ms since Bun's time origin, near the exec) with a label.
// Recording is a push; nothing is printed here (the CLI prints them).
const marks: [string, number][] = [];

export function mark(label: string): void {
  marks.push([label, performance.now()]);
}

/** "start 4.10 > flags 0.31 > ...": each step's time since the one before, in ms, and the total */
export function timingLine(): string {
  let prev = 0;
  const steps = marks.map(([label, t]) => {
    const s = `${label} +${(t - prev).toFixed(2)}`;
    prev = t;
    return s;
  });
  return `${steps.join(", ")} (ms since the time origin: ${prev.toFixed(2)})`;
}
