// A bundle's config.json for OCI tests: `bunker spec`'s, run as AS, with ARGS
// as the process (no terminal), OUT bound at /out, then EDIT's changes.
import { expect } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunkerAs, ownerOf, type As } from "./bunker.ts";
import { chownTree, makeBusyboxRootfs, makeTempDir, removeTree } from "./rootfs.ts";

export async function writeOciConfig(as: As, bundle: string, out: string, args: string[], edit: (c: any) => void = () => {}): Promise<void> {
  const f = join(bundle, "config.json");
  if (existsSync(f)) removeTree(f);
  const r = await bunkerAs(as, ["spec", "-b", bundle], { cwd: bundle });
  expect(r.stderr).toBe("");
  const c = JSON.parse(readFileSync(f, "utf8"));
  c.process.terminal = false;
  c.process.args = args;
  c.mounts.push({ destination: "/out", type: "bind", source: out, options: ["rbind"] });
  edit(c);
  writeFileSync(f, JSON.stringify(c));
  chownTree(f, ownerOf(as));
}

/** a temp dir owned by AS with a busybox bundle, a state root and a world-writable /out */
export function makeOciFixture(as: As, prefix: string): { base: string; bundle: string; root: string; out: string } {
  const base = makeTempDir(prefix, ownerOf(as));
  const bundle = join(base, "bundle");
  makeBusyboxRootfs(join(bundle, "rootfs"), ownerOf(as));
  const out = join(base, "out");
  for (const d of [bundle, out]) {
    mkdirSync(d, { recursive: true });
    chownTree(d, ownerOf(as));
  }
  chmodSync(out, 0o777);
  return { base, bundle, root: join(base, "state"), out };
}
