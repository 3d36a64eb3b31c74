// The container endpoints over the engine (src/container): list, inspect,
// logs, stop, kill, remove — the containers the CLI made (`bunker run -d`)
// and the API sees the same ones, read from the state root on every request.
import { readdirSync, readFileSync, watch, type FSWatcher } from "node:fs";
import type { RuntimeContext } from "../container/context.ts";
import { containerDetails, listContainers } from "../container/inspect.ts";
import { exitRecord } from "../container/exit-record.ts";
import { createContainer } from "../container/run.ts";
import { restartContainer, startContainer } from "../container/start.ts";
import { createRequest } from "./create.ts";
import { logBody } from "./streams.ts";
import { pause, resume } from "../container/cgroup.ts";
import { killContainer } from "../container/lifecycle.ts";
import { processTable } from "../container/top.ts";
import { containerStats } from "./stats.ts";
import { logEntries, logTime } from "../container/logs.ts";
import { checkId, containerDir, containerStatus, idOfName, listIds, watchStatus } from "../container/state.ts";
import { pruneContainers, rm, stop } from "../container/stop.ts";
import { parseSignal } from "../sys/signals.ts";
import { reap } from "../sys/shim.ts";
import { processState } from "../sys/proc.ts";
import { ApiError, jsonResponse } from "./errors.ts";
import { parseFilters } from "./images.ts";
import { boolParam, jsonBody, type ApiRequest, type Route } from "./server.ts";

/** NAME as a container id: the id itself, else the one id it is a prefix of (as Docker's short ids) */
export function resolveId(ctx: RuntimeContext, name: string): string {
  const ids = listIds(ctx.stateRoot);
  if (ids.includes(name)) return name;
  const named = idOfName(ctx.stateRoot, name);
  if (named) return named;
  const hits = ids.filter((id) => id.startsWith(name));
  if (hits.length === 1) return hits[0]!;
  if (hits.length > 1) throw new ApiError(400, `multiple containers match "${name}": give more of the id`);
  throw new ApiError(404, `No such container: ${name}`);
}

function list({ ctx, url }: ApiRequest): Response {
  return jsonResponse(listContainers(ctx.stateRoot, boolParam(url, "all"), parseFilters(url)).map((r) => r.summary));
}

function inspect({ ctx, params }: ApiRequest): Response {
  const id = resolveId(ctx, params[0]!);
  const { state, status, dir } = containerStatus(ctx.stateRoot, id);
  if (!state) throw new ApiError(409, `container ${id} is being created, or its bunker was killed before it started (remove it with force)`);
  return jsonResponse(containerDetails(state, status, dir));
}

/** ?since= and ?until= (seconds since the epoch; 0 or absent: no bound) */
function timeParam(url: URL, name: string): string | undefined {
  const v = url.searchParams.get(name);
  return v === null || v === "" || v === "0" ? undefined : logTime(v, name);
}

/**
 * GET /containers/ID/logs: a detached container's log (src/container/logs.ts),
 * whole or its last TAIL lines, since/until a time, with each line's time
 * (timestamps), and on with follow until the container has exited; stdout
 * and stderr as frames of their own (raw with a tty).
 */
function logs({ ctx, params, url }: ApiRequest): Response {
  const id = resolveId(ctx, params[0]!);
  const stdout = boolParam(url, "stdout"), stderr = boolParam(url, "stderr");
  if (!stdout && !stderr) throw new ApiError(400, "logs: choose at least one of stdout and stderr");
  const tailParam = url.searchParams.get("tail");
  const tail = tailParam && tailParam !== "all" ? Number(tailParam) : undefined;
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new ApiError(400, `logs: tail must be a number or "all" (got "${tailParam}")`);
  const entries = logEntries(ctx, { id, follow: boolParam(url, "follow"), tail, since: timeParam(url, "since"), until: timeParam(url, "until") });
  const tty = containerStatus(ctx.stateRoot, id).state?.process?.terminal ?? false;
  return new Response(logBody(entries, { tty, stdout, stderr, timestamps: boolParam(url, "timestamps") }), { headers: { "Content-Type": tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream" } });
}

function running(ctx: RuntimeContext, id: string): boolean {
  return containerStatus(ctx.stateRoot, id).status === "running";
}

/** ?t=SECS of stop and restart (default 10) */
function stopSeconds(url: URL): number {
  const t = url.searchParams.get("t");
  const secs = t === null ? 10 : Number(t);
  if (!Number.isInteger(secs) || secs < 0) throw new ApiError(400, `stop: t must be a number of seconds (got "${t}")`);
  return secs;
}

/** POST /containers/ID/stop?t=SECS: 204, or 304 when it is not running */
async function stopRoute({ ctx, params, url }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const secs = stopSeconds(url);
  if (!running(ctx, id)) return new Response(null, { status: 304 });
  await stop(ctx, id, secs);
  return new Response(null, { status: 204 });
}

/** POST /containers/ID/kill?signal=SIG (default KILL, as Docker's) */
function kill({ ctx, params, url }: ApiRequest): Response {
  const id = resolveId(ctx, params[0]!);
  const signal = parseSignal(url.searchParams.get("signal") || undefined, "SIGKILL");
  if (!running(ctx, id)) throw new ApiError(409, `Container ${id} is not running`);
  killContainer(ctx, id, signal, false);
  return new Response(null, { status: 204 });
}

/** DELETE /containers/ID?force=1: a running one needs force (then it is killed first) */
async function remove({ ctx, params, url }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const force = boolParam(url, "force");
  if (!force && running(ctx, id)) throw new ApiError(409, `cannot remove container ${id}: it is running: stop it first, or force the removal`);
  await rm(ctx, id, force);
  return new Response(null, { status: 204 });
}

/** GET /containers/ID/top?ps_args=…: ps(1)'s columns and the container's rows */
function top({ ctx, params, url }: ApiRequest): Response {
  const id = resolveId(ctx, params[0]!);
  const { state } = containerStatus(ctx.stateRoot, id);
  if (!state || !running(ctx, id)) throw new ApiError(409, `Container ${id} is not running`);
  const args = (url.searchParams.get("ps_args") ?? "").split(/\s+/).filter(Boolean);
  const t = processTable(state, args);
  return jsonResponse({ Titles: t.titles, Processes: t.rows });
}

/** POST /containers/ID/pause, /unpause: the cgroup's freezer (a container without a cgroup: 409 naming why) */
async function pauseRoute({ ctx, params }: ApiRequest): Promise<Response> {
  await pause(ctx, resolveId(ctx, params[0]!));
  return new Response(null, { status: 204 });
}

function unpause({ ctx, params }: ApiRequest): Response {
  resume(ctx, resolveId(ctx, params[0]!), "unpause");
  return new Response(null, { status: 204 });
}

/** POST /containers/prune: every stopped container (filters: none yet) */
async function prune({ ctx, url }: ApiRequest): Promise<Response> {
  const filters = Object.keys(parseFilters(url));
  if (filters.length) throw new ApiError(400, `container prune: unsupported filter "${filters[0]}" (none are supported yet)`);
  // no SpaceReclaimed: bunker does not measure what a container's directory held
  return jsonResponse({ ContainersDeleted: await pruneContainers(ctx) });
}

/**
 * What this server starts outlives the request that started it and is its
 * child: a container's init once the launcher's intermediate has gone, the
 * intermediate itself, a network helper's keeper, the shared user
 * namespace's holder.  Bun reaps only what Bun.spawn started, so a
 * long-lived server would collect their zombies: every 500 ms the zombies
 * among this process's own children (/proc/self/task/T/children) whose name
 * is one of bunker's programs are reaped, each by its pid.  (A Bun.spawn'd
 * child — nsenter, ip — has another name and is left to Bun.)
 */
let reaper: ReturnType<typeof setInterval> | undefined;

function ownZombies(): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return out;
  }
  for (const t of tasks) {
    let kids = "";
    try {
      kids = readFileSync(`/proc/self/task/${t}/children`, "utf8");
    } catch {
      continue; // a thread that has ended
    }
    for (const k of kids.split(" ").filter(Boolean).map(Number)) {
      if (processState(k) !== "zombie") continue;
      try {
        if (readFileSync(`/proc/${k}/comm`, "utf8").startsWith("bunker")) out.push(k);
      } catch {
        /* reaped meanwhile */
      }
    }
  }
  return out;
}

function startReaper(): void {
  reaper ??= setInterval(() => {
    for (const p of ownZombies()) {
      try {
        reap(p);
      } catch {
        /* reaped by someone else meanwhile */
      }
    }
  }, 500);
  reaper.unref();
}

/** POST /containers/create?name=N: Docker's body as a docker-style create (src/api/create.ts); 201 {Id, Warnings} */
async function createRoute({ ctx, req, url }: ApiRequest): Promise<Response> {
  const name = url.searchParams.get("name") || undefined;
  if (name !== undefined) checkId(name.replace(/^\//, ""), "create");
  const request = createRequest(await jsonBody(req, "create", "checked by the caller"), name?.replace(/^\//, ""));
  const id = await createContainer(ctx, request);
  startReaper();
  return jsonResponse({ Id: id, Warnings: [] }, 201);
}

/** POST /containers/ID/start: 204; 304 when it runs already */
async function startRoute({ ctx, params }: ApiRequest): Promise<Response> {
  const id = resolveId(ctx, params[0]!);
  const st = containerStatus(ctx.stateRoot, id).status;
  if (st === "running" || st === "paused") return new Response(null, { status: 304 });
  await startContainer(ctx, id);
  startReaper(); // made again when it had stopped
  return new Response(null, { status: 204 });
}

/** POST /containers/ID/restart?t=SECS: stopped (as stop), then started again */
async function restartRoute({ ctx, params, url }: ApiRequest): Promise<Response> {
  await restartContainer(ctx, resolveId(ctx, params[0]!), stopSeconds(url));
  startReaper(); // made again when it had stopped
  return new Response(null, { status: 204 });
}

const WAIT_CONDITIONS = ["not-running", "next-exit", "removed"];

/**
 * POST /containers/ID/wait?condition=: the headers at once, then
 * {"StatusCode": N} when the condition holds — not-running (default: now,
 * for a created or stopped one), next-exit (the end of the run after this
 * one, when it is stopped now), removed (its state gone; the status it
 * last exited with).  The server answers other requests meanwhile.
 */
function waitRoute({ ctx, params, url }: ApiRequest): Response {
  const id = resolveId(ctx, params[0]!);
  const condition = url.searchParams.get("condition") || "not-running";
  if (!WAIT_CONDITIONS.includes(condition)) throw new ApiError(400, `wait: condition must be one of ${WAIT_CONDITIONS.join(", ")} (got "${condition}")`);
  const dir = containerDir(ctx.stateRoot, id);
  const first = containerStatus(ctx.stateRoot, id);
  let code = first.status === "stopped" ? (exitRecord(dir)?.code ?? 0) : 0;
  const startedAt = first.state?.created;
  let cancelled = false; // the client went away: stop looking
  // its exit status is read as soon as it is written: a --rm container's state dir goes some
  // milliseconds later, sooner than a look every 20 ms may come
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, () => {
      const r = first.status === "stopped" ? undefined : exitRecord(dir);
      if (r) code = r.code;
    });
  } catch {
    watcher = undefined; // removed already
  }
  const done = async (keepAlive: () => void): Promise<number | undefined> => {
    for (let n = 1; !cancelled; n++) {
      if (n % 250 === 0) keepAlive(); // every 5 s: the server's idle timeout (10 s) ends a silent response
      const { state, status } = watchStatus(ctx.stateRoot, id);
      if (status === "stopped") code = exitRecord(dir)?.code ?? code;
      if (status === "removed") return code; // nothing left to wait for
      if (condition === "not-running" && (status === "stopped" || status === "created")) return code;
      if (condition === "next-exit" && status === "stopped" && (first.status !== "stopped" || state!.created !== startedAt)) return code;
      await Bun.sleep(20);
    }
    return undefined;
  };
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      // a byte at once so that the headers go now (a client such as docker run waits for them
      // before it starts the container); JSON decoders skip the whitespace, here and in keepAlive
      controller.enqueue(new TextEncoder().encode("\n"));
      const statusCode = await done(() => controller.enqueue(new TextEncoder().encode("\n")));
      watcher?.close();
      if (statusCode === undefined) return;
      controller.enqueue(new TextEncoder().encode(`${JSON.stringify({ StatusCode: statusCode, Error: null })}\n`));
      controller.close();
    },
    cancel() {
      cancelled = true;
      watcher?.close();
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}

export const CONTAINER_ROUTES: Route[] = [
  {
    method: "POST",
    path: /^\/containers\/([^/]+)\/attach$/,
    handle: () => {
      throw new ApiError(400, "attach: the request must upgrade its connection (Connection: Upgrade, Upgrade: tcp) on a fresh connection to the unix socket");
    },
  },
  { method: "POST", path: /^\/containers\/create$/, handle: createRoute },
  { method: "POST", path: /^\/containers\/([^/]+)\/start$/, handle: startRoute },
  { method: "POST", path: /^\/containers\/([^/]+)\/restart$/, handle: restartRoute },
  { method: "POST", path: /^\/containers\/([^/]+)\/wait$/, handle: waitRoute },
  { method: "GET", path: /^\/containers\/json$/, handle: list },
  { method: "POST", path: /^\/containers\/prune$/, handle: prune },
  { method: "GET", path: /^\/containers\/([^/]+)\/json$/, handle: inspect },
  { method: "GET", path: /^\/containers\/([^/]+)\/top$/, handle: top },
  { method: "GET", path: /^\/containers\/([^/]+)\/stats$/, handle: (r) => containerStats(r.ctx, resolveId(r.ctx, r.params[0]!), r) },
  { method: "POST", path: /^\/containers\/([^/]+)\/pause$/, handle: pauseRoute },
  { method: "POST", path: /^\/containers\/([^/]+)\/unpause$/, handle: unpause },
  { method: "GET", path: /^\/containers\/([^/]+)\/logs$/, handle: logs },
  { method: "POST", path: /^\/containers\/([^/]+)\/stop$/, handle: stopRoute },
  { method: "POST", path: /^\/containers\/([^/]+)\/kill$/, handle: kill },
  { method: "DELETE", path: /^\/containers\/([^/]+)$/, handle: remove },
];
