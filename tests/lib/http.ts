// The host's side of published-port tests: only 127.0.0.1.
import { createServer } from "node:net";

/** GET http://127.0.0.1:PORT/'s body, a few tries while the server starts; "<no answer: …>" after TIMEOUT_MS */
export async function fetchText(port: number, timeoutMs = 8000): Promise<string> {
  let last = "";
  for (const end = Date.now() + timeoutMs; Date.now() < end; await Bun.sleep(100)) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      return await r.text();
    } catch (e) {
      last = String(e);
    }
  }
  return `<no answer: ${last}>`;
}

/** a free TCP port of 127.0.0.1 (bound and closed) */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host: "127.0.0.1", port: 0 }, () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
