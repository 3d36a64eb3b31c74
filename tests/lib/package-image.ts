// Image layers made offline out of the host's installed Debian packages: the
// files named (binaries, data and config dirs) plus every shared library
// `ldd` lists for each ELF file among them, at the paths the dynamic loader
// looks in (Debian's merged /usr: /lib and /lib64 are symlinks into /usr).
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TarInput } from "../../src/image/tarwriter.ts";
import { busyboxBytes } from "./image-builder.ts";

/** the Debian packages among NAMES that are not installed on the host (dpkg-query) */
export function missingPackages(names: string[]): string[] {
  return names.filter((p) => {
    const r = Bun.spawnSync(["dpkg-query", "-W", "-f=${Status}", p], { stdout: "pipe", stderr: "ignore" });
    return !r.stdout.toString().includes("install ok installed");
  });
}

const isElf = (path: string) => {
  const b = readFileSync(path).subarray(0, 4);
  return b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
};

/** the libraries (and the loader) `ldd PATH` lists, as absolute host paths */
function lddLibraries(path: string): string[] {
  const r = Bun.spawnSync(["ldd", path], { stdout: "pipe", stderr: "pipe" });
  // a static binary: "not a dynamic executable", exit 1
  if (r.exitCode !== 0) return [];
  const libs: string[] = [];
  for (const line of r.stdout.toString().split("\n")) {
    if (line.includes("=> not found")) throw new Error(`ldd ${path}: ${line.trim()}`);
    const m = line.match(/(?:=>\s*)?(\/\S+)\s+\(0x/);
    if (m) libs.push(m[1]!);
  }
  return libs;
}

/** PATH with its directory's symlinks resolved (merged /usr), its own name kept: where the loader finds it by name */
const canonical = (path: string) => join(realpathSync(dirname(path)), path.slice(path.lastIndexOf("/") + 1));

/** the regular files under PATH (a file or a dir), recursively, symlinks kept as the names they are */
function filesUnder(path: string): string[] {
  const st = lstatSync(path);
  if (!st.isDirectory()) return [path];
  return readdirSync(path).flatMap((n) => filesUnder(join(path, n)));
}

export interface PackageLayerOptions {
  /** host files or dirs copied as they are, with the libraries of each ELF file among them */
  paths: string[];
  /** files under PATHS left out (e.g. /usr/lib/postgresql/15/lib/llvmjit.so: the JIT pulls in all of LLVM) */
  exclude?: RegExp;
}

/**
 * One layer: the host's PATHS (recursively) and the libraries they need,
 * each at its canonical path (/lib/x86_64-linux-gnu/libc.so.6 is written to
 * usr/lib/x86_64-linux-gnu/libc.so.6), symlinks kept as symlinks (their
 * targets added), every parent dir as an entry of its own.
 */
export function packageLayer(opts: PackageLayerOptions): TarInput[] {
  const files = new Map<string, TarInput>();
  const dirs = new Set<string>();
  const addDirs = (path: string) => {
    for (let d = dirname(path); d !== "/" && !dirs.has(d); d = dirname(d)) dirs.add(d);
  };
  const elves: string[] = [];
  const todo = [...opts.paths];
  for (let p = todo.shift(); p !== undefined; p = todo.shift()) {
    if (!existsSync(p)) throw new Error(`package image: ${p} is not on the host`);
    for (const f of filesUnder(p)) {
      if (opts.exclude?.test(f)) continue;
      const at = canonical(f);
      if (files.has(at)) continue;
      addDirs(at);
      const st = lstatSync(f);
      if (st.isSymbolicLink()) {
        // the link as it is, and what it points to (redis-server -> redis-check-rdb)
        files.set(at, { name: at.slice(1), type: "symlink", linkname: readlinkSync(f) });
        todo.push(realpathSync(f));
        continue;
      }
      files.set(at, { name: at.slice(1), data: readFileSync(f), mode: st.mode & 0o7777 });
      if (st.mode & 0o111 || f.includes(".so")) if (isElf(f)) elves.push(f);
    }
  }
  for (const elf of elves) {
    for (const lib of lddLibraries(elf)) {
      const at = canonical(lib);
      if (files.has(at)) continue;
      addDirs(at);
      files.set(at, { name: at.slice(1), data: readFileSync(lib), mode: statSync(lib).mode & 0o7777 });
    }
  }
  return [...[...dirs].sort().map((d): TarInput => ({ name: `${d.slice(1)}/`, type: "dir", mode: 0o755 })), ...files.values()];
}

/**
 * The base layer every package image starts from: busybox-static with
 * APPLETS, Debian's merged-/usr symlinks (lib, lib64), an /etc/passwd and
 * /etc/group with root and USERS, an nsswitch.conf that reads /etc/hosts
 * first (the names of a user network), a /tmp.
 */
export function baseLayer(applets: string[], users: { name: string; id: number; home: string }[] = []): TarInput[] {
  return [
    { name: "bin/", type: "dir", mode: 0o755 },
    { name: "bin/busybox", data: busyboxBytes(), mode: 0o755 },
    ...applets.map((a): TarInput => ({ name: `bin/${a}`, type: "symlink", linkname: "busybox" })),
    { name: "usr/", type: "dir", mode: 0o755 },
    { name: "usr/lib/", type: "dir", mode: 0o755 },
    { name: "usr/lib64/", type: "dir", mode: 0o755 },
    { name: "lib", type: "symlink", linkname: "usr/lib" },
    { name: "lib64", type: "symlink", linkname: "usr/lib64" },
    { name: "etc/", type: "dir", mode: 0o755 },
    { name: "etc/passwd", data: ["root:x:0:0:root:/root:/bin/sh", ...users.map((u) => `${u.name}:x:${u.id}:${u.id}:${u.name}:${u.home}:/bin/sh`), ""].join("\n") },
    { name: "etc/group", data: ["root:x:0:", ...users.map((u) => `${u.name}:x:${u.id}:`), ""].join("\n") },
    { name: "etc/nsswitch.conf", data: "passwd: files\ngroup: files\nhosts: files dns\n" },
    { name: "root/", type: "dir", mode: 0o700 },
    { name: "tmp/", type: "dir", mode: 0o1777 },
  ];
}
