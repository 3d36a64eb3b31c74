// What cgroup setup costs `bunker run`, timed in-process: createCgroup (as
// for --memory 64m), addProcess, remove.  Under TCG every syscall is far
// slower than on hardware, so a calibration loop (procfs and tmpfs syscalls,
// run the same way on the host with --calibrate) gives the slowdown factor.
//   bun tests/vm/bench-cgroup.ts [N]          (in the VM)
//   bun tests/vm/bench-cgroup.ts --calibrate  (on any host: no cgroup touched)
import { closeSync, mkdirSync, openSync, readSync, rmdirSync, writeFileSync, unlinkSync } from "node:fs";

function calibrate(): number {
  const buf = new Uint8Array(4096);
  const dir = `/dev/shm/bunker-cal-${process.pid}`;
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) {
    const fd = openSync("/proc/self/stat", "r");
    readSync(fd, buf);
    closeSync(fd);
    mkdirSync(dir);
    writeFileSync(`${dir}/f`, "67108864");
    unlinkSync(`${dir}/f`);
    rmdirSync(dir);
  }
  return (performance.now() - t0) / 500;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

if (process.argv[2] === "--calibrate") {
  calibrate();
  console.log(`calibration: ${median([calibrate(), calibrate(), calibrate()]).toFixed(4)} ms per loop`);
} else {
  const { createCgroup } = await import("../../src/cgroup/index.ts");
  const { resourcesFromRunFlags } = await import("../../src/cgroup/flags.ts");
  const n = Number(process.argv[2] ?? 50);
  const { resources } = resourcesFromRunFlags({ memory: "64m" });
  const create: number[] = [], add: number[] = [], remove: number[] = [];
  for (let i = 0; i < n; i++) {
    const child = Bun.spawn(["sleep", "5"]);
    const t0 = performance.now();
    const cg = await createCgroup({ id: `bench${i}`, resources });
    const t1 = performance.now();
    cg!.addProcess(child.pid);
    const t2 = performance.now();
    child.kill(9);
    await child.exited;
    const t3 = performance.now();
    cg!.remove();
    const t4 = performance.now();
    create.push(t1 - t0);
    add.push(t2 - t1);
    remove.push(t4 - t3);
  }
  const total = create.map((c, i) => c + add[i]! + remove[i]!);
  // the kernel's share: the same mkdir / limit writes / migration / rmdir, raw
  const { parseSelfCgroup } = await import("../../src/cgroup/locate.ts");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const home = `/sys/fs/cgroup${parseSelfCgroup(readFileSync("/proc/self/cgroup", "utf8"))!.replace(/\/bunker\.leaf$/, "")}`;
  const mk: number[] = [], wr: number[] = [], mv: number[] = [], rm: number[] = [];
  for (let i = 0; i < n; i++) {
    const child = Bun.spawn(["sleep", "5"]);
    const dir = `${home}/bunker-raw${i}`;
    const t0 = performance.now();
    mkdirSync(dir);
    const t1 = performance.now();
    writeFileSync(`${dir}/memory.max`, "67108864");
    writeFileSync(`${dir}/memory.swap.max`, "67108864");
    writeFileSync(`${dir}/memory.oom.group`, "1");
    const t2 = performance.now();
    writeFileSync(`${dir}/cgroup.procs`, String(child.pid));
    const t3 = performance.now();
    child.kill(9);
    await child.exited;
    const t4 = performance.now();
    rmdirSync(dir);
    const t5 = performance.now();
    mk.push(t1 - t0); wr.push(t2 - t1); mv.push(t3 - t2); rm.push(t5 - t4);
  }
  console.log(`kernel share x${n} (median ms): mkdir ${median(mk).toFixed(3)}, 3 limit writes ${median(wr).toFixed(3)}, cgroup.procs write ${median(mv).toFixed(3)}, rmdir ${median(rm).toFixed(3)}`);
  const cal = median([calibrate(), calibrate(), calibrate()]);
  console.log(`cgroup cost x${n} (median ms): createCgroup(--memory 64m) ${median(create).toFixed(3)}, addProcess ${median(add).toFixed(3)}, remove ${median(remove).toFixed(3)}, total ${median(total).toFixed(3)}`);
  console.log(`calibration: ${cal.toFixed(4)} ms per loop (compare: bun tests/vm/bench-cgroup.ts --calibrate on the host)`);
}
