// bunker logout [--authfile F] [REGISTRY]: docker logout, the stored credentials of REGISTRY removed.
import { BunkerError } from "../errors.ts";
import { findCredentials, storeCredentials } from "../image/auth.ts";
import { registryOfArg } from "./login.ts";
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";

export default async function (argv: string[], _g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["authfile"], value: true, help: "FILE  the credentials file (default: containers auth.json)" }], "logout", false);
  const registry = registryOfArg(p.rest[0]);
  const env = flag(p, "authfile") ? { ...process.env, REGISTRY_AUTH_FILE: flag(p, "authfile") } : process.env;
  if (!findCredentials(registry, env)) {
    console.log(`Not logged in to ${registry}`);
    return 0;
  }
  const file = storeCredentials(registry, undefined, process.env, flag(p, "authfile"));
  console.log(`Removing login credentials for ${registry}`);
  // bunker writes only its own file; docker's config.json (read by pull and push) is docker logout's
  if (findCredentials(registry, env)) throw new BunkerError(`logout: ${registry}'s credentials are also in a file bunker does not write (not ${file})`, { errno: "EEXIST", fix: `docker logout ${registry}, or remove its entry from $DOCKER_CONFIG/config.json` });
  return 0;
}
