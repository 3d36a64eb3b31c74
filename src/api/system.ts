// /_ping, /version, /info: what a client asks before anything else (the
// docker CLI negotiates its API version from /_ping's API-Version header).
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, release, totalmem } from "node:os";
import { containerStatus, listIds } from "../container/state.ts";
import { chooseStorageDriver } from "../image/driver.ts";
import { Store } from "../image/store.ts";
import { VERSION } from "../version.ts";
import { jsonResponse } from "./errors.ts";
import { API_VERSION, MIN_API_VERSION, type ApiRequest, type Route } from "./server.ts";

/** Go's GOARCH for Node's process.arch (what Docker reports) */
const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
/** uname -m for process.arch (/info's Architecture) */
const UNAME_M: Record<string, string> = { x64: "x86_64", arm64: "aarch64", arm: "armv7l", ia32: "i686", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

function ping(r: ApiRequest): Response {
  const headers = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache, no-store, must-revalidate", Pragma: "no-cache" };
  return new Response(r.req.method === "HEAD" ? null : "OK", { headers });
}

function version(): Response {
  const arch = GOARCH[process.arch] ?? process.arch;
  const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: "linux", Arch: arch, KernelVersion: release() };
  return jsonResponse({
    Platform: { Name: "bunker" },
    Components: [{ Name: "Engine", Version: VERSION, Details: details }],
    Version: VERSION,
    ...details,
    GitCommit: "",
    GoVersion: "",
    BuildTime: "",
  });
}

function operatingSystem(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

async function info({ ctx }: ApiRequest): Promise<Response> {
  const counts = { running: 0, paused: 0, stopped: 0 };
  const ids = listIds(ctx.stateRoot);
  for (const id of ids) {
    const { status } = containerStatus(ctx.stateRoot, id);
    if (status === "running") counts.running++;
    else if (status === "paused") counts.paused++;
    else counts.stopped++;
  }
  const driver = await chooseStorageDriver({ flag: ctx.storageDriver, env: ctx.env.BUNKER_STORAGE_DRIVER, dataRoot: ctx.dataRoot });
  return jsonResponse({
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
    Warnings: [],
  });
}

export const SYSTEM_ROUTES: Route[] = [
  { method: "GET", path: /^\/_ping$/, handle: ping },
  { method: "GET", path: /^\/version$/, handle: version },
  { method: "GET", path: /^\/info$/, handle: info },
];
