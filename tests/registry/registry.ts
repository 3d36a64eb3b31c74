// Debian's docker-registry (distribution 2.8) on 127.0.0.1 for tests: no auth,
// htpasswd Basic auth, or token auth with a small token server (RS256 JWTs
// carrying the signing certificate in x5c). Images are pushed with skopeo.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createSign } from "node:crypto";
import type { Subprocess } from "bun";

export type AuthMode = "none" | "basic" | "token";
export const USER = "alice";
export const PASSWORD = "s3cret";

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export class TestRegistry {
  proc?: Subprocess;
  tokenServer?: ReturnType<typeof Bun.serve>;
  port = 0;
  tokenRequests = 0;

  /** TLS: HTTPS with a certificate of its own CA (ca.crt in certDir, for --cert-dir) */
  constructor(readonly dir: string, readonly mode: AuthMode, readonly tls = false) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** with TLS: the directory holding ca.crt, the CA that signed the registry's certificate */
  get certDir(): string {
    return `${this.dir}/certs`;
  }

  private makeCertificates(): void {
    const d = this.certDir;
    mkdirSync(d, { recursive: true });
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bunker-test-ca", "-keyout", `${d}/ca.key`, "-out", `${d}/ca.crt`]);
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", `${this.dir}/server.key`, "-out", `${this.dir}/server.csr`]);
    writeFileSync(`${this.dir}/san.ext`, "subjectAltName=IP:127.0.0.1\n");
    run(["openssl", "x509", "-req", "-in", `${this.dir}/server.csr`, "-CA", `${d}/ca.crt`, "-CAkey", `${d}/ca.key`, "-CAcreateserial", "-days", "1", "-extfile", `${this.dir}/san.ext`, "-out", `${this.dir}/server.crt`]);
  }

  /**
   * Starts the registry.  PUSHES ([skopeo source, repo:tag, --all]) are copied in first by
   * an unauthenticated registry on the same storage (skopeo runs synchronously, which
   * would stall the token server living in this process).
   */
  async start(pushes: [string, string, boolean?][] = []): Promise<void> {
    mkdirSync(`${this.dir}/data`, { recursive: true });
    if (pushes.length) {
      const seed = new TestRegistry(this.dir, "none");
      await seed.start();
      try {
        for (const [src, dest, all] of pushes) seed.push(src, dest, all);
      } finally {
        seed.stop();
        await seed.proc?.exited;
      }
    }
    this.port = await freePort();
    let auth = "";
    if (this.mode === "basic") {
      writeFileSync(`${this.dir}/htpasswd`, run(["htpasswd", "-Bbn", USER, PASSWORD]));
      auth = `auth:\n  htpasswd:\n    realm: test\n    path: ${this.dir}/htpasswd\n`;
    } else if (this.mode === "token") {
      run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bunker-test-token", "-keyout", `${this.dir}/key.pem`, "-out", `${this.dir}/cert.pem`]);
      this.startTokenServer();
      auth = `auth:\n  token:\n    realm: http://127.0.0.1:${this.tokenServer!.port}/token\n    service: bunker-test\n    issuer: bunker-test-issuer\n    rootcertbundle: ${this.dir}/cert.pem\n`;
    }
    let tls = "";
    if (this.tls) {
      this.makeCertificates();
      tls = `  tls:\n    certificate: ${this.dir}/server.crt\n    key: ${this.dir}/server.key\n`;
    }
    writeFileSync(`${this.dir}/config-${this.mode}.yml`, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${this.dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${this.port}\n${tls}${auth}`);
    this.proc = Bun.spawn(["docker-registry", "serve", `${this.dir}/config-${this.mode}.yml`], { stdout: "ignore", stderr: Bun.file(`${this.dir}/registry.log`), stdin: "ignore" });
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(`${this.tls ? "https" : "http"}://${this.host}/v2/`, { tls: { rejectUnauthorized: false } });
        return;
      } catch {
        await Bun.sleep(50);
      }
    }
    throw new Error(`docker-registry did not start: ${readFileSync(`${this.dir}/registry.log`, "utf8")}`);
  }

  private startTokenServer(): void {
    const key = readFileSync(`${this.dir}/key.pem`, "utf8");
    const der = Buffer.from(readFileSync(`${this.dir}/cert.pem`, "utf8").replace(/-----[^-]+-----|\s/g, ""), "base64");
    this.tokenServer = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        this.tokenRequests++;
        const u = new URL(req.url);
        const auth = req.headers.get("authorization");
        if (auth !== `Basic ${btoa(`${USER}:${PASSWORD}`)}`) return new Response("unauthorized", { status: 401 });
        const access = u.searchParams.getAll("scope").flatMap((s) => {
          const [type, name, actions] = s.split(":");
          return type && name && actions ? [{ type, name, actions: actions.split(",") }] : [];
        });
        const now = Math.floor(Date.now() / 1000);
        const header = { alg: "RS256", typ: "JWT", x5c: [der.toString("base64")] };
        const claims = { iss: "bunker-test-issuer", sub: USER, aud: u.searchParams.get("service"), exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
        const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
        const sig = createSign("RSA-SHA256").update(input).sign(key);
        return Response.json({ token: `${input}.${b64url(sig)}`, expires_in: 300 });
      },
    });
  }

  /** skopeo copy SRC (e.g. oci:DIR:ref) to this (unauthenticated) registry as REPO:TAG. */
  private push(src: string, dest: string, all = false): void {
    run(["skopeo", "copy", "--quiet", ...(all ? ["--all"] : []), "--dest-tls-verify=false", src, `docker://${this.host}/${dest}`]);
  }

  /** The digest of the manifest stored as REPO:TAG (skopeo may have recompressed what it pushed). */
  digestOf(repo: string, tag: string): string {
    return readFileSync(`${this.dir}/data/docker/registry/v2/repositories/${repo}/_manifests/tags/${tag}/current/link`, "utf8").trim();
  }

  stop(): void {
    this.proc?.kill();
    this.tokenServer?.stop(true);
  }
}
