// defaultSpec against what runc 1.1.5's `runc spec` and `runc spec --rootless`
// wrote on Debian 12 (as root), and against a live runc when one is installed.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { defaultSpec } from "../../src/oci/default-spec.ts";
import { OCI_VERSION, type Spec } from "../../src/oci/spec.ts";
import { ensureUserNamespace, parseConfig } from "../../src/oci/validate.ts";

const RUNC_SPEC = {"ociVersion":"1.0.2-dev","process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"ambient":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true},"hostname":"runc","mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620","gid=5"]},{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}],"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}};

const RUNC_SPEC_ROOTLESS = {"ociVersion":"1.0.2-dev","process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"ambient":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true},"root":{"path":"rootfs","readonly":true},"hostname":"runc","mounts":[{"destination":"/proc","type":"proc","source":"proc"},{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]},{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},{"destination":"/sys","type":"none","source":"/sys","options":["rbind","nosuid","noexec","nodev","ro"]},{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],"linux":{"uidMappings":[{"containerID":0,"hostID":0,"size":1}],"gidMappings":[{"containerID":0,"hostID":0,"size":1}],"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"user"}],"maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/proc/scsi"],"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}};

/** what we change on purpose: our version and hostname; rootless: no cgroup mount (/sys is an rbind) */
function asBunker(runc: Record<string, any>, rootless: boolean): Record<string, any> {
  const s = structuredClone(runc);
  s.ociVersion = OCI_VERSION;
  s.hostname = "bunker";
  if (rootless) s.mounts = s.mounts.filter((m: { type: string }) => m.type !== "cgroup");
  return s;
}

/** key order matters to a reader of the file, so compare the JSON text */
const text = (o: unknown) => JSON.stringify(o, null, 2);

describe("defaultSpec", () => {
  test("as runc spec", () => {
    expect(text(defaultSpec({ rootless: false }))).toBe(text(asBunker(RUNC_SPEC, false)));
  });

  test("as runc spec --rootless, with the caller's ids in the maps", () => {
    const want = asBunker(RUNC_SPEC_ROOTLESS, true);
    want.linux.uidMappings[0].hostID = 1000;
    want.linux.gidMappings[0].hostID = 1001;
    expect(text(defaultSpec({ rootless: true, uid: 1000, gid: 1001 }))).toBe(text(want));
    expect(defaultSpec({ rootless: true }).linux!.uidMappings![0]!.hostID).toBe(process.getuid!());
  });

  test("args and terminal", () => {
    const s = defaultSpec({ rootless: false, args: ["/bin/echo", "hi"], terminal: false });
    expect(s.process!.args).toEqual(["/bin/echo", "hi"]);
    expect(s.process!.terminal).toBe(false);
  });

  test("each spec is a fresh object", () => {
    const a = defaultSpec({ rootless: false });
    a.process!.capabilities!.bounding!.push("CAP_SYS_ADMIN");
    a.linux!.maskedPaths!.length = 0;
    const b = defaultSpec({ rootless: false });
    expect(b.process!.capabilities!.bounding).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    expect(b.linux!.maskedPaths!.length).toBe(10);
  });

  test("both pass parseConfig; the rootless one needs no rootless adjustment", () => {
    for (const rootless of [false, true]) parseConfig(JSON.stringify(defaultSpec({ rootless })));
    const r = defaultSpec({ rootless: true, uid: 1000, gid: 1000 });
    const before = text(r);
    expect(text(ensureUserNamespace(r, 1000, 1000))).toBe(before);
  });

  // later runc versions mask more paths: compare with the 1.1 series only
  const runc = /^runc version 1\.1\./.test(spawnSync("runc", ["--version"], { encoding: "utf8" }).stdout ?? "");
  test.skipIf(!runc)("an installed runc 1.1 agrees (apart from ociVersion and hostname)", () => {
    for (const rootless of [false, true]) {
      const dir = mkdtempSync(`${tmpdir()}/bunker-spec-`);
      try {
        expect(spawnSync("runc", ["spec", ...(rootless ? ["--rootless"] : [])], { cwd: dir }).status).toBe(0);
        const theirs = JSON.parse(readFileSync(`${dir}/config.json`, "utf8")) as Spec;
        const ours = defaultSpec({ rootless, uid: process.geteuid!(), gid: process.getegid!() });
        expect(text({ ...ours, ociVersion: "", hostname: "" })).toBe(text({ ...asBunker(theirs, rootless), ociVersion: "", hostname: "" }));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
