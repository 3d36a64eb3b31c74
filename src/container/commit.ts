// docker's `commit` and `diff` of a container made from an image: both read
// its writable layer (the overlay upper dir a container that outlives its
// process keeps in its state dir, src/container/run.ts) in a user namespace
// of the container's maps (src/image/layer-writer.ts's withUpperTar).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { BunkerError } from "../errors.ts";
import type { IdMaps } from "../sys/idmap.ts";
import { upperChanges, type Change } from "../image/changes.ts";
import { parseChanges } from "../build/config-change.ts";
import { commitImage } from "../image/commit.ts";
import { withUpperTar, writeLayer } from "../image/layer-writer.ts";
import { Store, type ImageRecord } from "../image/store.ts";
import type { ImageConfig } from "../image/types.ts";
import type { RuntimeContext } from "./context.ts";
import { cgroupOfContainer } from "./cgroup.ts";
import { imageGone, imageOf } from "./image-use.ts";
import { lockContainer } from "./lock.ts";
import { setEnv, type RunRequest } from "./run.ts";
import { containerStatus, RUN_REQUEST_FILE, UPPER_DIR, type ContainerState } from "./state.ts";

export interface CommitOptions {
  /** --change lines (Dockerfile instructions that change the config) */
  changes: string[];
  /** -m: the history entry's comment */
  message?: string;
  author?: string;
  /** freeze a running container while its layer is read (docker's default) */
  pause: boolean;
}

interface WritableLayer {
  dir: string;
  upper: string;
  maps: IdMaps;
  state: ContainerState;
  status: string;
  base: ImageRecord;
  store: Store;
}

/** container ID's writable layer and the image under it, or one error saying why it has none to read */
function writableLayer(ctx: RuntimeContext, id: string, verb: string): WritableLayer {
  const { state, status, dir } = containerStatus(ctx.stateRoot, id);
  if (!state) throw new BunkerError(`${verb}: container "${id}" is being created, or its bunker was killed before it started`, { errno: "EBUSY", fix: `bunker rm -f ${id}` });
  const imageId = imageOf(dir);
  if (!state.run || !imageId) throw new BunkerError(`${verb}: container "${id}" was not made from an image: its root is a directory, not a layer over one`, { errno: "EINVAL", fix: `${verb} works on containers of bunker run/create IMAGE` });
  const upper = `${dir}/${UPPER_DIR}`;
  if (!existsSync(upper)) {
    let copied = false;
    try {
      copied = readdirSync(`${dir}/rootfs`).length > 0;
    } catch {
      copied = false;
    }
    throw copied
      ? new BunkerError(`${verb}: container "${id}" runs on a copy of its image (the copy storage driver): it has no layer of its own changes`, { errno: "EOPNOTSUPP", fix: "run it with the overlay storage driver (bunker check says why it was not chosen)" })
      : new BunkerError(`${verb}: container "${id}" keeps its writable layer in memory of its own (it was run with --rm or in the foreground): nothing outside it can read it`, { errno: "EOPNOTSUPP", fix: `run it detached without --rm (bunker run -d IMAGE …) or with bunker create, then ${verb} it` });
  }
  const store = Store.open(ctx.dataRoot);
  const base = store.find(imageId);
  if (!base) throw imageGone(verb, id, imageId);
  return { dir, upper, maps: state.run.maps, state, status, base, store };
}

/** `bunker diff ID`: what the container added, changed and deleted, sorted by path */
export async function containerChanges(ctx: RuntimeContext, id: string): Promise<Change[]> {
  const w = writableLayer(ctx, id, "diff");
  const lowerDirs = (await w.store.ensureLayers(w.base.digest)).map((l) => l.dir).reverse();
  return withUpperTar(ctx, w.upper, w.maps, w.state.run!.mountPoints ?? [], (raw) => upperChanges(raw, lowerDirs));
}

/** `bunker commit ID [REF]`: a new image of the container's image and its writable layer */
export async function commitContainer(ctx: RuntimeContext, id: string, ref: string | undefined, opts: CommitOptions): Promise<ImageRecord> {
  const w = writableLayer(ctx, id, "commit");
  const release = lockContainer(w.dir, id); // rm and start again wait until the layer is read
  let thaw: (() => void) | undefined;
  try {
    if (opts.pause && w.status === "running") {
      if (w.state.cgroup) {
        const cg = cgroupOfContainer(ctx, id, "commit");
        await cg.freeze();
        thaw = () => cg.thaw();
      } else ctx.log.note(`commit: container "${id}" has no cgroup to freeze: its layer is read while it runs`);
    }
    const baseConfig = w.store.configOf(w.base);
    const config = parseChanges(containerConfig(baseConfig.config ?? {}, readRequest(w.dir)), opts.changes);
    const layer = await writeLayer(ctx, w.upper, { maps: w.maps, parentDiffIds: baseConfig.rootfs.diff_ids, exclude: w.state.run!.mountPoints });
    return await commitImage(ctx, {
      base: w.base,
      layers: [layer],
      config,
      history: [{ created_by: w.state.run!.command.join(" "), ...(opts.message ? { comment: opts.message } : {}) }],
      tags: ref ? [ref] : [],
      author: opts.author,
    });
  } finally {
    thaw?.();
    release();
  }
}

function readRequest(dir: string): RunRequest | undefined {
  try {
    return JSON.parse(readFileSync(`${dir}/${RUN_REQUEST_FILE}`, "utf8")) as RunRequest;
  } catch {
    return undefined; // a container of an older bunker: the image's config as it was
  }
}

/** the config a committed image gets, as Docker's: the image's, with what the container was run with (-e, CMD, --entrypoint, -w, -u) */
export function containerConfig(image: ImageConfig, req: RunRequest | undefined): ImageConfig {
  if (!req) return image;
  const out: ImageConfig = { ...image, Env: [...(image.Env ?? [])] };
  setEnv(out.Env!, req.env);
  if (req.entrypoint !== undefined) {
    out.Entrypoint = req.entrypoint ? [req.entrypoint] : null;
    out.Cmd = req.command.length ? req.command : null;
  } else if (req.command.length) out.Cmd = req.command;
  if (req.workdir) out.WorkingDir = req.workdir;
  if (req.user) out.User = req.user;
  return out;
}
