// GET /events: the engine's event log (src/events.ts) as Docker streams it —
// what happened since SINCE (none: from now on), until UNTIL (none: until
// the client goes), matching FILTERS — whoever did it: this server, another
// one, or the CLI.
import { EventTail, type EngineEvent } from "../events.ts";
import { ApiError } from "./errors.ts";
import { parseFilters } from "./images.ts";
import type { ApiRequest, Route } from "./server.ts";

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
/** a newline every so often keeps a quiet stream from the server's idle timeout; JSON decoders skip it */
const KEEP_ALIVE_MS = 5000;

function events({ ctx, url }: ApiRequest): Response {
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
  let cancelled = false;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      // the headers go now (docker events prints nothing until then, and a client waits for them)
      controller.enqueue(enc.encode("\n"));
      let quiet = 0;
      for (let batch = backlog; !cancelled; batch = tail.next()) {
        let out = "";
        for (const e of batch) {
          if (until !== undefined && e.timeNano > until) break;
          if (matches(e, filters)) out += `${JSON.stringify(message(e))}\n`;
        }
        if (out) {
          controller.enqueue(enc.encode(out));
          quiet = 0;
        } else if ((quiet += POLL_MS) >= KEEP_ALIVE_MS) {
          controller.enqueue(enc.encode("\n"));
          quiet = 0;
        }
        if (until !== undefined && Date.now() * 1e6 > until) break;
        await Bun.sleep(POLL_MS);
      }
      if (!cancelled) controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}

export const EVENT_ROUTES: Route[] = [{ method: "GET", path: /^\/events$/, handle: events }];
