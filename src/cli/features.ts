// bunker features: runtime-spec features.md, listing what this build honours.
import { parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { OCI_VERSION } from "../oci/spec.ts";
import { CAPABILITIES } from "../oci/caps.ts";
import { SECCOMP_ACTIONS, SECCOMP_FLAGS } from "../oci/seccomp-names.ts";
import { mountOptionNames } from "../plan/mount-options.ts";

export default async function (argv: string[], _g: GlobalOptions): Promise<number> {
  parseFlags(argv, [], "features", false);
  const features = {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    mountOptions: mountOptionNames(),
    linux: {
      namespaces: ["cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"],
      capabilities: CAPABILITIES,
      cgroup: { v1: false, v2: true, systemd: false, systemdUser: false, rdma: false },
      seccomp: {
        enabled: true,
        actions: Object.keys(SECCOMP_ACTIONS),
        operators: ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
        archs: ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
        knownFlags: Object.keys(SECCOMP_FLAGS),
        supportedFlags: Object.keys(SECCOMP_FLAGS),
      },
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { "org.opencontainers.runc.checkpoint.enabled": "false", "io.github.bunker.version": "0.1.0" },
  };
  console.log(JSON.stringify(features, null, 2));
  return 0;
}
