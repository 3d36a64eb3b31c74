// bunker info [--format json|TEMPLATE]: docker info's Server part, as plain text (the API's GET /info document).
import { BunkerError } from "../errors.ts";
import { systemInfo } from "../container/info.ts";
import { binaryBytes } from "../image/units.ts";
import { flag, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { applyTemplate, isTemplate, parseTemplate } from "./template.ts";

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(argv, [{ names: ["format", "f"], value: true, help: "json|TEMPLATE  the document as JSON, or a template such as '{{.ServerVersion}}'" }], "info", false);
  if (p.rest.length) throw new BunkerError(`info: takes no arguments (got "${p.rest[0]}")`, { errno: "EINVAL", fix: "bunker info" });
  const format = flag(p, "format");
  if (format !== undefined && format !== "json" && !isTemplate(format)) throw new BunkerError(`info: --format ${JSON.stringify(format)} is neither json nor a template`, { errno: "EINVAL", fix: "--format json or --format '{{.ServerVersion}}'" });
  const i = await systemInfo(runtimeContext(g));
  if (format === "json") console.log(JSON.stringify(i));
  else if (format) console.log(applyTemplate(parseTemplate(format), i));
  else
    console.log(
      [
        "Server:",
        ` Containers: ${i.Containers}`,
        `  Running: ${i.ContainersRunning}`,
        `  Paused: ${i.ContainersPaused}`,
        `  Stopped: ${i.ContainersStopped}`,
        ` Images: ${i.Images}`,
        ` Server Version: ${i.ServerVersion}`,
        ` Storage Driver: ${i.Driver}`,
        ...i.DriverStatus.map(([k, v]) => `  ${k}: ${v}`),
        ` Logging Driver: ${i.LoggingDriver}`,
        ` Cgroup Driver: ${i.CgroupDriver}`,
        ` Cgroup Version: ${i.CgroupVersion}`,
        ` Plugins:`,
        `  Network: ${i.Plugins.Network.join(" ")}`,
        ` Runtimes: ${Object.keys(i.Runtimes).join(" ")}`,
        ` Default Runtime: ${i.DefaultRuntime}`,
        ` Security Options:`,
        ...i.SecurityOptions.map((o) => `  ${o.replace(/^name=/, "").replace(/,profile=/, "\n   Profile: ")}`),
        ` Kernel Version: ${i.KernelVersion}`,
        ` Operating System: ${i.OperatingSystem}`,
        ` OSType: ${i.OSType}`,
        ` Architecture: ${i.Architecture}`,
        ` CPUs: ${i.NCPU}`,
        ` Total Memory: ${binaryBytes(i.MemTotal)}`,
        ` Name: ${i.Name}`,
        ` Docker Root Dir: ${i.DockerRootDir}`,
        ...(i.Warnings.length ? i.Warnings.map((w) => `WARNING: ${w}`) : []),
      ].join("\n"),
    );
  return 0;
}
