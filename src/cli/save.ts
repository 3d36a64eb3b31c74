// bunker save -o FILE IMAGE...   (a docker-archive for docker/podman load)
import { BunkerError } from "../errors.ts";
import { saveArchive } from "../image/archive.ts";
import { Store } from "../image/store.ts";
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["output", "o"], value: true, help: "FILE  write to FILE instead of stdout" }, { names: ["format"], value: true, help: "docker-archive  the archive format (the only one written)" }], "save", false);
  const out = flag(p, "output");
  if (!out || !p.rest.length) throw new BunkerError("save: needs -o FILE and at least one IMAGE", { errno: "EINVAL", fix: "bunker save -o busybox.tar busybox" });
  const format = flag(p, "format") ?? "docker-archive";
  if (format !== "docker-archive") throw new BunkerError(`save: unsupported --format ${format}`, { errno: "EINVAL", fix: "only docker-archive is written" });
  await saveArchive(Store.open(runtimeContext(g).dataRoot), p.rest, out);
  return 0;
}
