// `bunker serve` for integration tests: a server as root or the test user on
// a private state and data root, the docker CLI and curl against it.  Every
// server a test starts is ended by its pid (stopServer).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { busyboxArchive } from "./image-builder.ts";
import { makeTempDir, ownerOf, runAs, spawnBunkerAs, type As } from "./index.ts";

export const DOCKER = Bun.which("docker");
export const CURL = Bun.which("curl");

export type Server = { proc: ReturnType<typeof spawnBunkerAs>; dockerHost: string; sock: string };

/** a private base dir of AS (state/, data/, the client's config), recorded in BASES for the caller's afterAll */
export function serveBase(as: As, bases: string[]): string {
  const base = makeTempDir("bunker-serve", ownerOf(as));
  bases.push(base);
  return base;
}

/** the global flags of BASE's roots */
export const rootsOf = (base: string) => ["--root", join(base, "state"), "--data-root", join(base, "data")];

/** a busybox image with APPLETS as `docker save` writes it, tagged TAG, readable by both users */
export function writeBusyboxArchive(base: string, tag: string, applets: string[]): string {
  const file = join(base, "bb.tar");
  writeFileSync(file, busyboxArchive(tag, applets));
  return file;
}

/** starts `bunker serve` as AS on BASE's roots; resolves once it printed DOCKER_HOST */
export async function startServer(as: As, base: string, args: string[] = []): Promise<Server> {
  const proc = spawnBunkerAs(as, [...rootsOf(base), "serve", ...args]);
  const reader = proc.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 20_000;
  while (!out.includes("\n") && Date.now() < deadline) {
    const { value, done } = await Promise.race([reader.read(), Bun.sleep(20_000).then(() => ({ value: undefined, done: true }))]);
    if (done) break;
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const m = /^DOCKER_HOST=(\S+)\n/.exec(out);
  if (!m) {
    proc.kill("SIGKILL");
    throw new Error(`serve did not start: ${out}${await new Response(proc.stderr).text()}`);
  }
  return { proc, dockerHost: m[1]!, sock: m[1]!.replace(/^unix:\/\//, "") };
}

/** SIGTERM to the server we started (by pid), its exit code and stderr */
export async function stopServer(s: Server): Promise<{ code: number; stderr: string }> {
  process.kill(s.proc.pid, "SIGTERM");
  const timer = setTimeout(() => s.proc.kill("SIGKILL"), 10_000);
  const code = await s.proc.exited;
  clearTimeout(timer);
  return { code, stderr: await new Response(s.proc.stderr).text() };
}

/** the docker CLI (CLI: another docker binary) as AS against server S, its config in BASE */
export const dockerAt = (as: As, s: Server, base: string, args: string[], env: Record<string, string> = {}, cli = DOCKER!) =>
  runAs(as, [cli, ...args], { env: { DOCKER_HOST: s.dockerHost, DOCKER_CONFIG: join(base, "client"), ...env }, timeoutMs: 60_000 });

/** curl through the unix socket: status, body */
export async function curlAt(as: As, s: Server, args: string[]): Promise<{ status: number; body: string }> {
  const r = await runAs(as, [CURL!, "-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket", s.sock, ...args]);
  const at = r.stdout.lastIndexOf("\n");
  return { status: Number(r.stdout.slice(at + 1)), body: r.stdout.slice(0, at) };
}


