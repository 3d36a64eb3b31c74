// /_ping, /version, /info: what a client asks before anything else (the
// docker CLI negotiates its API version from /_ping's API-Version header).
import { release } from "node:os";
import { systemInfo } from "../container/info.ts";
import { containerSummary } from "../container/inspect.ts";
import { diskUsage } from "../container/prune.ts";
import { imageSummary, storeOf } from "./images.ts";
import { VERSION } from "../version.ts";
import { jsonResponse } from "./errors.ts";
import { API_VERSION, MIN_API_VERSION, type ApiRequest, type Route } from "./server.ts";

/** Go's GOARCH for Node's process.arch (what Docker reports) */
const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

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

async function info({ ctx }: ApiRequest): Promise<Response> {
  return jsonResponse(await systemInfo(ctx));
}

/** GET /system/df (docker system df, -v): Docker's DiskUsage, from the engine's count the CLI prints too */
async function df({ ctx }: ApiRequest): Promise<Response> {
  const u = await diskUsage(ctx);
  const store = storeOf(ctx);
  const iso = (ms: number) => new Date(ms).toISOString();
  return jsonResponse({
    LayersSize: u.layersSize,
    Images: u.images.map((i) => ({ ...imageSummary(store, i.rec), Size: i.size, VirtualSize: i.size, SharedSize: i.shared, Containers: i.containers })),
    Containers: u.containers.flatMap((c) => {
      try {
        return [{ ...containerSummary(ctx.stateRoot, c.id).summary, SizeRw: c.sizeRw, SizeRootFs: c.sizeRw }];
      } catch {
        return []; // removed meanwhile
      }
    }),
    Volumes: u.volumes.map((v) => ({ ...v.volume, UsageData: { Size: v.size, RefCount: v.refs } })),
    BuildCache: u.buildCache.map((c) => ({ ID: c.id, Parent: "", Type: c.type, Description: c.type === "regular" ? "a build step's record" : "a RUN --mount=type=cache directory", InUse: false, Shared: false, Size: c.size, CreatedAt: iso(c.created), LastUsedAt: iso(c.used), UsageCount: 0 })),
  });
}

export const SYSTEM_ROUTES: Route[] = [
  { method: "GET", path: /^\/_ping$/, handle: ping },
  { method: "GET", path: /^\/version$/, handle: version },
  { method: "GET", path: /^\/info$/, handle: info },
  { method: "GET", path: /^\/system\/df$/, handle: df },
];
