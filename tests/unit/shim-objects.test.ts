// The child may run only raw syscalls and async-signal-safe libc between
// clone and execve (its parent is a multi-threaded Bun process): the object
// files of the shim's child side (CHILD_C in the Makefile) import no
// allocator, no stdio, no fork (glibc's takes malloc's locks).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

/** CHILD_C of the Makefile: the files whose code runs in the child */
function childSources(): string[] {
  const m = /^CHILD_C\s*:=\s*(.+)$/m.exec(readFileSync(join(root, "Makefile"), "utf8"));
  if (!m) throw new Error("Makefile: no CHILD_C line");
  return m[1]!.trim().split(/\s+/);
}

const FORBIDDEN = [
  /^(malloc|calloc|realloc|reallocarray|free|posix_memalign|aligned_alloc|memalign|valloc|strdup|strndup|asprintf|vasprintf)$/,
  /^(__)?v?(s|f|sn|d)?printf(_chk)?$/,
  /^(puts|fputs|putchar|fputc|fopen|fdopen|freopen|fclose|fread|fwrite|fflush|fgets|perror|setvbuf|opendir|fdopendir|readdir|closedir|getpwnam|getgrnam|syslog)$/,
  /^(fork|vfork|popen|system|exit|atexit|pthread_.*)$/,
];

describe("the shim's child side", () => {
  const sources = childSources();

  test("every file of CHILD_C is a shim source", () => {
    expect(sources.length).toBeGreaterThan(5);
    for (const s of sources) expect(existsSync(join(root, s)), s).toBe(true);
  });

  test("imports no allocator, stdio, fork or exit (nm -u of each object)", () => {
    const found: string[] = [];
    let total = 0;
    for (const s of sources) {
      const obj = join(root, "build/obj", s.replace(/^c\//, "").replace(/\.c$/, ".o"));
      expect(existsSync(obj), `${obj} (make test-unit builds it)`).toBe(true);
      const r = Bun.spawnSync(["nm", "-u", obj]);
      expect(r.exitCode).toBe(0);
      const imports = r.stdout.toString().split("\n").map((l) => l.trim().split(/\s+/).pop()!).filter(Boolean);
      total += imports.length;
      for (const sym of imports) if (FORBIDDEN.some((re) => re.test(sym))) found.push(`${s}: ${sym}`);
    }
    expect(total).toBeGreaterThan(50); // nm's output was read
    expect(found).toEqual([]);
  });

  test("the check finds what it looks for", () => {
    for (const sym of ["malloc", "free", "printf", "__snprintf_chk", "fopen", "fork", "opendir"]) expect(FORBIDDEN.some((re) => re.test(sym)), sym).toBe(true);
    for (const sym of ["_exit", "mount", "syscall", "memcpy", "clone"]) expect(FORBIDDEN.some((re) => re.test(sym)), sym).toBe(false);
  });
});
