// bunker push [--tls-verify=false] [--cert-dir DIR] [--creds USER:PASS] [-q] [--digestfile FILE] IMAGE [DEST]
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
    ...REGISTRY_FLAGS,
  ], "push", false);
  const [src, dest] = p.rest;
  if (!src || p.rest.length > 2) throw new BunkerError("push: needs an image and at most one destination", { errno: "EINVAL", fix: "bunker push IMAGE [REGISTRY/REPOSITORY[:TAG]]" });
  const quiet = flagBool(p, "quiet");
  const progress = Progress.forTerminal(quiet);
  const pushed = await pushImage(Store.open(runtimeContext(g).dataRoot), src, dest, { ...registryOptions(p), events: progress });
  progress?.finish();
  for (const n of pushed.notes) process.stderr.write(`bunker: note: ${n}\n`);
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
