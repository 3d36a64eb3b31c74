// Test-only entry for the VM suite: the cgroup commands (src/cli/{update,
// pause,resume,stats,events}.ts) plus `kill-all ID` (what `kill --all` does),
// run with bun until src/main.ts's command table has them.
import { reportError } from "../../src/cli/report.ts";
import type { Command, GlobalOptions } from "../../src/cli/global.ts";
import { cgroupOfContainer } from "../../src/cgroup/state.ts";

const commands: Record<string, () => Promise<{ default: Command }>> = {
  update: () => import("../../src/cli/update.ts"),
  pause: () => import("../../src/cli/pause.ts"),
  resume: () => import("../../src/cli/resume.ts"),
  stats: () => import("../../src/cli/stats.ts"),
  events: () => import("../../src/cli/events.ts"),
  "kill-all": async () => ({ default: (argv: string[], g: GlobalOptions) => (cgroupOfContainer(g, argv[0]!, "kill").killAll(), 0) }),
};

const [cmd, ...rest] = process.argv.slice(2);
const g: GlobalOptions = { debug: false, logFormat: "text" };
(async () => (await commands[cmd!]!()).default(rest, g))().then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err, g)),
);
