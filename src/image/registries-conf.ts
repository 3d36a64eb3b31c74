// Registry rules in the format of containers-registries.conf(5) (TOML),
// read from $XDG_CONFIG_HOME/bunker/registries.conf, else
// /etc/bunker/registries.conf:
//
//   unqualified-search-registries = ["registry.example:5000", "docker.io"]
//   [[registry]]
//   location = "127.0.0.1:5000"     # or prefix = "host[:port][/namespace...]"
//   insecure = true                 # plain HTTP and unverified TLS allowed
//   blocked = false                 # true: never pulled from or pushed to
//
// and the version-1 tables `[registries.search|insecure|block] registries = [...]`.
// The [[registry]] table whose prefix is the longest match of an image's name
// applies (a `*.example.com` prefix matches subdomains).  A registry on the
// loopback (localhost, 127.0.0.0/8, ::1) may speak plain HTTP without a rule,
// as in dockerd's default insecure-registries; a rule in the file decides for it.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { BunkerError, fromSysError } from "../errors.ts";
import { Checker, child } from "../json.ts";
import { DOCKER_HUB } from "./reference.ts";

export interface RegistryRule {
  /** what an image name must start with (host[:port][/namespace...]) */
  prefix: string;
  insecure: boolean;
  blocked: boolean;
}

export interface RegistriesConf {
  /** the file it came from ("" for none) */
  file: string;
  /** registries an unqualified name expands to, in order */
  search: string[];
  rules: RegistryRule[];
}

/** no file: short names are Docker Hub's (Docker's rule) */
export const DEFAULT_REGISTRIES_CONF: RegistriesConf = { file: "", search: [DOCKER_HUB], rules: [] };

/** the largest registries.conf read (real ones are a few KiB) */
const MAX_CONF = 1 << 20;

type Obj = Record<string, unknown>;

/** TEXT, the contents of FILE, as registry rules; an error names the file and the field */
export function parseRegistriesConf(text: string, file: string): RegistriesConf {
  let doc: Obj;
  try {
    doc = Bun.TOML.parse(text) as Obj;
  } catch (e) {
    // (Bun's error carries no position in the document: its line and column are of the caller)
    throw new BunkerError(`${file}: not TOML: ${((e as Error)?.message ?? String(e)).replace(/^TOML Parse error: /, "")}`, { errno: "EINVAL", fix: "see containers-registries.conf(5) for the format" });
  }
  const c = new Checker(file);
  const host = (v: unknown, p: string): string => {
    const s = c.str(v, p).replace(/\/+$/, "");
    if (!s || /\s|^[a-z]+:\/\//i.test(s)) c.fail(p, `must be host[:port][/namespace...] without a scheme, not ${JSON.stringify(s)}`);
    return s;
  };
  const v1 = (name: string): string[] => {
    const t = c.opt(doc, "registries", "", c.obj);
    const sec = t && c.opt(t, name, "registries", c.obj);
    return (sec && c.opt(sec, "registries", child("registries", name), (v, p) => c.arr(v, p).map((s, i) => host(s, child(p, i))))) ?? [];
  };
  const search = c.opt(doc, "unqualified-search-registries", "", (v, p) => c.arr(v, p).map((s, i) => host(s, child(p, i))));
  const v1Search = v1("search");
  if (search && v1Search.length) c.fail("unqualified-search-registries", "cannot be mixed with [registries.search] (the version-1 format)");
  const rules: RegistryRule[] = c.opt(doc, "registry", "", (v, p) => c.objs(v, p, (o: Obj, q) => {
    const location = c.opt(o, "location", q, host);
    const prefix = c.opt(o, "prefix", q, host) ?? location;
    if (!prefix) return c.fail(q, "needs a location or a prefix");
    if (location !== undefined && location !== prefix) c.fail(child(q, "location"), `rewriting ${prefix} to another location (${location}) is not supported; give the registry's own name as location`);
    if (o.mirror !== undefined) c.fail(child(q, "mirror"), "mirrors are not supported");
    return { prefix, insecure: c.opt(o, "insecure", q, c.bool) ?? false, blocked: c.opt(o, "blocked", q, c.bool) ?? false };
  })) ?? [];
  for (const h of v1("insecure")) rules.push({ prefix: h, insecure: true, blocked: false });
  for (const h of v1("block")) rules.push({ prefix: h, insecure: false, blocked: true });
  return { file, search: search ?? (v1Search.length ? v1Search : DEFAULT_REGISTRIES_CONF.search), rules };
}

/** where bunker's registries.conf is for the environment ENV (the user's file first) */
export function registriesConfPaths(env: Readonly<Record<string, string | undefined>>): string[] {
  const xdg = env.XDG_CONFIG_HOME;
  const config = xdg && xdg.startsWith("/") ? xdg : join(env.HOME || homedir(), ".config");
  return [join(config, "bunker/registries.conf"), "/etc/bunker/registries.conf"];
}

/** the first registries.conf that exists, parsed; the defaults without one */
export function loadRegistriesConf(env: Readonly<Record<string, string | undefined>>): RegistriesConf {
  const file = registriesConfPaths(env).find((f) => existsSync(f));
  if (!file) return DEFAULT_REGISTRIES_CONF;
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_CONF) throw new BunkerError(`${file}: too large: ${bytes.length} bytes, at most ${MAX_CONF} are read`, { errno: "EFBIG" });
    text = bytes.toString("utf8");
  } catch (e) {
    throw e instanceof BunkerError ? e : fromSysError("cannot read the registries configuration", e, { path: file });
  }
  return parseRegistriesConf(text, file);
}

/** does PREFIX (a rule's) cover NAME (registry[/repository])? */
function covers(prefix: string, name: string): boolean {
  if (prefix.startsWith("*.")) {
    const slash = prefix.indexOf("/");
    const suffix = prefix.slice(1, slash < 0 ? undefined : slash);
    const host = name.split("/")[0]!;
    return host.endsWith(suffix) && host.length > suffix.length && covers(host + (slash < 0 ? "" : prefix.slice(slash)), name);
  }
  return name === prefix || name.startsWith(prefix + "/") || name.startsWith(prefix + ":") || name.startsWith(prefix + "@");
}

/** the rule for the image name NAME (registry/repository), the longest prefix that covers it */
export function ruleFor(conf: RegistriesConf, name: string): RegistryRule | undefined {
  let best: RegistryRule | undefined;
  for (const r of conf.rules) if (covers(r.prefix, name) && (!best || r.prefix.length > best.prefix.length)) best = r;
  return best;
}

/** a registry on the loopback: localhost, 127.0.0.0/8, ::1 (with or without a port) */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
