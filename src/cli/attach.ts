// bunker attach [--no-stdin] [--sig-proxy=false] [--detach-keys KEYS] CONTAINER:
// this terminal on a running detached container, as docker attach: its output
// from now on (the log followed; stdout and stderr apart without a terminal),
// this stdin to its stdin (-i), the window's size to its terminal (-t), the
// detach keys (terminal only) end it and leave the container running, the
// container's exit ends it with the container's status.  The pieces are the
// engine's (src/container/attach.ts), the Engine API's attach uses the same.
import { isatty } from "node:tty";
import { flag, flagBool, parseFlags } from "./args.ts";
import type { GlobalOptions } from "./global.ts";
import { runtimeContext } from "./context.ts";
import { containerArg } from "./container-arg.ts";
import { attachTarget, detachKeys, escapeFilter, resizeTerminal, writerConnection, type AttachTarget } from "../container/attach.ts";
import type { RuntimeContext } from "../container/context.ts";
import { killContainer } from "../container/lifecycle.ts";
import { logEntries, writeAll, type LogEntry } from "../container/logs.ts";
import { waitContainer } from "../container/wait.ts";
import { parseSignal } from "../sys/signals.ts";
import { makeRaw, restoreTerminal } from "../sys/shim.ts";
import { BunkerError } from "../errors.ts";

/** what --sig-proxy passes on (docker's all, but those a terminal or the runtime itself raises) */
const PROXIED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;

export default async function (argv: string[], g: GlobalOptions): Promise<number> {
  const p = parseFlags(
    argv,
    [
      { names: ["no-stdin"], help: "do not attach stdin (the container's output only)" },
      { names: ["sig-proxy"], help: "=false  do not forward SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2\nto the container (default true; never with a terminal, whose keys reach it)" },
      { names: ["detach-keys"], value: true, help: "KEYS  the keys that detach (a terminal's input; default ctrl-p,ctrl-q)" },
    ],
    "attach",
    false,
  );
  const [arg, ...extra] = p.rest;
  if (extra.length) throw new BunkerError("attach: takes one CONTAINER", { errno: "EINVAL", fix: "bunker attach mycontainer" });
  const ctx = runtimeContext(g);
  const id = containerArg(g, arg, "attach");
  const session = prepareAttach(ctx, id, arg!, { stdin: !flagBool(p, "no-stdin"), sigProxy: flag(p, "sig-proxy") !== "false", keys: flag(p, "detach-keys"), keysFlag: "attach: --detach-keys" });
  return await session.run();
}

export interface AttachOptions {
  /** this stdin to the container's, where it takes one */
  stdin: boolean;
  sigProxy: boolean;
  keys: string | undefined;
  /** how the detach keys' flag is named in errors */
  keysFlag: string;
  /** start -a: a created container too (started after this), its output from its start */
  created?: boolean;
}

/**
 * this terminal's session on container ID (ARG as the user named it): its
 * target checked and its output's place taken now (what comes after is shown),
 * the rest when RUN is called: stdin, the terminal, the signals, the output
 * until it exits (its status) or is detached from (1).
 */
export function prepareAttach(ctx: RuntimeContext, id: string, arg: string, o: AttachOptions): { run: () => Promise<number> } {
  const keys = detachKeys(o.keys, o.keysFlag);
  const t = attachTarget(ctx, id, o.created);
  const withStdin = t.stdin && o.stdin;
  if (t.tty && withStdin && !isatty(0)) throw new BunkerError("the input device is not a TTY", { errno: "ENOTTY", fix: `attach from a terminal, or give --no-stdin: bunker attach --no-stdin ${arg}` });

  // its status, watched from now on (a run -d --rm one's state goes with it)
  const status = waitContainer(ctx, id, o.created);
  const entries = logEntries(ctx, { id, follow: true, tail: 0, pollMs: 20 });
  // the log's end taken now (the reader's first step runs to its first wait): what the container writes after this is shown
  const first = entries.next();
  first.catch(() => {}); // handled where it is awaited (run): not an unhandled rejection while start -a starts it
  return { run: () => session(ctx, id, t, withStdin, o.sigProxy, keys, status, first, entries) };
}

async function session(ctx: RuntimeContext, id: string, t: AttachTarget, withStdin: boolean, sigProxy: boolean, keys: Uint8Array, status: Promise<number>, first: Promise<IteratorResult<LogEntry>>, entries: AsyncGenerator<LogEntry>): Promise<number> {
  let detach!: () => void;
  const detached = new Promise<"detached">((r) => (detach = () => r("detached")));
  let saved: Uint8Array | undefined;
  const restore = () => {
    if (saved) restoreTerminal(0, saved);
    saved = undefined;
  };
  process.on("exit", restore);

  if (withStdin) {
    const input = writerConnection(t.dir, "stdin\n");
    const escape = t.tty ? escapeFilter(keys) : undefined;
    if (t.tty) {
      saved = makeRaw(0);
      // a terminal's signals reach the container as keys; one sent to bunker ends it with the terminal restored
      for (const sig of ["SIGTERM", "SIGHUP"] as const) process.on(sig, () => process.exit(128 + parseSignal(sig)));
    }
    process.stdin.on("data", (b: Buffer) => {
      if (!escape) return input.write(b);
      const { pass, detached: typed } = escape(b);
      if (pass.length) input.write(pass);
      if (typed) detach();
    });
    // the end of this input is this client's (the container's own with StdinOnce, as Docker's)
    process.stdin.on("end", () => input.shutdown());
  }

  if (t.tty && process.stdout.isTTY) {
    const size = () => {
      const [cols, rows] = process.stdout.getWindowSize();
      return { rows, cols };
    };
    const initial = size();
    // docker's nudge: a size that differs first, so a program redraws for this attach
    if (initial.rows > 0 && initial.cols > 0) await resizeTerminal(t.dir, initial.rows + 1, initial.cols + 1);
    await resizeTerminal(t.dir, initial.rows, initial.cols);
    process.on("SIGWINCH", () => {
      const now = size();
      void resizeTerminal(t.dir, now.rows, now.cols);
    });
  }

  if (!t.tty && sigProxy) {
    for (const sig of PROXIED) {
      process.on(sig, () => {
        try {
          killContainer(ctx, id, parseSignal(sig), false);
        } catch {
          /* it has exited meanwhile: its output ends, and so does attach */
        }
      });
    }
  }

  const output = (async () => {
    for (let r = await first; !r.done; r = await entries.next()) if (!writeAll(t.tty ? 1 : r.value.stream, r.value.bytes)) return "closed" as const;
    return "exited" as const;
  })();
  const how = await Promise.race([output, detached]);
  restore();
  if (how === "detached") {
    // docker's client: the escape is its error (its words, status 1); the container runs on
    console.error("read escape sequence");
    return 1;
  }
  if (how === "closed") return 1; // stdout's reader went away (attach … | head)
  return await status;
}
