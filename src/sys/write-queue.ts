// A socket's write queue: what a non-blocking write did not take waits here,
// in order, until the socket drains (Bun's sockets return how much they took).

/** writes what QUEUE holds to TO as far as it takes it; FROM (paused while TO was full) resumes once all is written */
export function flushQueue(to: { write(b: Uint8Array): number }, queue: Uint8Array[], from?: { resume(): void }): void {
  while (queue.length) {
    const b = queue[0]!;
    const n = to.write(b);
    if (n < b.length) {
      queue[0] = b.subarray(Math.max(n, 0));
      return;
    }
    queue.shift();
  }
  from?.resume();
}
