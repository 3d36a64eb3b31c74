// Rootless podman with bunker as its OCI runtime, in a private storage and run
// root under BASE: the containers.conf a user writes and a `podman` wrapper
// (podman.test.ts, podman-compose.test.ts), and its clean-up.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { asUserArgv, bunkerBinary, runAs, type As } from "./bunker.ts";

/** writes BASE/containers.conf and BASE/podman.sh (podman ARGS with bunker); returns the wrapper's path */
export function podmanWrapper(base: string): string {
  const conf = join(base, "containers.conf");
  // podman 4.3 spells the list runtime_supports_nocgroup (no s); later versions add the s
  writeFileSync(conf, `[engine]\nruntime_supports_nocgroup = ["bunker"]\nruntime_supports_nocgroups = ["bunker"]\nruntime_supports_json = ["bunker"]\n\n[engine.runtimes]\nbunker = ["${bunkerBinary()}"]\n`);
  const script = join(base, "podman.sh");
  writeFileSync(
    script,
    `#!/bin/sh\nexport CONTAINERS_CONF=${conf} HOME=${base}/home XDG_RUNTIME_DIR=${base}/xdg\nmkdir -p $HOME $XDG_RUNTIME_DIR\nchmod 700 $XDG_RUNTIME_DIR\n` +
      `exec podman --root ${base}/storage --runroot ${base}/run --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --runtime bunker "$@"\n`,
  );
  chmodSync(script, 0o755);
  return script;
}

/** removes every container, the storage (from inside podman's user namespace) and ends the pause process */
export async function endPodman(as: As, script: string, base: string): Promise<void> {
  const pm = (args: string[]) => runAs(as, asUserArgv(as, [script, ...args]), { cwd: base, timeoutMs: 60_000 });
  await pm(["rm", "-af", "-t", "0"]);
  await pm(["system", "migrate"]);
  // vfs layers carry files owned by subordinate ids: remove them from inside podman's user namespace
  await pm(["unshare", "rm", "-rf", `${base}/storage`, `${base}/run`]);
  // rootless podman keeps a pause process (catatonit) holding its user namespace: end it by its pid file
  try {
    process.kill(Number(readFileSync(`${base}/xdg/libpod/tmp/pause.pid`, "utf8").trim()), "SIGKILL");
  } catch {
    /* root: no pause process */
  }
}
