// sha256 digests: "sha256:<64 hex>", of bytes, files and layer chains.
import { BunkerError } from "../errors.ts";

const DIGEST = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a sha256 digest; rejects anything else (digests become file names). */
export function digestHex(digest: string, what = "digest"): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new BunkerError(`unsupported or malformed ${what} "${digest}"`, { errno: "EINVAL", fix: "only sha256 digests are supported" });
  return m[1]!;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${new Bun.SHA256().update(data).digest("hex")}`;
}

/** An incremental sha256 (Bun.SHA256 is the fastest of Bun's hashers). */
export class Hasher {
  private h = new Bun.SHA256();
  bytes = 0;
  update(c: Uint8Array): void {
    this.h.update(c);
    this.bytes += c.length;
  }
  digest(): string {
    return `sha256:${this.h.digest("hex")}`;
  }
  reset(): void {
    this.h = new Bun.SHA256();
    this.bytes = 0;
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = new Hasher();
  for await (const c of Bun.file(path).stream()) h.update(c);
  return h.digest();
}

/** OCI ChainIDs of DIFF_IDS: chain[0] = diff[0], chain[n] = sha256(chain[n-1] + " " + diff[n]). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length ? sha256(`${out[out.length - 1]} ${d}`) : d);
  return out;
}

export function digestMismatch(what: string, want: string, got: string, path?: string): BunkerError {
  return new BunkerError(`${what}: digest mismatch (expected ${want}, got ${got})`, { errno: "EINVAL", path, fix: "the download or archive is corrupt; nothing was stored" });
}
