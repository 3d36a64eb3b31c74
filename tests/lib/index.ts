// Helpers for bun tests: fixtures (rootfs.ts), running dist/bunker as root or
// as the test user (bunker.ts), and a pty runner for `-t` (pty.ts).
export * from "./rootfs.ts";
export * from "./bunker.ts";
export * from "./pty.ts";
export * from "./probe.ts";
export * from "./oci-config.ts";
export * from "./process-ref.ts";
export * from "./udp.ts";
