// podman with bunker as its OCI runtime, in a private storage and run root
// under BASE: the containers.conf a user writes and a `podman` wrapper
// (podman.test.ts, podman-compose.test.ts), and its clean-up.
//
// Root podman on a host with cgroup v1 hierarchies (this one's hybrid layout)
// would create cgroups of its own there (for conmon, for pods), which tests must
// never do: as root the wrapper re-runs itself in a private mount namespace in
// which the cgroup trees are unmounted (noCgroupsPreamble), and containers.conf
// says cgroups = "disabled" (podman's --cgroups=disabled) and netns = "none"
// (no CNI bridge or iptables rules on the host).
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { asUserArgv, bunkerBinary, runAs, type As } from "./bunker.ts";
import { noCgroupsPreamble } from "./cgroup-guard.ts";

/** writes BASE/containers.conf and BASE/podman.sh (podman ARGS with bunker, as AS); returns the wrapper's path */
export function podmanWrapper(base: string, as: As = "user"): string {
  const conf = join(base, "containers.conf");
  const root = as === "root"
    ? // root podman asks RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, and lowers its own NPROC first: a root
      // without CAP_SYS_RESOURCE (a machine that is itself a container, like this one) cannot raise them
      // (runc and bunker both fail then): limits below any machine's
      `[containers]\ncgroups = "disabled"\nnetns = "none"\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n\n`
    : "";
  // podman 4.3 spells the list runtime_supports_nocgroup (no s); later versions add the s
  writeFileSync(conf, `${root}[engine]\nruntime_supports_nocgroup = ["bunker"]\nruntime_supports_nocgroups = ["bunker"]\nruntime_supports_json = ["bunker"]\n\n[engine.runtimes]\nbunker = ["${bunkerBinary()}"]\n`);
  const script = join(base, "podman.sh");
  const podman = `podman --root ${base}/storage --runroot ${base}/run${as === "root" ? ` --tmpdir ${base}/tmp` : ""} --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --runtime bunker "$@"`;
  writeFileSync(
    script,
    as === "root"
      ? `${noCgroupsPreamble("podman").replace("#!/bin/sh\n", `#!/bin/sh\n[ "$BUNKER_PODMAN_NS" = 1 ] || BUNKER_PODMAN_NS=1 exec unshare --mount --propagation private sh "$0" "$@"\n`)}` +
          `export CONTAINERS_CONF=${conf} HOME=${base}/home\nmkdir -p $HOME\nexec ${podman}\n`
      : `#!/bin/sh\nexport CONTAINERS_CONF=${conf} HOME=${base}/home XDG_RUNTIME_DIR=${base}/xdg\nmkdir -p $HOME $XDG_RUNTIME_DIR\nchmod 700 $XDG_RUNTIME_DIR\nexec ${podman}\n`,
  );
  chmodSync(script, 0o755);
  return script;
}

/** removes every container, pod and volume, the storage (from inside podman's user namespace) and ends the pause process */
export async function endPodman(as: As, script: string, base: string): Promise<void> {
  const pm = (args: string[]) => runAs(as, asUserArgv(as, [script, ...args]), { cwd: base, timeoutMs: 60_000 });
  await pm(["pod", "rm", "-af", "-t", "0"]);
  await pm(["rm", "-af", "-t", "0"]);
  await pm(["volume", "rm", "-af"]);
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
