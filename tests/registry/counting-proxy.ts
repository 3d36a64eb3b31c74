// A front of a test registry that counts what a client asks: every request
// is passed on (bodies whole) and noted; Location headers are rewritten to
// point back at the front, so an upload's PATCH and PUT come through it too.
// INTERCEPT may answer a request itself from the registry's answer (a blob
// GET redirected elsewhere, as storage behind a CDN); REFUSE may answer it
// before the registry sees it (a registry failing half-way through a push).
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentRange: string | null;
  bodyBytes: number;
  status: number;
}

export class CountingProxy {
  seen: SeenRequest[] = [];
  private server: ReturnType<typeof Bun.serve>;

  constructor(private readonly upstream: string, intercept?: (req: Request, upstream: Response) => Promise<Response | undefined>, refuse?: (req: Request) => Response | undefined) {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (req) => {
        const u = new URL(req.url);
        const early = refuse?.(req);
        if (early) {
          this.seen.push({ method: req.method, path: u.pathname, query: u.searchParams, contentRange: req.headers.get("content-range"), bodyBytes: 0, status: early.status });
          return early;
        }
        const headers = new Headers(req.headers);
        headers.delete("host");
        const body = req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(await req.arrayBuffer());
        const res = await fetch(`http://${this.upstream}${u.pathname}${u.search}`, { method: req.method, headers, body, redirect: "manual" });
        this.seen.push({ method: req.method, path: u.pathname, query: u.searchParams, contentRange: req.headers.get("content-range"), bodyBytes: body?.length ?? 0, status: res.status });
        const own = await intercept?.(req, res);
        if (own) return own;
        const out = new Headers(res.headers);
        const loc = out.get("location");
        if (loc) out.set("location", loc.replace(`http://${this.upstream}`, `http://${this.host}`));
        out.delete("content-encoding"); // fetch decoded the body already
        out.delete("content-length");
        return new Response(req.method === "HEAD" ? null : res.body, { status: res.status, headers: out });
      },
    });
  }

  get host(): string {
    return `127.0.0.1:${this.server.port}`;
  }

  /** the requests seen whose method is METHOD and path matches RE */
  count(method: string, re: RegExp): SeenRequest[] {
    return this.seen.filter((s) => s.method === method && re.test(s.path));
  }

  stop(): void {
    this.server.stop(true);
  }
}
