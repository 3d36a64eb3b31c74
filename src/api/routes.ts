// Every route of `bunker serve`, in the order they are matched.
import { BUILD_ROUTES } from "./build.ts";
import type { Route } from "./server.ts";
import { ARCHIVE_ROUTES } from "./archive.ts";
import { CONTAINER_ROUTES } from "./containers.ts";
import { EXEC_ROUTES } from "./exec.ts";
import { RENAME_ROUTES } from "./rename.ts";
import { COMMIT_ROUTES } from "./commit.ts";
import { IMAGE_ROUTES } from "./images.ts";
import { PULL_ROUTES } from "./pull.ts";
import { PUSH_ROUTES } from "./push.ts";
import { SYSTEM_ROUTES } from "./system.ts";
import { VOLUME_ROUTES } from "./volumes.ts";
import { NETWORK_ROUTES } from "./networks.ts";
import { EVENT_ROUTES } from "./events.ts";

export const ROUTES: Route[] = [
  ...SYSTEM_ROUTES,
  ...PULL_ROUTES,
  ...PUSH_ROUTES,
  ...IMAGE_ROUTES,
  ...CONTAINER_ROUTES,
  ...EXEC_ROUTES,
  ...ARCHIVE_ROUTES,
  ...RENAME_ROUTES,
  ...COMMIT_ROUTES,
  ...VOLUME_ROUTES,
  ...NETWORK_ROUTES,
  ...EVENT_ROUTES,
  ...BUILD_ROUTES,
];
