// User networks' pure part (src/net/usernet.ts): names, subnets, addresses, hosts lines, inspect's shape.
import { describe, expect, test } from "bun:test";
import { errorOf } from "../lib/error-line.ts";
import { parseNetwork } from "../../src/net/mode.ts";
import { allocateIp, checkNetworkName, defaultSubnet, formatCidr, inspectNetwork, networkHosts, parseCidr, parseNetworkOptions, planSubnet, type Endpoint, type NetworkConfig } from "../../src/net/usernet.ts";
import { parseLabels } from "../../src/cli/args.ts";


const cidr = (s: string) => parseCidr(s);

describe("subnets", () => {
  test("parse and format", () => {
    expect(parseCidr("10.89.0.0/24")).toEqual({ base: (10 << 24) + (89 << 16), prefix: 24 });
    expect(formatCidr(parseCidr("192.168.4.0/22"))).toBe("192.168.4.0/22");
    for (const [v, what] of [["10.89.0.1/24", "host bits set"], ["10.89.0.0", "not an IPv4 network"], ["10.89.0.0/31", "not an IPv4 network"], ["10.89.0.0/7", "not an IPv4 network"], ["300.0.0.0/8", "not an IPv4 network"], ["10.0.0.0/8/1", "not an IPv4 network"]] as const) {
      const e = errorOf(() => parseCidr(v));
      expect(e.message).toContain(what);
      expect(e.errnoName).toBe("EINVAL");
    }
    expect(errorOf(() => parseCidr("10.89.0.1/24")).detail.fix).toContain("10.89.0.0/24");
  });
  test("the default is the first free 10.89.N.0/24", () => {
    expect(formatCidr(defaultSubnet([]))).toBe("10.89.0.0/24");
    expect(formatCidr(defaultSubnet([cidr("10.89.0.0/24"), cidr("10.89.1.0/25")]))).toBe("10.89.2.0/24");
    // a larger network elsewhere that covers some of them
    expect(formatCidr(defaultSubnet([cidr("10.89.0.0/23"), cidr("10.89.3.0/24")]))).toBe("10.89.2.0/24");
    const all = Array.from({ length: 256 }, (_, n) => cidr(`10.89.${n}.0/24`));
    expect(errorOf(() => defaultSubnet(all)).errnoName).toBe("ENOSPC");
  });
  test("a given subnet must not overlap another network; the gateway defaults to the first address and must be inside", () => {
    const others = [{ name: "a", cidr: cidr("10.89.0.0/24") }];
    expect(planSubnet(undefined, undefined, others)).toEqual({ subnet: cidr("10.89.1.0/24"), gateway: "10.89.1.1" });
    expect(planSubnet("172.30.0.0/16", "172.30.9.9", others)).toEqual({ subnet: cidr("172.30.0.0/16"), gateway: "172.30.9.9" });
    const clash = errorOf(() => planSubnet("10.89.0.128/25", undefined, others));
    expect(clash.message).toBe('network create: subnet 10.89.0.128/25 overlaps network "a" (10.89.0.0/24)');
    expect(clash.errnoName).toBe("EEXIST");
    for (const gw of ["10.90.0.1", "10.90.1.0", "10.90.1.255", "x"]) expect(errorOf(() => planSubnet("10.90.1.0/24", gw, others)).message).toContain("is not a host address of 10.90.1.0/24");
  });
});

describe("addresses", () => {
  const c = cidr("10.89.0.0/29"); // hosts .1 to .6
  test("the lowest free host address, not the gateway", () => {
    expect(allocateIp(c, "10.89.0.1", [])).toBe("10.89.0.2");
    expect(allocateIp(c, "10.89.0.1", ["10.89.0.2", "10.89.0.4"])).toBe("10.89.0.3");
    expect(allocateIp(c, "10.89.0.3", ["10.89.0.1", "10.89.0.2"])).toBe("10.89.0.4");
    expect(errorOf(() => allocateIp(c, "10.89.0.1", ["10.89.0.2", "10.89.0.3", "10.89.0.4", "10.89.0.5", "10.89.0.6"])).errnoName).toBe("ENOSPC");
  });
  test("--ip: inside, free", () => {
    expect(allocateIp(c, "10.89.0.1", ["10.89.0.2"], "10.89.0.6")).toBe("10.89.0.6");
    expect(errorOf(() => allocateIp(c, "10.89.0.1", ["10.89.0.2"], "10.89.0.2")).errnoName).toBe("EADDRINUSE");
    expect(errorOf(() => allocateIp(c, "10.89.0.1", [], "10.89.0.1")).errnoName).toBe("EADDRINUSE");
    for (const ip of ["10.89.0.7", "10.89.0.0", "10.89.0.8", "1.2.3", "10.89.0.256"]) expect(errorOf(() => allocateIp(c, "10.89.0.1", [], ip)).errnoName).toBe("EINVAL");
  });
});

describe("names", () => {
  test("network names as Docker's, the --network modes reserved", () => {
    for (const n of ["app", "my_net.1", "A-b"]) expect(checkNetworkName(n)).toBe(n);
    for (const n of ["", "-x", "a b", "a/b", "x".repeat(65)]) expect(errorOf(() => checkNetworkName(n)).message).toContain("is not a valid network name");
    for (const n of ["none", "host", "bridge", "pasta", "slirp4netns"]) expect(errorOf(() => checkNetworkName(n)).message).toContain("is a --network mode");
  });
  test("--network NAME is a user network; the modes stay modes", () => {
    expect(parseNetwork("app")).toEqual({ kind: "user", name: "app" });
    expect(parseNetwork("none")).toEqual({ kind: "none" });
    expect(errorOf(() => parseNetwork("app:x")).message).toContain("unsupported value");
    expect(errorOf(() => parseNetwork("bridge")).message).toContain("unsupported value");
  });
  test("--label K=V", () => {
    expect(parseLabels(["a=1", "b", "c=x=y"], "network create")).toEqual({ a: "1", b: "", c: "x=y" });
    expect(errorOf(() => parseLabels(["=v"], "network create")).errnoName).toBe("EINVAL");
  });
});

describe("hosts and inspect", () => {
  const ep = (id: string, ip: string, aliases: string[] = []): Endpoint => ({ id, ip, aliases, pid: 1, start: "1", hostsFile: `/x/${id}/hosts`, hostsBase: `127.0.0.1\tlocalhost ${id}\n` });
  const net: NetworkConfig = { Name: "n", Id: "f".repeat(64), Created: "2026-01-01T00:00:00.000Z", Subnet: "10.89.0.0/24", Gateway: "10.89.0.1", Internal: false, Labels: {} };
  test("a container's /etc/hosts lists the others by name and alias, not itself", () => {
    const all = [ep("db", "10.89.0.2", ["postgres"]), ep("app", "10.89.0.3"), ep("cache", "10.89.0.4", ["redis", "kv"])];
    expect(networkHosts(all[1]!, [{ network: net, endpoints: all }])).toBe("127.0.0.1\tlocalhost app\n10.89.0.2\tdb postgres\n10.89.0.4\tcache redis kv\n");
    expect(networkHosts(all[0]!, [{ network: net, endpoints: [all[0]!] }])).toBe("127.0.0.1\tlocalhost db\n");
  });
  test("a container on two networks: each network's others, in order, after its own lines", () => {
    const other: NetworkConfig = { ...net, Name: "m", Subnet: "10.89.1.0/24", Gateway: "10.89.1.1" };
    const app = ep("app", "10.89.0.3"), app2 = { ...ep("app", "10.89.1.2") };
    const hosts = networkHosts(app, [{ network: net, endpoints: [ep("db", "10.89.0.2"), app] }, { network: other, endpoints: [app2, ep("web", "10.89.1.3", ["www"])] }]);
    expect(hosts).toBe("127.0.0.1\tlocalhost app\n10.89.0.2\tdb\n10.89.1.3\tweb www\n");
  });
  test("host_loopback=true: the gateway is host.containers.internal in every container's /etc/hosts", () => {
    const all = [ep("db", "10.89.0.2"), ep("app", "10.89.0.3")];
    const lo = { ...net, Options: { host_loopback: "true" } };
    expect(networkHosts(all[1]!, [{ network: lo, endpoints: all }])).toBe("127.0.0.1\tlocalhost app\n10.89.0.1\thost.containers.internal host.docker.internal\n10.89.0.2\tdb\n");
    expect(networkHosts(all[1]!, [{ network: { ...net, Options: { host_loopback: "false" } }, endpoints: all }])).toBe("127.0.0.1\tlocalhost app\n10.89.0.2\tdb\n");
    expect(inspectNetwork(lo, []).Options).toEqual({ host_loopback: "true" });
    expect(inspectNetwork(net, []).Options).toEqual({});
  });
  test("--opt host_loopback=true|false, nothing else", () => {
    expect(parseNetworkOptions(["host_loopback=true"])).toEqual({ host_loopback: "true" });
    expect(parseNetworkOptions(["host_loopback=false"])).toEqual({ host_loopback: "false" });
    expect(parseNetworkOptions([])).toEqual({});
    expect(errorOf(() => parseNetworkOptions(["host_loopback=yes"])).message).toContain("host_loopback must be true or false");
    expect(errorOf(() => parseNetworkOptions(["mtu=1500"])).message).toContain('unknown option "mtu"');
    expect(errorOf(() => parseNetworkOptions(["host_loopback"])).errnoName).toBe("EINVAL");
  });
  test("inspect: Docker's fields", () => {
    const c = { Name: "n", Id: "f".repeat(64), Created: "2026-01-01T00:00:00.000Z", Subnet: "10.89.0.0/24", Gateway: "10.89.0.1", Internal: true, Labels: { a: "b" } };
    expect(inspectNetwork(c, [ep("web", "10.89.0.2")])).toMatchObject({
      Name: "n", Id: c.Id, Driver: "bridge", Scope: "local", Internal: true, Labels: { a: "b" },
      IPAM: { Config: [{ Subnet: "10.89.0.0/24", Gateway: "10.89.0.1" }] },
      Containers: { web: { Name: "web", IPv4Address: "10.89.0.2/24", IPv6Address: "" } },
    });
  });
});
