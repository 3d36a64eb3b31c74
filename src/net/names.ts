// Network names (Docker's rule), apart from src/net/usernet.ts: every run
// parses its --network mode with them (src/net/mode.ts), and only a run on a
// user network needs the rest of that module.
import { BunkerError } from "../errors.ts";

/** Docker's rule for network names; the --network modes bunker knows are not names */
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;
const RESERVED = new Set(["none", "host", "bridge", "pasta", "slirp4netns", "default", "private", "container"]);

export function isNetworkName(name: string): boolean {
  return NAME.test(name) && !RESERVED.has(name);
}

export function checkNetworkName(name: string | undefined): string {
  if (name === undefined || !NAME.test(name)) throw new BunkerError(`network: "${name ?? ""}" is not a valid network name`, { errno: "EINVAL", fix: "use letters, digits, _ . - (at most 64, starting with a letter or digit)" });
  if (RESERVED.has(name)) throw new BunkerError(`network: "${name}" is a --network mode, not a name for a network`, { errno: "EINVAL", fix: "choose another name" });
  return name;
}
