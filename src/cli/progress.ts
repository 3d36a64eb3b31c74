// Per-layer pull and push progress on a terminal (stderr), redrawn in place at
// most every 100 ms; nothing at all when stderr is not a TTY or with -q.
import type { PullEvents } from "../image/pull.ts";
import type { PushEvents } from "../image/push.ts";
import { humanBytes } from "../image/units.ts";

/** the states a byte count goes with */
const MOVING = new Set(["downloading", "uploading"]);

export class Progress implements PullEvents, PushEvents {
  private rows = new Map<string, string>();
  private drawn = 0;
  private last = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  static forTerminal(quiet: boolean): Progress | undefined {
    return !quiet && process.stderr.isTTY ? new Progress() : undefined;
  }

  layer(digest: string, state: string, done = 0, total = 0): void {
    const short = digest.slice(7, 19);
    const amount = MOVING.has(state) && total ? ` ${humanBytes(done)}/${humanBytes(total)}` : "";
    this.rows.set(short, `${short}: ${state}${amount}`);
    const now = Date.now();
    if (MOVING.has(state) && now - this.last < 100) return;
    this.last = now;
    this.draw();
  }

  private draw(): void {
    let s = this.drawn ? `\x1b[${this.drawn}A` : "";
    for (const line of this.rows.values()) s += `\x1b[2K${line}\n`;
    this.drawn = this.rows.size;
    this.out.write(s);
  }

  finish(): void {
    if (this.rows.size) this.draw();
  }
}
