// The instructions that change only an image's config (ENV, LABEL, CMD, ...):
// what each does to the config, once, for both of their users — a build's
// metadata steps (src/build/build.ts) and `commit --change` (parseChanges,
// which parses each change with the Dockerfile parser, as Docker does).
import { posix } from "node:path";
import { BunkerError } from "../errors.ts";
import type { ImageConfig } from "../image/types.ts";
import { setEnv } from "../container/run.ts";
import { parseInstructionLine, type Command, type CommandInstruction, type HealthcheckInstruction, type Instruction, type ListInstruction, type OnbuildInstruction, type PairsInstruction, type ShellInstruction, type WordInstruction } from "./dockerfile.ts";
import { expandWord, expandWords, WordError, type Vars } from "./words.ts";

export type ConfigInstruction = PairsInstruction | WordInstruction | ListInstruction | CommandInstruction | ShellInstruction | HealthcheckInstruction | OnbuildInstruction;

/** how an instruction's words become values: expansion, the shell form, errors */
export interface ConfigWords {
  /** one word expanded (variables, quotes) */
  word(text: string): string;
  /** a word list expanded (EXPOSE's words can expand to several) */
  list(text: string): string[];
  /** a command as argv: the exec form as it is, the shell form through SHELL */
  argv(c: Command): string[];
  /** a value ENV set, for the pairs after it on the same line (Docker's rule) */
  env?(key: string, value: string): void;
  fail(what: string): BunkerError;
}

const PORT = /^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/i;

/** INS's change to C (in place); WORKDIR only sets the config (the directory itself is the build's layer) */
export function applyConfigInstruction(c: ImageConfig, ins: ConfigInstruction, w: ConfigWords): void {
  switch (ins.kind) {
    case "ENV":
      for (const [k, v] of ins.pairs) {
        const key = w.word(k), value = w.word(v);
        setEnv((c.Env ??= []), [`${key}=${value}`]);
        w.env?.(key, value);
      }
      return;
    case "LABEL":
      for (const [k, v] of ins.pairs) (c.Labels ??= {})[w.word(k)] = w.word(v);
      return;
    case "WORKDIR":
      c.WorkingDir = posix.resolve(c.WorkingDir || "/", w.word(ins.value));
      return;
    case "USER":
      c.User = w.word(ins.value);
      return;
    case "STOPSIGNAL":
      c.StopSignal = w.word(ins.value);
      return;
    case "MAINTAINER":
      return; // the image's author, not its config
    case "EXPOSE":
      for (const p of ins.values.flatMap((v) => w.list(v))) {
        if (!PORT.test(p)) throw w.fail(`EXPOSE: "${p}" is not PORT[/tcp|udp|sctp]`);
        (c.ExposedPorts ??= {})[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
      }
      return;
    case "VOLUME":
      for (const v of ins.values) (c.Volumes ??= {})[w.word(v)] = {};
      return;
    case "CMD":
      c.Cmd = w.argv(ins.command);
      return;
    case "ENTRYPOINT":
      c.Entrypoint = w.argv(ins.command);
      return;
    case "SHELL":
      c.Shell = ins.shell;
      return;
    case "HEALTHCHECK":
      c.Healthcheck = ins.command
        ? { Test: "exec" in ins.command ? ["CMD", ...ins.command.exec] : ["CMD-SHELL", ins.command.shell], Interval: ins.interval, Timeout: ins.timeout, StartPeriod: ins.startPeriod, StartInterval: ins.startInterval, Retries: ins.retries }
        : { Test: ["NONE"] };
      return;
    case "ONBUILD":
      c.OnBuild = [...(c.OnBuild ?? []), ins.trigger];
      return;
  }
}

/** the instructions `commit --change` takes (Docker's list, STOPSIGNAL too) */
export const CHANGE_INSTRUCTIONS = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR", "STOPSIGNAL"] as const;

/** the variables of CONFIG's Env, for expanding a change against it */
export function envVars(config: ImageConfig): Map<string, string> {
  const v = new Map<string, string>();
  for (const e of config.Env ?? []) {
    const eq = e.indexOf("=");
    if (eq > 0) v.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return v;
}

/** WORD (or WORDS) expanded against VARS with the escape ESCAPE; a WordError becomes FAIL's error */
export function expanded(vars: Vars, escape: string, fail: (what: string) => BunkerError): Pick<ConfigWords, "word" | "list"> {
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof WordError) throw fail(e.message);
      throw e;
    }
  };
  return { word: (t) => guard(() => expandWord(t, vars, escape)), list: (t) => guard(() => expandWords(t, vars, escape)) };
}

/**
 * CONFIG with the Dockerfile lines CHANGES (`commit --change`) applied in
 * order: a new object, CONFIG is not changed.  Each line is parsed as the
 * Dockerfile parser parses it and expanded against the config's Env, as
 * Docker's commit does.
 */
export function parseChanges(config: ImageConfig, changes: string[]): ImageConfig {
  const out: ImageConfig = structuredClone(config);
  for (const line of changes) {
    const kw = /^\s*([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase();
    if (!kw || !(CHANGE_INSTRUCTIONS as readonly string[]).includes(kw))
      throw new BunkerError(`--change "${line}": ${kw ? `${kw} is not an instruction --change can apply (commit, import)` : "not an instruction"}`, { errno: "EINVAL", fix: `use one of ${CHANGE_INSTRUCTIONS.join(", ")}` });
    const fail = (what: string) => new BunkerError(`--change "${line}": ${what}`, { errno: "EINVAL" });
    let ins: Instruction;
    try {
      ins = parseInstructionLine(line.trim(), "--change");
    } catch (e) {
      if (e instanceof BunkerError) throw fail(e.message.replace(/^--change:1: /, ""));
      throw e;
    }
    const shell = out.Shell ?? ["/bin/sh", "-c"];
    applyConfigInstruction(out, ins as ConfigInstruction, {
      ...expanded(envVars(out), "\\", fail),
      argv: (c) => ("exec" in c ? c.exec : [...shell, c.shell]),
      fail,
    });
  }
  return out;
}
