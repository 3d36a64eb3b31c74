// OCI create: the container set up from its bundle, its process waiting on
// exec.fifo until `start`.  Its own module, apart from src/container/lifecycle.ts
// (which re-exports it): `bunker create` loads the code create runs, not kill's,
// exec's or delete's (each module loaded costs start-up time).
import { filterOf, findOf, someOf } from "../loops.ts";
import { chmodSync, chownSync, rmSync } from "../sys/fs-sync.ts";
import { BunkerError } from "../errors.ts";
import { loadBundle } from "../oci/bundle.ts";
import type { RuntimeContext } from "./context.ts";
import type { Spec } from "../oci/spec.ts";
import { OCI_VERSION } from "../oci/spec.ts";
import { buildPlan, type PlanContext } from "../plan/build.ts";
import { withSpecJoins } from "../plan/join.ts";
import { mkfifo, sendPty } from "../sys/shim.ts";
import { realLauncher } from "../sys/launcher.ts";
import { userName, type IdMaps } from "../sys/idmap.ts";
import { lockContainer } from "./lock.ts";
import { writePidFile, claimContainer, type ContainerState, writeState, statePayload } from "./state.ts";
import { pidStartTime } from "../sys/proc.ts";
import { capsContext } from "./caps-context.ts";
import { withHome } from "./home.ts";
import { inUserNamespace } from "./paths.ts";
import { createCgroup, type ContainerCgroup } from "../cgroup/index.ts";
import { saveCgroupPath } from "../cgroup/state.ts";
import { mark, timingLine } from "../timing.ts";

/** OCI create (and runc's run): a container from the bundle in BUNDLE (a directory, relative to ctx.cwd) */
export interface CreateRequest {
  id: string;
  /** the bundle directory (default: ctx.cwd) */
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  /** process.terminal without consoleSocket: the pty master goes to the caller (runc run's own terminal) */
  onPty?: (fd: number) => void;
  noPivot?: boolean;
  preserveFds?: number;
}

function mapsOf(spec: Spec): IdMaps | undefined {
  const l = spec.linux;
  if (!l || !someOf(l.namespaces ?? [], (n) => n.type === "user" && !n.path)) return undefined;
  return { uid: l.uidMappings ?? [], gid: l.gidMappings ?? [] };
}

/** create: the container is set up and waits on exec.fifo until `start` */
export async function create(ctx: RuntimeContext, o: CreateRequest): Promise<ContainerState> {
  const bundle = loadBundle(o.bundle, ctx.cwd, ctx.ids.uid, ctx.ids.gid);
  mark("bundle read and checked");
  const { spec, rootfs } = bundle;
  const dir = claimContainer(ctx.stateRoot, o.id);
  const release = lockContainer(dir, o.id);
  mark("state dir, locked");
  let pid = 0;
  let cgroup: ContainerCgroup | undefined;
  try {
    const fifo = `${dir}/exec.fifo`;
    // 0622 as runc's: the container's process opens it for writing after its switch to
    // process.user, whoever that is; only `start` reads it.  chmod: mkfifo's mode is masked by the umask
    mkfifo(fifo, 0o622);
    chmodSync(fifo, 0o622);
    mark("exec.fifo (the shim loaded)");
    // the container's root opens it: as root with a map like 0 -> 1001 that is not us (runc does the same)
    const maps = mapsOf(spec);
    const hostRoot = (m: IdMaps["uid"] | undefined, own: number) => findOf(m ?? [], (x) => x.containerID === 0)?.hostID ?? own;
    if (ctx.ids.uid === 0 && maps) chownSync(fifo, hostRoot(maps.uid, 0), hostRoot(maps.gid, 0));
    if (spec.process?.terminal && !o.consoleSocket && !o.onPty) throw new BunkerError("create: process.terminal is true but no --console-socket was given", { errno: "EINVAL", fix: "pass --console-socket PATH (or set terminal to false; bunker run -b, not detached, uses its own terminal)" });
    const state: ContainerState = {
      ociVersion: spec.ociVersion ?? OCI_VERSION,
      id: o.id,
      pid: 0,
      pidStart: "",
      bundle: bundle.dir,
      rootfs,
      created: new Date().toISOString(),
      owner: userName(ctx.ids.uid) ?? String(ctx.ids.uid),
      annotations: spec.annotations,
      process: spec.process,
      seccomp: spec.linux?.seccomp,
      hooks: { startContainer: spec.hooks?.startContainer, poststart: spec.hooks?.poststart, poststop: spec.hooks?.poststop },
      userns: someOf(spec.linux?.namespaces ?? [], (n) => n.type === "user"),
    };
    const startHooks = spec.hooks?.startContainer;
    const planCtx: PlanContext = {
      // the seccomp compiler (src/oci/seccomp.ts) only for a config with linux.seccomp
      ...(spec.linux?.seccomp ? (await import("./process.ts")).processContext(spec.process!, spec.linux, ctx.log.debug) : capsContext(spec.process!)),
      execFifo: fifo,
      preserveFds: o.preserveFds,
      noPivot: o.noPivot,
      inUserNamespace: inUserNamespace(),
      startContainer: startHooks?.length ? { hooks: startHooks, state: statePayload(state, "created") } : undefined,
    };
    // HOME from the container's passwd when the config sets none, for this process only (runc): an
    // exec as another user looks its own up
    const proc = spec.process!;
    const plan = withSpecJoins(buildPlan({ ...spec, process: { ...proc, env: withHome(proc.env ?? [], rootfs, proc.user?.uid ?? 0) } }, planCtx), spec);
    // prestart, createRuntime and createContainer all run here: the namespaces exist, nothing is mounted yet
    const hooksBeforeGo = filterOf(["prestart", "createRuntime", "createContainer"] as const, (k) => spec.hooks?.[k]?.length);
    // linux.resources and linux.cgroupsPath: applied, or an error saying why not (never silently ignored)
    mark("plan built");
    const cg = await createCgroup({ id: o.id, resources: spec.linux?.resources, cgroupsPath: spec.linux?.cgroupsPath, manager: ctx.cgroupManager, onNote: ctx.log.debug, env: ctx.env });
    mark("cgroup");
    cgroup = cg ?? undefined;
    state.cgroup = cg?.path;
    if (cg) saveCgroupPath(dir, cg.path); // found by delete --force if this create is killed before state.json
    const c = await (ctx.launcher ?? realLauncher).launch(plan, {
      maps,
      cgroup,
      untilReady: true,
      debug: ctx.log.debug,
      // the agent's and the hooks' code only for a config that has them
      seccompListener: spec.linux?.seccomp?.listenerPath ? (await import("./seccomp-agent.ts")).seccompAgent(spec.linux.seccomp, () => statePayload(state, "creating"), ctx.log.debug) : undefined,
      // state.json before the child may run: a create killed after this leaves a container delete -f finds
      record: (childPid) => {
        state.pid = childPid;
        state.pidStart = pidStartTime(childPid) ?? "";
        writeState(dir, state);
      },
      beforeGo: hooksBeforeGo.length
        ? async (childPid: number) => {
            const { runHooks } = await import("../oci/hooks.ts");
            for (const kind of hooksBeforeGo) await runHooks(kind, spec.hooks![kind], { ...statePayload(state, "creating"), pid: childPid }, { env: ctx.env });
          }
        : undefined,
    });
    pid = c.pid;
    if (c.pty >= 0 && !o.consoleSocket && o.onPty) o.onPty(c.pty);
    else if (c.pty >= 0) sendPty(o.consoleSocket!, c.pty);
    if (o.pidFile) writePidFile(o.pidFile, c.pid);
    ctx.log.debug?.(`timing: ${timingLine()}`);
    return state;
  } catch (e) {
    // nothing half made stays behind
    if (pid > 0) (ctx.launcher ?? realLauncher).kill(pid);
    cgroup?.remove();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    release();
  }
}
