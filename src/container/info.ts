// docker info's facts: one document for `bunker info` and the API's GET /info.
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, release, totalmem } from "node:os";
import type { RuntimeContext } from "./context.ts";
import { containerStatus, listIds } from "./state.ts";
import { chooseStorageDriver } from "../image/driver.ts";
import { Store } from "../image/store.ts";
import { VERSION } from "../version.ts";

/** uname -m for process.arch (/info's Architecture) */
const UNAME_M: Record<string, string> = { x64: "x86_64", arm64: "aarch64", arm: "armv7l", ia32: "i686", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

function operatingSystem(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

/** what docker info shows (GET /info's document): the containers by state, the images, the storage driver, the host */
export async function systemInfo(ctx: RuntimeContext) {
  const counts = { running: 0, paused: 0, stopped: 0 };
  const ids = listIds(ctx.stateRoot);
  for (const id of ids) {
    const { status } = containerStatus(ctx.stateRoot, id);
    if (status === "running") counts.running++;
    else if (status === "paused") counts.paused++;
    else counts.stopped++;
  }
  const driver = await chooseStorageDriver({ flag: ctx.storageDriver, env: ctx.env.BUNKER_STORAGE_DRIVER, dataRoot: ctx.dataRoot });
  return {
    ID: "",
    Containers: ids.length,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: Store.open(ctx.dataRoot).listImages().length,
    Driver: driver.driver,
    DriverStatus: [["Why", driver.why]],
    Plugins: { Volume: [], Network: ["none", "host", "pasta", "slirp4netns"], Log: [] },
    MemoryLimit: true,
    SwapLimit: false,
    OomKillDisable: false,
    NCPU: availableParallelism(),
    MemTotal: totalmem(),
    Name: hostname(),
    OperatingSystem: operatingSystem(),
    OSType: "linux",
    Architecture: UNAME_M[process.arch] ?? process.arch,
    KernelVersion: release(),
    ServerVersion: VERSION,
    DockerRootDir: ctx.dataRoot,
    LoggingDriver: "bunker",
    CgroupDriver: ctx.cgroupManager ?? "cgroupfs",
    CgroupVersion: "2",
    DefaultRuntime: "bunker",
    Runtimes: { bunker: { path: ctx.execPath } },
    SecurityOptions: ["name=seccomp,profile=builtin", ...(ctx.ids.uid !== 0 ? ["name=rootless"] : []), "name=cgroupns"],
    Swarm: { LocalNodeState: "inactive", ControlAvailable: false, NodeID: "", NodeAddr: "" },
    Warnings: [] as string[],
  };
}

