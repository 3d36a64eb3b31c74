// A client of the distribution (Docker Registry HTTP API v2) protocol:
// the 401 WWW-Authenticate challenge answered with a Bearer token (cached per
// scope) or Basic credentials, manifests by tag or digest (verified), blobs
// streamed with Range resume, redirects followed by hand so Authorization is
// never sent to another host (blob storage behind a redirect).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BunkerError, errnoCode } from "../errors.ts";
import { JSON_LIMITS } from "../json.ts";
import { findCredentials, type AuthEnv, type Credentials } from "./auth.ts";
import { digestMismatch, sha256 } from "./digest.ts";
import { registryHost } from "./reference.ts";
import { DEFAULT_REGISTRIES_CONF, isLoopbackRegistry, loadRegistriesConf, ruleFor, type RegistriesConf } from "./registries-conf.ts";
import { MT } from "./types.ts";

export interface RegistryOptions {
  /** plain HTTP allowed and TLS certificates not verified (--tls-verify=false / --insecure) */
  insecure?: boolean;
  /** Docker-style certs.d dir: *.crt = CAs, client.cert + client.key */
  certDir?: string;
  credentials?: Credentials;
  /** the environment that says where stored credentials are (src/image/auth.ts); without it and CREDENTIALS, none are sent */
  env?: AuthEnv;
  /** registries.conf's rules (default: the file ENV's XDG_CONFIG_HOME or /etc names, src/image/registries-conf.ts) */
  conf?: RegistriesConf;
}

/** a registry's error body: {"errors": [{"code": "BLOB_UNKNOWN", "message": "…"}]} */
interface ErrorBody {
  errors?: { code?: unknown; message?: unknown; detail?: unknown }[];
}

/** "CODE: message; CODE: message" of RES's error body, or "HTTP STATUS" when it has none */
export async function registryErrorText(res: Response): Promise<string> {
  const text = (await res.text().catch(() => "")).slice(0, 4096);
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {}
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  const said = errors.map((e) => [e.code, e.message].filter((x) => typeof x === "string" && x).join(": ")).filter(Boolean).join("; ");
  return `${said.slice(0, 400) || text.trim().split("\n")[0]!.slice(0, 200) || "no error body"} (HTTP ${res.status})`;
}

/** does E (a failed fetch) say the server's certificate was not trusted, rather than that TLS was not spoken? */
function untrustedCertificate(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? "";
  return /CERT|SELF_SIGNED|ISSUER|ALTNAME/.test(code) || /certificate|self.signed|issuer/i.test((e as Error)?.message ?? "");
}

const MANIFEST_ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(", ");

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(h: string): Challenge {
  const sp = h.indexOf(" ");
  const scheme = (sp < 0 ? h : h.slice(0, sp)).toLowerCase();
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m; (m = re.exec(sp < 0 ? "" : h.slice(sp + 1))); ) params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? "").replace(/\\(.)/g, "$1");
  return { scheme, params };
}

function netError(what: string, e: unknown, url: string, insecure: boolean): BunkerError {
  const msg = (e as Error)?.message ?? String(e);
  const code = errnoCode(e);
  const tls = /certificate|tls|ssl/i.test(msg + (code ?? ""));
  return new BunkerError(`${what}: ${msg}`, {
    errno: code ?? (tls ? "EPROTO" : "ECONNREFUSED"),
    path: url,
    fix: tls && !insecure ? "for a registry without a valid certificate use --tls-verify=false (or --cert-dir)" : "check the registry address and the network",
  });
}

export class Registry {
  readonly host: string;
  private scheme: "https" | "http" = "https";
  private schemeKnown = false;
  private tokens = new Map<string, string>();
  private authorizing = new Map<string, Promise<void>>();
  private basic = false;
  private readonly creds: Credentials | undefined;
  private readonly tls: Record<string, unknown>;
  /** plain HTTP allowed and TLS certificates not verified (--tls-verify=false, or registries.conf's insecure = true) */
  readonly insecure: boolean;
  /** plain HTTP allowed when HTTPS is not spoken (insecure, or a loopback registry without a rule) */
  private readonly plainHttp: boolean;

  /** NAME: the image name (registry/repository) whose registries.conf rule applies (default: the registry's) */
  constructor(readonly registry: string, opts: RegistryOptions = {}, name = registry) {
    this.host = registryHost(registry);
    const conf = opts.conf ?? (opts.env ? loadRegistriesConf(opts.env) : DEFAULT_REGISTRIES_CONF);
    const rule = ruleFor(conf, name);
    if (rule?.blocked) throw new BunkerError(`registry ${name} is blocked by ${conf.file} ([[registry]] prefix "${rule.prefix}")`, { errno: "EACCES", path: conf.file, fix: "use another registry, or remove the rule" });
    this.insecure = !!opts.insecure || !!rule?.insecure;
    this.plainHttp = this.insecure || (!rule && isLoopbackRegistry(registry));
    this.creds = opts.credentials ?? (opts.env && findCredentials(registry, opts.env));
    this.tls = this.insecure ? { rejectUnauthorized: false } : {};
    if (opts.certDir && existsSync(opts.certDir)) {
      const files = readdirSync(opts.certDir);
      const ca = files.filter((f) => f.endsWith(".crt")).map((f) => readFileSync(join(opts.certDir!, f), "utf8"));
      if (ca.length) this.tls.ca = ca;
      const cert = files.find((f) => f.endsWith(".cert"));
      if (cert) {
        this.tls.cert = readFileSync(join(opts.certDir, cert), "utf8");
        this.tls.key = readFileSync(join(opts.certDir, cert.replace(/\.cert$/, ".key")), "utf8");
      }
    }
  }

  private url(path: string): string {
    return `${this.scheme}://${this.host}${path}`;
  }

  private authHeader(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t) return `Bearer ${t}`;
    if (this.basic && this.creds) return `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString("base64")}`;
    return undefined;
  }

  /** LOCATION (an upload's, relative or absolute) as a URL of this registry */
  absolute(location: string): string {
    return new URL(location, this.url("/")).toString();
  }

  /** One fetch, following redirects by hand; Authorization only goes to the registry host. */
  private async fetchFollow(url: string, init: { method?: string; headers: Record<string, string>; body?: Blob | Uint8Array }, auth: string | undefined): Promise<Response> {
    let cur = url;
    for (let hop = 0; hop < 10; hop++) {
      const sameHost = new URL(cur).host === new URL(this.url("/")).host;
      const headers = { ...init.headers, ...(auth && sameHost ? { Authorization: auth } : {}) };
      let res: Response;
      try {
        res = await fetch(cur, { method: init.method ?? "GET", headers, body: init.body, redirect: "manual", tls: this.tls } as RequestInit);
      } catch (e) {
        throw netError(`cannot reach registry ${this.host}`, e, cur, this.insecure);
      }
      if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
        cur = new URL(res.headers.get("location")!, cur).toString();
        await res.body?.cancel();
        continue;
      }
      return res;
    }
    throw new BunkerError(`too many redirects from registry ${this.host}`, { errno: "ELOOP", path: url });
  }

  /**
   * Decides https vs http: http only when plain HTTP is allowed and https is
   * not spoken (a server whose certificate is not trusted speaks it: that is
   * the error, not a reason to drop TLS).
   */
  private async probe(): Promise<void> {
    if (this.schemeKnown) return;
    try {
      await fetch(this.url("/v2/"), { redirect: "manual", tls: this.tls } as RequestInit).then((r) => r.body?.cancel());
    } catch (e) {
      if (!this.plainHttp || untrustedCertificate(e)) throw netError(`cannot reach registry ${this.host}`, e, this.url("/v2/"), this.insecure);
      this.scheme = "http";
      try {
        await fetch(this.url("/v2/"), { redirect: "manual" }).then((r) => r.body?.cancel());
      } catch {
        this.scheme = "https";
        throw netError(`cannot reach registry ${this.host}`, e, this.url("/v2/"), this.insecure);
      }
    }
    this.schemeKnown = true;
  }

  /**
   * METHOD PATH (or an absolute URL of this registry) with SCOPE's credentials
   * (one scope, or several separated by spaces), answering one auth challenge.
   */
  async request(path: string, scope: string, headers: Record<string, string> = {}, method = "GET", body?: Blob | Uint8Array): Promise<Response> {
    await this.probe();
    const url = /^https?:\/\//.test(path) ? path : this.url(path);
    let res = await this.fetchFollow(url, { method, headers, body }, this.authHeader(scope));
    if (res.status !== 401) return res;
    await this.answer(res, path, scope);
    res = await this.fetchFollow(url, { method, headers, body }, this.authHeader(scope));
    if (res.status === 401) {
      // a HEAD's answer has no body: the registry's words come from a GET of /v2/ with the same credentials
      let said = res;
      if (method === "HEAD") {
        await res.body?.cancel();
        said = await this.fetchFollow(this.url("/v2/"), { headers: {} }, this.authHeader(scope));
      }
      throw this.denied(path, `${this.creds ? "the credentials were refused" : "the registry wants a login"}: ${await registryErrorText(said)}`);
    }
    return res;
  }

  /** Answers the challenge of RES, a 401 to PATH, for SCOPE: a token fetched, or Basic credentials sent from now on. */
  private async answer(res: Response, path: string, scope: string): Promise<void> {
    await res.body?.cancel();
    const ch = parseChallenge(res.headers.get("www-authenticate") ?? "");
    if (ch.scheme === "bearer") await this.fetchToken(ch, scope);
    else if (ch.scheme === "basic") {
      if (!this.creds) throw this.denied(path, "the registry wants a login");
      this.basic = true;
    } else throw this.denied(path, `unsupported authentication "${ch.scheme || "none"}"`);
  }

  /**
   * Gets SCOPE's credentials ready (the challenge of GET /v2/ answered) before
   * requests that need them, so parallel uploads share one token request.
   */
  authorize(scope: string): Promise<void> {
    let ready = this.authorizing.get(scope);
    if (!ready) {
      ready = (async () => {
        await this.probe();
        if (this.authHeader(scope)) return;
        const res = await this.fetchFollow(this.url("/v2/"), { headers: {} }, undefined);
        if (res.status === 401) await this.answer(res, "/v2/", scope);
        else await res.body?.cancel();
      })();
      this.authorizing.set(scope, ready);
      ready.catch(() => this.authorizing.delete(scope));
    }
    return ready;
  }

  private denied(path: string, why: string): BunkerError {
    return new BunkerError(`registry ${this.host} denied access: ${why}`, { errno: "EACCES", path: /^https?:\/\//.test(path) ? path : this.url(path), fix: `bunker login ${this.registry}` });
  }

  private async fetchToken(ch: Challenge, scope: string): Promise<void> {
    const realm = ch.params.realm;
    if (!realm) throw new BunkerError(`registry ${this.host}: Bearer challenge without a realm`, { errno: "EPROTO" });
    const u = new URL(realm);
    if (ch.params.service) u.searchParams.set("service", ch.params.service);
    for (const s of scope.split(" ").filter(Boolean)) u.searchParams.append("scope", s);
    const headers: Record<string, string> = {};
    if (this.creds) headers.Authorization = `Basic ${Buffer.from(`${this.creds.username}:${this.creds.password}`).toString("base64")}`;
    let res: Response;
    try {
      res = await fetch(u, { headers, tls: this.tls } as RequestInit);
    } catch (e) {
      throw netError("cannot reach the registry's token server", e, u.toString(), this.insecure);
    }
    if (res.status === 401 || res.status === 403) throw this.denied(u.pathname, this.creds ? "the token server refused the credentials" : "the registry wants a login");
    if (!res.ok) throw new BunkerError(`token server ${u.host} answered ${res.status}`, { errno: "EPROTO", path: u.toString() });
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new BunkerError(`token server ${u.host} sent no token`, { errno: "EPROTO", path: u.toString() });
    this.tokens.set(scope, token);
  }

  /** Checks the credentials (for `bunker login`): a GET /v2/ that must end in 200. */
  async ping(): Promise<void> {
    const res = await this.request("/v2/", "");
    await res.body?.cancel();
    if (!res.ok) throw new BunkerError(`registry ${this.host} answered ${res.status} to /v2/`, { errno: "EPROTO" });
  }

  /** A manifest (or index) by tag or digest, with its verified digest. */
  async manifest(repo: string, ref: string): Promise<{ bytes: Uint8Array; digest: string; mediaType: string }> {
    const res = await this.request(`/v2/${repo}/manifests/${ref}`, `repository:${repo}:pull`, { Accept: MANIFEST_ACCEPT });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new BunkerError(`manifest unknown: ${this.registry}/${repo}:${ref}`, { errno: "ENOENT", fix: "check the image name and tag" });
    }
    if (!res.ok) throw new BunkerError(`registry ${this.host} answered ${res.status} for manifest ${repo}:${ref}`, { errno: "EPROTO", path: await res.text().catch(() => "") });
    const bytes = await readCapped(res, JSON_LIMITS.manifest, `manifest ${repo}:${ref}`);
    const digest = sha256(bytes);
    if (ref.startsWith("sha256:") && digest !== ref) throw digestMismatch(`manifest ${repo}@${ref}`, ref, digest);
    const claimed = res.headers.get("docker-content-digest");
    if (!ref.startsWith("sha256:") && claimed && claimed.startsWith("sha256:") && claimed !== digest) throw digestMismatch(`manifest ${repo}:${ref}`, claimed, digest);
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, digest, mediaType };
  }

  /** A blob's body from byte OFFSET on (status 206 when resumed, 200 when the server restarts it). */
  async blob(repo: string, digest: string, offset = 0): Promise<Response> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull`, offset ? { Range: `bytes=${offset}-` } : {});
    if (res.status === 404) {
      await res.body?.cancel();
      throw new BunkerError(`blob unknown: ${repo}@${digest}`, { errno: "ENOENT" });
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new BunkerError(`registry ${this.host} answered ${res.status} for blob ${digest}`, { errno: "EPROTO" });
    }
    return res;
  }
}

/** RES's body, refused once it says or gives more than LIMIT bytes (it is never read whole first) */
async function readCapped(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const tooLarge = (n: number | string) => new BunkerError(`${what} is too large (${n} bytes, at most ${limit} are read)`, { errno: "EFBIG" });
  const claimed = Number(res.headers.get("content-length") ?? 0);
  if (claimed > limit) {
    await res.body?.cancel();
    throw tooLarge(claimed);
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    for await (const c of res.body) {
      total += c.length;
      if (total > limit) {
        await res.body.cancel().catch(() => {});
        throw tooLarge(`more than ${limit}`);
      }
      parts.push(c);
    }
  }
  return Buffer.concat(parts);
}
