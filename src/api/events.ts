// GET /events: the engine's event log (src/events.ts) as Docker streams it —
// what happened since SINCE (none: from now on), until UNTIL (none: until
// the client goes), matching FILTERS — whoever did it: this server, another
// one, or the CLI.
import type { RuntimeContext } from "../container/context.ts";
import { EventTail, type EngineEvent } from "../events.ts";
import { errorReply, headerLines } from "./attach.ts";
import { ApiError } from "./errors.ts";
import type { Hijack } from "./front.ts";
import { parseFilters } from "./images.ts";
import { stripVersion, type ApiRequest, type Route } from "./server.ts";

const FILTERS = ["type", "container", "event", "image", "volume", "network", "label"];
const TYPES = ["container", "image", "volume", "network"];

/** since/until as Docker's client sends them: unix seconds, with a fraction (RFC 3339 too); in ns */
function timeParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1e9;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new ApiError(400, `events: ${name} must be a unix time in seconds or an RFC 3339 date (got "${v}")`);
  return ms * 1e6;
}

/** whether E passes Docker's filters: every key must match, one of its values suffices */
export function matches(e: EngineEvent, f: Record<string, string[]>): boolean {
  const a = e.Actor.Attributes;
  const any = (k: string, test: (v: string) => boolean) => !f[k] || f[k]!.some(test);
  const named = (v: string, id: string | undefined, name: string | undefined) => v === id || v === name || (!!id && v.length >= 3 && id.startsWith(v));
  return (
    any("type", (v) => v === e.Type) &&
    any("event", (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any("container", (v) => (e.Type === "container" ? named(v, e.Actor.ID, a.name) : e.Type === "network" && v === a.container)) &&
    any("image", (v) => (e.Type === "image" ? named(v, e.Actor.ID, a.name) : e.Type === "container" && v === a.image)) &&
    any("volume", (v) => e.Type === "volume" && v === e.Actor.ID) &&
    any("network", (v) => e.Type === "network" && named(v, e.Actor.ID, a.name)) &&
    any("label", (v) => {
      const i = v.indexOf("=");
      return i < 0 ? v in a : a[v.slice(0, i)] === v.slice(i + 1);
    })
  );
}

/** E as Docker sends it: events.Message, with the fields of API versions before 1.22 (status, id, from) */
function message(e: EngineEvent): Record<string, unknown> {
  const old = e.Type === "container" || e.Type === "image" ? { status: e.Action, id: e.Actor.ID, ...(e.Type === "container" ? { from: e.Actor.Attributes.image ?? "" } : {}) } : {};
  return { ...old, Type: e.Type, Action: e.Action, Actor: e.Actor, scope: "local", time: e.time, timeNano: e.timeNano };
}

const POLL_MS = 50;

/**
 * The events URL asks for, each batch as JSON lines to EMIT, until its until
 * (or the client goes: DONE); a bad request throws before anything is emitted
 */
function eventStream(ctx: RuntimeContext, url: URL): (emit: (text: string) => void, done: () => boolean) => Promise<void> {
  const filters = parseFilters(url);
  for (const k of Object.keys(filters)) if (!FILTERS.includes(k)) throw new ApiError(400, `events: invalid filter '${k}' (bunker filters by ${FILTERS.join(", ")})`);
  for (const t of filters.type ?? []) if (!TYPES.includes(t)) throw new ApiError(400, `events: invalid type '${t}' (one of ${TYPES.join(", ")})`);
  const since = timeParam(url, "since");
  const until = timeParam(url, "until");
  if (since !== undefined && until !== undefined && until < since) throw new ApiError(400, "events: until is before since");
  const tail = new EventTail(ctx.dataRoot);
  let backlog: EngineEvent[] = [];
  if (since !== undefined) backlog = tail.backlog().filter((e) => e.timeNano >= since);
  else tail.skipToEnd();
  return async (emit, done) => {
    // nothing but events: docker-py's JSON stream decoder (docker-compose's) cannot skip whitespace between them
    for (let batch = backlog; !done(); batch = tail.next()) {
      let out = "";
      for (const e of batch) {
        if (until !== undefined && e.timeNano > until) break;
        if (matches(e, filters)) out += `${JSON.stringify(message(e))}\n`;
      }
      if (out) emit(out);
      if (until !== undefined && Date.now() * 1e6 > until) break;
      await Bun.sleep(POLL_MS);
    }
  };
}

/** GET /events through Bun.serve (a TCP listener; its headers go with the first event) */
function events({ ctx, url, keepOpen }: ApiRequest): Response {
  const run = eventStream(ctx, url);
  keepOpen(); // a quiet stream stays open as long as the client wants it
  let cancelled = false;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      await run((text) => controller.enqueue(enc.encode(text)), () => cancelled);
      if (!cancelled) controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}

const EVENTS = /^\/events$/;

/**
 * GET /events on the unix socket, answered by its front (src/api/front.ts):
 * the status and headers at once (docker events and docker-py wait for them
 * before they show anything), then the events as HTTP chunks
 */
export function eventStreams(ctx: RuntimeContext): Hijack {
  return (head) => {
    if (head.method !== "GET") return undefined;
    let url: URL;
    try {
      url = new URL(head.target, "http://bunker");
      if (!EVENTS.test(stripVersion(url.pathname))) return undefined;
    } catch {
      return undefined; // the routes answer a bad version
    }
    return (conn) => {
      let run;
      try {
        run = eventStream(ctx, url);
      } catch (e) {
        return errorReply(conn, e);
      }
      let closed = false;
      conn.onClose(() => (closed = true));
      conn.write(`HTTP/1.1 200 OK\r\n${headerLines({ "Content-Type": "application/json", "Transfer-Encoding": "chunked", Connection: "close" })}\r\n`);
      void run((text) => conn.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`), () => closed).then(() => {
        if (closed) return;
        conn.write("0\r\n\r\n");
        conn.end();
      });
    };
  };
}

export const EVENT_ROUTES: Route[] = [{ method: "GET", path: EVENTS, handle: events }];
