// Reading an OCI bundle: config.json -> a validated Spec with an absolute rootfs.
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { BunkerError } from "../errors.ts";
import type { Spec } from "./spec.ts";
import { parseConfig, ensureUserNamespace } from "./validate.ts";

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

export function loadBundle(dirArg: string | undefined): Bundle {
  const dir = resolve(dirArg ?? ".");
  const file = `${dir}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new BunkerError("cannot read the bundle's config", { errno: (e as { code?: string }).code ?? "EIO", path: file, fix: "pass the bundle with -b DIR (bunker spec writes a config.json)" });
  }
  const spec = parseConfig(text, file);
  const uid = process.getuid!(), gid = process.getgid!();
  if (uid !== 0) ensureUserNamespace(spec, uid, gid);
  const root = spec.root!.path;
  const rootfs = isAbsolute(root) ? root : resolve(dir, root);
  spec.root!.path = rootfs;
  return { dir, spec, rootfs };
}
