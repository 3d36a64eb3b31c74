// Test fixtures on disk: world-readable temp dirs and a busybox rootfs made
// from Debian's static busybox (package busybox-static), usable by any user.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Owner {
  uid: number;
  gid: number;
}

const BUSYBOX_CANDIDATES = ["/bin/busybox", "/usr/bin/busybox"];

/** The host's static busybox, or an error that says which package to install. */
export function hostBusybox(): string {
  const found = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error("busybox not found: apt-get install busybox-static");
  return found;
}

/** A new directory under /tmp, mode 0755 (mkdtemp gives 0700), optionally owned by OWNER. */
export function makeTempDir(prefix: string, owner?: Owner): string {
  const dir = mkdtempSync(join("/tmp", `${prefix}-`));
  chmodSync(dir, 0o755);
  if (owner) chownTree(dir, owner);
  return dir;
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** chown -hR: symlinks themselves, not their targets (which do not exist on the host). */
export function chownTree(path: string, owner: Owner): void {
  const r = Bun.spawnSync(["chown", "-hR", `${owner.uid}:${owner.gid}`, path]);
  if (r.exitCode !== 0) throw new Error(`chown -hR ${path}: ${r.stderr.toString().trim()}`);
}

function applets(busybox: string): string[] {
  const r = Bun.spawnSync([busybox, "--list"]);
  if (r.exitCode !== 0) throw new Error(`${busybox} --list failed: ${r.stderr.toString()}`);
  return r.stdout.toString().split("\n").filter((a) => /^[\w.\[-]+$/.test(a) && a !== "busybox");
}

/**
 * Fills DIR with a minimal busybox root filesystem:
 *   bin/busybox + one symlink per applet, sbin -> bin, usr/bin -> ../bin,
 *   etc/{passwd,group,hosts,hostname,resolv.conf}, empty proc dev sys tmp root.
 * Everything is world-readable; with OWNER the tree belongs to that user
 * (so the container's root, mapped to OWNER, may write it).
 */
export function makeBusyboxRootfs(dir: string, owner?: Owner): string {
  const busybox = hostBusybox();
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const d of ["bin", "etc", "proc", "dev", "sys", "tmp", "root", "usr", "var", "home"]) {
    mkdirSync(join(dir, d), { recursive: true, mode: 0o755 });
  }
  chmodSync(join(dir, "tmp"), 0o1777);
  copyFileSync(busybox, join(dir, "bin/busybox"));
  chmodSync(join(dir, "bin/busybox"), 0o755);
  for (const a of applets(busybox)) {
    const link = join(dir, "bin", a);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
  symlinkSync("bin", join(dir, "sbin"));
  symlinkSync("../bin", join(dir, "usr/bin"));
  symlinkSync("../bin", join(dir, "usr/sbin"));
  const files: Record<string, string> = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\nnogroup:x:65534:\n",
    "etc/hosts": "127.0.0.1\trootfs-original-hosts\n",
    "etc/hostname": "rootfs-original-hostname\n",
    "etc/resolv.conf": "# rootfs-original-resolv\n",
  };
  for (const [rel, text] of Object.entries(files)) writeFileSync(join(dir, rel), text, { mode: 0o644 });
  if (owner) chownTree(dir, owner);
  return dir;
}

/** A fresh world-readable temp dir holding a busybox rootfs at <tmp>/rootfs. */
export function makeTempRootfs(owner?: Owner): { base: string; rootfs: string } {
  const base = makeTempDir("bunker-rootfs");
  const rootfs = makeBusyboxRootfs(join(base, "rootfs"), owner);
  return { base, rootfs };
}
