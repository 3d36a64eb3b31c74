// bunker commit [-c 'INSTRUCTION']... [-m MSG] [-a AUTHOR] [--pause=false] CONTAINER [REF]:
// a new image of a container's image and its writable layer (src/container/commit.ts)
import { BunkerError } from "../errors.ts";
import { flag, flagList, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { checkId } from "../container/state.ts";
import { commitContainer } from "../container/commit.ts";
import { normalJit } from "../jit.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["change", "c"], value: true, multi: true, help: "'INSTRUCTION ARGS'  apply a Dockerfile instruction to the config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL" },
    { names: ["message", "m"], value: true, help: "MSG  the history entry's comment" },
    { names: ["author", "a"], value: true, help: "AUTHOR  the image's author" },
    { names: ["pause", "p"], help: "=false  do not freeze a running container while its layer is read (default true)" },
  ], "commit", false);
  const [arg, ref, ...extra] = p.rest;
  if (extra.length) throw new BunkerError("commit: takes CONTAINER [REF]", { errno: "EINVAL", fix: "bunker commit mycontainer localhost/myimage:1" });
  const id = checkId(arg, "commit");
  normalJit(); // the layer is read, rewritten and compressed in long loops
  const rec = await commitContainer(runtimeContext(g), id, ref, { changes: flagList(p, "change"), message: flag(p, "message"), author: flag(p, "author"), pause: flag(p, "pause") !== "false" });
  console.log(rec.id);
  return 0;
}
