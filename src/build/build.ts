// `bunker build`: a Dockerfile run step by step into an image of the store,
// rootless and daemonless as buildah's.  Each stage starts from its FROM
// (an image of the store, pulled when missing, a stage before it, or
// scratch); an instruction that changes the filesystem adds one layer
// (RUN: the overlay upper of a container made by the run engine; COPY, ADD
// and a WORKDIR that does not exist yet: files written as a layer by
// copy.ts), the others change only the config and the history.  Before a
// RUN the state so far is committed as an untagged image, which the
// container runs; the last stage is committed with the tags.
//
// The build cache (BUILD_CACHE under the data root): the key of a step is
// the digest of its parent's key and what the step depends on (FROM: the
// base image's id; RUN: its command, shell, env, args, user, workdir and
// network; COPY/ADD: the content hashes of its sources, its destination,
// owner and mode); a layer step whose key has a record whose layer is still
// in the store reuses it ("---> Using cache"), so a change invalidates that
// step and those after it only.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { BunkerError, fromSysError } from "../errors.ts";
import { commitImage, type HistoryEntry } from "../image/commit.ts";
import { Hasher, sha256 } from "../image/digest.ts";
import { writeLayer, type LayerResult } from "../image/layer-writer.ts";
import { parsePlatform } from "../image/platform.ts";
import { formatReference, parseReference } from "../image/reference.ts";
import { prepareImageRootfs, readImageFile } from "../image/rootfs.ts";
import { removeTree, Store, type ImageRecord } from "../image/store.ts";
import type { ImageConfig } from "../image/types.ts";
import { resolveUser } from "../oci/user.ts";
import { autoMaps, callerMaps, type IdMaps } from "../sys/idmap.ts";
import { checkUserMapped, runContainer } from "../container/run.ts";
import { tryLockExclusive } from "../sys/fsat.ts";
import { flock, LOCK_EX, LOCK_SH } from "../sys/fs-core.ts";
import type { RuntimeContext } from "../container/context.ts";
import { applyConfigInstruction, expanded, type ConfigWords } from "./config-change.ts";
import { copyLayer, type CopyItem, type ExistingDir } from "./copy.ts";
import { dockerfileError, parseDockerfile, parseTrigger, targetStage, type Command, type CopyInstruction, type Dockerfile, type Instruction, type RunInstruction, type Stage, type StageInstruction } from "./dockerfile.ts";
import { cleanSource, contentHash, ContextTree, LayersTree, resolveSources, type SourceEntry, type SourceTree } from "./sources.ts";
import type { MountRequest } from "../volume/spec.ts";
import type { Vars } from "./words.ts";

export interface BuildRequest {
  /** the context directory (a tar on stdin is extracted into one by the caller) */
  contextDir: string;
  /** the Dockerfile's text and the name its errors give it */
  dockerfile: string;
  dockerfileName: string;
  tags: string[];
  /** --build-arg K=V */
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** --pull: a FROM image is pulled even when the store has it */
  pull: boolean;
  /** --platform os/arch: the FROM images' */
  platform?: string;
  /** --network for every RUN (default none: a build sees no network unless asked) */
  network?: string;
  labels: Record<string, string>;
  /** -q: the RUN steps' output is discarded too */
  quiet?: boolean;
  /** --compression of the new layers (default gzip) */
  compression?: "gzip" | "zstd";
}

/** what the build tells its caller as it goes (Docker's classic builder's lines) */
export interface BuildEvents {
  /** "Step 2/7 : RUN make", " ---> Using cache", " ---> Running in ID" */
  line(text: string): void;
}

export interface BuildResult {
  image: ImageRecord;
  /** notes: an ignored # syntax=, unused --build-arg */
  notes: string[];
}

/** the build cache's directory under the data root */
export const BUILD_CACHE = "build-cache";

/** a RUN --mount cache: its dir, how it is shared, its index in the step's mounts */
interface CacheMount {
  dir: string;
  sharing: "shared" | "locked" | "private";
  index: number;
}

interface CacheRecord {
  layer: LayerResult;
}

/** the filesystem and config of a stage so far */
interface State {
  base: ImageRecord | null;
  /** the base's unpacked layers, topmost first */
  baseLowers: string[];
  baseDiffIds: string[];
  layers: LayerResult[];
  config: ImageConfig;
  history: HistoryEntry[];
  /** the cache key of the last step */
  key: string;
  /** the state committed (before a RUN): reused while nothing changed */
  committed?: ImageRecord;
  /** ARG values in this stage */
  args: Map<string, string>;
  /** CMD set in this Dockerfile (ENTRYPOINT then keeps it) */
  cmdSet: boolean;
}

const DEFAULT_SHELL = ["/bin/sh", "-c"];
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** the id maps a build's containers and layers use: the caller's subordinate range when it has one (as run IMAGE's), root's identity */
export function buildMaps(ctx: RuntimeContext): IdMaps {
  return ctx.ids.uid === 0 ? autoMaps(0, 0) : callerMaps(ctx.ids);
}

export async function build(ctx: RuntimeContext, req: BuildRequest, events: BuildEvents): Promise<BuildResult> {
  const file = req.dockerfileName;
  const df = parseDockerfile(req.dockerfile, file);
  const target = targetStage(df, req.target, file);
  return new Builder(ctx, req, events, df).run(target);
}

class Builder {
  readonly store: Store;
  readonly maps: IdMaps;
  readonly context: ContextTree;
  readonly file: string;
  readonly metaArgs = new Map<string, string>();
  readonly usedArgs = new Set<string>();
  /** the stages built so far: FROM and --from of a stage use its state (not committed: only the target is) */
  readonly stages = new Map<number, State>();
  /** the untagged images RUN steps ran in: removed when the build ends */
  readonly intermediates: string[] = [];
  /** the store's marks that keep this build's layers from a gc running meanwhile (only the cache names them until the end) */
  readonly inflight: (() => void)[] = [];
  readonly notes: string[];
  total = 0;
  step = 0;

  constructor(readonly ctx: RuntimeContext, readonly req: BuildRequest, readonly events: BuildEvents, readonly df: Dockerfile) {
    this.store = Store.open(ctx.dataRoot);
    this.maps = buildMaps(ctx);
    this.context = new ContextTree(req.contextDir);
    this.file = req.dockerfileName;
    this.notes = [...df.notes];
  }

  async run(target: Stage): Promise<BuildResult> {
    const stages = this.df.stages.slice(0, target.index + 1);
    this.total = stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    for (const a of this.df.metaArgs)
      for (const { name, default: d } of a.args) {
        const v = this.argValue(name) ?? (d === undefined ? undefined : this.expand(a.line, d, this.metaArgs));
        if (v !== undefined) this.metaArgs.set(name, v);
      }
    let image: ImageRecord | undefined;
    try {
      for (const s of stages) {
        const st = await this.from(s);
        for (const ins of s.instructions) await this.instruction(st, ins);
        this.stages.set(s.index, st);
        if (s !== target) continue;
        for (const [k, v] of Object.entries(this.req.labels)) (st.config.Labels ??= {})[k] = v;
        st.committed = undefined;
        image = await this.commit(st, this.req.tags);
      }
    } finally {
      for (const release of this.inflight) release();
      // the images RUN steps ran in (their layers stay: the cache and the result use them)
      for (const id of this.intermediates) {
        if (id === image?.id) continue;
        try {
          await this.store.removeImage(id, true);
        } catch (e) {
          this.ctx.log.warn(fromSysError(`build: cannot remove the intermediate image ${id.slice(7, 19)}`, e, { fix: `bunker rmi -f ${id.slice(7, 19)}` }));
        }
      }
    }
    const unused = Object.keys(this.req.buildArgs).filter((k) => !this.usedArgs.has(k));
    if (unused.length) this.notes.push(`--build-arg ${unused.join(", ")}: not used by any ARG of ${this.file}`);
    return { image: image!, notes: this.notes };
  }

  // ---- helpers -----------------------------------------------------------------------

  argValue(name: string): string | undefined {
    if (!(name in this.req.buildArgs)) return undefined;
    this.usedArgs.add(name);
    return this.req.buildArgs[name];
  }

  /** TEXT with VARS expanded; a bad substitution is the line's error */
  expand(line: number, text: string, vars: Vars): string {
    return expanded(vars, this.df.escape, (what) => dockerfileError(this.file, line, what)).word(text);
  }

  /** TEXT with VARS expanded into words (EXPOSE's, VOLUME's); a bad substitution is the line's error */
  expandList(line: number, text: string, vars: Vars): string[] {
    return expanded(vars, this.df.escape, (what) => dockerfileError(this.file, line, what)).list(text);
  }

  /** what an instruction's words see: the stage's ARGs, then its ENV over them */
  vars(st: State): Map<string, string> {
    const v = new Map(st.args);
    for (const e of st.config.Env ?? []) {
      const eq = e.indexOf("=");
      if (eq > 0) v.set(e.slice(0, eq), e.slice(eq + 1));
    }
    return v;
  }

  say(text: string): void {
    this.events.line(text);
  }

  lowers(st: State): string[] {
    return [...st.layers.map((l) => l.dir).reverse(), ...st.baseLowers];
  }

  /** the next key in ST's chain: the step's text and its inputs */
  advance(st: State, what: unknown): string {
    st.key = sha256(`${st.key}\n${JSON.stringify(what)}`);
    return st.key;
  }

  metadata(st: State, ins: Instruction, change: (c: ImageConfig) => void, createdBy = ins.text): void {
    change(st.config);
    st.history.push({ created_by: createdBy, empty_layer: true });
    this.advance(st, { meta: createdBy, config: st.config });
    st.committed = undefined;
  }

  /** a layer step: the cached layer of KEY when there is one (and --no-cache is not given), else MAKE's */
  async layer(st: State, ins: Instruction, inputs: unknown, make: () => Promise<LayerResult>, createdBy = ins.text): Promise<void> {
    const key = this.advance(st, { step: createdBy, inputs, config: st.config, compression: this.req.compression ?? "gzip" });
    const recordPath = join(this.ctx.dataRoot, BUILD_CACHE, `${key.slice(7)}.json`);
    let layer: LayerResult | undefined;
    if (!this.req.noCache && existsSync(recordPath)) {
      try {
        const rec = JSON.parse(readFileSync(recordPath, "utf8")) as CacheRecord;
        // the layer must still be in the store (gc may have taken it)
        if (this.store.hasBlob(rec.layer.digest) && existsSync(`${this.store.layerDir(rec.layer.chainId)}.json`)) layer = rec.layer;
      } catch {
        /* a broken record is a miss */
      }
    }
    if (layer) {
      this.inflight.push(this.store.inflight([layer.digest], [layer.chainId]));
      this.say(" ---> Using cache");
    } else {
      layer = await make();
      this.inflight.push(this.store.inflight([layer.digest], [layer.chainId]));
      this.writeRecord(recordPath, JSON.stringify({ layer } satisfies CacheRecord));
    }
    st.layers.push(layer);
    st.history.push({ created_by: createdBy });
    st.committed = undefined;
    this.say(` ---> ${layer.diffId.slice(7, 19)}`);
  }

  /** ST as an image tagged TAGS: the one a build of the same steps made before, when the store still has it (the same ID, as Docker's) */
  async commit(st: State, tags: string[]): Promise<ImageRecord> {
    if (st.committed && !tags.length) return st.committed;
    const record = join(this.ctx.dataRoot, BUILD_CACHE, `${sha256(`${st.key}\ncommit ${JSON.stringify(st.config)}`).slice(7)}.image`);
    let known: ImageRecord | undefined;
    try {
      known = this.req.noCache ? undefined : this.store.find(readFileSync(record, "utf8"));
    } catch {
      /* no record: a new image */
    }
    if (known) {
      st.committed = tags.length ? await this.store.addImage(known.digest, tags.map((t) => formatReference(parseReference(t)))) : known;
      return st.committed;
    }
    st.committed = await commitImage(this.ctx, { base: st.base, layers: st.layers, config: st.config, history: st.history, tags });
    if (!tags.length) this.intermediates.push(st.committed.id);
    else this.writeRecord(record, st.committed.id);
    return st.committed;
  }

  /** a cache record, written whole (temp + rename) */
  writeRecord(path: string, text: string): void {
    mkdirSync(join(this.ctx.dataRoot, BUILD_CACHE), { recursive: true, mode: 0o700 });
    const tmp = this.store.tempPath("build-cache");
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  }

  /** a stage of this build named REF (its name or index), or undefined */
  stage(line: number, ref: string): State | undefined {
    const stage = this.df.stages.find((s) => s.name === ref.toLowerCase() || String(s.index) === ref);
    if (!stage) return undefined;
    const st = this.stages.get(stage.index);
    if (!st) throw dockerfileError(this.file, line, `stage ${ref} is not built before this line`, "a stage can use only the stages above it");
    return st;
  }

  /** a store image for FROM and --from (pulled when missing, or always with --pull) */
  async image(line: number, ref: string, platform: string | undefined): Promise<{ rec: ImageRecord; lowers: string[]; config: ImageConfig; diffIds: string[] }> {
    let img;
    try {
      img = await prepareImageRootfs(ref, { dataRoot: this.ctx.dataRoot, env: this.ctx.env, pull: this.req.pull ? "always" : "missing", platform: platform ? parsePlatform(platform) : undefined });
    } catch (e) {
      if (e instanceof BunkerError) throw new BunkerError(`${this.file}:${line}: ${e.message}`, e.detail);
      throw e;
    }
    for (const n of img.notes) this.notes.push(n);
    const rec = this.store.get(img.id);
    return { rec, lowers: img.lowerDirs, config: img.config, diffIds: this.store.configOf(rec).rootfs.diff_ids };
  }

  // ---- FROM ----------------------------------------------------------------------------

  async from(s: Stage): Promise<State> {
    const f = s.from;
    this.say(`Step ${++this.step}/${this.total} : ${f.text}`);
    const ref = this.expand(f.line, f.image, this.metaArgs);
    const platform = f.platform ? this.expand(f.line, f.platform, this.metaArgs) : this.req.platform;
    const st: State = { base: null, baseLowers: [], baseDiffIds: [], layers: [], config: { Env: [DEFAULT_PATH] }, history: [], key: sha256(`FROM scratch ${platform ?? ""}`), args: new Map(), cmdSet: false };
    const parent = this.stage(f.line, ref);
    if (parent) {
      // FROM an earlier stage: its state goes on (its own ARGs do not)
      Object.assign(st, { ...parent, config: structuredClone(parent.config), layers: [...parent.layers], history: [...parent.history], args: new Map(), cmdSet: false });
    } else if (ref !== "scratch") {
      const img = await this.image(f.line, ref, platform);
      Object.assign(st, { base: img.rec, baseLowers: img.lowers, baseDiffIds: img.diffIds, config: structuredClone(img.config), key: sha256(`FROM ${img.rec.id}`), committed: img.rec });
      this.say(` ---> ${img.rec.id.slice(7, 19)}`);
    }
    const triggers = st.config.OnBuild ?? [];
    st.config.OnBuild = null;
    for (const t of triggers) {
      this.say(`# Executing ONBUILD trigger: ${t}`);
      await this.instruction(st, parseTrigger(t, this.df.escape, this.file, f.line), true);
    }
    return st;
  }

  // ---- one instruction -------------------------------------------------------------------

  /** one instruction of ST's stage (TRIGGER: a base image's ONBUILD, which has no step number) */
  async instruction(st: State, ins: StageInstruction, trigger = false): Promise<void> {
    if (!trigger) this.say(`Step ${++this.step}/${this.total} : ${ins.text}`);
    const vars = this.vars(st);
    const x = (t: string) => this.expand(ins.line, t, vars);
    const fail = (what: string) => dockerfileError(this.file, ins.line, what);
    const words: ConfigWords = {
      word: x,
      list: (t) => this.expandList(ins.line, t, vars),
      argv: (c) => this.argv(st, c),
      env: (k, v) => void vars.set(k, v), // a later pair of the same line sees it (Docker's rule)
      fail,
    };
    switch (ins.kind) {
      case "RUN":
        return this.runStep(st, ins);
      case "COPY":
      case "ADD":
        return this.copyStep(st, ins);
      case "ARG":
        for (const { name, default: d } of ins.args) {
          const v = this.argValue(name) ?? (d !== undefined ? x(d) : this.metaArgs.get(name));
          if (v !== undefined) st.args.set(name, v);
          else st.args.delete(name);
        }
        this.advance(st, { arg: ins.text, values: [...st.args] });
        return;
      case "WORKDIR": {
        applyConfigInstruction(st.config, ins, words);
        const dir = st.config.WorkingDir!;
        if (new LayersTree("the image", this.lowers(st)).stat(dir.slice(1))) return this.metadata(st, ins, () => {});
        const { missing, existing } = this.directories(st, [dir], (what) => dockerfileError(this.file, ins.line, `WORKDIR: ${what}`));
        return this.layer(st, ins, { workdir: dir }, () => copyLayer(this.ctx, this.store, { items: [], dirs: missing, existingDirs: existing, uid: 0, gid: 0, maps: this.maps, parentDiffIds: this.diffIds(st), compression: this.req.compression }));
      }
      case "CMD":
        st.cmdSet = true;
        return this.metadata(st, ins, (c) => applyConfigInstruction(c, ins, words));
      case "ENTRYPOINT":
        return this.metadata(st, ins, (c) => {
          applyConfigInstruction(c, ins, words);
          if (!st.cmdSet) c.Cmd = null; // a base's CMD does not follow a new ENTRYPOINT (Docker's rule)
        });
      default:
        return this.metadata(st, ins, (c) => applyConfigInstruction(c, ins, words));
    }
  }

  /** a command of RUN, CMD, ENTRYPOINT as argv: exec form as it is, shell form through SHELL */
  argv(st: State, c: Command): string[] {
    return "exec" in c ? c.exec : [...(st.config.Shell ?? DEFAULT_SHELL), c.shell];
  }

  diffIds(st: State): string[] {
    return [...st.baseDiffIds, ...st.layers.map((l) => l.diffId)];
  }

  /**
   * the directories a layer writing below TOPS passes through: those the image of ST
   * lacks (made), and those it has (kept in the layer as the image has them: mode, owner, time)
   */
  directories(st: State, tops: string[], err: (what: string) => BunkerError): { missing: string[]; existing: Map<string, ExistingDir> } {
    const image = new LayersTree("the image", this.lowers(st));
    const missing = new Set<string>(), existing = new Map<string, ExistingDir>();
    for (const top of tops)
      for (let d = top; d !== "/"; d = posix.dirname(d)) {
        if (missing.has(d) || existing.has(d)) continue;
        const have = image.stat(d.slice(1));
        if (have?.type === "dir") existing.set(d, { mode: have.mode, mtime: have.mtime, ...image.ownerOf(have, this.maps) });
        else if (have) throw err(`${d} is a ${have.type} in the image, not a directory`);
        else missing.add(d);
      }
    return { missing: [...missing], existing };
  }

  // ---- RUN -------------------------------------------------------------------------------

  async runStep(st: State, ins: RunInstruction): Promise<void> {
    // a RUN whose whole command is one heredoc runs its body as the script (BuildKit's rule); else the shell reads the heredocs
    let command: Command = ins.command;
    if ("shell" in command && ins.heredocs.length) {
      const only = ins.heredocs.length === 1 && /^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(command.shell.trim());
      command = { shell: only ? ins.heredocs[0]!.content : `${command.shell}\n${ins.heredocs.map((h) => `${h.content}${h.name}\n`).join("")}` };
    }
    const argv = this.argv(st, command);
    const envNames = new Set((st.config.Env ?? []).map((e) => e.slice(0, e.indexOf("="))));
    const argEnv = [...st.args].filter(([k]) => !envNames.has(k)).map(([k, v]) => `${k}=${v}`);
    const network = ins.network === "host" ? "host" : ins.network === "none" ? "none" : (this.req.network ?? "none");
    const { mounts, keys, caches } = await this.runMounts(st, ins);
    const inputs = { argv, env: st.config.Env, args: argEnv, user: st.config.User, workdir: st.config.WorkingDir, network, mounts: keys };
    await this.layer(st, ins, inputs, async () => {
      const img = await this.commit(st, []);
      const layerDir = this.store.tempPath("build-run");
      mkdirSync(layerDir, { mode: 0o700 });
      const name = `build-${layerDir.slice(-8)}`;
      this.say(` ---> Running in ${name}`);
      const releaseCaches = this.lockCaches(caches, mounts);
      try {
        // an init is PID 1: an interrupt of the build (SIGINT, SIGTERM, forwarded) ends the command, which PID 1 would ignore
        const res = await runContainer(this.ctx, {
          image: img.id, pull: "never", command: argv, entrypoint: "", env: argEnv, user: st.config.User, workdir: st.config.WorkingDir || undefined,
          tty: false, interactive: false, init: true, mounts, readOnly: false, network, publish: [], publishAll: false, addHosts: [], dns: [], dnsSearch: [], dnsOptions: [],
          userns: this.maps.uid.length > 1 || this.maps.uid[0]!.size > 1 ? "auto" : "single", preserveFds: 0, noPivot: false, rm: true, name, detach: false, logOptions: [], oomKillGroup: false,
          security: { capAdd: [], capDrop: [], privileged: false, securityOpts: [] }, writableLayer: layerDir, inProcess: true, discardOutput: this.req.quiet,
        });
        if (res.oomKilled) throw dockerfileError(this.file, ins.line, `${ins.text}: ${res.oomKilled}`);
        if (res.exitCode !== 0) throw new BunkerError(`${this.file}:${ins.line}: ${ins.text}: exit status ${res.exitCode}`, { exitCode: 125 });
        return await writeLayer(this.ctx, `${layerDir}/upper`, { maps: this.maps, parentDiffIds: this.diffIds(st), compression: this.req.compression });
      } finally {
        await releaseCaches();
        await removeTree(layerDir, this.maps);
      }
    });
  }

  /**
   * RUN --mount as the run engine's mounts, and what each adds to the step's cache key:
   * a bind of the context its content hash (a cache or tmpfs mount adds only its place)
   */
  async runMounts(st: State, ins: RunInstruction): Promise<{ mounts: MountRequest[]; keys: unknown[]; caches: CacheMount[] }> {
    const vars = this.vars(st);
    const mounts: MountRequest[] = [], keys: unknown[] = [], caches: CacheMount[] = [];
    for (const m of ins.mounts) {
      const destination = posix.resolve(st.config.WorkingDir || "/", this.expand(ins.line, m.target, vars));
      if (m.type === "tmpfs") {
        mounts.push({ type: "tmpfs", destination, options: m.size ? [`size=${m.size}`] : [] });
        keys.push({ tmpfs: destination, size: m.size });
      } else if (m.type === "cache") {
        const id = this.expand(ins.line, m.id, vars);
        const source = join(this.ctx.dataRoot, BUILD_CACHE, "mounts", sha256(id).slice(7, 39));
        mkdirSync(source, { recursive: true, mode: 0o755 });
        caches.push({ dir: source, sharing: m.sharing, index: mounts.length });
        mounts.push({ type: "bind", source, destination, readonly: false });
        keys.push({ cache: id, destination });
      } else {
        const rel = cleanSource(this.expand(ins.line, m.source, vars));
        const e = this.context.stat(rel);
        if (!e) throw dockerfileError(this.file, ins.line, `RUN --mount source=${m.source}: not found in the build context (or excluded by .dockerignore)`);
        const hidden = this.context.ignoredBelow(rel);
        if (hidden !== undefined) throw dockerfileError(this.file, ins.line, `RUN --mount source=${m.source}: ${hidden} is excluded by .dockerignore, and a bind mount would show it`, "mount a directory without excluded files, or COPY what the step needs");
        mounts.push({ type: "bind", source: e.path, destination, readonly: true });
        keys.push({ bind: rel, destination, hash: await contentHash(this.context, [e]) });
      }
    }
    return { mounts, keys, caches };
  }

  /**
   * The locks of CACHES (RUN --mount type=cache) for one step, on a lock file
   * beside each cache dir: shared takes it shared (with other shared steps;
   * a prune leaves it alone), locked exclusive and waits for it, private
   * exclusive, and one that finds it held mounts a new empty dir instead (MOUNTS
   * changed in place), removed after the step.  The returned function releases them.
   */
  lockCaches(caches: CacheMount[], mounts: MountRequest[]): () => Promise<void> {
    const fds: number[] = [], fresh: string[] = [];
    const release = async () => {
      for (const fd of fds.splice(0)) closeSync(fd);
      for (const dir of fresh.splice(0)) await removeTree(dir, this.maps);
    };
    try {
      for (const c of caches) {
        const path = `${c.dir}.lock`;
        const fd = openSync(path, "a", 0o600);
        if (c.sharing === "private") {
          if (tryLockExclusive(fd, path)) fds.push(fd);
          else {
            // another step holds it: one of this step's own
            closeSync(fd);
            const dir = mkdtempSync(`${c.dir}-private-`);
            fresh.push(dir);
            mounts[c.index] = { ...mounts[c.index]!, source: dir } as MountRequest;
          }
          continue;
        }
        const r = flock(fd, c.sharing === "shared" ? LOCK_SH : LOCK_EX);
        if (r < 0) {
          closeSync(fd);
          throw new BunkerError("cannot lock a RUN --mount cache", { errno: -r, path });
        }
        fds.push(fd);
      }
    } catch (e) {
      void release();
      throw e;
    }
    return release;
  }

  // ---- COPY / ADD ------------------------------------------------------------------------

  async copyStep(st: State, ins: CopyInstruction): Promise<void> {
    const vars = this.vars(st);
    const x = (t: string) => this.expand(ins.line, t, vars);
    const err = (what: string, fix?: string) => dockerfileError(this.file, ins.line, what, fix);
    let tree: SourceTree = this.context;
    let fromId = "context";
    if (ins.from) {
      const ref = x(ins.from);
      const stage = this.stage(ins.line, ref);
      const img = stage ? undefined : await this.image(ins.line, ref, undefined);
      tree = new LayersTree(stage ? `stage ${ref}` : `image ${ref}`, stage ? this.lowers(stage) : img!.lowers);
      fromId = stage ? stage.key : img!.rec.id;
    }
    const rawDest = x(ins.dest);
    const dest = posix.resolve(st.config.WorkingDir || "/", rawDest);
    const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
    const literal: string[] = [], named: { name: string; data: string }[] = [], urls: string[] = [];
    for (const s of ins.sources) {
      const h = /^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)/.exec(s);
      if (h) {
        const doc = heredocs.get(h[1]!)!;
        named.push({ name: h[1]!, data: doc.expand ? this.expandHeredoc(ins.line, doc.content, vars) : doc.content });
        continue;
      }
      const src = x(s);
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
        if (ins.kind === "COPY") throw err(`COPY cannot fetch ${src}`, "use ADD for a URL, or download it into the context");
        if (!/^https?:\/\//i.test(src)) throw err(`ADD ${src}: only http and https URLs are fetched`);
        if ((this.req.network ?? "none") === "none") throw err(`ADD ${src}: the build has no network (a build is offline unless --network is given)`, "bunker build --network host …, or download the file into the context and COPY it");
        urls.push(src);
      } else literal.push(src);
    }
    if (urls.length && ins.from) throw err("ADD --from takes no URL");
    const downloads: SourceEntry[] = [];
    try {
      for (const u of urls) downloads.push(await this.download(ins, u));
      await this.copyFiles(st, ins, { tree, fromId, rawDest, dest, literal, named, downloads });
    } finally {
      for (const d of downloads) rmSync(d.path, { force: true });
    }
  }

  /** URL fetched into the store's tmp (Docker's ADD: mode 0600, the Last-Modified time, --checksum checked) */
  async download(ins: CopyInstruction, url: string): Promise<SourceEntry> {
    const err = (what: string, fix?: string) => dockerfileError(this.file, ins.line, `ADD ${url}: ${what}`, fix);
    let res: Response;
    try {
      res = await fetch(url, { redirect: "follow" });
    } catch (e) {
      throw err(`cannot fetch it (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!res.ok) throw err(`the server answered ${res.status} ${res.statusText}`);
    const path = this.store.tempPath("build-add");
    const h = new Hasher();
    const w = Bun.file(path).writer({ highWaterMark: 1 << 20 });
    for await (const c of res.body ?? []) {
      h.update(c);
      w.write(c);
    }
    await w.end();
    const digest = h.digest();
    if (ins.checksum && ins.checksum !== digest) {
      rmSync(path, { force: true });
      throw err(`its content is ${digest}, not --checksum=${ins.checksum}`);
    }
    const modified = Date.parse(res.headers.get("last-modified") ?? "");
    const name = decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).pop() ?? "") || "index.html";
    return { rel: name, type: "file", mode: 0o600, size: h.bytes, mtime: Math.floor((Number.isNaN(modified) ? Date.now() : modified) / 1000), path };
  }

  async copyFiles(st: State, ins: CopyInstruction, src: { tree: SourceTree; fromId: string; rawDest: string; dest: string; literal: string[]; named: { name: string; data: string }[]; downloads: SourceEntry[] }): Promise<void> {
    const vars = this.vars(st);
    const x = (t: string) => this.expand(ins.line, t, vars);
    const err = (what: string, fix?: string) => dockerfileError(this.file, ins.line, what, fix);
    const { tree, fromId, rawDest, dest, literal, named, downloads } = src;
    const found = resolveSources(tree, literal, `${this.file}:${ins.line}: ${ins.kind}`);
    const entries = found.flat();
    if (entries.length + named.length + downloads.length > 1 && !rawDest.endsWith("/")) throw err(`${ins.kind} of more than one source needs a destination directory ending in /`, `${ins.kind} … ${rawDest}/`);
    const image = new LayersTree("the image", this.lowers(st));
    // a destination ending in / is a directory, and so is one the image has as a directory (Docker's rule)
    const destIsDir = rawDest.endsWith("/") || image.stat(dest.slice(1))?.type === "dir";
    const items: CopyItem[] = [];
    for (const e of entries) {
      const base = e.rel.split("/").pop()!;
      if (ins.kind === "ADD" && e.type === "file" && isArchive(e.path)) items.push({ archive: e.path, dest });
      else items.push({ tree, entry: e, dest: e.type === "dir" ? dest : destIsDir ? posix.join(dest, base) : dest });
    }
    for (const n of named) items.push({ data: n.data, dest: destIsDir ? posix.join(dest, n.name) : dest });
    for (const d of downloads) items.push({ download: d, dest: destIsDir ? posix.join(dest, d.rel) : dest });
    // the destinations' parents: made when missing, kept as they are when the image has them
    const tops = items.map((it) => ("entry" in it && it.entry.type === "dir") || "archive" in it ? it.dest : posix.dirname(it.dest));
    const { missing, existing } = this.directories(st, tops, (what) => err(`${ins.kind}: ${what}`));
    const owner = ins.chown ? this.chownIds(st, ins, x(ins.chown)) : { uid: 0, gid: 0 };
    let mode: number | undefined;
    if (ins.chmod) {
      const m = x(ins.chmod);
      if (!/^[0-7]{3,4}$/.test(m)) throw err(`${ins.kind} --chmod=${m}: an octal mode is needed`, "e.g. --chmod=0755");
      mode = parseInt(m, 8);
    }
    const hashes = [...(await Promise.all(found.map((f) => contentHash(tree, f)))), ...(await Promise.all(downloads.map((d) => contentHash(tree, [d]))))];
    const inputs = { kind: ins.kind, from: fromId, sources: literal, urls: downloads.map((d) => d.rel), hashes, heredocs: named, dest, destIsDir, owner, mode };
    const createdBy = `${ins.kind} ${hashes.map((h) => h.slice(7, 19)).join(" ")} ${dest}`.replace(/\s+/g, " ");
    await this.layer(st, ins, inputs, () => copyLayer(this.ctx, this.store, { items, dirs: missing, existingDirs: existing, uid: owner.uid, gid: owner.gid, mode, maps: this.maps, parentDiffIds: this.diffIds(st), compression: this.req.compression }), `${ins.text.split(/\s/)[0]!.toUpperCase()} ${createdBy.slice(ins.kind.length + 1)}`);
  }

  /** --chown=USER[:GROUP] through the image's /etc/passwd and /etc/group; it must be an id of the build's map */
  chownIds(st: State, ins: CopyInstruction, spec: string): { uid: number; gid: number } {
    const lowers = this.lowers(st);
    try {
      const u = resolveUser(spec, { passwd: readImageFile(lowers, "/etc/passwd"), group: readImageFile(lowers, "/etc/group"), of: "the image" });
      checkUserMapped({ uid: u.uid, gid: u.gid }, this.maps, this.ctx.ids.uid);
      return { uid: u.uid, gid: u.gid };
    } catch (e) {
      if (e instanceof BunkerError) throw new BunkerError(`${this.file}:${ins.line}: ${ins.kind} --chown=${spec}: ${e.message}`, e.detail);
      throw e;
    }
  }

  /** a heredoc's body with the stage's variables (an unquoted marker: Docker expands $V and ${V…} in it, quotes stay) */
  expandHeredoc(line: number, content: string, vars: Vars): string {
    return content.replace(/\\\$|\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, (m) => (m === "\\$" ? "$" : this.expand(line, m, vars)));
  }
}

/** a local file ADD extracts: a tar, plain or compressed with gzip, bzip2 or xz (by its first bytes, as Docker decides) */
function isArchive(path: string): boolean {
  let head: Uint8Array;
  try {
    const fd = openSync(path, "r");
    head = new Uint8Array(512);
    readSync(fd, head, 0, 512, 0);
    closeSync(fd);
  } catch (e) {
    throw fromSysError("cannot read an ADD source", e, { path });
  }
  const starts = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (starts(0x1f, 0x8b) || starts(0x42, 0x5a, 0x68) || starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return true;
  return new TextDecoder().decode(head.subarray(257, 262)) === "ustar";
}

