// bunker push [--tls-verify=false] [--cert-dir DIR] [--creds USER:PASS] [--compression-format gzip|zstd] [-q] [--digestfile FILE] IMAGE [DEST]
import { writeFileSync } from "node:fs";
import { BunkerError, fromSysError } from "../errors.ts";
import { pushImage } from "../image/push.ts";
import { shortName } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { Progress } from "./progress.ts";
import { REGISTRY_FLAGS, registryOptions } from "./registry-flags.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["quiet", "q"], help: "print only the digest" },
    { names: ["digestfile"], value: true, help: "FILE  also write the pushed manifest's digest to FILE" },
    { names: ["compression-format"], value: true, help: "gzip|zstd  recompress layers that are not (a new manifest: a new digest)" },
    ...REGISTRY_FLAGS,
  ], "push", false);
  const [src, dest] = p.rest;
  if (!src || p.rest.length > 2) throw new BunkerError("push: needs an image and at most one destination", { errno: "EINVAL", fix: "bunker push IMAGE [REGISTRY/REPOSITORY[:TAG]]" });
  const compression = flag(p, "compression-format");
  if (compression !== undefined && compression !== "gzip" && compression !== "zstd") throw new BunkerError(`push: --compression-format takes gzip or zstd (got "${compression}")`, { errno: "EINVAL" });
  const quiet = flagBool(p, "quiet");
  const progress = Progress.forTerminal(quiet);
  const pushed = await pushImage(Store.open(runtimeContext(g).dataRoot), src, dest, { ...registryOptions(p), events: progress, compression });
  progress?.finish();
  for (const n of pushed.notes) console.error(`bunker: note: ${n}`);
  const file = flag(p, "digestfile");
  if (file) {
    try {
      writeFileSync(file, pushed.digest);
    } catch (e) {
      throw fromSysError("push: cannot write --digestfile", e, { path: file });
    }
  }
  if (quiet) console.log(pushed.digest);
  else {
    const { pushed: up, exists, mounted } = pushed.blobs;
    console.log(`Pushed: ${shortName(pushed.name)} (${pushed.platforms > 1 ? `an index of ${pushed.platforms} platforms, ` : ""}blobs: ${up} uploaded, ${exists} already there, ${mounted} mounted)`);
    console.log(`Digest: ${pushed.digest}`);
  }
  return 0;
}
