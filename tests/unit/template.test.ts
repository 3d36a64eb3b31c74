import { describe, expect, test } from "bun:test";
import { applyTemplate, isTemplate, parseTemplate } from "../../src/cli/template.ts";
import { BunkerError } from "../../src/errors.ts";

const v = { Id: "abc", State: { Pid: 42, Running: true, Health: null }, Config: { Env: ["A=1"], Labels: { k: "v" } } };
const fmt = (t: string, x: unknown = v) => applyTemplate(parseTemplate(t), x);

describe("--format templates", () => {
  test("fields, nested fields, text around them, escapes", () => {
    expect(fmt("{{.State.Pid}}")).toBe("42");
    expect(fmt("id={{ .Id }} running={{.State.Running}}\\t.")).toBe("id=abc running=true\t.");
    expect(fmt("{{.Config.Env}}")).toBe('["A=1"]');
    expect(fmt("{{.State.Health}}")).toBe("<nil>");
    expect(fmt("{{.Nope.Deeper}}")).toBe("<no value>");
  });
  test("json of a field and of the whole value", () => {
    expect(fmt("{{json .Config.Labels}}")).toBe('{"k":"v"}');
    expect(fmt("{{json .}}", { a: 1 })).toBe('{"a":1}');
    expect(fmt("{{json .Missing}}")).toBe("null");
  });
  test("what is not supported is one error naming it", () => {
    for (const t of ["{{range .Config.Env}}{{.}}{{end}}", "{{.Id | upper}}", "{{if .State.Running}}x{{end}}", "{{index .Config.Labels \"k\"}}"]) {
      let err: unknown;
      try {
        parseTemplate(t);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BunkerError);
      expect((err as BunkerError).format()).toMatch(/^bunker: --format: \{\{.*\}\} is not supported: EINVAL .* — bunker's --format takes/);
    }
    expect(() => parseTemplate("{{.Id")).toThrow("unclosed action");
  });
  test("a named format is not a template", () => {
    expect(isTemplate("json")).toBe(false);
    expect(isTemplate(undefined)).toBe(false);
    expect(isTemplate("{{.ID}}")).toBe(true);
  });
});
