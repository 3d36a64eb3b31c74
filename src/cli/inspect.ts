// bunker inspect [--type container|image] NAME...   (docker-style JSON array)
// A container (by id or --name) first, as docker does, then an image.
import { BunkerError } from "../errors.ts";
import { imageDetails } from "../image/inspect.ts";
import { Store } from "../image/store.ts";
import { containerStatus, type ContainerState } from "../container/state.ts";
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";

/** docker inspect's container fields bunker knows, and what the container's process was given */
function containerJson(s: ContainerState, status: string): Record<string, unknown> {
  const proc = s.process;
  const c = s.run?.confinement;
  return {
    Id: s.id,
    Name: `/${s.id}`,
    Created: s.created,
    Path: proc?.args?.[0] ?? "",
    Args: proc?.args?.slice(1) ?? [],
    State: { Status: status === "stopped" ? "exited" : status, Running: status === "running", Paused: status === "paused", Pid: status === "stopped" ? 0 : s.pid },
    Image: s.run?.image ?? "",
    Config: { User: proc ? `${proc.user.uid}:${proc.user.gid}` : "", Env: proc?.env ?? [], WorkingDir: proc?.cwd ?? "/", Cmd: proc?.args ?? [] },
    HostConfig: c
      ? { Privileged: c.privileged, CapAdd: null, CapDrop: null, SecurityOpt: [...(c.noNewPrivileges ? ["no-new-privileges"] : []), `seccomp=${c.seccomp}`], MaskedPaths: c.maskedPaths, ReadonlyPaths: c.readonlyPaths }
      : {},
    // what bunker gave it: the bounding set, no_new_privs, the filter, locked mounts
    Confinement: c ?? null,
    Bundle: s.bundle,
    Cgroup: s.cgroup ?? null,
  };
}

const ID_CHARS = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true, help: "TEMPLATE  a Go-template-like {{.Field}} selection" }, { names: ["type"], value: true, help: "container|image  what NAME is (default: a container first)" }], "inspect", false);
  if (!p.rest.length) throw new BunkerError("inspect: which container or image?", { errno: "EINVAL", fix: "bunker inspect ID|IMAGE" });
  const type = flag(p, "type");
  if (type !== undefined && type !== "container" && type !== "image") throw new BunkerError(`inspect: --type must be container or image (got "${type}")`, { errno: "EINVAL" });
  let store: Store | undefined;
  const out = p.rest.map((name) => {
    if (type !== "image" && ID_CHARS.test(name)) {
      let found: ReturnType<typeof containerStatus> | undefined;
      try {
        found = containerStatus(runtimeContext(g).stateRoot, name);
      } catch (e) {
        if (!(e instanceof BunkerError && e.errnoName === "ENOENT")) throw e; // not a container: an image
      }
      if (found?.state) return containerJson(found.state, found.status);
      if (type === "container") throw new BunkerError(`inspect: no such container: ${name}`, { errno: "ENOENT", fix: "bunker ps -a lists them" });
    }
    store ??= Store.open(runtimeContext(g).dataRoot);
    return imageDetails(store, name);
  });
  process.stdout.write(JSON.stringify(out, null, 4) + "\n");
  return 0;
}
