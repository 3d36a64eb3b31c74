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
import { attachTarget, detachKeys, escapeFilter, resizeTerminal, writerConnection } from "../container/attach.ts";
import { killContainer } from "../container/lifecycle.ts";
import { logEntries, writeAll } from "../container/logs.ts";
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
  const keys = detachKeys(flag(p, "detach-keys"), "attach: --detach-keys");
  const t = attachTarget(ctx, id);
  const withStdin = t.stdin && !flagBool(p, "no-stdin");
  if (t.tty && withStdin && !isatty(0)) throw new BunkerError("the input device is not a TTY", { errno: "ENOTTY", fix: `attach from a terminal, or give --no-stdin: bunker attach --no-stdin ${arg}` });

  // its status, watched from now on (a run -d --rm one's state goes with it)
  const status = waitContainer(ctx, id);
  const entries = logEntries(ctx, { id, follow: true, tail: 0, pollMs: 20 });

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
    const first = size();
    // docker's nudge: a size that differs first, so a program redraws for this attach
    if (first.rows > 0 && first.cols > 0) await resizeTerminal(t.dir, first.rows + 1, first.cols + 1);
    await resizeTerminal(t.dir, first.rows, first.cols);
    process.on("SIGWINCH", () => {
      const now = size();
      void resizeTerminal(t.dir, now.rows, now.cols);
    });
  }

  if (!t.tty && flag(p, "sig-proxy") !== "false") {
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
    for await (const e of entries) if (!writeAll(t.tty ? 1 : e.stream, e.bytes)) return "closed" as const;
    return "exited" as const;
  })();
  const how = await Promise.race([output, detached]);
  restore();
  if (how === "detached") {
    // docker's client: the escape is its error (its words, status 1); the container runs on
    process.stderr.write("read escape sequence\n");
    return 1;
  }
  if (how === "closed") return 1; // stdout's reader went away (attach … | head)
  return await status;
}
