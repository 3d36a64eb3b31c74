// --security-opt seccomp=FILE: a Docker or OCI seccomp profile read from a
// file, made the OCI profile Docker would give runc, and checked as
// linux.seccomp is.  Its own module so that a run with the default profile
// does not load the profile checks (src/oci/validate.ts) and the JSON reader:
// it registers itself with src/oci/confine.ts when loaded.
import { BunkerError, fromSysError } from "../errors.ts";
import { parseJsonObject } from "../json.ts";
import { dockerToOci, setProfileReader } from "./confine.ts";
import type { Seccomp } from "./spec.ts";
import { checkSeccompProfile } from "./validate.ts";

const MAX_PROFILE_BYTES = 4 << 20;

export function seccompFromFile(file: string, caps: readonly string[], read: (file: string) => string): Seccomp {
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    throw fromSysError("run: cannot read the seccomp profile", e, { path: file, fix: "--security-opt seccomp=FILE takes a JSON profile (Docker's or linux.seccomp of an OCI config)" });
  }
  if (text.length > MAX_PROFILE_BYTES) throw new BunkerError(`run: the seccomp profile is larger than ${MAX_PROFILE_BYTES >> 20} MiB`, { errno: "EFBIG", path: file });
  return checkSeccompProfile(dockerToOci(parseJsonObject(text, file, "config"), caps), file);
}

setProfileReader(seccompFromFile);
