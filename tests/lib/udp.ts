// The host's side of published UDP port tests (tests/probes/udp-echo.c serves
// in the container, answering "PEERIP:PEERPORT MESSAGE"): only 127.0.0.1.
import { expect } from "bun:test";
import { copyFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { join } from "node:path";
import { staticProbe } from "./probe.ts";

/** tests/probes/udp-echo.c, static, copied to ROOTFS/udp-echo */
export function installUdpEcho(rootfs: string): void {
  copyFileSync(staticProbe("udp-echo"), join(rootfs, "udp-echo"));
}

/**
 * One UDP client on 127.0.0.1 (one socket, one source port): each of
 * MESSAGES sent to 127.0.0.1:PORT every 250 ms until its answer comes (the
 * echo's, ending in " MESSAGE"); the answers, "<no answer>" for one that did
 * not come within TIMEOUT_MS.
 */
export async function udpAsk(port: number, messages: string[], timeoutMs = 8000): Promise<string[]> {
  const s = createSocket("udp4");
  const got: string[] = [];
  s.on("message", (m) => got.push(m.toString()));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const out: string[] = [];
  try {
    for (const msg of messages) {
      let answer: string | undefined;
      for (const end = Date.now() + timeoutMs; !answer && Date.now() < end; ) {
        s.send(msg, port, "127.0.0.1");
        await Bun.sleep(250);
        answer = got.find((a) => a.endsWith(` ${msg}`));
      }
      out.push(answer ?? "<no answer>");
    }
  } finally {
    s.close();
  }
  return out;
}

/**
 * Two UDP clients of 127.0.0.1:PORT, each its own flow: the first one's two
 * datagrams are answered as seen from one source (PEER:P, P the same), the
 * second's from another port
 */
export async function expectFlowPerClient(port: number, peer: string): Promise<void> {
  const [a1, a2] = await udpAsk(port, ["one", "two"]);
  const [b1] = await udpAsk(port, ["three"]);
  const from = (answer: string | undefined) => (answer?.startsWith(`${peer}:`) ? /^[^:]+:(\d+) /.exec(answer)?.[1] : undefined);
  expect(from(a1), a1).toBeDefined();
  expect(a2).toBe(`${peer}:${from(a1)} two`);
  expect(from(b1), b1).toBeDefined();
  expect(from(b1)).not.toBe(from(a1));
}
