// --network pasta / slirp4netns / container:ID, published ports, /etc/hosts and
// resolv.conf: the compiled dist/bunker as root and as the test user, a busybox
// httpd in the container fetched from the host.  Traffic only to 127.0.0.1 on
// the host and to addresses inside the namespaces these containers have.
// Helper processes are found by the pids bunker recorded (bunker state ID),
// each checked by its start time; nothing here scans /proc to signal.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { busyboxBytes, buildImage, dockerArchive } from "../lib/image-builder.ts";
import { fetchText, freePort } from "../lib/http.ts";
import { USERS, makeTempDir, bunkerAs, collect, isRoot, makeTempRootfs, ownerOf, removeTree, spawnBunkerAs, startTime, alive, gone, expectFlowPerClient, installUdpEcho, udpAsk, type Ref, type RunResult } from "../lib/index.ts";

setDefaultTimeout(60_000);

function listen(port = 0): Promise<Server> {
  const s = createServer((c) => c.end("host-loopback-service\n"));
  return new Promise((r) => s.listen({ host: "127.0.0.1", port }, () => r(s)));
}

const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;

for (const as of USERS) {
  describe(`network as ${as}`, () => {
    if (as === "root" && !isRoot()) return;
    let base = "", rootfs = "";
    const ids: string[] = [];
    const name = (what: string) => {
      const id = `net-${what}-${as}-${process.pid}`;
      ids.push(id);
      return id;
    };
    const bunker = (args: string[]) => bunkerAs(as, args);
    const state = async (id: string) => {
      const r = await bunker(["state", id]);
      expect(r.code, ok(r)).toBe(0);
      return JSON.parse(r.stdout) as { pid: number; status: string; network?: { mode: string; ports: unknown[]; keeper: Ref; helper: Ref; proxy?: Ref } };
    };
    /** the container's own process, as recorded, checked by its start time */
    const containerRef = async (id: string): Promise<Ref> => {
      const s = await state(id);
      return { pid: s.pid, start: startTime(s.pid)! };
    };

    beforeAll(() => {
      ({ base, rootfs } = makeTempRootfs(as === "user" ? ownerOf(as) : undefined));
      mkdirSync(join(rootfs, "www"));
      writeFileSync(join(rootfs, "www/index.html"), "hello from the container\n");
      installUdpEcho(rootfs);
    });
    afterAll(async () => {
      for (const id of ids) await bunker(["rm", "-f", id]);
      removeTree(base);
    });

    const httpd = (id: string, network: string, publish: string[]) =>
      bunker(["run", "-d", "--name", id, "--network", network, ...publish.flatMap((p) => ["-p", p]), "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);

    for (const mode of ["pasta", "slirp4netns"]) {
      test(`${mode}: -p 127.0.0.1:PORT:80 is served from the container; bunker port and ps show it; rm ends the helper`, async () => {
        const port = await freePort();
        const id = name(mode);
        const r = await httpd(id, mode, [`127.0.0.1:${port}:80`]);
        expect(r.code, ok(r)).toBe(0);
        expect(await fetchText(port)).toBe("hello from the container\n");
        const p = await bunker(["port", id]);
        expect(p.stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
        const ps = await bunker(["ps"]);
        expect(ps.stdout.split("\n").find((l) => l.startsWith(id))).toContain(`127.0.0.1:${port}->80/tcp`);
        const net = (await state(id)).network!;
        expect(net.mode).toBe(mode);
        expect(alive(net.helper) && alive(net.keeper)).toBe(true);
        expect(readFileSync(`/proc/${net.helper.pid}/cmdline`, "utf8").split("\0")[0]).toBe(`/usr/bin/${mode}`);
        // slirp4netns's ports are bunker-proxy's (its add_hostfwd is slower), pasta forwards TCP itself
        if (mode === "slirp4netns") expect(readFileSync(`/proc/${net.proxy!.pid}/comm`, "utf8")).toBe("bunker-proxy\n");
        else expect(net.proxy).toBeUndefined();
        expect((await bunker(["rm", "-f", id])).code).toBe(0);
        expect(await gone(net.helper)).toBe(true);
        expect(await gone(net.keeper)).toBe(true);
        if (net.proxy) expect(await gone(net.proxy)).toBe(true);
      });
    }

    for (const mode of ["pasta", "slirp4netns"]) {
      test(`${mode}: -p 127.0.0.1:PORT:5000/udp answers clients on 127.0.0.1 through bunker-proxy, each client its own flow; the proxy goes with rm -f`, async () => {
        const [port, port2] = [await freePort(), await freePort()];
        const id = name(`udp-${mode}`);
        const r = await bunker(["run", "-d", "--name", id, "--network", mode, "-p", `127.0.0.1:${port}:5000/udp`, "-p", `127.0.0.1:${port2}:80`, "--rootfs", rootfs, "--", "sh", "-c", "httpd -p 80 -h /www; exec /udp-echo serve 5000"]);
        expect(r.code, ok(r)).toBe(0);
        // one client, two datagrams: one flow (the same source port in the container); a second client: another
        await expectFlowPerClient(port, "127.0.0.1");
        // the helper still forwards TCP
        expect(await fetchText(port2)).toBe("hello from the container\n");
        expect((await bunker(["port", id])).stdout).toBe(`5000/udp -> 127.0.0.1:${port}\n80/tcp -> 127.0.0.1:${port2}\n`);
        const net = (await state(id)).network!;
        expect(alive(net.proxy!)).toBe(true);
        expect(readFileSync(`/proc/${net.proxy!.pid}/comm`, "utf8")).toBe("bunker-proxy\n");
        expect((await bunker(["rm", "-f", id])).code).toBe(0);
        expect(await gone(net.proxy!)).toBe(true);
        expect(await udpAsk(port, ["after"], 1000)).toEqual(["<no answer>"]);
      });
    }

    test("pasta: -p 80 takes a free port, shown by bunker port (0.0.0.0 reaches 127.0.0.1)", async () => {
      const id = name("random");
      const r = await httpd(id, "pasta", ["80"]);
      expect(r.code, ok(r)).toBe(0);
      const p = await bunker(["port", id, "80"]);
      expect(p.stdout).toMatch(/^0\.0\.0\.0:\d+\n$/);
      const port = Number(p.stdout.trim().split(":")[1]);
      expect(port).toBeGreaterThan(0);
      expect(await fetchText(port)).toBe("hello from the container\n");
      await bunker(["rm", "-f", id]);
    });

    test("a host port in use fails before the container starts: one line, 125, no container", async () => {
      const busy = await listen();
      const port = (busy.address() as { port: number }).port;
      try {
        const id = name("busy");
        const r = await httpd(id, "pasta", [`127.0.0.1:${port}:80`]);
        expect(r.code, ok(r)).toBe(125);
        expect(r.stderr).toMatch(new RegExp(`^bunker: -p 127\\.0\\.0\\.1:${port}:80/tcp: cannot bind the host port: EADDRINUSE \\(.*\\) — port ${port} is in use on 127\\.0\\.0\\.1.*\\n$`));
        expect(r.stdout).toBe("");
        expect((await bunker(["ps", "-a"])).stdout).not.toContain(id);
      } finally {
        busy.close();
      }
    });

    for (const mode of ["pasta", "slirp4netns"]) {
      test(`${mode}: SIGKILL of a foreground bunker, then SIGKILL of a detached container: the helper goes with the container`, async () => {
        const port = await freePort();
        const id = name(`kill-${mode}`);
        const fg = spawnBunkerAs(as, ["run", "--name", id, "--network", mode, "-p", `127.0.0.1:${port}:80`, "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);
        expect(await fetchText(port)).toBe("hello from the container\n");
        const net = (await state(id)).network!;
        const ctr = await containerRef(id);
        fg.kill("SIGKILL"); // the process this test started (bunker, now its monitor)
        await collect(fg);
        expect(await gone(ctr)).toBe(true);
        expect(await gone(net.helper)).toBe(true);
        expect(await gone(net.keeper)).toBe(true);
        if (net.proxy) expect(await gone(net.proxy)).toBe(true);
        await bunker(["rm", "-f", id]);

        const id2 = name(`kill2-${mode}`);
        const r = await httpd(id2, mode, [`127.0.0.1:${port}:80`]);
        expect(r.code, ok(r)).toBe(0);
        expect(await fetchText(port)).toBe("hello from the container\n");
        const net2 = (await state(id2)).network!;
        const ctr2 = await containerRef(id2);
        process.kill(ctr2.pid, "SIGKILL"); // the container's recorded init, its start time checked above
        expect(await gone(net2.helper)).toBe(true);
        expect(await gone(net2.keeper)).toBe(true);
        if (net2.proxy) expect(await gone(net2.proxy)).toBe(true);
        expect((await state(id2)).status).toBe("stopped");
        await bunker(["rm", "-f", id2]);
      });
    }

    test("--network container:ID shares the other container's lo", async () => {
      const a = name("pod");
      const r = await bunker(["run", "-d", "--name", a, "--network", "none", "--rootfs", rootfs, "--", "httpd", "-f", "-p", "127.0.0.1:80", "-h", "/www"]);
      expect(r.code, ok(r)).toBe(0);
      const b = await bunker(["run", "--network", `container:${a}`, "--rootfs", rootfs, "--", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://127.0.0.1:80/ && exit 0; sleep 0.2; done; exit 1"]);
      expect(b.code, ok(b)).toBe(0);
      expect(b.stdout).toBe("hello from the container\n");
      // and a container of its own does not reach it
      const c = await bunker(["run", "--network", "none", "--rootfs", rootfs, "--", "wget", "-q", "-T", "2", "-O-", "http://127.0.0.1:80/"]);
      expect(c.code).not.toBe(0);
      const gone = await bunker(["run", "--network", "container:no-such-ctr", "--rootfs", rootfs, "--", "true"]);
      expect(gone.code).toBe(125);
      expect(gone.stderr).toMatch(/^bunker: .*no-such-ctr.*\n$/);
      await bunker(["rm", "-f", a]);
    });

    test("/etc/hosts and /etc/resolv.conf: name, hostname, --add-host, --dns, --dns-search; the helper's resolver", async () => {
      const id = name("etc");
      const r = await bunker(["run", "--name", id, "--hostname", "box", "--network", "pasta", "--add-host", "db:10.1.2.3", "--dns", "10.0.0.9", "--dns-search", "x.test", "--rootfs", rootfs, "--", "cat", "/etc/hosts", "/etc/resolv.conf"]);
      expect(r.code, ok(r)).toBe(0);
      expect(r.stdout).toBe(`127.0.0.1\tlocalhost box ${id}\n::1\tlocalhost ip6-localhost ip6-loopback\n10.1.2.3\tdb\nnameserver 10.0.0.9\nsearch x.test\n`);
      const s = await bunker(["run", "--network", "slirp4netns", "--rootfs", rootfs, "--", "grep", "nameserver", "/etc/resolv.conf"]);
      expect(s.stdout).toBe("nameserver 10.0.2.3\n");
      const p = await bunker(["run", "--network", "pasta", "--rootfs", rootfs, "--", "grep", "nameserver", "/etc/resolv.conf"]);
      expect(p.stdout).toBe("nameserver 169.254.1.1\n");
    });

    test("slirp4netns reaches the host's loopback (10.0.2.2) only with allow_host_loopback=true", async () => {
      const svc = await listen();
      const port = (svc.address() as { port: number }).port;
      try {
        const get = (network: string) => bunker(["run", "--network", network, "--rootfs", rootfs, "--", "nc", "-w", "2", "10.0.2.2", String(port)]);
        const denied = await get("slirp4netns");
        expect(denied.stdout).toBe("");
        const allowed = await get("slirp4netns:allow_host_loopback=true");
        expect(allowed.stdout, ok(allowed)).toBe("host-loopback-service\n");
      } finally {
        svc.close();
      }
    });

    test("run IMAGE: slirp4netns by default, -P publishes its EXPOSE on a free port", async () => {
      const dir = makeTempDir("bunker-net-img", ownerOf(as));
      const b = (args: string[]) => bunkerAs(as, ["--data-root", `${dir}/store`, "--root", `${dir}/state`, ...args], { cwd: dir });
      const image = buildImage({
        compression: "none",
        layers: [[
          { name: "bin/", type: "dir", mode: 0o755 },
          { name: "bin/busybox", data: busyboxBytes(), mode: 0o755 },
          ...["sh", "httpd"].map((a) => ({ name: `bin/${a}`, type: "symlink" as const, linkname: "busybox" })),
          { name: "etc/", type: "dir", mode: 0o755 },
          { name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\n" },
          { name: "etc/group", data: "root:x:0:\n" },
          { name: "www/index.html", data: "hello from the image\n" },
        ]],
        config: { Env: ["PATH=/bin"], Cmd: ["httpd", "-f", "-p", "80", "-h", "/www"], ExposedPorts: { "80/tcp": {} } },
      });
      writeFileSync(`${dir}/img.tar`, dockerArchive([{ image, tags: ["test/web:1"] }]));
      try {
        expect((await b(["load", "-i", `${dir}/img.tar`])).code).toBe(0);
        const r = await b(["run", "-d", "--name", "img-web", "-P", "test/web:1"]);
        expect(r.code, ok(r)).toBe(0);
        const st = JSON.parse((await b(["state", "img-web"])).stdout) as { network: { mode: string; helper: Ref } };
        expect(st.network.mode).toBe("slirp4netns");
        const p = await b(["port", "img-web"]);
        expect(p.stdout).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+\n$/);
        expect(await fetchText(Number(p.stdout.trim().split(":")[1]))).toBe("hello from the image\n");
        expect((await b(["rm", "-f", "img-web"])).code).toBe(0);
        expect(await gone(st.network.helper)).toBe(true);
      } finally {
        await b(["rm", "-f", "img-web"]);
        removeTree(dir);
      }
    });

    test("a helper that fails says why in one line, 125, and leaves no container", async () => {
      const id = name("badopt");
      const r = await bunker(["run", "--name", id, "--network", "pasta:--no-such-option", "--rootfs", rootfs, "--", "true"]);
      expect(r.code, ok(r)).toBe(125);
      expect(r.stderr).toBe("bunker: --network pasta: pasta exited before the container's network was ready: /usr/bin/pasta: unrecognized option '--no-such-option': EIO (Input/output error) [/usr/bin/pasta] — bunker check tries each network mode\n");
      expect((await bunker(["ps", "-a"])).stdout).not.toContain(id);
    });

    test("-p needs a helper: with --network none it is one clear error", async () => {
      const r = await bunker(["run", "--network", "none", "-p", "8080:80", "--rootfs", rootfs, "--", "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe("bunker: run: -p publishes ports through a network helper or a user network's proxy, not with --network none: EINVAL (Invalid argument) — add --network pasta, --network slirp4netns or --network NAME (bunker network create NAME)\n");
    });
  });
}
