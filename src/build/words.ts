// Docker's word processing of a Dockerfile argument (moby/buildkit's
// frontend/dockerfile/shell lexer): quotes, the escape character and
// variable expansion, for the instructions Docker expands (ADD, COPY, ENV,
// EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG and the flags
// of COPY/ADD).  RUN, CMD and ENTRYPOINT are not expanded here: their shell
// does it with the build's environment.
//
//   'text'        literal, no escapes, no expansion
//   "text"        expansion; the escape character escapes only " $ and itself
//   \c            c literally ($ included: \$V is the text $V)
//   $V ${V}       the value of V, "" when unset
//   ${V:-w} ${V-w}  w when V is unset or empty (":"), or only unset
//   ${V:+w} ${V+w}  w when V is set and not empty (":"), or set
//   ${V:?w} ${V?w}  an error (w) when V is unset or empty (":"), or unset
// The w of a modifier is itself processed (nested expansions).

/** variables visible to an expansion: name -> value (undefined: unset) */
export type Vars = ReadonlyMap<string, string>;

export class WordError extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class Lexer {
  pos = 0;
  constructor(readonly text: string, readonly vars: Vars, readonly escape: string) {}

  peek(): string | undefined {
    return this.text[this.pos];
  }

  /**
   * Words of the text up to STOP (a "}" of a modifier) or its end; SPLIT: whitespace
   * outside quotes separates words (else it is one word).
   */
  words(split: boolean, stop?: string): string[] {
    const out: string[] = [];
    let cur = "";
    let inWord = false;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === stop) break;
      if (split && /\s/.test(c)) {
        this.pos++;
        if (inWord) out.push(cur);
        cur = "";
        inWord = false;
        continue;
      }
      inWord = true;
      if (c === "'") cur += this.single();
      else if (c === '"') cur += this.double();
      else if (c === this.escape) {
        this.pos++;
        const n = this.peek();
        if (n === undefined) cur += this.escape; // a lone escape at the end stays
        else {
          cur += n;
          this.pos++;
        }
      } else if (c === "$") cur += this.dollar();
      else {
        cur += c;
        this.pos++;
      }
    }
    if (inWord || !split) out.push(cur);
    return out;
  }

  single(): string {
    const end = this.text.indexOf("'", this.pos + 1);
    if (end < 0) throw new WordError("unexpected end of text: a single quote (') is not closed");
    const s = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return s;
  }

  double(): string {
    this.pos++;
    let s = "";
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new WordError('unexpected end of text: a double quote (") is not closed');
      this.pos++;
      if (c === '"') return s;
      if (c === this.escape) {
        const n = this.peek();
        if (n === '"' || n === "$" || n === this.escape) {
          s += n;
          this.pos++;
        } else s += c;
      } else if (c === "$") {
        this.pos--;
        s += this.dollar();
      } else s += c;
    }
  }

  dollar(): string {
    this.pos++; // the $
    const c = this.peek();
    if (c === "{") return this.braced();
    if (c === undefined || !NAME_START.test(c)) return "$";
    let name = "";
    while (this.peek() !== undefined && NAME_CHAR.test(this.peek()!)) name += this.text[this.pos++];
    return this.vars.get(name) ?? "";
  }

  braced(): string {
    const open = this.pos;
    this.pos++; // {
    let name = "";
    while (this.peek() !== undefined && NAME_CHAR.test(this.peek()!)) name += this.text[this.pos++];
    if (!name || /^[0-9]/.test(name)) throw new WordError(`bad substitution at "${this.text.slice(open - 1, open + 20)}": a variable name must follow \${`);
    const value = this.vars.get(name);
    let c = this.peek();
    if (c === undefined) throw new WordError(`\${${name} is not closed with }`);
    if (c === "}") {
      this.pos++;
      return value ?? "";
    }
    let colon = false;
    if (c === ":") {
      colon = true;
      this.pos++;
      c = this.peek();
    }
    if (c !== "-" && c !== "+" && c !== "?") throw new WordError(`unsupported modifier in \${${name}${colon ? ":" : ""}${c ?? ""}…}: Docker's are :- - :+ + :? ?`);
    this.pos++;
    const word = this.words(false, "}")[0]!;
    if (this.peek() !== "}") throw new WordError(`\${${name}…} is not closed with }`);
    this.pos++;
    const set = value !== undefined && (!colon || value !== "");
    if (c === "-") return set ? value! : word;
    if (c === "+") return set ? word : "";
    if (!set) throw new WordError(`${name}: ${word || (colon ? "is not set or empty" : "is not set")}`);
    return value!;
  }
}

/** TEXT as one word: quotes removed, escapes applied, variables of VARS expanded */
export function expandWord(text: string, vars: Vars, escape = "\\"): string {
  return new Lexer(text, vars, escape).words(false)[0]!;
}

/** TEXT split at unquoted whitespace into words, each processed as expandWord does */
export function expandWords(text: string, vars: Vars, escape = "\\"): string[] {
  return new Lexer(text, vars, escape).words(true);
}
