// What a compiled Bun program would read from its working directory at
// start-up unless built not to (Makefile BUN_FLAGS): .env (variables in
// bunker's environment) and bunfig.toml (whose preload runs code in bunker,
// as root too).  bunker must read neither, as root and as the test user.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { USERS, asUserArgv, bunkerAs, bunkerBinary, chownTree, makeBusyboxRootfs, makeOciFixture, makeTempDir, ownerOf, removeTree, runAs, writeOciConfig } from "../lib/index.ts";

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

// Bun's node:fs, node:path and node:stream are JavaScript evaluated when first
// loaded (node:fs alone ~0.6 ms of a start; the first touch of process.stderr
// builds its streams, ~6 ms): the start-up paths load none of them.  What a
// command ran is what JavaScriptCore dumps with BUN_JSC_dumpGeneratedBytecodes
// (every code block it compiled, Bun's internal modules named "node:fs",
// "internal:streams/…"), so a change that brings one back fails here.
const BUN_MODULE = /^(node|internal):[A-Za-z0-9_/]+/gm;
const bunModules = (dump: string) => [...new Set(dump.match(BUN_MODULE) ?? [])].sort();

describe.each(USERS)("as %s: no Node module on the start-up paths", (as) => {
  test("run --rootfs, OCI create, state, and an error's line", async () => {
    const { base, bundle, root } = makeOciFixture(as, "bunker-startup-modules");
    dirs.push(base);
    await writeOciConfig(as, bundle, join(base, "out"), ["/bin/true"]);
    // each command's dump into a file: an OCI container keeps the stdout it was created with
    const dumpOf = async (name: string, args: string[]): Promise<{ code: number; dump: string }> => {
      const file = join(base, `${name}.dump`);
      const r = await runAs(as, asUserArgv(as, ["sh", "-c", `BUN_JSC_dumpGeneratedBytecodes=1 exec "$0" "$@" >${file} 2>&1 </dev/null`, bunkerBinary(), "--root", root, ...args]), { cwd: bundle });
      return { code: r.code, dump: readFileSync(file, "utf8") };
    };
    const run = await dumpOf("run", ["run", "--rootfs", join(bundle, "rootfs"), "--", "/bin/true"]);
    expect(run.code).toBe(0);
    const create = await dumpOf("create", ["create", "-b", bundle, "mods1"]);
    expect(create.code).toBe(0);
    const state = await dumpOf("state", ["state", "mods1"]);
    expect(state.code).toBe(0);
    expect(state.dump).toContain('"status": "created"');
    const failed = await dumpOf("error", ["state", "no-such-container"]);
    expect(failed.code).toBe(125);
    expect(failed.dump).toContain('bunker: container "no-such-container" does not exist: ENOENT');
    expect(await bunkerAs(as, ["--root", root, "delete", "-f", "mods1"])).toMatchObject({ code: 0 });
    // the dump really names compiled code (a command that ran none would pass the check below)
    for (const d of [run, create, state, failed]) expect(d.dump).toMatch(/^bun:main#/m);
    expect({ run: bunModules(run.dump), create: bunModules(create.dump), state: bunModules(state.dump), error: bunModules(failed.dump) }).toEqual({ run: [], create: [], state: [], error: [] });
  });
});
