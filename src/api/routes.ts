// Every route of `bunker serve`, in the order they are matched.
import { BUILD_ROUTES } from "./build.ts";
import type { Route } from "./server.ts";
import { CONTAINER_ROUTES } from "./containers.ts";
import { IMAGE_ROUTES } from "./images.ts";
import { PULL_ROUTES } from "./pull.ts";
import { SYSTEM_ROUTES } from "./system.ts";
import { VOLUME_ROUTES } from "./volumes.ts";

export const ROUTES: Route[] = [
  ...SYSTEM_ROUTES,
  ...PULL_ROUTES,
  ...IMAGE_ROUTES,
  ...CONTAINER_ROUTES,
  ...VOLUME_ROUTES,
  ...BUILD_ROUTES,
];
