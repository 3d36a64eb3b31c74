// bunker inspect [--type container|image] NAME...   (docker-style JSON array)
// A container (by id or --name) first, as docker does, then an image.
import { BunkerError } from "../errors.ts";
import { imageDetails } from "../image/inspect.ts";
import { Store } from "../image/store.ts";
import { containerStatus } from "../container/state.ts";
import { containerDetails } from "../container/inspect.ts";
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { applyTemplate, isTemplate, parseTemplate } from "./template.ts";

const ID_CHARS = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true, help: "json|TEMPLATE  the JSON array (default), or per NAME a line of\n{{.Field.Sub}} / {{json .Field}} actions" }, { names: ["type"], value: true, help: "container|image  what NAME is (default: a container first)" }], "inspect", false);
  if (!p.rest.length) throw new BunkerError("inspect: which container or image?", { errno: "EINVAL", fix: "bunker inspect ID|IMAGE" });
  const format = flag(p, "format");
  if (format !== undefined && format !== "json" && !isTemplate(format)) throw new BunkerError(`inspect: --format ${JSON.stringify(format)} is neither json nor a template`, { errno: "EINVAL", fix: "--format '{{.State.Pid}}', --format '{{json .Config}}' or --format json" });
  const template = isTemplate(format) ? parseTemplate(format) : undefined;
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
      if (found?.state) return containerDetails(found.state, found.status, found.dir);
      if (type === "container") throw new BunkerError(`inspect: no such container: ${name}`, { errno: "ENOENT", fix: "bunker ps -a lists them" });
    }
    store ??= Store.open(runtimeContext(g).dataRoot);
    return imageDetails(store, name);
  });
  if (template) for (const o of out) console.log(applyTemplate(template, o));
  else console.log(JSON.stringify(out, null, 4));
  return 0;
}
