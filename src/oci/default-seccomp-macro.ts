// Evaluated by Bun when bunker is built (imported `with { type: "macro" }`):
// the filter of the default profile for Docker's default capabilities, as
// base64, so that a default `bunker run` does not compile it (~4 ms of cold
// JavaScript).  tests/unit/oci-confine.test.ts checks it against compileSeccomp.
import { DOCKER_DEFAULT_CAPS } from "./caps.ts";
import { dockerDefaultSeccomp } from "./default-seccomp.ts";
import { compileSeccomp } from "./seccomp.ts";

export function defaultFilterBase64(): string {
  const c = compileSeccomp(dockerDefaultSeccomp(DOCKER_DEFAULT_CAPS), { failUnknown: true });
  return Buffer.from(c.program).toString("base64");
}
