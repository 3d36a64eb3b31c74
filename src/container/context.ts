// What every engine function (src/container) is given instead of argv,
// process.env, the process's ids and a terminal: the CLI (src/cli/context.ts)
// builds it once per command; an API server builds its own.
import type { BunkerError } from "../errors.ts";
import type { HostIds } from "../sys/idmap.ts";
import type { Launcher } from "../sys/launcher.ts";

export type { HostIds };

/** Notes and warnings of an operation; the caller decides whether and where they are shown. */
export interface Logger {
  /** --debug notes (the plan, the cgroup, the timing line); undefined when nobody asked */
  debug?: (msg: string) => void;
  /** something the user should know that did not stop the operation */
  note(msg: string): void;
  /** a failure that did not stop the operation (a poststop hook, a tree that would not go) */
  warn(err: BunkerError): void;
}

export type CgroupManagerName = "cgroupfs" | "systemd" | "disabled";

export interface RuntimeContext {
  /** the containers' state directory (runc's --root): made and checked on first use */
  readonly stateRoot: string;
  /** the image store (--data-root) */
  readonly dataRoot: string;
  /** --cgroup-manager; undefined: systemd when it delegates to us, else cgroupfs */
  cgroupManager?: CgroupManagerName;
  /** --storage-driver, validated where used (src/image/driver.ts; $BUNKER_STORAGE_DRIVER is read from env there) */
  storageDriver?: string;
  log: Logger;
  /** the ids bunker runs as (the real uid and gid; euid for the store's unpack) */
  ids: HostIds;
  /** bunker's environment, read once by the caller: `-e K` without a value, hooks without env, HOME, PATH */
  env: Readonly<Record<string, string | undefined>>;
  /** the caller's working directory (--rootfs host binds it) */
  cwd: string;
  /** bunker's own executable: the monitor hands a finished run back to it, a run -d --rm's log writer removes with it */
  execPath: string;
  /** how processes are started and waited for; undefined: the real one (src/sys/launcher.ts), a unit test's records */
  launcher?: Launcher;
}

