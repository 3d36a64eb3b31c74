// Parsers of the network flags: -p, --add-host, --network; /etc/hosts and resolv.conf; the helpers' command lines.
import { describe, expect, test } from "bun:test";
import { BunkerError } from "../../src/errors.ts";
import { errorOf } from "../lib/error-line.ts";
import { exposedPorts, formatPort, helperForwards, parsePublish, reservePorts } from "../../src/net/ports.ts";
import { helperNameserver, parseNetwork } from "../../src/net/mode.ts";
import { hostsFile, parseAddHost, parseDns, resolvConf } from "../../src/net/etc.ts";
import { helperArgs } from "../../src/net/helper.ts";
import { createServer } from "node:net";


describe("-p", () => {
  test("HOSTIP:HOSTPORT:CTRPORT/PROTO, HOSTPORT:CTRPORT, CTRPORT, HOSTIP::CTRPORT", () => {
    expect(parsePublish("127.0.0.1:8080:80")).toEqual({ hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp" });
    expect(parsePublish("8080:80/udp")).toEqual({ hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, proto: "udp" });
    expect(parsePublish("80")).toEqual({ hostIp: "0.0.0.0", hostPort: 0, containerPort: 80, proto: "tcp" });
    expect(parsePublish("127.0.0.1::80")).toEqual({ hostIp: "127.0.0.1", hostPort: 0, containerPort: 80, proto: "tcp" });
    expect(parsePublish("0:80/tcp").hostPort).toBe(0);
  });
  test("bad values are one error naming the value", () => {
    for (const [spec, what] of [["80/sctp", 'unknown protocol "sctp"'], ["99999", '"99999" is not a port'], ["1.2.3:80:80", '"1.2.3" is not an IPv4'], ["a:b:c:d", "not [HOSTIP:]"], ["8080:0", '"0" is not a port'], ["", "not [HOSTIP:]"]] as const) {
      const e = errorOf(() => parsePublish(spec));
      expect(e.message).toContain(what);
      expect(e.errnoName).toBe("EINVAL");
    }
  });
  test("-P takes the image's ExposedPorts, each on a free port", () => {
    expect(exposedPorts({ "80/tcp": {}, "53/udp": {} })).toEqual([
      { hostIp: "0.0.0.0", hostPort: 0, containerPort: 80, proto: "tcp" },
      { hostIp: "0.0.0.0", hostPort: 0, containerPort: 53, proto: "udp" },
    ]);
    expect(exposedPorts(undefined)).toEqual([]);
  });
  test("formatPort is docker ps's", () => {
    expect(formatPort({ hostIp: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp" })).toBe("127.0.0.1:8080->80/tcp");
  });
  test("reservePorts picks free ports for 0 and refuses one in use or published twice", async () => {
    const [p] = await reservePorts([parsePublish("127.0.0.1::80")]);
    expect(p!.hostPort).toBeGreaterThan(0);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen({ host: "127.0.0.1", port: 0 }, () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const e = await reservePorts([parsePublish(`127.0.0.1:${port}:80`)]).then(() => undefined, (x) => x as BunkerError);
      expect(e?.errnoName).toBe("EADDRINUSE");
      expect(e?.message).toContain(`127.0.0.1:${port}:80/tcp`);
    } finally {
      busy.close();
    }
    const twice = await reservePorts([parsePublish(`${p!.hostPort}:80`), parsePublish(`127.0.0.1:${p!.hostPort}:81`)]).then(() => undefined, (x) => x as BunkerError);
    expect(twice?.message).toContain("published twice");
  });
});

describe("--network", () => {
  test("modes and options", () => {
    expect(parseNetwork("none")).toEqual({ kind: "none" });
    expect(parseNetwork("host")).toEqual({ kind: "host" });
    expect(parseNetwork("pasta")).toEqual({ kind: "pasta", args: [], mapGw: false });
    expect(parseNetwork("pasta:--mtu,1500,--map-gw")).toEqual({ kind: "pasta", args: ["--mtu", "1500"], mapGw: true });
    expect(parseNetwork("slirp4netns")).toEqual({ kind: "slirp4netns", allowHostLoopback: false, mtu: 65520, enableIpv6: false });
    expect(parseNetwork("slirp4netns:allow_host_loopback=true,mtu=1500,cidr=10.5.0.0/24")).toEqual({ kind: "slirp4netns", allowHostLoopback: true, mtu: 1500, cidr: "10.5.0.0/24", enableIpv6: false });
    expect(parseNetwork("container:web")).toEqual({ kind: "container", id: "web" });
  });
  test("bad values", () => {
    for (const [v, what] of [["bridge", 'unsupported value "bridge"'], ["none:x", "unsupported"], ["container:", "unsupported"], ["slirp4netns:mtu=9", "mtu"], ["slirp4netns:allow_host_loopback=yes", "true or false"], ["slirp4netns:port_handler=rootlesskit", 'unknown option "port_handler"'], ["slirp4netns:cidr=10.0.2.0", "not an IPv4 network"]] as const) {
      const e = errorOf(() => parseNetwork(v));
      expect(e.message).toContain(what);
      expect(e.errnoName).toBe("EINVAL");
    }
  });
  test("the helper's resolver", () => {
    expect(helperNameserver({ kind: "pasta", args: [], mapGw: false })).toBe("169.254.1.1");
    expect(helperNameserver(parseNetwork("slirp4netns") as never)).toBe("10.0.2.3");
    expect(helperNameserver(parseNetwork("slirp4netns:cidr=10.5.1.0/24") as never)).toBe("10.5.1.3");
  });
});

describe("helper command lines", () => {
  const ports = [parsePublish("127.0.0.1:8080:80"), parsePublish("9000:90"), parsePublish("5353:53/udp")];
  test("pasta: ready on fd 3, only the published TCP ports (UDP ones are the proxy's), no host loopback unless --map-gw, --runas 0 as root", () => {
    const a = helperArgs(parseNetwork("pasta") as never, "/usr/bin/pasta", 42, ports, 1001);
    expect(a.slice(0, 6)).toEqual(["/usr/bin/pasta", "--foreground", "--quiet", "--config-net", "--pid", "/proc/self/fd/3"]);
    expect(a.join(" ")).toContain("-T none -U none -t 127.0.0.1/8080:80 -t 9000:90 -u none --dns-forward 169.254.1.1 --no-map-gw 42");
    expect(a).not.toContain("--runas");
    const root = helperArgs(parseNetwork("pasta:--map-gw") as never, "/usr/bin/pasta", 42, [], 0);
    expect(root.join(" ")).toContain("-t none -u none --dns-forward 169.254.1.1 --runas 0 42");
    expect(root).not.toContain("--no-map-gw");
  });
  test("slirp4netns: ready on fd 3, no port of its own (the proxy's), host loopback off by default", () => {
    expect(helperArgs(parseNetwork("slirp4netns") as never, "/usr/bin/slirp4netns", 42, ports, 1001)).toEqual(["/usr/bin/slirp4netns", "--configure", "--mtu=65520", "--ready-fd=3", "--disable-host-loopback", "42", "tap0"]);
    expect(helperArgs(parseNetwork("slirp4netns:allow_host_loopback=true") as never, "/x", 7, [], 0)).not.toContain("--disable-host-loopback");
  });
  test("the helper forwards pasta's TCP ports; the proxy every other", () => {
    expect(ports.map((p) => helperForwards("pasta", p))).toEqual([true, true, false]);
    expect(ports.map((p) => helperForwards("slirp4netns", p))).toEqual([false, false, false]);
    expect(ports.map((p) => helperForwards("user", p))).toEqual([false, false, false]);
  });
});

describe("/etc/hosts and resolv.conf", () => {
  test("--add-host", () => {
    expect(parseAddHost("db:10.0.2.5")).toEqual({ name: "db", ip: "10.0.2.5" });
    expect(parseAddHost("v6:fd00::5")).toEqual({ name: "v6", ip: "fd00::5" });
    for (const bad of ["db", "db:", ":1.2.3.4", "db:1.2.3.999", "-x:1.2.3.4", "db:host-gateway"]) expect(errorOf(() => parseAddHost(bad)).errnoName).toBe("EINVAL");
  });
  test("--dns takes an address", () => {
    expect(parseDns("10.0.0.2")).toBe("10.0.0.2");
    expect(parseDns("fd00::53")).toBe("fd00::53");
    for (const bad of ["dns.example", "10.0.0.256", "", "1.2.3"]) expect(errorOf(() => parseDns(bad)).message).toContain("is not an IP address");
  });
  test("hosts carries the hostname and the name, then --add-host lines", () => {
    expect(hostsFile("h", "web", [{ name: "db", ip: "10.0.2.5" }])).toBe("127.0.0.1\tlocalhost h web\n::1\tlocalhost ip6-localhost ip6-loopback\n10.0.2.5\tdb\n");
    expect(hostsFile("web", "web", [])).toBe("127.0.0.1\tlocalhost web\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  });
  test("resolv.conf: --dns, else the helper's, else the host's; --dns-search and --dns-option replace", () => {
    const host = "# comment\nnameserver 10.9.9.9\nnameserver 10.9.9.8\nsearch example.org\noptions ndots:2\n";
    expect(resolvConf({ host, dns: [], dnsSearch: [], dnsOptions: [] })).toBe("nameserver 10.9.9.9\nnameserver 10.9.9.8\nsearch example.org\noptions ndots:2\n");
    expect(resolvConf({ host, helper: "169.254.1.1", dns: [], dnsSearch: [], dnsOptions: [] })).toBe("nameserver 169.254.1.1\nsearch example.org\noptions ndots:2\n");
    expect(resolvConf({ host, helper: "10.0.2.3", dns: ["1.1.1.1"], dnsSearch: ["a.test", "b.test"], dnsOptions: ["rotate"] })).toBe("nameserver 1.1.1.1\nsearch a.test b.test\noptions rotate\n");
    expect(resolvConf({ host, dns: [], dnsSearch: ["."], dnsOptions: [] })).toBe("nameserver 10.9.9.9\nnameserver 10.9.9.8\noptions ndots:2\n");
  });
});
