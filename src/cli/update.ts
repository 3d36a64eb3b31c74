// bunker update [FLAGS] ID: change the limits of a running container.
// Takes the same resource flags as `run`, and runc's `--resources FILE`
// (a JSON linux.resources object; "-" = stdin).
import { readBounded } from "../json.ts";
import type { Resources } from "../oci/spec.ts";
import { BunkerError } from "../errors.ts";
import { parseResources } from "../oci/validate.ts";
import { update } from "../container/cgroup.ts";
import { runtimeContext } from "./context.ts";
import { RESOURCE_FLAGS, resourcesFromParsed } from "./resource-flags.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [...RESOURCE_FLAGS, { names: ["resources", "r"], value: true, help: "FILE  a JSON linux.resources object (OCI runtime-spec); - = stdin" }], "update");
  const [id, ...extra] = p.rest;
  if (!id || extra.length) throw new BunkerError("update: give exactly one container id", { errno: "EINVAL", fix: "bunker update --memory 1g ID" });
  let r: Resources = {};
  const file = flag(p, "resources");
  if (file !== undefined) {
    r = parseResources(readBounded(file, "config", "update: cannot read --resources"), file === "-" ? "--resources (stdin)" : file);
  }
  const fromFlags = resourcesFromParsed(p).resources ?? {};
  // flags win over the file, field by field
  r = {
    ...r,
    ...fromFlags,
    ...(r.memory || fromFlags.memory ? { memory: { ...r.memory, ...fromFlags.memory } } : {}),
    ...(r.cpu || fromFlags.cpu ? { cpu: { ...r.cpu, ...fromFlags.cpu } } : {}),
    ...(r.unified || fromFlags.unified ? { unified: { ...r.unified, ...fromFlags.unified } } : {}),
  };
  if (flag(p, "oom-kill-group") !== undefined) r.unified = { ...r.unified, "memory.oom.group": flagBool(p, "oom-kill-group") ? "1" : "0" };
  update(runtimeContext(g), id, r);
  return 0;
}
