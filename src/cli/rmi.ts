// bunker rmi [-f] IMAGE...
import { BunkerError } from "../errors.ts";
import { shortName } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerUsingImage } from "../container/image-use.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["force", "f"], help: "also images a container uses" }], "rmi", false);
  if (!p.rest.length) throw new BunkerError("rmi: which image?", { errno: "EINVAL", fix: "bunker rmi IMAGE..." });
  const store = Store.open(runtimeContext(g).dataRoot);
  let failed: unknown;
  for (const ref of p.rest) {
    try {
      const r = await store.removeImage(ref, flagBool(p, "force"), (id) => containerUsingImage(runtimeContext(g).stateRoot, id));
      for (const n of r.untagged) console.log(`Untagged: ${shortName(n)}`);
      if (r.deleted) console.log(`Deleted: ${r.deleted}`);
    } catch (e) {
      failed ??= e;
    }
  }
  await store.gc();
  if (failed) throw failed;
  return 0;
}
