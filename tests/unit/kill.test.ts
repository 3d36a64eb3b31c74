// src/container/kill.ts on processes this test starts: the tree of an init is
// found through /proc/PID/task/*/children, a pid whose start time differs (a
// reused pid) is neither listed nor signalled, and a container sharing the
// host's pid namespace is told apart from one with its own.
import { afterEach, expect, test } from "bun:test";
import { childrenOf, killEverything, ownsPidNamespace, processTree, signalIfSame } from "../../src/container/kill.ts";
import { type ContainerState } from "../../src/container/state.ts";
import { pidStartTime } from "../../src/sys/proc.ts";

let spawned: ReturnType<typeof Bun.spawn>[] = [];
afterEach(async () => {
  for (const p of spawned) p.kill("SIGKILL");
  await Promise.all(spawned.map((p) => p.exited));
  spawned = [];
});

/** sh with two sleeps (and a sleep of one of them's own): the tree is three levels deep */
async function tree() {
  const sh = Bun.spawn(["sh", "-c", "sleep 30 & sh -c 'sleep 30 & wait' & wait"], { stdout: "ignore", stderr: "ignore" });
  spawned.push(sh);
  for (let i = 0; i < 200 && processTree({ pid: sh.pid, start: pidStartTime(sh.pid)! }).length < 4; i++) await Bun.sleep(10);
  return { pid: sh.pid, start: pidStartTime(sh.pid)! };
}

test("processTree: the init and every descendant, parents first", async () => {
  const init = await tree();
  const t = processTree(init);
  expect(t).toHaveLength(4);
  expect(t[0]).toEqual(init);
  expect(childrenOf(init.pid).sort()).toEqual(t.slice(1, 3).map((p) => p.pid).sort());
  for (const p of t) expect(pidStartTime(p.pid)).toBe(p.start);
});

test("a pid whose start time is not the recorded one is not listed and not signalled", async () => {
  const init = await tree();
  const reused = { pid: init.pid, start: String(Number(init.start) + 1) };
  expect(processTree(reused)).toEqual([]);
  expect(signalIfSame(reused, 9)).toBe(false);
  await Bun.sleep(20);
  expect(pidStartTime(init.pid)).toBe(init.start);
});

test("the test's processes share its pid namespace (not a container's own)", async () => {
  const init = await tree();
  expect(ownsPidNamespace(init.pid)).toBe(false);
});

test("killEverything of a container in a shared pid namespace: its tree dies, a sibling outside it does not", async () => {
  const init = await tree();
  const members = processTree(init);
  const canary = Bun.spawn(["sleep", "30"], { stdout: "ignore", stderr: "ignore" });
  spawned.push(canary);
  const canaryStart = pidStartTime(canary.pid);
  const state = { id: "t", pid: init.pid, pidStart: init.start } as ContainerState;
  expect(killEverything(state, 2000)).toBe(true);
  for (let i = 0; i < 100 && members.some((p) => pidStartTime(p.pid) === p.start); i++) await Bun.sleep(10);
  expect(members.filter((p) => pidStartTime(p.pid) === p.start)).toEqual([]);
  expect(pidStartTime(canary.pid)).toBe(canaryStart);
});
