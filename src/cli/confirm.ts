// docker's prune question: QUESTION [y/N] on stdout, the answer a line of stdin (none: no).
export async function confirm(question: string): Promise<boolean> {
  process.stdout.write(`${question} [y/N] `);
  for await (const line of console) return /^y(es)?$/i.test(line.trim());
  return false;
}
