// bunker login [-u USER] [-p PASS | --password-stdin] [--tls-verify=false] [--get-login] REGISTRY
// Checks the credentials against the registry, then stores them like Docker's config.json.
import { BunkerError } from "../errors.ts";
import { findCredentials, storeCredentials } from "../image/auth.ts";
import { parseReference } from "../image/reference.ts";
import { Registry } from "../image/registry.ts";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { REGISTRY_FLAGS, registryOptions } from "./registry-flags.ts";

/** REGISTRY as login and logout take it (a URL, host[:port], or none: docker.io) */
export function registryOfArg(arg: string | undefined): string {
  return arg ? parseReference(`${arg.replace(/^https?:\/\//, "").replace(/\/.*$/, "")}/x`).registry : "docker.io";
}

export default async function (argv: string[], _g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [
    { names: ["username", "u"], value: true, help: "USER  the user name" }, { names: ["password", "p"], value: true, help: "PASSWORD  the password" }, { names: ["password-stdin"], help: "read the password from stdin" },
    { names: ["get-login"], help: "print the stored user name of REGISTRY" }, { names: ["authfile"], value: true, help: "FILE  the credentials file (default: containers auth.json)" }, ...REGISTRY_FLAGS,
  ], "login", false);
  const registry = registryOfArg(p.rest[0]);
  if (flagBool(p, "get-login")) {
    const c = findCredentials(registry, process.env);
    if (!c) throw new BunkerError(`not logged in to ${registry}`, { errno: "ENOENT" });
    console.log(c.username);
    return 0;
  }
  const username = flag(p, "username");
  let password = flag(p, "password");
  if (flagBool(p, "password-stdin")) password = (await new Response(Bun.stdin.stream()).text()).replace(/\r?\n$/, "");
  if (!username || password === undefined) throw new BunkerError("login: needs -u USER and -p PASSWORD (or --password-stdin)", { errno: "EINVAL" });
  const credentials = { username, password };
  await new Registry(registry, { ...registryOptions(p), credentials }).ping();
  const file = storeCredentials(registry, credentials, process.env, flag(p, "authfile"));
  console.log(`Login Succeeded (${file})`);
  return 0;
}
