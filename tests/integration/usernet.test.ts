// User networks (bunker network create|ls|inspect|rm|prune, run --network NAME):
// the compiled dist/bunker as root and as the test user.  Two containers on
// one network reach each other by name and alias, a third on another (an
// --internal one: its traffic cannot leave bunker's namespaces) does not.
// Published ports go through a port proxy, fetched from the host's 127.0.0.1.
// Traffic only to 127.0.0.1 and inside the network namespaces bunker makes; processes are
// found by the pids bunker recorded, each checked by its start time.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fetchText, freePort } from "../lib/http.ts";
import { USERS, bunkerAs, collect, isRoot, spawnBunkerAs, makeTempDir, makeTempRootfs, ownerOf, removeTree, startTime, alive, gone, expectFlowPerClient, installUdpEcho, type Ref, type RunResult } from "../lib/index.ts";

setDefaultTimeout(60_000);

const ok = (r: RunResult) => `code=${r.code} stdout=${JSON.stringify(r.stdout)} stderr=${JSON.stringify(r.stderr)}`;

/** wget URL from inside, a few tries while the server starts */
const fetchIn = (url: string) => `(for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- ${url} && exit 0; sleep 0.3; done; exit 1)`;

for (const as of USERS) {
  describe(`user networks as ${as}`, () => {
    if (as === "root" && !isRoot()) return;
    let base = "", rootfs = "", dataRoot = "";
    const ids: string[] = [];
    const nets: string[] = [];
    const tag = `${as}-${process.pid}`;
    const name = (what: string) => {
      ids.push(`un-${what}-${tag}`);
      return ids.at(-1)!;
    };
    const netName = (what: string) => {
      nets.push(`un${what}-${tag}`);
      return nets.at(-1)!;
    };
    // a data root of the test's own: the networks it makes are nobody else's
    const bunker = (args: string[]) => bunkerAs(as, ["--data-root", dataRoot, ...args]);

    beforeAll(() => {
      ({ base, rootfs } = makeTempRootfs(as === "user" ? ownerOf(as) : undefined));
      mkdirSync(join(rootfs, "www"));
      writeFileSync(join(rootfs, "www/index.html"), "hello from web\n");
      installUdpEcho(rootfs);
      dataRoot = join(base, "data");
      mkdirSync(dataRoot);
      if (as === "user") chownSync(dataRoot, ownerOf(as).uid, ownerOf(as).gid);
    });
    afterAll(async () => {
      for (const id of ids) await bunker(["rm", "-f", id]);
      for (const n of nets) await bunker(["network", "rm", "-f", n]);
      removeTree(base);
    });

    test("two containers reach each other by name and alias, a third on another network cannot; rm refused while in use; the holder and pasta go with rm", async () => {
      const n1 = netName("a"), n2 = netName("b");
      const c1 = await bunker(["network", "create", "--label", "app=test", n1]);
      expect(c1.code, ok(c1)).toBe(0);
      expect(c1.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      const c2 = await bunker(["network", "create", "--internal", "--subnet", "10.77.0.0/24", n2]);
      expect(c2.code, ok(c2)).toBe(0);

      const web = name("web");
      const r = await bunker(["run", "-d", "--name", web, "--network", n1, "--network-alias", "www", "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);
      expect(r.code, ok(r)).toBe(0);
      const byName = await bunker(["run", "--rm", "--name", name("client"), "--network", n1, "--rootfs", rootfs, "--", "sh", "-c", `${fetchIn(`http://${web}/`)} && ${fetchIn("http://www/")}`]);
      expect(byName.code, ok(byName)).toBe(0);
      expect(byName.stdout).toBe("hello from web\nhello from web\n");

      const info = JSON.parse((await bunker(["network", "inspect", n1])).stdout);
      expect(info).toHaveLength(1);
      expect(info[0]).toMatchObject({ Name: n1, Driver: "bridge", Internal: false, Labels: { app: "test" } });
      const cfg = info[0].IPAM.Config[0];
      expect(cfg.Subnet).toMatch(/^10\.89\.\d+\.0\/24$/);
      const webIp = info[0].Containers[web].IPv4Address.split("/")[0];
      expect(info[0].Containers[web]).toEqual({ Name: web, IPv4Address: `${webIp}/24`, IPv6Address: "" });
      expect(Object.keys(info[0].Containers)).toEqual([web]); // the --rm client has left
      expect(cfg.Gateway).toBe(cfg.Subnet.replace(/0\/24$/, "1"));

      // another (internal) network: not by name, not by address
      const other = await bunker(["run", "--rm", "--network", n2, "--rootfs", rootfs, "--", "sh", "-c", `cat /etc/hosts; ip -4 addr show eth0; timeout 3 wget -q -O- http://${webIp}/ || echo unreachable`]);
      expect(other.code, ok(other)).toBe(0);
      expect(other.stdout).not.toContain(web);
      expect(other.stdout).toContain("inet 10.77.0.2/24");
      expect(other.stdout).not.toContain("hello from web");
      expect(other.stdout).toContain("unreachable");

      const ls = await bunker(["network", "ls"]);
      expect(ls.stdout.split("\n")[0]).toMatch(/^NETWORK ID +NAME +DRIVER +SCOPE$/);
      expect(ls.stdout).toMatch(new RegExp(`\\n${info[0].Id.slice(0, 12)} +${n1} +bridge +local\\n`));
      expect((await bunker(["network", "ls", "-q"])).stdout.split("\n")).toContain(info[0].Id.slice(0, 12));

      const busy = await bunker(["network", "rm", n1]);
      expect(busy.code).toBe(125);
      expect(busy.stderr).toMatch(new RegExp(`^bunker: network rm: network "${n1}" is in use by container ${web}: EBUSY .*\\n$`));

      const holder = JSON.parse(readFileSync(join(dataRoot, "networks", n1, "holder.json"), "utf8")) as { holder: Ref; keeper: Ref; helper: Ref };
      expect(alive(holder.holder) && alive(holder.keeper) && alive(holder.helper)).toBe(true);
      expect(readFileSync(`/proc/${holder.holder.pid}/comm`, "utf8")).toBe("bunker-netns\n");
      expect(readFileSync(`/proc/${holder.helper.pid}/cmdline`, "utf8").split("\0")[0]).toBe("/usr/bin/pasta");
      expect((await bunker(["rm", "-f", web])).code).toBe(0);
      const rm = await bunker(["network", "rm", n1]);
      expect(rm.code, ok(rm)).toBe(0);
      expect(rm.stdout).toBe(`${n1}\n`);
      for (const p of [holder.holder, holder.keeper, holder.helper]) expect(await gone(p)).toBe(true);
      expect((await bunker(["network", "ls", "-q"])).stdout).not.toContain(info[0].Id.slice(0, 12));
      const pr = await bunker(["network", "prune", "-f"]);
      expect(pr.stdout).toBe(`Deleted Networks:\n${n2}\n`);
    });

    test("-p on a user network: HOSTIP:PORT:80 and -p 80 served through the proxy from the host's 127.0.0.1; bunker port and ps show them; the proxy goes with rm -f and with a SIGKILL of the container", async () => {
      const n = netName("p");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.79.0.0/24", n])).code).toBe(0);
      const stateOf = async (id: string) => JSON.parse((await bunker(["state", id])).stdout) as { pid: number; status: string; network: { proxy: Ref } };
      const web = name("pweb");
      const port = await freePort();
      const r = await bunker(["run", "-d", "--name", web, "--network", n, "-p", `127.0.0.1:${port}:80`, "-p", "80", "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);
      expect(r.code, ok(r)).toBe(0);
      expect(await fetchText(port)).toBe("hello from web\n");
      const pp = await bunker(["port", web]);
      expect(pp.code, ok(pp)).toBe(0);
      const lines = pp.stdout.trim().split("\n");
      expect(lines[0]).toBe(`80/tcp -> 127.0.0.1:${port}`);
      const random = Number(/^80\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(lines[1] ?? "")?.[1]);
      expect(random).toBeGreaterThan(0);
      expect(await fetchText(random)).toBe("hello from web\n");
      // several connections at once, each answered in full
      expect(await Promise.all([1, 2, 3, 4].map(() => fetchText(port)))).toEqual(Array(4).fill("hello from web\n"));
      const ps = await bunker(["ps"]);
      expect(ps.stdout.split("\n").find((l) => l.startsWith(web))).toContain(`127.0.0.1:${port}->80/tcp, 0.0.0.0:${random}->80/tcp`);
      const { proxy } = (await stateOf(web)).network;
      expect(alive(proxy)).toBe(true);
      expect(readFileSync(`/proc/${proxy.pid}/comm`, "utf8")).toBe("bunker-proxy\n");
      expect((await bunker(["rm", "-f", web])).code).toBe(0);
      expect(await gone(proxy)).toBe(true);
      expect(await fetchText(port, 300)).toStartWith("<no answer");

      // the port rm -f freed, now a foreground run; a SIGKILL of its bunker (the monitor): the container goes, and its proxy with it
      const fgId = name("pfg");
      const fg = spawnBunkerAs(as, ["--data-root", dataRoot, "run", "--name", fgId, "--network", n, "-p", `127.0.0.1:${port}:80`, "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);
      expect(await fetchText(port)).toBe("hello from web\n");
      const sfg = await stateOf(fgId);
      const fgCtr = { pid: sfg.pid, start: startTime(sfg.pid)! };
      fg.kill("SIGKILL"); // the process this test started
      await collect(fg);
      expect(await gone(fgCtr)).toBe(true);
      expect(await gone(sfg.network.proxy)).toBe(true);
      await bunker(["rm", "-f", fgId]);

      // a SIGKILL of the container: the proxy goes too
      const web2 = name("pweb2");
      const r2 = await bunker(["run", "-d", "--name", web2, "--network", n, "-p", `127.0.0.1:${port}:80`, "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);
      expect(r2.code, ok(r2)).toBe(0);
      expect(await fetchText(port)).toBe("hello from web\n");
      const s2 = await stateOf(web2);
      const ctr = { pid: s2.pid, start: startTime(s2.pid)! };
      process.kill(ctr.pid, "SIGKILL"); // the container's recorded process, its start time taken just now
      expect(await gone(s2.network.proxy)).toBe(true);
      expect(await gone(ctr)).toBe(true);
      await bunker(["rm", "-f", web2]);
    });

    test("UDP on a user network: -p HOSTIP:PORT:5000/udp answers clients on 127.0.0.1 through the proxy (a flow each; the container sees the gateway), and containers reach each other by name and alias", async () => {
      const n = netName("u");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.76.0.0/24", n])).code).toBe(0);
      const srv = name("udp");
      const port = await freePort();
      const r = await bunker(["run", "-d", "--name", srv, "--network", n, "--network-alias", "echo", "-p", `127.0.0.1:${port}:5000/udp`, "--rootfs", rootfs, "--", "/udp-echo", "serve", "5000"]);
      expect(r.code, ok(r)).toBe(0);
      await expectFlowPerClient(port, "10.76.0.1");
      expect((await bunker(["port", srv])).stdout).toBe(`5000/udp -> 127.0.0.1:${port}\n`);

      // container to container, by name and by alias: the client's own address is the peer
      const c2c = await bunker(["run", "--rm", "--network", n, "--ip", "10.76.0.9", "--rootfs", rootfs, "--", "sh", "-c", `/udp-echo ask ${srv} 5000 by-name && /udp-echo ask echo 5000 by-alias`]);
      expect(c2c.code, ok(c2c)).toBe(0);
      expect(c2c.stdout).toMatch(/^10\.76\.0\.9:\d+ by-name\n10\.76\.0\.9:\d+ by-alias\n$/);
      const { proxy } = JSON.parse((await bunker(["state", srv])).stdout).network as { proxy: Ref };
      expect((await bunker(["rm", "-f", srv])).code).toBe(0);
      expect(await gone(proxy)).toBe(true);
    });

    test("the host's 127.0.0.1 is reached at the gateway (host.containers.internal) only on a network made with --opt host_loopback=true", async () => {
      // a service of this test on the host's loopback; the containers' attempts stay inside bunker's namespaces
      const svc = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("host-loopback-service\n") });
      try {
        const on = netName("lo"), off = netName("nolo");
        const c1 = await bunker(["network", "create", "--opt", "host_loopback=true", "--subnet", "10.75.0.0/24", on]);
        expect(c1.code, ok(c1)).toBe(0);
        expect((await bunker(["network", "create", "--subnet", "10.74.0.0/24", off])).code).toBe(0);
        const yes = await bunker(["run", "--rm", "--network", on, "--rootfs", rootfs, "--", "sh", "-c", `grep host.containers /etc/hosts && ${fetchIn(`http://host.containers.internal:${svc.port}/`)}`]);
        expect(yes.code, ok(yes)).toBe(0);
        expect(yes.stdout).toBe("10.75.0.1\thost.containers.internal host.docker.internal\nhost-loopback-service\n");
        // by default the gateway is the bridge's own address: nothing there answers, nothing leaves
        const no = await bunker(["run", "--rm", "--network", off, "--rootfs", rootfs, "--", "sh", "-c", `grep -c host.containers /etc/hosts; wget -q -T 3 -O- http://10.74.0.1:${svc.port}/ || echo unreachable`]);
        expect(no.stdout, ok(no)).toBe("0\nunreachable\n");
        const pastaArgs = (n: string) => {
          const h = JSON.parse(readFileSync(join(dataRoot, "networks", n, "holder.json"), "utf8")) as { helper: Ref };
          return readFileSync(`/proc/${h.helper.pid}/cmdline`, "utf8").split("\0");
        };
        expect(pastaArgs(on)).not.toContain("--no-map-gw");
        expect(pastaArgs(off)).toContain("--no-map-gw");
        expect(JSON.parse((await bunker(["network", "inspect", on])).stdout)[0].Options).toEqual({ host_loopback: "true" });
        expect(JSON.parse((await bunker(["network", "inspect", off])).stdout)[0].Options).toEqual({});
      } finally {
        svc.stop(true);
      }
    });

    test("a container that ends without a bunker command leaves the others' /etc/hosts at the network's next operation (inspect, rm)", async () => {
      const n = netName("g");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.73.0.0/24", n])).code).toBe(0);
      const a = name("ga");
      expect((await bunker(["run", "-d", "--name", a, "--network", n, "--rootfs", rootfs, "--", "sleep", "60"])).code).toBe(0);
      const hostsOfA = async () => (await bunker(["exec", a, "cat", "/etc/hosts"])).stdout; // exec is no network operation
      const ctrOf = async (id: string): Promise<Ref> => {
        const pid = (JSON.parse((await bunker(["state", id])).stdout) as { pid: number }).pid;
        return { pid, start: startTime(pid)! };
      };
      const foreground = async (id: string) => {
        const p = spawnBunkerAs(as, ["--data-root", dataRoot, "run", "--name", id, "--network", n, "--rootfs", rootfs, "--", "sleep", "60"]);
        for (let k = 0; k < 100 && !(await hostsOfA()).includes(id); k++) await Bun.sleep(100);
        expect(await hostsOfA()).toContain(id);
        return p;
      };
      /** ID's container has ended; a's /etc/hosts still lists it until OP, a network operation, finds it gone */
      const droppedBy = async (id: string, ctr: Ref, op: string[]) => {
        expect(await gone(ctr)).toBe(true);
        expect(await hostsOfA()).toContain(id);
        await bunker(op);
        expect(await hostsOfA()).not.toContain(id);
      };

      // a SIGKILL of a foreground run's container (its monitor ends with it)
      const f1 = name("gf1");
      const p1 = await foreground(f1);
      const c1 = await ctrOf(f1);
      process.kill(c1.pid, "SIGKILL"); // the container's recorded process, its start time just read
      await collect(p1);
      await droppedBy(f1, c1, ["network", "inspect", n]);

      // a SIGKILL of a foreground bunker (its monitor): the container goes with it
      const f2 = name("gf2");
      const p2 = await foreground(f2);
      const c2 = await ctrOf(f2);
      p2.kill("SIGKILL"); // the process this test started
      await collect(p2);
      await droppedBy(f2, c2, ["network", "rm", n]); // refused (a runs), and still a sweep

      // a SIGKILL of a detached container: nothing outside it waits for it
      const d = name("gd");
      expect((await bunker(["run", "-d", "--name", d, "--network", n, "--rootfs", rootfs, "--", "sleep", "60"])).code).toBe(0);
      expect(await hostsOfA()).toContain(d);
      const cd = await ctrOf(d);
      process.kill(cd.pid, "SIGKILL"); // the container's recorded process, its start time just read
      await droppedBy(d, cd, ["network", "inspect", n]);
      expect(Object.keys(JSON.parse((await bunker(["network", "inspect", n])).stdout)[0].Containers)).toEqual([a]);
      for (const id of [f1, f2, d, a]) await bunker(["rm", "-f", id]);
    });

    // root's networks have user namespaces of their own
    test.if(as === "user")("rootless: a network nobody is on follows bunker's shared user namespace when that is made anew (its holder killed)", async () => {
      // a runtime dir of this test's own: the shared user namespace's holder it records is this test's alone
      const xdg = makeTempDir("bunker-xdg-net", ownerOf(as));
      chmodSync(xdg, 0o700);
      const b = (args: string[]) => bunkerAs(as, ["--data-root", dataRoot, ...args], { env: { XDG_RUNTIME_DIR: xdg } });
      try {
        const n = netName("ns");
        expect((await b(["network", "create", "--internal", "--subnet", "10.72.0.0/24", n])).code).toBe(0);
        const first = await b(["run", "--rm", "--network", n, "--rootfs", rootfs, "--", "true"]);
        expect(first.code, ok(first)).toBe(0);
        const [pid, start] = readFileSync(join(xdg, "bunker/userns"), "utf8").split(" ");
        const userns: Ref = { pid: Number(pid), start: start! };
        expect(startTime(userns.pid)).toBe(userns.start);
        process.kill(userns.pid, "SIGKILL"); // the holder this test's bunker recorded, its start time checked just now
        // until reaped: a zombie's /proc/PID/ns/user (its credentials') still leads to the namespace
        const reaped = () => {
          try {
            return readFileSync(`/proc/${userns.pid}/stat`, "utf8").split(" ")[21] !== userns.start;
          } catch {
            return true;
          }
        };
        for (let k = 0; k < 200 && !reaped(); k++) await Bun.sleep(50);
        expect(reaped()).toBe(true);
        const old = JSON.parse(readFileSync(join(dataRoot, "networks", n, "holder.json"), "utf8")) as { holder: Ref };
        const again = await b(["run", "--rm", "--network", n, "--rootfs", rootfs, "--", "ip", "-4", "-o", "addr", "show", "eth0"]);
        expect(again.code, ok(again)).toBe(0);
        expect(again.stdout).toContain("inet 10.72.0.2/24");
        expect(await gone(old.holder)).toBe(true);
        expect((await b(["network", "rm", n])).code).toBe(0);
      } finally {
        const rec = readFileSync(join(xdg, "bunker/userns"), "utf8").split(" ");
        const holder: Ref = { pid: Number(rec[0]), start: rec[1]! };
        if (alive(holder)) process.kill(holder.pid, "SIGKILL"); // the new holder, made for this test's runtime dir
        removeTree(xdg);
      }
    });

    test("network connect of a stopped and of a created container: on the network (aliases, --ip) from its next start; inspect shows it; disconnect of a stopped one holds at its next start", async () => {
      const n = netName("s");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.71.0.0/24", n])).code).toBe(0);
      const networksOf = async (id: string) => JSON.parse((await bunker(["inspect", id])).stdout)[0].NetworkSettings.Networks as Record<string, { IPAddress: string; Aliases: string[] }>;
      const reach = (host: string) => bunker(["run", "--rm", "--network", n, "--rootfs", rootfs, "--", "sh", "-c", fetchIn(`http://${host}/`)]);
      // exited: made on no network, stopped, connected, started
      const srv = name("srv");
      const r = await bunker(["run", "-d", "--name", srv, "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"]);
      expect(r.code, ok(r)).toBe(0);
      expect((await bunker(["stop", "-t", "1", srv])).code).toBe(0);
      const c = await bunker(["network", "connect", "--alias", "web2", "--ip", "10.71.0.9", n, srv]);
      expect(c.code, ok(c)).toBe(0);
      expect(Object.keys(await networksOf(srv))).toEqual([n]);
      expect((await networksOf(srv))[n]!.IPAddress).toBe("");
      expect(JSON.parse((await bunker(["network", "inspect", n])).stdout)[0].Containers).toEqual({}); // not running: no endpoint yet
      const again = await bunker(["network", "connect", n, srv]);
      expect(again.code).toBe(125);
      expect(again.stderr).toContain(`is already on network "${n}": EEXIST`);
      expect((await bunker(["start", srv])).code).toBe(0);
      expect((await networksOf(srv))[n]).toMatchObject({ IPAddress: "10.71.0.9", Aliases: [srv.slice(0, 12), "web2"] });
      for (const host of [srv, "web2"]) {
        const got = await reach(host);
        expect(got.code, ok(got)).toBe(0);
        expect(got.stdout).toBe("hello from web\n");
      }
      // a restart keeps it: its run request has it
      expect((await bunker(["stop", "-t", "1", srv])).code).toBe(0);
      expect((await bunker(["start", srv])).code).toBe(0);
      expect((await reach("web2")).stdout).toBe("hello from web\n");
      // created (its process waits for start): connected now, reached once started
      const cr = name("cr");
      expect((await bunker(["create", "--name", cr, "--rootfs", rootfs, "--", "httpd", "-f", "-p", "80", "-h", "/www"])).code).toBe(0);
      const cc = await bunker(["network", "connect", n, cr]);
      expect(cc.code, ok(cc)).toBe(0);
      expect(Object.keys(await networksOf(cr))).toEqual([n]);
      expect((await bunker(["start", cr])).code).toBe(0);
      expect((await reach(cr)).stdout).toBe("hello from web\n");
      // disconnect of a stopped container: off the network at its next start
      expect((await bunker(["stop", "-t", "1", srv])).code).toBe(0);
      const dc = await bunker(["network", "disconnect", n, srv]);
      expect(dc.code, ok(dc)).toBe(0);
      expect(await networksOf(srv)).toEqual({});
      const bad = await bunker(["network", "connect", "--ip", "10.9.9.9", n, srv]);
      expect(bad.code).toBe(125);
      expect(bad.stderr).toContain('--ip: "10.9.9.9" is not a host address of the network\'s subnet 10.71.0.0/24: EINVAL');
      expect((await bunker(["start", srv])).code).toBe(0);
      expect(await networksOf(srv)).toEqual({});
      expect((await bunker(["exec", srv, "cat", "/sys/class/net/eth0/address"])).code).not.toBe(0);
      expect(Object.keys(JSON.parse((await bunker(["network", "inspect", n])).stdout)[0].Containers)).toEqual([cr]);
      for (const id of [srv, cr]) await bunker(["rm", "-f", id]);
    });

    test("network connect of a running container on pasta: the next ethN that pasta's own (named after the host's) leaves free", async () => {
      const n = netName("pc");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.68.0.0/24", n])).code).toBe(0);
      const p = name("pasta");
      // rootless: in bunker's shared user namespace, the network's (a one-id map's could not be connected while it runs)
      const r = await bunker(["run", "-d", "--name", p, "--network", "pasta", ...(as === "user" ? ["--userns=auto"] : []), "--rootfs", rootfs, "--", "sleep", "60"]);
      expect(r.code, ok(r)).toBe(0);
      const before = (await bunker(["exec", p, "ip", "-o", "link", "show"])).stdout;
      const c = await bunker(["network", "connect", n, p]);
      expect(c.code, ok(c)).toBe(0);
      const addrs = (await bunker(["exec", p, "ip", "-o", "-4", "addr", "show"])).stdout;
      const mine = /^\d+:\s*(\S+)\s+inet 10\.68\.0\.2\/24/m.exec(addrs)?.[1];
      expect(mine, addrs).toMatch(/^eth\d+$/);
      expect(before).not.toContain(`: ${mine}:`);
      expect((await bunker(["rm", "-f", p])).code).toBe(0);
    });

    test("a container on two networks: its /etc/hosts lists both networks' containers, and keeps the second's when the first one's members change", async () => {
      const n1 = netName("m1"), n2 = netName("m2");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.70.0.0/24", n1])).code).toBe(0);
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.69.0.0/24", n2])).code).toBe(0);
      const sleeper = async (id: string, net: string, alias?: string) => {
        const r = await bunker(["run", "-d", "--name", id, "--network", net, ...(alias ? ["--network-alias", alias] : []), "--rootfs", rootfs, "--", "sleep", "60"]);
        expect(r.code, ok(r)).toBe(0);
      };
      const hostsOf = async (id: string) => (await bunker(["exec", id, "cat", "/etc/hosts"])).stdout;
      const a = name("ma"), b = name("mb"), c = name("mc"), d = name("md");
      await sleeper(a, n1);
      expect((await bunker(["network", "connect", n2, a])).code).toBe(0);
      await sleeper(b, n1, "bee");
      await sleeper(c, n2, "sea");
      const first = await hostsOf(a);
      expect(first).toContain(`10.70.0.3\t${b} bee\n`);
      expect(first).toContain(`10.69.0.3\t${c} sea\n`);
      expect(await hostsOf(c)).toContain(`10.69.0.2\t${a}\n`);
      // n1 changes (one joins, one leaves): a keeps n2's lines
      await sleeper(d, n1);
      expect(await hostsOf(a)).toContain(`\t${d}\n`);
      expect(await hostsOf(a)).toContain(`\t${c} sea\n`);
      expect((await bunker(["rm", "-f", b])).code).toBe(0);
      const after = await hostsOf(a);
      expect(after).not.toContain(b);
      expect(after).toContain(`10.69.0.3\t${c} sea\n`);
      expect(after.split("\n").filter((l) => l.includes(`\t${d}`))).toHaveLength(1);
      // n2 changes: n1's stay
      expect((await bunker(["rm", "-f", c])).code).toBe(0);
      const last = await hostsOf(a);
      expect(last).not.toContain(c);
      expect(last).toContain(`\t${d}\n`);
      // a renamed: both networks' others list it by its new name
      const a2 = `${a}-r`;
      expect((await bunker(["rename", a, a2])).code).toBe(0);
      ids.push(a2);
      expect(await hostsOf(d)).toContain(`\t${a2}\n`);
      for (const id of [a2, d]) await bunker(["rm", "-f", id]);
    });

    test("/etc/hosts is kept current as containers join and leave; --ip; bad input is one line", async () => {
      const n = netName("h");
      expect((await bunker(["network", "create", "--internal", "--subnet", "10.78.0.0/24", n])).code).toBe(0);
      const a = name("a");
      const ra = await bunker(["run", "-d", "--name", a, "--network", n, "--ip", "10.78.0.50", "--rootfs", rootfs, "--", "sleep", "60"]);
      expect(ra.code, ok(ra)).toBe(0);
      const b = name("b");
      const rb = await bunker(["run", "-d", "--name", b, "--network", n, "--network-alias", "bee", "--rootfs", rootfs, "--", "sleep", "60"]);
      expect(rb.code, ok(rb)).toBe(0);
      // a joined before b: its file was rewritten when b joined
      const hostsOfA = await bunker(["exec", a, "cat", "/etc/hosts"]);
      expect(hostsOfA.stdout).toContain(`10.78.0.2\t${b} bee\n`);
      expect((await bunker(["exec", b, "cat", "/etc/hosts"])).stdout).toContain(`10.78.0.50\t${a}\n`);
      const taken = await bunker(["run", "--rm", "--network", n, "--ip", "10.78.0.50", "--rootfs", rootfs, "--", "true"]);
      expect(taken.code).toBe(125);
      expect(taken.stderr).toMatch(/^bunker: --ip: 10\.78\.0\.50 is in use on the network: EADDRINUSE .*\n$/);
      expect((await bunker(["rm", "-f", b])).code).toBe(0);
      expect((await bunker(["exec", a, "cat", "/etc/hosts"])).stdout).not.toContain(b);
      // runs one after another get the address the last one left (its veth may not be gone yet)
      for (let k = 0; k < 3; k++) {
        const r = await bunker(["run", "--rm", "--network", n, "--rootfs", rootfs, "--", "ip", "-4", "-o", "addr", "show", "eth0"]);
        expect(r.code, ok(r)).toBe(0);
        expect(r.stdout).toContain("inet 10.78.0.2/24");
      }

      for (const [args, msg] of [
        [["run", "--rm", "--network", `nope-${tag}`, "--rootfs", rootfs, "--", "true"], `network nope-${tag}: no such network: ENOENT`],
        [["network", "create", "--subnet", "10.78.0.0/25", `x-${tag}`], `subnet 10.78.0.0/25 overlaps network "${n}"`],
        [["network", "create", n], `network "${n}" already exists: EEXIST`],
        [["network", "create", "bridge"], `"bridge" is a --network mode`],
        [["network", "create", "--opt", "mtu=9000", `x-${tag}`], `--opt "mtu=9000": unknown option "mtu": EINVAL`],
        [["network", "create", "--internal", "--opt", "host_loopback=true", `x-${tag}`], "an --internal network has not: EINVAL"],
        [["network", "rm", `nope-${tag}`], "no such network: ENOENT"],
      ] as const) {
        const r = await bunker([...args]);
        expect(r.code, ok(r)).toBe(125);
        expect(r.stderr).toContain(msg);
        expect(r.stderr.split("\n")).toHaveLength(2);
      }
    });
  });
}
