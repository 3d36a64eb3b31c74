// bunker tag SOURCE TARGET
import { BunkerError } from "../errors.ts";
import { formatReference, parseReference } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [], "tag", false);
  const [src, dst] = p.rest;
  if (!src || !dst || p.rest.length > 2) throw new BunkerError("tag: needs SOURCE and TARGET", { errno: "EINVAL", fix: "bunker tag busybox localhost/mybox:1" });
  const target = parseReference(dst);
  if (target.digest) throw new BunkerError("tag: the target cannot have a digest", { errno: "EINVAL", path: dst });
  const store = Store.open(runtimeContext(g).dataRoot);
  const rec = store.get(src);
  await store.addImage(rec.digest, [formatReference(target)]);
  return 0;
}
