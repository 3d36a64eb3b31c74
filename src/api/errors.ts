// Docker's error responses: a JSON body {"message": …} with the status code a
// Docker client acts on (404 makes `docker run` pull, 409 is a conflict).  A
// BunkerError's errno decides the status; its one line is the message.
import { BunkerError, oneLine } from "../errors.ts";

/** errno names and the status Docker answers them with; anything else is 500 */
const STATUS_OF_ERRNO: Record<string, number> = {
  EINVAL: 400,
  E2BIG: 400,
  ENAMETOOLONG: 400,
  ERANGE: 400,
  ENOTDIR: 400,
  EISDIR: 400,
  ENOENT: 404,
  ESRCH: 404,
  EEXIST: 409,
  EBUSY: 409,
  ENOTEMPTY: 409,
  EADDRINUSE: 409,
  // what the container cannot do as it is (pause without a cgroup): its state, not the request
  EOPNOTSUPP: 409,
  ENOSYS: 501,
};

/** a failure of a request: STATUS and the message the client shows */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** the status and message for ERR (a BunkerError, an ApiError, or a bug: 500 naming it) */
export function statusOf(err: unknown): { status: number; message: string } {
  if (err instanceof ApiError) return { status: err.status, message: oneLine(err.message) };
  if (err instanceof BunkerError) return { status: STATUS_OF_ERRNO[err.errnoName ?? ""] ?? 500, message: err.format().replace(/^bunker: /, "") };
  const e = err as Error;
  return { status: 500, message: oneLine(`internal error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(err)} — please report it as a bug`) };
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export function errorResponse(err: unknown): Response {
  const { status, message } = statusOf(err);
  return jsonResponse({ message }, status);
}
