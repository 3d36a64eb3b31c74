// /_ping, /version, /info: what a client asks before anything else (the
// docker CLI negotiates its API version from /_ping's API-Version header).
import { release } from "node:os";
import { systemInfo } from "../container/info.ts";
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

export const SYSTEM_ROUTES: Route[] = [
  { method: "GET", path: /^\/_ping$/, handle: ping },
  { method: "GET", path: /^\/version$/, handle: version },
  { method: "GET", path: /^\/info$/, handle: info },
];
