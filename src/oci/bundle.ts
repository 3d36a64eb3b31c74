// Reading an OCI bundle: config.json -> a validated Spec with an absolute rootfs.
import { isAbsolute, resolve } from "../sys/path.ts";
import { readBounded } from "../json.ts";
import type { Spec } from "./spec.ts";
import { parseConfig, ensureUserNamespace } from "./validate.ts";

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

/** the bundle in DIRARG (resolved from CWD) for a runtime running as UID:GID */
export function loadBundle(dirArg: string | undefined, cwd: string, uid: number, gid: number): Bundle {
  const dir = resolve(cwd, dirArg ?? ".");
  const file = `${dir}/config.json`;
  const text = readBounded(file, "config", "cannot read the bundle's config", "pass the bundle with -b DIR (bunker spec writes a config.json)");
  const spec = parseConfig(text, file);
  if (uid !== 0) ensureUserNamespace(spec, uid, gid);
  const root = spec.root!.path;
  const rootfs = isAbsolute(root) ? root : resolve(dir, root);
  spec.root!.path = rootfs;
  return { dir, spec, rootfs };
}
