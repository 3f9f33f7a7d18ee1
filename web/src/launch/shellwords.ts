// A command line -> argv with POSIX shell word rules (what `shlex.split` and Ruby's Shellwords do), and back.
// The server runs argv without a shell, so nothing here is expanded: `$HOME`, `*`, `|` stay literal words.

export interface SplitResult {
  argv: string[];
  /** why the line cannot be split (an unterminated quote); argv is then what was read so far */
  error: string | null;
  /** shell syntax found outside quotes, which runs literally here (pipes, redirections, variables, globs) */
  literal: string[];
}

const SHELL_SYNTAX: [RegExp, string][] = [
  [/^(\|\|?|&&?|;)$/, "operators"],
  [/^[<>]|^\d?>>?/, "redirections"],
  [/\$/, "variables"],
  [/[*?]/, "wildcards"],
  [/^~/, "~"],
  [/`/, "backquotes"],
];

/** Split `line` into words: whitespace separates; '…' is literal; "…" keeps \" \\ \$ \` escapes; a backslash
 * outside quotes escapes the next character (a backslash-newline joins lines). */
export function splitCommand(line: string): SplitResult {
  const argv: string[] = [];
  const literal = new Set<string>();
  let word = "";
  let inWord = false;
  let bare = ""; // the unquoted characters of the current word, to spot shell syntax
  let i = 0;
  const end = () => {
    if (!inWord) return;
    argv.push(word);
    for (const [re, what] of SHELL_SYNTAX) if (re.test(bare)) literal.add(what);
    word = "";
    bare = "";
    inWord = false;
  };
  while (i < line.length) {
    const c = line[i] as string;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      end();
      i++;
    } else if (c === "'") {
      const close = line.indexOf("'", i + 1);
      if (close < 0) return { argv: [...argv, word + line.slice(i + 1)], error: `unterminated ' (column ${i + 1})`, literal: [...literal] };
      word += line.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < line.length) {
        const d = line[j] as string;
        if (d === '"') {
          closed = true;
          break;
        }
        if (d === "\\" && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1] as string)) {
          if (line[j + 1] !== "\n") word += line[j + 1];
          j += 2;
          continue;
        }
        word += d;
        j++;
      }
      if (!closed) return { argv: [...argv, word], error: `unterminated " (column ${i + 1})`, literal: [...literal] };
      inWord = true;
      i = j + 1;
    } else if (c === "\\") {
      if (i + 1 >= line.length) {
        word += "\\";
        inWord = true;
        i++;
      } else if (line[i + 1] === "\n") {
        i += 2;
      } else {
        word += line[i + 1];
        inWord = true;
        i += 2;
      }
    } else {
      word += c;
      bare += c;
      inWord = true;
      i++;
    }
  }
  end();
  return { argv, error: null, literal: [...literal] };
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word quoted for a POSIX shell (only when needed): splitCommand(joinCommand(argv)) gives argv back. */
export function quoteWord(word: string): string {
  if (word === "") return "''";
  if (SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

export function joinCommand(argv: readonly string[]): string {
  return argv.map(quoteWord).join(" ");
}
