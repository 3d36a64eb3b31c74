// bunker spec [--rootless] [-b DIR]: write a config.json that `bunker run -b DIR ID` accepts as is
import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { defaultSpec } from "../oci/default-spec.ts";
import { BunkerError, fromSysError } from "../errors.ts";

export default async function (argv: string[], _g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["rootless"], help: "a config for a rootless container (user namespace, no devices)" }, { names: ["bundle", "b"], value: true, help: "DIR  where to write config.json (default: the current directory)" }], "spec", false);
  const file = resolve(flag(p, "bundle") ?? ".", "config.json");
  if (existsSync(file)) throw new BunkerError("spec: config.json already exists", { errno: "EEXIST", path: file, fix: "remove it first" });
  const spec = defaultSpec({ rootless: flagBool(p, "rootless") || process.getuid!() !== 0 });
  try {
    writeFileSync(file, JSON.stringify(spec, null, "\t") + "\n");
  } catch (e) {
    throw fromSysError("spec: cannot write config.json", e, { path: file });
  }
  return 0;
}
