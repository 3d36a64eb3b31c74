// What bunker sends a seccomp agent (src/container/seccomp-agent.ts): the
// container process state on a unix socket, one connection per process, and
// one clear line when the agent is not there.  The fd itself (SCM_RIGHTS)
// and the agent's answers are checked end to end in
// tests/integration/seccomp-notify.test.ts.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, openSync, closeSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { containerProcessState, seccompAgent, type OciState } from "../../src/container/seccomp-agent.ts";
import { OCI_VERSION } from "../../src/oci/spec.ts";
import { messageOf } from "../lib/error-line.ts";

const state: OciState = { ociVersion: "1.0.2", id: "c1", status: "creating", pid: 41, bundle: "/b", annotations: { k: "v" } };

describe("seccomp agent", () => {
  const dir = mkdtempSync(`${tmpdir()}/bunker-agent-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("the container process state: the runtime-spec's fields, metadata only when given", () => {
    expect(containerProcessState({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/s", listenerMetadata: "m" }, 42, state)).toEqual({
      ociVersion: OCI_VERSION,
      fds: ["seccompFd"],
      pid: 42,
      metadata: "m",
      state,
    });
    expect(containerProcessState({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/s" }, 42, state)).not.toHaveProperty("metadata");
  });

  test("no listenerPath: nothing to send to", () => {
    expect(seccompAgent(undefined, () => state)).toBeUndefined();
    expect(seccompAgent({ defaultAction: "SCMP_ACT_ALLOW" }, () => state)).toBeUndefined();
  });

  test("one connection carrying the JSON, closed after it; a missing agent is one line naming the socket", async () => {
    const path = `${dir}/agent.sock`;
    const got: string[] = [];
    let done!: () => void;
    const closed = new Promise<void>((r) => (done = r));
    const server = Bun.listen<{ text: string }>({
      unix: path,
      socket: {
        open: (s) => void (s.data = { text: "" }),
        data: (s, chunk) => void (s.data.text += chunk.toString()),
        close: (s) => {
          got.push(s.data.text);
          done();
        },
      },
    });
    try {
      const send = seccompAgent({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: path, listenerMetadata: "m" }, (pid) => ({ ...state, pid }))!;
      const fd = openSync("/dev/null", "r");
      try {
        send(fd, 7);
      } finally {
        closeSync(fd);
      }
      await closed;
      expect(got.map((t) => JSON.parse(t))).toEqual([{ ociVersion: OCI_VERSION, fds: ["seccompFd"], pid: 7, metadata: "m", state: { ...state, pid: 7 } }]);
    } finally {
      server.stop(true);
    }
    const missing = `${dir}/none.sock`;
    const send = seccompAgent({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: missing }, () => state)!;
    expect(messageOf(() => send(0, 1))).toBe(`bunker: cannot send the seccomp listener to the agent: ENOENT (No such file or directory) [${missing}] — start the seccomp agent on linux.seccomp.listenerPath first`);
  });
});
