// Registry credentials in Docker's config.json format ({"auths": {HOST: {"auth": base64(user:pass)}}}).
// Read from $REGISTRY_AUTH_FILE, bunker's own file ($XDG_CONFIG_HOME/bunker/auth.json),
// then ~/.docker/config.json; `bunker login` writes bunker's own file (mode 0600).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { type BunkerError, fromSysError } from "../errors.ts";
import { Checker, child, parseJsonObject, readBounded } from "../json.ts";
import { DOCKER_HUB } from "./reference.ts";

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  [k: string]: unknown;
}

/** the caller's environment (HOME, XDG_CONFIG_HOME, REGISTRY_AUTH_FILE, DOCKER_CONFIG) */
export type AuthEnv = Readonly<Record<string, string | undefined>>;

const home = (env: AuthEnv) => env.HOME || homedir();

export function bunkerAuthFile(env: AuthEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && xdg.startsWith("/") ? xdg : join(home(env), ".config"), "bunker/auth.json");
}

function authFiles(env: AuthEnv): string[] {
  return [env.REGISTRY_AUTH_FILE, bunkerAuthFile(env), join(env.DOCKER_CONFIG || join(home(env), ".docker"), "config.json")].filter((f): f is string => !!f);
}

/** The keys a registry may be stored under (Docker Hub has historical ones). */
function keysFor(registry: string): string[] {
  if (registry === DOCKER_HUB) return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];
  return [registry, `https://${registry}`, `http://${registry}`];
}

/** PATH's credentials; undefined if it does not exist, an error naming it if it is not a credentials file */
function readAuthFile(path: string): AuthFile | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readBounded(path, "auth", "cannot read the credentials file");
  } catch (e) {
    if (["ENOENT", "ENOTDIR", "EACCES"].includes((e as BunkerError).errnoName ?? "")) return undefined; // not there, or not ours to read
    throw e;
  }
  const c = new Checker(path);
  const o = parseJsonObject(bytes, path, "auth");
  c.opt(o, "auths", "", (v, q) => {
    for (const [host, a] of Object.entries(c.obj(v, q))) {
      const e = c.obj(a, child(q, host));
      for (const k of ["auth", "username", "password", "identitytoken"]) c.opt(e, k, child(q, host), c.str);
    }
  });
  return o as AuthFile;
}

export function findCredentials(registry: string, env: AuthEnv): Credentials | undefined {
  for (const f of authFiles(env)) {
    const auths = readAuthFile(f)?.auths;
    if (!auths) continue;
    for (const k of keysFor(registry)) {
      const a = auths[k];
      if (!a) continue;
      if (a.username && a.password) return { username: a.username, password: a.password };
      if (a.auth) {
        const s = Buffer.from(a.auth, "base64").toString("utf8");
        const i = s.indexOf(":");
        if (i > 0) return { username: s.slice(0, i), password: s.slice(i + 1) };
      }
    }
  }
  return undefined;
}

/** Stores (or with CREDS undefined, removes) the credentials for REGISTRY in bunker's auth file. */
export function storeCredentials(registry: string, creds: Credentials | undefined, env: AuthEnv, file = env.REGISTRY_AUTH_FILE || bunkerAuthFile(env)): string {
  const data = readAuthFile(file) ?? {};
  const auths = (data.auths ??= {});
  const key = keysFor(registry)[0]!;
  if (creds) auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") };
  else delete auths[key];
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(data, null, "\t") + "\n", { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    throw fromSysError("cannot write the credentials file", e, { path: file });
  }
  return file;
}
