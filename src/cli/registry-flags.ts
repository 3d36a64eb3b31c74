// The registry flags pull, push, login and run share: --tls-verify=false,
// --insecure, --cert-dir, --creds.  Small on purpose: run imports it, and a
// run of an image already in the store loads no registry code.
import { BunkerError } from "../errors.ts";
import { flag, flagBool, type parseFlags } from "./args.ts";

export const REGISTRY_FLAGS = [
  { names: ["tls-verify"], value: true, help: "=false  plain HTTP or an untrusted certificate" },
  { names: ["insecure"], help: "same as --tls-verify=false" },
  { names: ["cert-dir"], value: true, help: "DIR  CA certificates (*.crt) to trust" },
  { names: ["creds"], value: true, help: "USER:PASSWORD  registry credentials" },
];

/** --tls-verify=false (or --insecure, where it is a flag) */
export function tlsVerifyOff(p: ReturnType<typeof parseFlags>): boolean {
  const tv = flag(p, "tls-verify");
  if (tv !== undefined && tv !== "true" && tv !== "false") throw new BunkerError(`--tls-verify takes true or false (got "${tv}")`, { errno: "EINVAL" });
  return tv === "false" || flagBool(p, "insecure");
}

/** --tls-verify=false / --insecure / --cert-dir / --creds as RegistryOptions. */
export function registryOptions(p: ReturnType<typeof parseFlags>) {
  const creds = flag(p, "creds");
  const i = creds?.indexOf(":") ?? -1;
  if (creds !== undefined && i <= 0) throw new BunkerError("--creds takes USER:PASSWORD", { errno: "EINVAL" });
  return {
    insecure: tlsVerifyOff(p),
    certDir: flag(p, "cert-dir"),
    credentials: creds ? { username: creds.slice(0, i), password: creds.slice(i + 1) } : undefined,
    env: process.env,
  };
}

