// Attaching to a detached container (`run -d`, with or without -i/-t): what
// `bunker attach` and the Engine API's POST /containers/ID/attach share.  The
// output is the container's log, followed (logs.ts); its input and its
// terminal's size go to the log writer's attach socket (log-writer.ts), which
// holds the container's stdin pipe or terminal.  Docker's detach keys
// (ctrl-p,ctrl-q) are a terminal's input's escape.
import type { Socket } from "bun";
import { existsSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import type { RuntimeContext } from "./context.ts";
import { attachSocket } from "./log-writer.ts";
import { flushQueue } from "../sys/write-queue.ts";
import { containerStatus, type ContainerState } from "./state.ts";

/** the bytes of a key sequence as Docker's --detach-keys spells it: "ctrl-p,ctrl-q", "a,ctrl-@"; WHAT names the option in the error */
export function detachKeys(spec: string | null | undefined, what = "attach: detachKeys"): Uint8Array {
  const keys = (spec || "ctrl-p,ctrl-q").split(",").map((k) => {
    const ctrl = /^ctrl-([a-z@[\\\]^_])$/.exec(k);
    if (ctrl) return ctrl[1] === "@" ? 0 : ctrl[1]!.charCodeAt(0) & 0x1f;
    if (k.length === 1) return k.charCodeAt(0);
    throw new BunkerError(`${what}: "${k}" is no key (a letter, or ctrl- and one of a-z @ [ \\ ] ^ _)`, { errno: "EINVAL", fix: "e.g. ctrl-p,ctrl-q (Docker's default) or ctrl-x,x" });
  });
  return new Uint8Array(keys);
}

/**
 * Docker's escape proxy (a terminal's input only): bytes pass through until
 * KEYS come in a row; a partial match is held back, and passed on when the
 * next byte breaks it.  The filter returns what to pass on and whether the
 * sequence was typed (the rest of that chunk is dropped).
 */
export function escapeFilter(keys: Uint8Array): (bytes: Uint8Array) => { pass: Uint8Array; detached: boolean } {
  let matched = 0;
  return (bytes) => {
    const pass: number[] = [];
    for (const b of bytes) {
      if (b === keys[matched]) {
        if (++matched === keys.length) return { pass: new Uint8Array(pass), detached: true };
        continue;
      }
      pass.push(...keys.subarray(0, matched));
      matched = b === keys[0] ? 1 : 0;
      if (!matched) pass.push(b);
    }
    return { pass: new Uint8Array(pass), detached: false };
  };
}

export interface WriterConnection {
  write(b: Uint8Array): void;
  /** the end of this client's input (with StdinOnce, the container's) once what is queued is written */
  shutdown(): void;
  end(): void;
  closed: Promise<void>;
}

/** a connection to DIR's log writer's attach socket that first says FIRST ("stdin\n", "resize H W\n"); writes queue until it is open */
export function writerConnection(dir: string, first: string, onReply?: (text: string) => void): WriterConnection {
  const queue: Uint8Array[] = [Buffer.from(first)];
  let sock: Socket<undefined> | undefined;
  let ending: "shutdown" | "end" | undefined;
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  const flush = () => {
    if (!sock) return;
    flushQueue(sock, queue);
    if (queue.length) return;
    if (ending === "shutdown") sock.shutdown();
    if (ending === "end") sock.end();
  };
  Bun.connect({
    unix: attachSocket(dir),
    socket: {
      open(s) {
        sock = s;
        flush();
      },
      drain: flush,
      data(_s, b) {
        onReply?.(Buffer.from(b).toString());
      },
      close: () => done(),
      error: () => done(),
    },
  }).catch(() => done()); // the writer has gone (the container exited): nothing to write to
  return {
    write: (b) => {
      queue.push(b);
      flush();
    },
    shutdown: () => {
      ending ??= "shutdown";
      flush();
    },
    end: () => {
      ending = "end";
      flush();
      sock?.end();
    },
    closed,
  };
}

/** sets the window of the terminal DIR's log writer holds; undefined when done, else why not (the writer's words; "" when it has gone) */
export async function resizeTerminal(dir: string, rows: number, cols: number): Promise<string | undefined> {
  let reply = "";
  const c = writerConnection(dir, `resize ${rows} ${cols}\n`, (t) => (reply += t));
  await c.closed;
  return reply === "ok\n" ? undefined : reply.trim();
}

export interface AttachTarget {
  state: ContainerState;
  dir: string;
  /** it was run with -t: its output is one raw stream, its input a terminal's */
  tty: boolean;
  /** it was run with -i: its log writer takes stdin */
  stdin: boolean;
}

/** running container ID as `bunker attach` finds it (CREATED: a created one too, start -a's); a stopped, paused or foreground one is Docker's one line */
export function attachTarget(ctx: RuntimeContext, id: string, created = false): AttachTarget {
  const { state, status, dir } = containerStatus(ctx.stateRoot, id);
  if (!state) throw new BunkerError(`attach: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
  if (status === "paused") throw new BunkerError("You cannot attach to a paused container, unpause it first", { errno: "EBUSY", fix: `bunker unpause ${id}` });
  if (status !== "running" && !(created && status === "created")) throw new BunkerError("You cannot attach to a stopped container, start it first", { errno: "EINVAL", fix: `bunker start ${id}` });
  if (!state.run || !existsSync(`${dir}/log`)) throw new BunkerError(`attach: container "${id}" was not started with run -d: its output goes to the terminal that started it`, { errno: "EINVAL", fix: "attach works on detached containers (bunker run -d)" });
  return { state, dir, tty: !!state.process?.terminal, stdin: !!state.run.stdin && existsSync(attachSocket(dir)) };
}
