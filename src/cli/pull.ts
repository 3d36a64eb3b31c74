// bunker pull [--platform os/arch[/variant]] [-q] [--tls-verify=false|--insecure] [--cert-dir DIR] [--creds USER:PASS] REF
import { BunkerError } from "../errors.ts";
import { parsePlatform } from "../image/platform.ts";
import { Progress } from "../image/progress.ts";
import { pullImage } from "../image/pull.ts";
import { shortName } from "../image/reference.ts";
import { Store } from "../image/store.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export const REGISTRY_FLAGS = [
  { names: ["tls-verify"], value: true },
  { names: ["insecure"] },
  { names: ["cert-dir"], value: true },
  { names: ["creds"], value: true },
];

/** --tls-verify=false / --insecure / --cert-dir / --creds as RegistryOptions. */
export function registryOptions(p: ReturnType<typeof parseFlags>) {
  const tv = flag(p, "tls-verify");
  if (tv !== undefined && tv !== "true" && tv !== "false") throw new BunkerError(`--tls-verify takes true or false (got "${tv}")`, { errno: "EINVAL" });
  const creds = flag(p, "creds");
  const i = creds?.indexOf(":") ?? -1;
  if (creds !== undefined && i <= 0) throw new BunkerError("--creds takes USER:PASSWORD", { errno: "EINVAL" });
  return {
    insecure: tv === "false" || flagBool(p, "insecure"),
    certDir: flag(p, "cert-dir"),
    credentials: creds ? { username: creds.slice(0, i), password: creds.slice(i + 1) } : undefined,
  };
}

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["platform"], value: true }, { names: ["quiet", "q"] }, ...REGISTRY_FLAGS], "pull", false);
  const ref = p.rest[0];
  if (!ref || p.rest.length > 1) throw new BunkerError("pull: needs one image reference", { errno: "EINVAL", fix: "bunker pull busybox" });
  const quiet = flagBool(p, "quiet");
  const progress = Progress.forTerminal(quiet);
  const pulled = await pullImage(Store.open(g.dataRoot), ref, {
    ...registryOptions(p),
    platform: flag(p, "platform") ? parsePlatform(flag(p, "platform")!) : undefined,
    events: progress,
  });
  progress?.finish();
  if (!quiet) for (const n of pulled.notes) process.stderr.write(`bunker: note: ${n}\n`);
  if (quiet) console.log(pulled.id);
  else {
    console.log(`Digest: ${pulled.repoDigest.split("@")[1]}`);
    console.log(`Pulled: ${pulled.name ? shortName(pulled.name) : pulled.repoDigest} (image ID ${pulled.id.slice(7, 19)})`);
  }
  return 0;
}
