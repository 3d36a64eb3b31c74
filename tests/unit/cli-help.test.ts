// Every command of the dispatcher answers --help with exit 0, its usage and
// every flag its parser accepts, each with a description.
import { afterAll, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flagLines, HelpRequest, parseFlags } from "../../src/cli/args.ts";
import { commands, runCommand } from "../../src/cli/commands.ts";
import { COMMAND_USAGE, helpText, USAGE } from "../../src/cli/usage.ts";

// --help is answered before anything is touched: this state root and image store must never be made
const scratch = mkdtempSync(join(tmpdir(), "bunker-help-"));
const g = { debug: false, logFormat: "text" as const, root: join(scratch, "state"), dataRoot: join(scratch, "data") };
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** the HelpRequest a command throws for ARGV (before it touches any state) */
async function helpOf(cmd: string, argv: string[]): Promise<HelpRequest> {
  try {
    await (await commands[cmd]!()).default(argv, g);
  } catch (e) {
    if (e instanceof HelpRequest) return e;
    throw e;
  }
  throw new Error(`${cmd} ${argv.join(" ")} ran instead of asking for help`);
}

/** what runCommand prints and returns */
async function printed(cmd: string, argv: string[]): Promise<{ code: number; out: string }> {
  const log = spyOn(console, "log").mockImplementation(() => {});
  try {
    const code = await runCommand(cmd, argv, g);
    return { code, out: log.mock.calls.map((c) => c.join(" ")).join("\n") };
  } finally {
    log.mockRestore();
  }
}

describe("--help", () => {
  for (const cmd of Object.keys(commands)) {
    test(`${cmd} --help: exit 0, its usage, every flag of its spec with a description`, async () => {
      const h = await helpOf(cmd, ["--help"]);
      expect(COMMAND_USAGE[h.where]).toBeDefined();
      expect([existsSync(g.root), existsSync(g.dataRoot)]).toEqual([false, false]);
      const { code, out } = await printed(cmd, ["--help"]);
      expect(code).toBe(0);
      expect(out).toBe(helpText(h));
      expect(out).toStartWith(`usage: bunker ${h.where}`);
      for (const spec of h.specs) {
        expect(spec.help ?? "").not.toBe("");
        for (const n of spec.names) expect(out).toContain(n.length === 1 ? `-${n}` : `--${n}`);
      }
    });
  }

  test("run --help lists --name and --rm and says which form runc's is", async () => {
    const { out } = await printed("run", ["--help"]);
    expect(out).toContain("--name NAME");
    expect(out).toContain("--rm ");
    expect(out).toContain("-b/--bundle, --console-socket, --pid-file, --keep, --no-new-keyring or\n--no-subreaper comes before the first argument");
  });

  test("-h is help only where no flag is named h; --help after the command's arguments is theirs", async () => {
    expect((await helpOf("create", ["-h"])).where).toBe("create");
    expect(() => parseFlags(["-h", "x"], [{ names: ["hostname", "h"], value: true }], "run")).not.toThrow();
    expect(parseFlags(["sh", "--help"], [], "run").rest).toEqual(["sh", "--help"]);
    expect((await helpOf("image", ["prune", "--help"])).where).toBe("image prune");
  });

  test("a flag's value placeholder and its description's lines are aligned", () => {
    expect(flagLines([{ names: ["env", "e"], value: true, help: "K=V  set it\nor not" }, { names: ["tty", "t"], help: "a pty" }])).toBe(
      "  -e, --env K=V  set it\n                 or not\n  -t, --tty      a pty",
    );
  });
});

describe("bunker --help", () => {
  test("lists every command but the internal ones, each on a line of its own or beside its pair", () => {
    const listed = new Set([...USAGE.matchAll(/^  ([a-z]+(?:, [a-z]+)*)\s/gm)].flatMap((m) => m[1]!.split(", ")));
    const missing = Object.keys(commands).filter((c) => !c.startsWith("__") && c !== "serve" && !listed.has(c));
    expect(missing).toEqual([]);
    expect(listed.has("serve")).toBe(true);
    expect(USAGE).toContain("export    a container's root as a tar (stdout or -o FILE)");
  });
});
