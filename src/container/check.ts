// bunker check's work: what this machine and user can do, one verdict each,
// with a fix for what is missing (the CLI prints them; an API's /info can use them).
import { existsSync, statSync } from "node:fs";
import { tmpdir, release } from "node:os";
import type { RuntimeContext } from "./context.ts";
import { subRange, userName, NEWUIDMAP, NEWGIDMAP, findHelper } from "../sys/idmap.ts";
import { usernsBlocker } from "../sys/launch.ts";
import { probe, probeOverlay } from "../sys/probe.ts";
import { probeNetwork } from "../net/probe.ts";
import { forcedStorageDriver, probedStorageDriver } from "../image/driver.ts";
import { imageOwnerMaps } from "../image/owners.ts";
import { stateRoot } from "./paths.ts";
import { describeHolder, holderFile, sharedUsernsEnabled } from "./userns.ts";
import { BunkerError } from "../errors.ts";
import { cgroupSupport } from "../cgroup/index.ts";
import { kernelVersion } from "../sys/kernel.ts";
import { resolveConfinement } from "../oci/confine.ts";

export type Verdict = "ok" | "warn" | "FAIL";

export interface CheckLine {
  verdict: Verdict;
  what: string;
  detail: string;
}

export interface CheckResult {
  lines: CheckLine[];
  /** whether `bunker run` can work here */
  canRun: boolean;
}

export interface CheckOptions {
  /** also re-hash every blob of the image store */
  verifyStore: boolean;
  /** --root, for the state directory's line (its note says where it went without one) */
  root?: string;
}

/** every check, in the order `bunker check` prints them */
export async function checkMachine(ctx: RuntimeContext, o: CheckOptions): Promise<CheckResult> {
  const lines: CheckLine[] = [];
  const line = (verdict: Verdict, what: string, detail: string) => lines.push({ verdict, what, detail });
  let canRun = true;
  const uid = ctx.ids.uid;
  const name = userName(uid) ?? String(uid);

  const [maj, min] = kernelVersion();
  const kOk = maj > 5 || (maj === 5 && min >= 12);
  line(kOk ? "ok" : "FAIL", "kernel", `${release()}${kOk ? "" : " — bunker needs Linux 5.12+ (openat2, mount_setattr, close_range, pidfd)"}`);
  if (!kOk) canRun = false;

  const blocker = usernsBlocker();
  const nsErr = await probe([]);
  if (!nsErr) line("ok", "user namespaces", `unprivileged user namespaces work for ${name}`);
  else {
    canRun = false;
    line("FAIL", "user namespaces", `${nsErr}${blocker && !nsErr.includes(blocker.fix) ? ` — ${blocker.fix}` : ""}`);
  }

  const su = subRange("/etc/subuid", uid), sg = subRange("/etc/subgid", uid);
  const nu = findHelper(NEWUIDMAP), ng = findHelper(NEWGIDMAP);
  const setuid = (p?: string) => !!p && (statSync(p).mode & 0o4000) !== 0;
  if (uid === 0) line("ok", "id ranges", "root: any uid/gid map can be written");
  else if (su && sg && setuid(nu) && setuid(ng)) line("ok", "id ranges", `/etc/subuid ${su.start}-${su.start + su.count - 1}, newuidmap: --userns=auto available`);
  else if (!su || !sg) line("warn", "id ranges", `no /etc/subuid or /etc/subgid range for ${name}: only your own uid is mapped — as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${name}`);
  else line("warn", "id ranges", `newuidmap/newgidmap missing or not setuid — apt-get install uidmap`);
  if (uid !== 0 && su && sg) {
    const h = describeHolder(ctx);
    line("ok", "shared user namespace", !sharedUsernsEnabled(ctx) ? "off (BUNKER_SHARED_USERNS=0): newuidmap/newgidmap run for every container"
      : h ? `held by pid ${h} (${holderFile(ctx)}): containers with subordinate ids join it, newuidmap runs once`
      : "none yet: the first container with subordinate ids makes it (newuidmap runs once), later ones join it");
  }

  const cg = await cgroupSupport(ctx.env);
  if (cg.usable) line("ok", "cgroup v2", `${cg.detail}${cg.controllers.length ? `, controllers: ${cg.controllers.join(" ")}` : ""}`);
  else line("warn", "cgroup v2", `${cg.detail} — runs without limits work; for limits enable Delegate=yes for user@.service (systemd) on a cgroup v2 host, or pass --cgroup-manager disabled`);

  // what `run IMAGE` will use (probed afresh; --storage-driver / $BUNKER_STORAGE_DRIVER force one)
  const overlayErr = await probeOverlay(existsSync(`${ctx.dataRoot}/tmp`) ? `${ctx.dataRoot}/tmp` : tmpdir());
  if (!overlayErr) line("ok", "overlayfs", "kernel overlayfs works in a user namespace (images share layers)");
  else line("warn", "overlayfs", `not usable in a user namespace (${overlayErr.replace(/^bunker: /, "")})`);
  const forced = forcedStorageDriver(ctx.storageDriver, ctx.env.BUNKER_STORAGE_DRIVER || undefined);
  const drv = forced ?? probedStorageDriver(overlayErr);
  const how = drv.driver === "overlay" ? "run IMAGE mounts the layers, copying nothing" : "run IMAGE makes a private copy of the image for each container (reflinks where the filesystem shares blocks)";
  line(drv.driver === "copy" && !forced ? "warn" : "ok", "storage driver", `${drv.driver} (${forced ? `set by ${forced.why}` : drv.why}): ${how}`);
  const owners = imageOwnerMaps();
  if (uid === 0) line("ok", "image owners", "root: layer files get the image's own uids and gids");
  else if (owners) line("ok", "image owners", `layer files get the image's owners as subordinate ids (image uid N -> ${owners.uid[1]!.hostID}+N-1)`);
  else line("warn", "image owners", "no subordinate id range (or no newuidmap): every layer file is yours, the image's owners are only recorded in xattrs");

  // what `bunker run` gives a container unless flags say otherwise (bunker state ID shows what one got)
  const conf = resolveConfinement({ capAdd: [], capDrop: [], privileged: false, securityOpts: [] }, 0).summary;
  line("ok", "confinement", `run: ${conf.capabilities.length} capabilities (Docker's), no_new_privs, seccomp (Docker's profile), ${conf.maskedPaths.length} masked and ${conf.readonlyPaths.length} read-only paths; --privileged: all capabilities in the container's user namespace, mounts locked`);

  line(nsErr ? "FAIL" : "ok", "network none", nsErr ? "needs a user namespace (above)" : "a network namespace of its own with lo (the default of --rootfs runs)");
  line("ok", "network host", "the host's network namespace");
  for (const m of ["pasta", "slirp4netns"] as const) {
    const r = await probeNetwork(m, ctx.env.PATH);
    line(r.ok ? "ok" : "warn", `network ${m}`, r.why);
  }

  if (o.verifyStore) {
    // every image's blobs re-hashed, every unpacked layer present
    const { Store } = await import("../image/store.ts");
    const problems = await Store.open(ctx.dataRoot).verify();
    if (problems.length) {
      canRun = false;
      for (const p of problems) line("FAIL", "image store", `${p} — bunker rmi the image and pull or load it again`);
    } else line("ok", "image store", "every blob matches its digest, every layer is unpacked");
  }

  try {
    const sr = stateRoot(o.root, ctx.env.XDG_RUNTIME_DIR, uid);
    line("ok", "state directory", `${sr.dir}${sr.note ? ` (${sr.note})` : ""}`);
  } catch (e) {
    canRun = false;
    line("FAIL", "state directory", e instanceof BunkerError ? e.format() : String(e));
  }
  return { lines, canRun };
}
