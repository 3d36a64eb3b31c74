import { describe, expect, test } from "bun:test";
import { execJoinOrder, execPlan, usernsHolderPlan, withSpecJoins } from "../../src/plan/join.ts";
import { chownTreePlan, copyLayersPlan, probePlan, PROBE_EXE, removeTreePlan, unsharePlan } from "../../src/plan/store.ts";
import { needsMonitorExe, withJoinedUserns, withMonitorExe, withSharedMemory } from "../../src/plan/finalize.ts";
import * as K from "../../src/plan/types.ts";
import type { Op } from "../../src/plan/types.ts";

const exec: Op = { op: "exec", file: "/bin/true", args: ["/bin/true"], env: [] };

describe("exec plan", () => {
  test("joins user first, mnt last; a joined pid namespace is followed by a fork that waits", () => {
    expect(execJoinOrder(false)).toEqual(["user", "ipc", "uts", "net", "cgroup", "pid", "mnt"]);
    const differ = execJoinOrder(false).map((name) => ({ name, path: `/proc/7/ns/${name}` }));
    const plan = execPlan({ initPid: 7, locked: false, differ, process: [exec] });
    expect(plan.cloneFlags).toBe(0);
    expect(plan.ops.map((o) => o.op)).toEqual(["nondumpable", "setns", "setns", "setns", "setns", "setns", "setns", "setns", "fork", "setsid", "exec"]);
    expect(plan.ops[1]).toEqual({ op: "setns", path: "/proc/7/ns/user", nstype: K.CLONE_NEWUSER });
    expect(plan.ops[7]).toEqual({ op: "setns", path: "/proc/7/ns/mnt", nstype: K.CLONE_NEWNS });
    expect(plan.ops[8]).toEqual({ op: "fork", waitGo: true });
  });

  test("locked mounts: the parent user namespace first, the nested one just before mnt", () => {
    expect(execJoinOrder(true)).toEqual(["ipc", "uts", "net", "cgroup", "pid", "user", "mnt"]);
    const plan = execPlan({ initPid: 9, locked: true, differ: [{ name: "user", path: "/proc/9/ns/user" }, { name: "mnt", path: "/proc/9/ns/mnt" }], terminal: { rows: 24, cols: 80 }, process: [exec] });
    expect(plan.ops.slice(0, 5)).toEqual([
      { op: "nondumpable" },
      { op: "setns", path: "/proc/9/ns/user", nstype: K.CLONE_NEWUSER, parent: true },
      { op: "setns", path: "/proc/9/ns/user", nstype: K.CLONE_NEWUSER },
      { op: "setns", path: "/proc/9/ns/mnt", nstype: K.CLONE_NEWNS },
      { op: "pty", rows: 24, cols: 80 },
    ]);
    expect(plan.ops.some((o) => o.op === "fork")).toBe(false);
  });
});

describe("create's joins", () => {
  test("namespaces by path come first, the user one through joinUserns", () => {
    const spec = { ociVersion: "1.0.2", linux: { namespaces: [{ type: "user", path: "/u" }, { type: "pid", path: "/p" }, { type: "network", path: "/n" }, { type: "mount" }] } };
    const plan = withSpecJoins({ cloneFlags: K.CLONE_NEWNS, ops: [exec] }, spec as never);
    expect(plan.joinUserns).toBe("/u");
    expect(plan.ops).toEqual([
      { op: "setns", path: "/p", nstype: K.CLONE_NEWPID },
      { op: "setns", path: "/n", nstype: K.CLONE_NEWNET },
      { op: "fork", waitGo: true },
      exec,
    ]);
    expect(withJoinedUserns(plan).ops[0]).toEqual({ op: "setns", path: "/u", nstype: K.CLONE_NEWUSER });
  });
});

describe("store and probe plans", () => {
  test("each is one op in the namespace it needs", () => {
    expect(chownTreePlan("/s/l")).toEqual({ cloneFlags: K.CLONE_NEWUSER, ops: [{ op: "chown-tree", path: "/s/l" }] });
    expect(chownTreePlan("/s/l", false).cloneFlags).toBe(0);
    expect(copyLayersPlan("/d", ["/a", "/b"], { userns: false, copierOwns: true, opaqueXattr: "user.o" })).toEqual({ cloneFlags: 0, ops: [{ op: "copy-layers", dest: "/d", layers: ["/a", "/b"], opaqueXattr: "user.o", copierOwns: true }] });
    expect(copyLayersPlan("/d", [], { userns: true, copierOwns: false, opaqueXattr: "user.o" }).cloneFlags).toBe(K.CLONE_NEWUSER);
    expect(removeTreePlan("/x")).toEqual({ cloneFlags: K.CLONE_NEWUSER, ops: [{ op: "remove-tree", path: "/x" }] });
    // bunker unshare: the command in a user and mount namespace of its own (none for root), every fd but stdio closed
    const exec = { op: "exec" as const, file: "/bin/tar", args: ["/bin/tar", "-c"], env: ["PATH=/bin"] };
    expect(unsharePlan("/bin/tar", ["/bin/tar", "-c"], ["PATH=/bin"])).toEqual({ cloneFlags: K.CLONE_NEWUSER | K.CLONE_NEWNS, ops: [{ op: "close-fds", preserve: 0 }, exec] });
    expect(unsharePlan("/bin/tar", ["/bin/tar", "-c"], ["PATH=/bin"], false).cloneFlags).toBe(0);
    expect(probePlan([{ op: "lo-up" }], K.CLONE_NEWNET).ops).toEqual([{ op: "lo-up" }, { op: "exec", file: PROBE_EXE, args: [PROBE_EXE], env: [] }]);
    expect(usernsHolderPlan(5).ops).toEqual([{ op: "fork" }, { op: "exec", file: "/proc/self/fd/5", args: ["bunker-userns", "--hold-userns"], env: [] }]);
  });
});

describe("finalize", () => {
  test("the monitor's memfd goes to init and fifo-wait; an init keeps its own memory", () => {
    const withInit: K.Plan = { cloneFlags: 0, ops: [{ op: "init" }, exec] };
    expect(needsMonitorExe(withInit)).toBe(true);
    expect(withMonitorExe(withInit, 4).ops[0]).toEqual({ op: "init", exe: 4 });
    expect(withMonitorExe(withInit, -1)).toBe(withInit);
    expect(withSharedMemory(withInit).cloneFlags).toBe(0);
    const created: K.Plan = { cloneFlags: 0, ops: [{ op: "fifo-wait" }, exec] };
    expect(needsMonitorExe(created)).toBe(true);
    expect(needsMonitorExe({ ...created, ops: [...created.ops, { op: "hook", index: 0, path: "/h", args: [], env: [], timeout: 0, stateBeforePid: "", stateAfterPid: "" }] })).toBe(false);
    expect(withSharedMemory(created).cloneFlags).toBe(K.CLONE_VM);
  });
});
