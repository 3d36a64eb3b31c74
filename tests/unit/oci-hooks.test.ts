// OCI hooks run as small shell scripts: argv, env, state on stdin, cwd,
// failures and timeouts.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { BunkerError } from "../../src/errors.ts";
import { runHooks } from "../../src/oci/hooks.ts";
import type { State } from "../../src/oci/spec.ts";

const dir = mkdtempSync(`${tmpdir()}/bunker-hooks-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = `${dir}/${name}`;
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const state: State = { ociVersion: "1.2.0", id: "c1", status: "creating", pid: 4242, bundle: dir, annotations: { a: "b" } };

async function failure(p: Promise<void>): Promise<BunkerError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BunkerError);
    return e as BunkerError;
  }
  throw new Error("the hooks did not fail");
}

describe("runHooks", () => {
  test("argv (argv[0] from args), env, state on stdin, cwd = bundle", async () => {
    const out = `${dir}/out1`;
    // a shebang script cannot see its argv[0]: run sh itself and read its /proc cmdline
    const show = `{ tr '\\0' ' ' < /proc/$$/cmdline; echo; echo "FOO=$FOO HOME=\${HOME:-unset}"; pwd; cat; echo; } > ${out}`;
    await runHooks("createRuntime", [{ path: "/bin/sh", args: ["my-hook", "-c", show, "one", "two words"], env: ["FOO=bar=baz"] }], state);
    const lines = readFileSync(out, "utf8").split("\n");
    expect(lines[0]).toBe(`my-hook -c ${show} one two words `);
    expect(lines[1]).toBe("FOO=bar=baz HOME=unset");
    expect(lines[2]).toBe(dir);
    expect(JSON.parse(lines[3]!)).toEqual(state);
  });

  test("without args argv[0] is the path; without env the runtime's environment is inherited", async () => {
    const out = `${dir}/out2`;
    const path = script("record2", `echo "$0 $#" > ${out}; echo "\${BUNKER_HOOK_TEST:-missing}" >> ${out}`);
    process.env.BUNKER_HOOK_TEST = "inherited";
    await runHooks("poststop", [{ path }], { ...state, status: "stopped" }, { env: process.env });
    delete process.env.BUNKER_HOOK_TEST;
    expect(readFileSync(out, "utf8")).toBe(`${path} 0\ninherited\n`);
  });

  test("hooks run in order, and the first failure stops them", async () => {
    const out = `${dir}/order`;
    const a = script("a", `echo a >> ${out}`);
    const bad = script("bad", `echo "no network for you" >&2; echo more >&2; exit 3`);
    const c = script("c", `echo c >> ${out}`);
    const e = await failure(runHooks("prestart", [{ path: a }, { path: bad }, { path: c }], state));
    expect(e.message).toBe(`hooks.prestart[1] ${bad}: exited with status 3: no network for you`);
    expect(e.exitCode).toBe(125);
    expect(readFileSync(out, "utf8")).toBe("a\n");
  });

  test("killed by a signal", async () => {
    const path = script("segv", "kill -SEGV $$");
    const e = await failure(runHooks("createContainer", [{ path }], state));
    expect(e.message).toBe(`hooks.createContainer[0] ${path}: was killed by SIGSEGV`);
  });

  test("timeout: killed, named, and quick", async () => {
    const path = script("slow", "exec sleep 30");
    const t0 = Date.now();
    const e = await failure(runHooks("startContainer", [{ path, timeout: 1 }], state));
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(e.message).toBe(`hooks.startContainer[0] ${path}: timed out after 1s and was killed`);
    expect(e.errnoName).toBe("ETIMEDOUT");
  });

  test("a hook that cannot be run", async () => {
    const e = await failure(runHooks("createRuntime", [{ path: `${dir}/nope` }], state));
    expect(e.message).toBe(`hooks.createRuntime[0] ${dir}/nope: cannot run the hook`);
    expect(e.errnoName).toBe("ENOENT");
    writeFileSync(`${dir}/noexec`, "#!/bin/sh\n");
    const f = await failure(runHooks("createRuntime", [{ path: `${dir}/noexec` }], state));
    expect(f.errnoName).toBe("EACCES");
  });

  test("a hook that ignores its stdin does not hang", async () => {
    const path = script("quiet", "exit 0");
    await runHooks("poststart", [{ path }], { ...state, annotations: { big: "x".repeat(1 << 20) } });
  });

  test("poststart/poststop with onWarning: failures are reported and the rest still run", async () => {
    const out = `${dir}/warn`;
    const bad = script("bad2", "exit 1");
    const ok = script("ok", `echo ok >> ${out}`);
    const warnings: string[] = [];
    await runHooks("poststop", [{ path: bad }, { path: ok }], state, { onWarning: (e) => warnings.push(e.message) });
    expect(warnings).toEqual([`hooks.poststop[0] ${bad}: exited with status 1`]);
    expect(readFileSync(out, "utf8")).toBe("ok\n");
    // other kinds still throw
    await failure(runHooks("createRuntime", [{ path: bad }, { path: ok }], state, { onWarning: () => {} }));
  });

  test("no hooks: nothing to do", async () => {
    await runHooks("prestart", undefined, state);
    await runHooks("prestart", [], state);
  });
});
