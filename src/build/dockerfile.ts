// A Dockerfile as data: parser directives, comments, line continuations,
// heredocs, flags, exec (JSON) and shell forms, every instruction checked
// before any step runs.  Pure: the executor (src/build/build.ts) expands the
// variables (src/build/words.ts) as it goes, since a base image's ENV takes
// part in them.  Rules are Docker's (docs.docker.com/reference/dockerfile):
//  - directives (`# escape=`, `# syntax=`, `# check=`) only before the first
//    comment, blank line or instruction; an unknown one is a comment
//  - a line whose first non-blank character is # is a comment, also inside a
//    continued instruction; blank lines inside one are skipped
//  - the escape character at a line's end joins the next line to it
//  - `<<EOF`, `<<-EOF` (tabs stripped), `<<"EOF"` (no expansion) in RUN,
//    COPY and ADD take the lines after the instruction up to EOF
import { parseBytes } from "../cgroup/flags.ts";
import { BunkerError } from "../errors.ts";

export interface Heredoc {
  name: string;
  /** the lines between the marker and its terminator, each ending in \n */
  content: string;
  /** false for a quoted marker (<<"EOF"): the body is used as written */
  expand: boolean;
}

/** the program of RUN, CMD, ENTRYPOINT, HEALTHCHECK CMD: exec (JSON) form, or shell form (run by SHELL) */
export type Command = { exec: string[] } | { shell: string };

interface Base {
  /** the line the instruction starts on (1-based) */
  line: number;
  /** the instruction as written, continuations joined, heredocs left out: history's created_by and error lines */
  text: string;
}

export interface FromInstruction extends Base {
  kind: "FROM";
  /** the image or a stage name, not expanded yet (ARGs before FROM apply) */
  image: string;
  /** AS NAME, lower-cased */
  as?: string;
  platform?: string;
}
/** RUN --mount (BuildKit's): what the step's container gets mounted, not kept in its layer */
export type RunMount =
  /** SOURCE of the context, read-only */
  | { type: "bind"; target: string; source: string }
  /**
   * a directory kept between builds (under the data root), ID shared by the steps that name it;
   * SHARING as BuildKit's: shared (by concurrent builds), locked (one step at a time: the others
   * wait), private (a step that finds it in use gets a new empty one)
   */
  | { type: "cache"; target: string; id: string; sharing: "shared" | "locked" | "private" }
  /** SIZE in bytes */
  | { type: "tmpfs"; target: string; size?: number };

export interface RunInstruction extends Base {
  kind: "RUN";
  command: Command;
  heredocs: Heredoc[];
  /** --network=none|host|default */
  network?: string;
  mounts: RunMount[];
}
export interface CopyInstruction extends Base {
  kind: "COPY" | "ADD";
  /** sources as written (not expanded); `<<NAME` names a heredoc */
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
}
export interface PairsInstruction extends Base {
  kind: "ENV" | "LABEL";
  /** key and value as written (the value is expanded when the step runs) */
  pairs: [string, string][];
}
export interface ArgInstruction extends Base {
  kind: "ARG";
  args: { name: string; default?: string }[];
}
export interface WordInstruction extends Base {
  kind: "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER";
  value: string;
}
export interface ListInstruction extends Base {
  kind: "EXPOSE" | "VOLUME";
  values: string[];
}
export interface CommandInstruction extends Base {
  kind: "CMD" | "ENTRYPOINT";
  command: Command;
}
export interface ShellInstruction extends Base {
  kind: "SHELL";
  shell: string[];
}
export interface HealthcheckInstruction extends Base {
  kind: "HEALTHCHECK";
  /** undefined: HEALTHCHECK NONE */
  command?: Command;
  /** durations in nanoseconds, as the image config stores them */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}
export interface OnbuildInstruction extends Base {
  kind: "ONBUILD";
  /** the instruction to run in a build FROM this image, as written */
  trigger: string;
}

export type Instruction =
  | FromInstruction | RunInstruction | CopyInstruction | PairsInstruction | ArgInstruction | WordInstruction
  | ListInstruction | CommandInstruction | ShellInstruction | HealthcheckInstruction | OnbuildInstruction;

/** what a stage runs after its FROM */
export type StageInstruction = Exclude<Instruction, FromInstruction>;

export interface Stage {
  index: number;
  /** AS NAME (lower-cased) */
  name?: string;
  from: FromInstruction;
  instructions: StageInstruction[];
}

export interface Dockerfile {
  /** the escape character (`# escape=`) */
  escape: string;
  /** ARGs before the first FROM: usable in FROM lines only (and by a stage's ARG NAME without value) */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  /** what the user should know: an ignored `# syntax=` */
  notes: string[];
}

/** one line "Dockerfile:LINE: WHAT" (FILE: the name the user gave), exit 125 */
export function dockerfileError(file: string, line: number, what: string, fix?: string): BunkerError {
  return new BunkerError(`${file}:${line}: ${what}`, { errno: "EINVAL", ...(fix ? { fix } : {}) });
}

const FLAGS: Record<string, { names: string[]; bool?: string[]; multi?: string[] }> = {
  FROM: { names: ["platform"] },
  RUN: { names: ["mount", "network", "security"], multi: ["mount"] },
  COPY: { names: ["from", "chown", "chmod", "link", "parents", "exclude"], bool: ["link", "parents"], multi: ["exclude"] },
  ADD: { names: ["chown", "chmod", "link", "checksum", "keep-git-dir"], bool: ["link", "keep-git-dir"] },
  HEALTHCHECK: { names: ["interval", "timeout", "start-period", "start-interval", "retries"] },
};

const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/;

interface Logical {
  line: number;
  text: string;
  heredocs: Heredoc[];
}

/** the instructions of TEXT as logical lines (continuations joined, comments dropped, heredoc bodies taken) */
function logicalLines(text: string, file: string, notes: string[]): { escape: string; lines: Logical[] } {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let escape = "\\";
  const seen = new Set<string>();
  let i = 0;
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!["escape", "syntax", "check"].includes(key)) break; // an unknown directive is a comment: directives end there
    if (seen.has(key)) throw dockerfileError(file, i + 1, `the parser directive ${key} is given twice`);
    seen.add(key);
    if (key === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw dockerfileError(file, i + 1, `invalid escape character "${m[2]}"`, "use # escape=\\ or # escape=`");
      escape = m[2]!;
    } else notes.push(`${file}:${i + 1}: the # ${key}= directive is ignored (bunker has one built-in frontend)`);
  }
  const continued = new RegExp(`${escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const out: Logical[] = [];
  while (i < lines.length) {
    const first = lines[i]!;
    if (/^\s*$/.test(first) || /^\s*#/.test(first)) {
      i++;
      continue;
    }
    const start = i + 1;
    let joined = first;
    i++;
    while (continued.test(joined)) {
      joined = joined.replace(continued, "");
      while (i < lines.length && (/^\s*#/.test(lines[i]!) || /^\s*$/.test(lines[i]!))) i++;
      if (i >= lines.length) break;
      joined += lines[i++]!;
    }
    if (!joined.trim()) continue; // a lone continuation
    const heredocs: Heredoc[] = [];
    const name = /^\s*(\S+)/.exec(joined)![1]!.toUpperCase();
    const body = joined.trimStart().slice(name.length).trimStart();
    if (["RUN", "COPY", "ADD"].includes(name) && !body.startsWith("[")) {
      for (const m of joined.matchAll(HEREDOC)) {
        const strip = m[1] === "-";
        const content: string[] = [];
        for (;;) {
          if (i >= lines.length) throw dockerfileError(file, start, `the heredoc <<${m[3]} is not closed: no line "${m[3]}" follows`);
          const l = strip ? lines[i]!.replace(/^\t+/, "") : lines[i]!;
          i++;
          if (l === m[3]) break;
          content.push(`${l}\n`);
        }
        heredocs.push({ name: m[3]!, content: content.join(""), expand: !m[2] });
      }
    }
    out.push({ line: start, text: joined.trim(), heredocs });
  }
  return { escape, lines: out };
}

/** leading --name[=value] words of ARGS (until the first other word): BuildKit's flag syntax */
function takeFlags(args: string): { flags: [string, string | undefined][]; rest: string } {
  const flags: [string, string | undefined][] = [];
  let rest = args;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m) break;
    flags.push([m[1]!, m[2]]);
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

/** the words of shell-form TEXT split at whitespace outside quotes, quotes and escapes kept (expanded later) */
export function rawWords(text: string, escape: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === escape && i + 1 < text.length && quote !== "'") {
      cur += c + text[++i];
      continue;
    }
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = "";
      continue;
    }
    cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

/** ARGS as a JSON array of strings (exec form), or undefined (shell form: Docker's rule for anything else) */
function jsonForm(args: string): string[] | undefined {
  if (!args.startsWith("[")) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** a Go duration ("30s", "1m30s", "500ms") in nanoseconds, or undefined */
export function parseDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== s) return undefined;
  return Math.round(parts.reduce((n, p) => n + Number(p[1]) * UNITS[p[2]!]!, 0));
}

/** the words of ENV / LABEL as key/value pairs: `K=V ...`, or the legacy `K V with spaces` */
function pairs(kind: string, rest: string, escape: string, err: (w: string, fix?: string) => BunkerError): [string, string][] {
  const words = rawWords(rest, escape);
  if (!words.length) throw err(`${kind} needs at least one argument`, `${kind} NAME=VALUE`);
  if (!words[0]!.includes("=")) {
    if (words.length < 2) throw err(`${kind} ${words[0]} has no value`, `${kind} ${words[0]}=VALUE`);
    return [[words[0]!, rest.slice(rest.indexOf(words[0]!) + words[0]!.length).trim()]];
  }
  return words.map((w) => {
    const eq = w.indexOf("=");
    if (eq < 0) throw err(`${kind}: "${w}" is not NAME=VALUE`, "quote values with spaces: NAME=\"a b\"");
    if (eq === 0) throw err(`${kind}: a name cannot be empty ("${w}")`);
    return [w.slice(0, eq), w.slice(eq + 1)] as [string, string];
  });
}

/** one RUN --mount=K=V,… value, checked (ERR: the line's error) */
export function parseRunMount(spec: string, err: (what: string, fix?: string) => BunkerError): RunMount {
  const kv = new Map<string, string>();
  for (const part of spec.split(",")) {
    const eq = part.indexOf("=");
    const k = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!k) throw err(`RUN --mount=${spec}: an empty field`);
    kv.set(k, eq < 0 ? "true" : part.slice(eq + 1));
  }
  const type = kv.get("type") ?? "bind";
  const target = kv.get("target") ?? kv.get("dst") ?? kv.get("destination");
  if (!target) throw err(`RUN --mount=${spec}: needs target=PATH`, "RUN --mount=type=cache,target=/root/.cache make");
  const allowed: Record<string, string[]> = { bind: ["source", "src"], cache: ["id", "sharing"], tmpfs: ["size"] };
  if (!allowed[type]) throw err(`RUN --mount type=${type} is not supported`, "bunker's RUN mounts: type=bind (of the context, read-only), type=cache, type=tmpfs");
  if (type === "bind" && (kv.has("rw") || kv.has("readwrite"))) throw err("RUN --mount type=bind,rw is not supported (the context is mounted read-only)");
  for (const k of kv.keys()) {
    if (["type", "target", "dst", "destination"].includes(k) || allowed[type]!.includes(k)) continue;
    if (k === "ro" || k === "readonly") continue;
    if (k === "from") throw err(`RUN --mount ${k}=: a mount of another stage or image is not supported`, "COPY --from what the step needs");
    throw err(`RUN --mount type=${type}: ${k}= is not supported`, `its fields: target, ${allowed[type]!.join(", ")}`);
  }
  if (type === "bind") {
    return { type, target, source: kv.get("source") ?? kv.get("src") ?? "." };
  }
  if (type === "cache") {
    const sharing = kv.get("sharing") ?? "shared";
    if (sharing !== "shared" && sharing !== "private" && sharing !== "locked") throw err(`RUN --mount sharing=${sharing}: shared, private or locked`);
    return { type, target, id: kv.get("id") ?? target, sharing };
  }
  const size = kv.get("size");
  if (size === undefined) return { type: "tmpfs", target };
  try {
    return { type: "tmpfs", target, size: parseBytes(size, "RUN --mount size") };
  } catch (e) {
    throw err(e instanceof BunkerError ? e.message : String(e), "e.g. size=64m");
  }
}

/** a stage name as Docker accepts it */
const STAGE_NAME = /^[a-z][a-z0-9._-]*$/;

/** one logical line as an instruction, checked (ERR makes the "Dockerfile:LINE: …" error) */
function instruction(l: Logical, escape: string, file: string, inOnbuild = false): Instruction {
  const err = (what: string, fix?: string) => dockerfileError(file, l.line, what, fix);
  const m = /^(\S+)\s*([\s\S]*)$/.exec(l.text)!;
  const kind = m[1]!.toUpperCase();
  const { flags, rest: afterFlags } = takeFlags(m[2]!);
  const rest = afterFlags.trim();
  const spec = FLAGS[kind];
  const flag: Record<string, string | undefined> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of flags) {
    if (!spec?.names.includes(name)) throw err(`${kind} has no flag --${name}`, spec ? `${kind}'s flags: ${spec.names.map((n) => `--${n}`).join(", ")}` : `${kind} takes no flags`);
    const isBool = spec.bool?.includes(name);
    if (!isBool && (value === undefined || value === "")) throw err(`${kind} --${name} needs a value (--${name}=VALUE)`);
    if (isBool && value !== undefined && value !== "true" && value !== "false") throw err(`${kind} --${name} is true or false, not "${value}"`);
    if (spec.multi?.includes(name)) (multi[name] ??= []).push(value!);
    else if (name in flag) throw err(`${kind} --${name} is given twice`);
    else flag[name] = isBool ? (value ?? "true") : value;
  }
  const base = { line: l.line, text: l.text };
  const command = (what: string): Command => {
    const json = jsonForm(rest);
    if (json) {
      if (!json.length) throw err(`${what} has an empty command`);
      return { exec: json };
    }
    if (!rest) throw err(`${what} needs a command`);
    return { shell: rest };
  };
  const one = (what: string): string => {
    const words = rawWords(rest, escape);
    if (words.length !== 1) throw err(`${what} takes exactly one argument, got ${words.length}`);
    return words[0]!;
  };
  if (l.heredocs.length && !["RUN", "COPY", "ADD"].includes(kind)) throw err(`${kind} takes no heredoc`);
  if (inOnbuild && ["ONBUILD", "FROM", "MAINTAINER"].includes(kind)) throw err(`ONBUILD ${kind} is not allowed`);
  switch (kind) {
    case "FROM": {
      const w = rawWords(rest, escape);
      if (w.length !== 1 && !(w.length === 3 && w[1]!.toUpperCase() === "AS")) throw err(`FROM takes IMAGE [AS NAME], got "${rest}"`, "FROM busybox AS build");
      const as = w[2]?.toLowerCase();
      if (as !== undefined && !STAGE_NAME.test(as)) throw err(`invalid stage name "${w[2]}"`, "a letter, then letters, digits, - _ or .");
      return { ...base, kind, image: w[0]!, as, platform: flag.platform };
    }
    case "RUN": {
      if (flag.network && !["none", "host", "default"].includes(flag.network)) throw err(`RUN --network=${flag.network}: none, host or default`);
      if (flag.security && flag.security !== "sandbox") throw err(`RUN --security=${flag.security} is not supported (a build's RUN is always confined)`, "drop --security");
      const c = command("RUN");
      return { ...base, kind, command: c, heredocs: l.heredocs, network: flag.network, mounts: (multi.mount ?? []).map((m) => parseRunMount(m, err)) };
    }
    case "COPY":
    case "ADD": {
      if (flag.parents === "true" || multi.exclude) throw err(`${kind} --parents and --exclude are not supported`, "list the sources instead");
      const json = jsonForm(rest);
      const words = json ?? rawWords(rest, escape);
      if (words.length < 2) throw err(`${kind} needs a source and a destination`, `${kind} SRC... DEST`);
      const dest = words.pop()!;
      const named = new Set(l.heredocs.map((h) => h.name));
      for (const s of words) {
        const h = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)/.exec(s);
        if (h && !named.has(h[1]!)) throw err(`${kind}: heredoc ${s} has no body`);
      }
      if (flag.checksum && kind === "ADD" && !words.every((s) => /^https?:\/\//.test(s))) throw err("ADD --checksum is for a URL source only");
      return { ...base, kind: kind as "COPY" | "ADD", sources: words, dest, heredocs: l.heredocs, from: flag.from, chown: flag.chown, chmod: flag.chmod, link: flag.link === "true", checksum: flag.checksum };
    }
    case "ENV":
    case "LABEL":
      return { ...base, kind, pairs: pairs(kind, rest, escape, err) };
    case "ARG": {
      const words = rawWords(rest, escape);
      if (!words.length) throw err("ARG needs a name", "ARG NAME[=DEFAULT]");
      return {
        ...base, kind, args: words.map((w) => {
          const eq = w.indexOf("=");
          const name = eq < 0 ? w : w.slice(0, eq);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw err(`ARG: invalid name "${name}"`);
          return eq < 0 ? { name } : { name, default: w.slice(eq + 1) };
        }),
      };
    }
    case "WORKDIR":
    case "MAINTAINER":
      if (!rest) throw err(`${kind} needs an argument`);
      return { ...base, kind, value: rest };
    case "USER":
    case "STOPSIGNAL":
      return { ...base, kind, value: one(kind) };
    case "EXPOSE":
    case "VOLUME": {
      const values = (kind === "VOLUME" ? jsonForm(rest) : undefined) ?? rawWords(rest, escape);
      if (!values.length) throw err(`${kind} needs at least one argument`);
      return { ...base, kind, values };
    }
    case "CMD":
    case "ENTRYPOINT":
      return { ...base, kind, command: command(kind) };
    case "SHELL": {
      const json = jsonForm(rest);
      if (!json?.length) throw err("SHELL must be a JSON array of strings", 'SHELL ["/bin/sh", "-c"]');
      return { ...base, kind, shell: json };
    }
    case "HEALTHCHECK": {
      const h: HealthcheckInstruction = { ...base, kind };
      const word = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      const sub = word?.[1]!.toUpperCase();
      if (sub === "NONE") {
        if (word![2] || flags.length) throw err("HEALTHCHECK NONE takes no arguments or flags");
        return h;
      }
      if (sub !== "CMD") throw err(`HEALTHCHECK needs NONE or CMD, got "${rest}"`, "HEALTHCHECK --interval=30s CMD wget -q -O- http://localhost/");
      const inner = instruction({ ...l, text: `CMD ${word![2]}` }, escape, file);
      h.command = (inner as CommandInstruction).command;
      for (const [name, key] of [["interval", "interval"], ["timeout", "timeout"], ["start-period", "startPeriod"], ["start-interval", "startInterval"]] as const) {
        const v = flag[name];
        if (v === undefined) continue;
        const ns = parseDuration(v);
        if (ns === undefined) throw err(`HEALTHCHECK --${name}=${v} is not a duration`, "e.g. 30s, 1m30s, 500ms");
        h[key] = ns;
      }
      if (flag.retries !== undefined) {
        if (!/^\d+$/.test(flag.retries)) throw err(`HEALTHCHECK --retries=${flag.retries} is not a number`);
        h.retries = Number(flag.retries);
      }
      return h;
    }
    case "ONBUILD": {
      if (!rest) throw err("ONBUILD needs an instruction", "ONBUILD RUN make");
      instruction({ ...l, text: rest }, escape, file, true); // checked now, run by a build FROM this image
      return { ...base, kind, trigger: rest };
    }
    default:
      throw err(`unknown instruction: ${m[1]}`, "see docs.docker.com/reference/dockerfile");
  }
}

/** one instruction line TEXT (no continuations, no heredocs), e.g. a `commit --change`; errors name FILE:LINE */
export function parseInstructionLine(text: string, file: string, line = 1): Instruction {
  return instruction({ line, text, heredocs: [] }, "\\", file);
}

/** an ONBUILD trigger of a base image (TEXT), run at LINE (the FROM's): checked as ONBUILD checks its instruction */
export function parseTrigger(text: string, escape: string, file: string, line: number): StageInstruction {
  return instruction({ line, text, heredocs: [] }, escape, file, true) as StageInstruction;
}

/**
 * TEXT (the Dockerfile FILE names in its errors) as stages, every instruction
 * checked: a syntax error is a BunkerError "FILE:LINE: …" before anything runs.
 */
export function parseDockerfile(text: string, file = "Dockerfile"): Dockerfile {
  const notes: string[] = [];
  const { escape, lines } = logicalLines(text, file, notes);
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const l of lines) {
    const ins = instruction(l, escape, file);
    if (ins.kind === "FROM") {
      if (ins.as && stages.some((s) => s.name === ins.as)) throw dockerfileError(file, ins.line, `the stage name "${ins.as}" is used twice`);
      stages.push({ index: stages.length, name: ins.as, from: ins, instructions: [] });
    } else if (stages.length) stages[stages.length - 1]!.instructions.push(ins);
    else if (ins.kind === "ARG") metaArgs.push(ins);
    else throw dockerfileError(file, ins.line, `${ins.kind} before the first FROM`, "only ARG may come before FROM");
  }
  if (!stages.length) throw new BunkerError(`${file}: no FROM instruction`, { errno: "EINVAL", fix: "start the Dockerfile with FROM IMAGE (or FROM scratch)" });
  return { escape, metaArgs, stages, notes };
}

/** the stages up to TARGET (a name or index; the last one when undefined) */
export function targetStage(df: Dockerfile, target: string | undefined, file = "Dockerfile"): Stage {
  if (target === undefined) return df.stages[df.stages.length - 1]!;
  const t = target.toLowerCase();
  const s = df.stages.find((x) => x.name === t);
  if (!s) throw new BunkerError(`--target ${target}: ${file} has no stage of that name`, { errno: "EINVAL", fix: `its stages: ${df.stages.map((x) => x.name ?? String(x.index)).join(", ")}` });
  return s;
}
