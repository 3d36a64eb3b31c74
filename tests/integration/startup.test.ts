// What a compiled Bun program would read from its working directory at
// start-up unless built not to (Makefile BUN_FLAGS): .env (variables in
// bunker's environment) and bunfig.toml (whose preload runs code in bunker,
// as root too).  bunker must read neither, as root and as the test user.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, bunkerAs, chownTree, makeBusyboxRootfs, makeTempDir, ownerOf, removeTree } from "../lib/index.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeTree));

/** a working directory owned by AS with a .env and a bunfig.toml whose preload leaves a marker file */
function hostileCwd(as: (typeof USERS)[number]): { dir: string; marker: string } {
  const dir = makeTempDir("bunker-cwd");
  dirs.push(dir);
  const marker = join(dir, "preload-ran");
  writeFileSync(join(dir, ".env"), "FOO=from-dotenv\nXDG_RUNTIME_DIR=/nonexistent-from-dotenv\n");
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
  writeFileSync(join(dir, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\nconsole.error("PRELOAD RAN");\n`);
  chownTree(dir, ownerOf(as));
  return { dir, marker };
}

describe.each(USERS)("as %s", (as) => {
  test("the working directory's .env and bunfig.toml are not read (run, --version)", async () => {
    const rootfsDir = makeTempDir("bunker-startup-rootfs");
    dirs.push(rootfsDir);
    const rootfs = makeBusyboxRootfs(join(rootfsDir, "rootfs"), ownerOf(as));
    const { dir, marker } = hostileCwd(as);
    const r = await bunkerAs(as, ["run", "--rootfs", rootfs, "-e", "FOO", "--", "/bin/sh", "-c", 'echo "FOO=$FOO"'], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("FOO=\n");
    expect(r.code).toBe(0);
    const v = await bunkerAs(as, ["--version"], { cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stderr).toBe("");
    expect(v.stdout).toStartWith("bunker version ");
    expect(existsSync(marker)).toBe(false);
  });
});
