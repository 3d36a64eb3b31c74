// The dispatcher's table: command name -> its module, imported lazily so
// `bunker run` does not pay for parsing the image or OCI code.
import type { Command, GlobalOptions } from "./global.ts";

export const commands: Record<string, () => Promise<{ default: Command }>> = {
  run: () => import("./run.ts"),
  check: () => import("./check.ts"),
  create: () => import("./create.ts"),
  start: () => import("./start.ts"),
  state: () => import("./state.ts"),
  kill: () => import("./kill.ts"),
  delete: () => import("./delete.ts"),
  exec: () => import("./exec.ts"),
  list: () => import("./list.ts"),
  ps: () => import("./ps.ts"),
  top: () => import("./top.ts"),
  export: () => import("./export.ts"),
  cp: () => import("./cp.ts"),
  rename: () => import("./rename.ts"),
  wait: () => import("./wait.ts"),
  commit: () => import("./commit.ts"),
  diff: () => import("./diff.ts"),
  port: () => import("./port.ts"),
  features: () => import("./features.ts"),
  spec: () => import("./spec.ts"),
  logs: () => import("./logs.ts"),
  attach: () => import("./attach.ts"),
  pause: () => import("./pause.ts"),
  resume: () => import("./resume.ts"),
  unpause: async () => ({ default: (await import("./resume.ts")).resumeAs("unpause") }),
  restart: () => import("./restart.ts"),
  update: () => import("./update.ts"),
  stats: () => import("./stats.ts"),
  events: () => import("./events.ts"),
  stop: () => import("./stop.ts"),
  rm: () => import("./rm.ts"),
  pull: () => import("./pull.ts"),
  push: () => import("./push.ts"),
  load: () => import("./load.ts"),
  import: () => import("./import.ts"),
  save: () => import("./save.ts"),
  images: () => import("./images.ts"),
  rmi: () => import("./rmi.ts"),
  inspect: () => import("./inspect.ts"),
  tag: () => import("./tag.ts"),
  build: () => import("./build.ts"),
  login: () => import("./login.ts"),
  volume: () => import("./volume.ts"),
  unshare: () => import("./unshare.ts"),
  image: () => import("./image.ts"),
  network: () => import("./network.ts"),
  container: () => import("./container.ts"),
  system: () => import("./system.ts"),
  info: () => import("./info.ts"),
  history: () => import("./history.ts"),
  logout: () => import("./logout.ts"),
  // internal: the monitor hands a finished foreground run back (c/monitor.c)
  __finish: () => import("./finish.ts"),
  // internal: a container's log writer hands its end to its restart policy (c/logwriter.c)
  __restart: () => import("./restart-policy.ts"),
  "__end-userns": () => import("./end-userns.ts"),
};

/**
 * runs command CMD; its --help (a HelpRequest from parseFlags) prints
 * helpText and is exit 0 (args.ts is loaded by then: the command parsed its
 * flags; the usage texts are loaded only now)
 */
export async function runCommand(cmd: string, argv: string[], g: GlobalOptions, load = commands[cmd]!): Promise<number> {
  try {
    return await (await load()).default(argv, g);
  } catch (e) {
    const { HelpRequest } = await import("./args.ts");
    if (!(e instanceof HelpRequest)) throw e;
    console.log((await import("./usage.ts")).helpText(e));
    return 0;
  }
}
