// The Dockerfile parser (src/build/dockerfile.ts) and Docker's word
// expansion (src/build/words.ts): every rule the reference states, the
// errors a bad file gets, and properties over generated input.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { BunkerError } from "../../src/errors.ts";
import { parseDockerfile, parseDuration, rawWords, targetStage, type Instruction } from "../../src/build/dockerfile.ts";
import { expandWord, expandWords } from "../../src/build/words.ts";

const only = (text: string): Instruction => parseDockerfile(`FROM scratch\n${text}`).stages[0]!.instructions[0]!;
const failure = (text: string): string => {
  try {
    parseDockerfile(text);
  } catch (e) {
    if (e instanceof BunkerError) return e.message;
    throw e;
  }
  throw new Error("parsed without an error");
};

describe("lines", () => {
  test("comments, blank lines, continuations (with comment lines inside) and case-insensitive names", () => {
    const df = parseDockerfile("# a comment\n\nfrom busybox\n  # indented comment\nRUN echo a \\\n# inside\n\n   && echo b\nrun true");
    const [run1, run2] = df.stages[0]!.instructions;
    expect(df.stages[0]!.from.image).toBe("busybox");
    expect(run1).toMatchObject({ kind: "RUN", line: 5, command: { shell: "echo a    && echo b" } });
    expect(run2).toMatchObject({ kind: "RUN", line: 9 });
  });

  test("# escape=` makes the backtick the continuation and escape character; \\ is then plain", () => {
    const df = parseDockerfile("# escape=`\nFROM scratch\nCOPY a `\n  C:\\dir\\\nWORKDIR C:\\x");
    const [copy, wd] = df.stages[0]!.instructions;
    expect(copy).toMatchObject({ kind: "COPY", sources: ["a"], dest: "C:\\dir\\" });
    expect(wd).toMatchObject({ value: "C:\\x" });
    expect(df.escape).toBe("`");
  });

  test("directives only at the top: after a comment or an instruction they are comments; # syntax= is a note", () => {
    expect(parseDockerfile("# syntax=docker/dockerfile:1\nFROM scratch").notes).toEqual(["Dockerfile:1: the # syntax= directive is ignored (bunker has one built-in frontend)"]);
    expect(parseDockerfile("# hello\n# escape=`\nFROM scratch").escape).toBe("\\");
    expect(parseDockerfile("FROM scratch\n# escape=`\nRUN a \\\n b").stages[0]!.instructions[0]).toMatchObject({ command: { shell: "a  b" } });
    expect(failure("# escape=x\nFROM scratch")).toBe('Dockerfile:1: invalid escape character "x"');
    expect(failure("# escape=`\n# escape=\\\nFROM scratch")).toBe("Dockerfile:2: the parser directive escape is given twice");
  });

  test("heredocs: RUN <<EOF, <<-EOF strips tabs, a quoted marker does not expand, two in one line, COPY <<EOF /f", () => {
    const df = parseDockerfile("FROM scratch\nRUN <<EOF\necho a\n  echo b\nEOF\nRUN <<-'END' cat > /x\n\t\tline $X\n\tEND\nCOPY <<A <<B /dir/\na\nA\nb\nB\nRUN true");
    const [r1, r2, c, r3] = df.stages[0]!.instructions as [Instruction & { heredocs: unknown }, Instruction & { heredocs: unknown }, Instruction, Instruction];
    expect(r1).toMatchObject({ command: { shell: "<<EOF" }, heredocs: [{ name: "EOF", content: "echo a\n  echo b\n", expand: true }] });
    expect(r2).toMatchObject({ command: { shell: "<<-'END' cat > /x" }, heredocs: [{ name: "END", content: "line $X\n", expand: false }] });
    expect(c).toMatchObject({ kind: "COPY", sources: ["<<A", "<<B"], dest: "/dir/", heredocs: [{ name: "A", content: "a\n" }, { name: "B", content: "b\n" }] });
    expect(r3).toMatchObject({ line: 14, command: { shell: "true" } });
    expect(failure("FROM scratch\nRUN <<EOF\necho")).toBe('Dockerfile:2: the heredoc <<EOF is not closed: no line "EOF" follows');
    expect(failure("FROM scratch\nCMD <<EOF\nx\nEOF")).toStartWith("Dockerfile:3: unknown instruction: x");
  });

  test("a CRLF file and a byte-order mark parse as the plain file", () => {
    expect(parseDockerfile("\uFEFFFROM a\r\nRUN b \\\r\n c\r\n")).toEqual(parseDockerfile("FROM a\nRUN b \\\n c\n"));
  });
});

describe("instructions", () => {
  test("exec (JSON) and shell forms; invalid JSON is shell form, as Docker's", () => {
    expect(only('CMD ["/bin/echo", "hi there"]')).toMatchObject({ kind: "CMD", command: { exec: ["/bin/echo", "hi there"] } });
    expect(only("ENTRYPOINT echo hi")).toMatchObject({ command: { shell: "echo hi" } });
    expect(only("RUN [not json")).toMatchObject({ command: { shell: "[not json" } });
    expect(only("RUN [1, 2]")).toMatchObject({ command: { shell: "[1, 2]" } });
    expect(only('SHELL ["/bin/bash", "-euc"]')).toMatchObject({ kind: "SHELL", shell: ["/bin/bash", "-euc"] });
    expect(failure("FROM a\nSHELL /bin/sh -c")).toBe("Dockerfile:2: SHELL must be a JSON array of strings");
    expect(failure("FROM a\nCMD []")).toBe("Dockerfile:2: CMD has an empty command");
    expect(failure("FROM a\nRUN")).toBe("Dockerfile:2: RUN needs a command");
  });

  test("FROM: image, AS name (lower-cased), --platform; bad forms", () => {
    const df = parseDockerfile("ARG V=1\nFROM --platform=linux/amd64 busybox:$V as Build\nFROM build");
    expect(df.metaArgs[0]!.args).toEqual([{ name: "V", default: "1" }]);
    expect(df.stages[0]!.from).toMatchObject({ image: "busybox:$V", as: "build", platform: "linux/amd64" });
    expect(df.stages[1]!.from).toMatchObject({ image: "build" });
    expect(failure("FROM a b")).toBe('Dockerfile:1: FROM takes IMAGE [AS NAME], got "a b"');
    expect(failure("FROM a AS 1x")).toBe('Dockerfile:1: invalid stage name "1x"');
    expect(failure("FROM a AS x\nFROM b AS X")).toBe('Dockerfile:2: the stage name "x" is used twice');
    expect(failure("RUN true\nFROM a")).toBe("Dockerfile:1: RUN before the first FROM");
    expect(failure("# only a comment\n")).toBe("Dockerfile: no FROM instruction");
  });

  test("COPY/ADD: sources, destination, flags, JSON form; bad flags", () => {
    expect(only('COPY --from=build --chown=1:2 --chmod=644 --link a "b c" /d/')).toMatchObject({ kind: "COPY", sources: ["a", '"b c"'], dest: "/d/", from: "build", chown: "1:2", chmod: "644", link: true });
    expect(only('ADD ["x y", "/z"]')).toMatchObject({ kind: "ADD", sources: ["x y"], dest: "/z", link: false });
    expect(failure("FROM a\nCOPY --frm=x a b")).toBe("Dockerfile:2: COPY has no flag --frm");
    expect(failure("FROM a\nCOPY --from a b")).toBe("Dockerfile:2: COPY --from needs a value (--from=VALUE)");
    expect(failure("FROM a\nCOPY onlyone")).toBe("Dockerfile:2: COPY needs a source and a destination");
    expect(failure("FROM a\nCOPY --link=maybe a b")).toBe('Dockerfile:2: COPY --link is true or false, not "maybe"');
    expect(failure("FROM a\nCOPY --chown=1 --chown=2 a b")).toBe("Dockerfile:2: COPY --chown is given twice");
    expect(failure("FROM a\nWORKDIR --x=1 /")).toBe("Dockerfile:2: WORKDIR has no flag --x");
    expect(failure("FROM a\nADD --checksum=sha256:00 a /b")).toBe("Dockerfile:2: ADD --checksum is for a URL source only");
  });

  test("RUN flags: --network, --mount (repeated: cache, bind of the context, tmpfs), checked before anything runs", () => {
    expect(only("RUN --network=host --mount=type=cache,target=/c --mount=type=bind,source=x,target=/x --mount=target=/y --mount=type=tmpfs,dst=/t,size=1m make")).toMatchObject({
      network: "host",
      mounts: [{ type: "cache", target: "/c", id: "/c" }, { type: "bind", target: "/x", source: "x" }, { type: "bind", target: "/y", source: "." }, { type: "tmpfs", target: "/t", size: 1 << 20 }],
      command: { shell: "make" },
    });
    expect(only("RUN --mount=type=cache,id=pip,target=/root/.cache,sharing=locked pip install x")).toMatchObject({ mounts: [{ type: "cache", id: "pip", target: "/root/.cache", sharing: "locked" }] });
    expect(only("RUN --mount=type=cache,target=/c,sharing=private true")).toMatchObject({ mounts: [{ type: "cache", id: "/c", sharing: "private" }] });
    expect(only("RUN --mount=type=cache,target=/c true")).toMatchObject({ mounts: [{ type: "cache", sharing: "shared" }] });
    expect(failure("FROM a\nRUN --network=bridge x")).toBe("Dockerfile:2: RUN --network=bridge: none, host or default");
    expect(failure("FROM a\nRUN --mount=type=secret,id=x,target=/s x")).toBe("Dockerfile:2: RUN --mount type=secret is not supported");
    expect(failure("FROM a\nRUN --mount=type=cache x")).toBe("Dockerfile:2: RUN --mount=type=cache: needs target=PATH");
    expect(failure("FROM a\nRUN --mount=type=bind,target=/x,rw x")).toBe("Dockerfile:2: RUN --mount type=bind,rw is not supported (the context is mounted read-only)");
    expect(failure("FROM a\nRUN --mount=type=bind,target=/x,from=build x")).toBe("Dockerfile:2: RUN --mount from=: a mount of another stage or image is not supported");
    expect(failure("FROM a\nRUN --mount=type=cache,target=/x,mode=0700 x")).toBe("Dockerfile:2: RUN --mount type=cache: mode= is not supported");
    expect(failure("FROM a\nRUN --mount=type=tmpfs,target=/x,size=lots x")).toBe('Dockerfile:2: RUN --mount size: "lots" is not a size');
  });

  test("ENV and LABEL: K=V pairs with quotes and escapes kept for expansion, the legacy K V form", () => {
    expect(only('ENV A=1 B="two words" C=three\\ words')).toMatchObject({ kind: "ENV", pairs: [["A", "1"], ["B", '"two words"'], ["C", "three\\ words"]] });
    expect(only("ENV NAME a value with  spaces")).toMatchObject({ pairs: [["NAME", "a value with  spaces"]] });
    expect(only('LABEL "com.example.x"=1 version=2')).toMatchObject({ kind: "LABEL", pairs: [['"com.example.x"', "1"], ["version", "2"]] });
    expect(failure("FROM a\nENV A=1 B")).toBe('Dockerfile:2: ENV: "B" is not NAME=VALUE');
    expect(failure("FROM a\nENV A")).toBe("Dockerfile:2: ENV A has no value");
    expect(failure("FROM a\nLABEL =x")).toBe('Dockerfile:2: LABEL: a name cannot be empty ("=x")');
  });

  test("ARG: several, with and without defaults; bad names", () => {
    expect(only("ARG A B=2 C=")).toMatchObject({ args: [{ name: "A" }, { name: "B", default: "2" }, { name: "C", default: "" }] });
    expect(failure("FROM a\nARG 9x")).toBe('Dockerfile:2: ARG: invalid name "9x"');
    expect(failure("FROM a\nARG")).toBe("Dockerfile:2: ARG needs a name");
  });

  test("WORKDIR, USER, STOPSIGNAL, EXPOSE, VOLUME (JSON and words), MAINTAINER", () => {
    expect(only("WORKDIR /a b")).toMatchObject({ value: "/a b" });
    expect(only("USER app:app")).toMatchObject({ kind: "USER", value: "app:app" });
    expect(failure("FROM a\nUSER a b")).toBe("Dockerfile:2: USER takes exactly one argument, got 2");
    expect(only("STOPSIGNAL SIGTERM")).toMatchObject({ value: "SIGTERM" });
    expect(only("EXPOSE 80/tcp 53/udp")).toMatchObject({ values: ["80/tcp", "53/udp"] });
    expect(only('VOLUME ["/data", "/logs"]')).toMatchObject({ values: ["/data", "/logs"] });
    expect(only("VOLUME /data /logs")).toMatchObject({ values: ["/data", "/logs"] });
    expect(only("MAINTAINER someone <a@b>")).toMatchObject({ value: "someone <a@b>" });
  });

  test("HEALTHCHECK: NONE, CMD with durations and retries; bad values", () => {
    expect(only("HEALTHCHECK NONE")).toEqual({ kind: "HEALTHCHECK", line: 2, text: "HEALTHCHECK NONE" });
    expect(only('HEALTHCHECK --interval=1m30s --timeout=500ms --retries=3 CMD ["wget", "-q", "http://localhost/"]')).toMatchObject({ interval: 90e9, timeout: 500e6, retries: 3, command: { exec: ["wget", "-q", "http://localhost/"] } });
    expect(failure("FROM a\nHEALTHCHECK --interval=soon CMD x")).toBe("Dockerfile:2: HEALTHCHECK --interval=soon is not a duration");
    expect(failure("FROM a\nHEALTHCHECK wget x")).toBe('Dockerfile:2: HEALTHCHECK needs NONE or CMD, got "wget x"');
    expect(parseDuration("1h2m3s")).toBe(3723e9);
    expect(parseDuration("5x")).toBeUndefined();
  });

  test("ONBUILD: the trigger is checked now, kept as written; ONBUILD FROM is refused", () => {
    expect(only("ONBUILD RUN make all")).toMatchObject({ kind: "ONBUILD", trigger: "RUN make all" });
    expect(failure("FROM a\nONBUILD FROM b")).toBe("Dockerfile:2: ONBUILD FROM is not allowed");
    expect(failure("FROM a\nONBUILD BOGUS x")).toBe("Dockerfile:2: unknown instruction: BOGUS");
  });

  test("an unknown instruction is an error naming its line, before anything runs", () => {
    expect(failure("FROM a\nRUN true\n\nFOO bar")).toBe("Dockerfile:4: unknown instruction: FOO");
  });

  test("--target: the stage of that name (case-insensitive); an unknown one lists the stages", () => {
    const df = parseDockerfile("FROM a AS one\nFROM b\nFROM c AS three");
    expect(targetStage(df, "ONE").index).toBe(0);
    expect(targetStage(df, undefined).index).toBe(2);
    expect(() => targetStage(df, "two")).toThrow("--target two: Dockerfile has no stage of that name");
  });
});

describe("words", () => {
  const vars = new Map([["A", "a"], ["E", ""], ["P", "x y"]]);

  test("$V, ${V}, unset is empty, $ before a non-name is literal", () => {
    expect(expandWord("$A-${A}b-$NOPE-$-$1", vars)).toBe("a-ab--$-$1");
  });

  test("modifiers :- - :+ + :? ? (with nested expansion in the word)", () => {
    expect(expandWord("${E:-d}|${E-d}|${U-d}|${U:-$A$A}", vars)).toBe("d||d|aa");
    expect(expandWord("${A:+set}|${E:+set}|${E+set}|${U+set}", vars)).toBe("set||set|");
    expect(expandWord("${A:?x}", vars)).toBe("a");
    expect(() => expandWord("${E:?must be set}", vars)).toThrow("E: must be set");
    expect(() => expandWord("${U?}", vars)).toThrow("U: is not set");
    expect(() => expandWord("${A%x}", vars)).toThrow("unsupported modifier");
    expect(() => expandWord("${A", vars)).toThrow("is not closed");
  });

  test("quotes and escapes: single quotes are literal, double quotes expand, \\$ is a dollar", () => {
    expect(expandWord(`'$A'"$A"\\$A"\\"q\\\\"`, vars)).toBe('$Aa$A"q\\');
    expect(expandWord('"a\\b"', vars)).toBe("a\\b");
    expect(expandWord("`$A", vars, "`")).toBe("$A");
    expect(() => expandWord("'open", vars)).toThrow("single quote");
  });

  test("word splitting happens at unquoted whitespace, not inside a value or quotes", () => {
    expect(expandWords(`a "b c" $P 'd e'`, vars)).toEqual(["a", "b c", "x y", "d e"]);
    expect(expandWords("  ", vars)).toEqual([]);
  });

  test("property: a word of plain characters is itself; a single-quoted word is its content, whatever it holds", () => {
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9_./:@-]*$/), (s) => expandWord(s, vars) === s));
    fc.assert(fc.property(fc.string().filter((s) => !s.includes("'")), (s) => expandWord(`'${s}'`, vars) === s));
  });

  test("property: escaping every character of any string gives the string back", () => {
    fc.assert(fc.property(fc.string(), (s) => expandWord([...s].map((c) => `\\${c}`).join(""), vars) === s));
  });

  test("property: rawWords then expandWord equals expandWords for words without variables", () => {
    const word = fc.oneof(fc.stringMatching(/^[a-z0-9]+$/), fc.stringMatching(/^[a-z ]*$/).map((s) => `"${s}"`), fc.stringMatching(/^[a-z ]*$/).map((s) => `'${s}'`));
    fc.assert(fc.property(fc.array(fc.array(word, { minLength: 1, maxLength: 3 }).map((p) => p.join("")), { maxLength: 5 }), (ws) => {
      const text = ws.join("  ");
      return JSON.stringify(rawWords(text, "\\").map((w) => expandWord(w, vars))) === JSON.stringify(expandWords(text, vars));
    }));
  });
});

describe("properties of the parser", () => {
  test("any text parses or fails with one Dockerfile line error (a BunkerError), never a crash", () => {
    const line = fc.oneof(
      fc.constantFrom("FROM a", "RUN x", "RUN <<EOF", "EOF", "COPY a b", "ENV A=1", "# c", "", "\\", "ARG X", "HEALTHCHECK CMD x", "ONBUILD RUN y", "LABEL a=b"),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
      try {
        parseDockerfile(lines.join("\n"));
      } catch (e) {
        if (!(e instanceof BunkerError) || !/^Dockerfile(:\d+)?: /.test(e.message)) throw e;
      }
    }), { numRuns: 2000 });
  });

  test("every instruction's line is where it starts, whatever comments and blank lines come before it", () => {
    fc.assert(fc.property(fc.array(fc.constantFrom("", "# c", "  ", "\t# x"), { maxLength: 6 }), fc.array(fc.constantFrom("RUN a", "ENV A=1", "RUN b \\\n c", "COPY x y"), { minLength: 1, maxLength: 5 }), (pad, ins) => {
      const text = [...pad, "FROM scratch", ...ins].join("\n");
      const df = parseDockerfile(text);
      const lines = text.split("\n");
      return df.stages[0]!.instructions.every((i) => lines[i.line - 1]!.startsWith(i.text.split(" ")[0]!));
    }));
  });
});
