// Options that come before the command name (runc's global flags).
export interface GlobalOptions {
  debug: boolean;
  /** state root (--root); undefined = the default for this user */
  root?: string;
  log?: string;
  logFormat: "text" | "json";
  cgroupManager?: "cgroupfs" | "systemd" | "disabled";
  /** image store (--data-root) */
  dataRoot?: string;
  /** --storage-driver overlay|copy (validated where used: src/image/driver.ts) */
  storageDriver?: string;
}

export type Command = (argv: string[], g: GlobalOptions) => Promise<number> | number;
