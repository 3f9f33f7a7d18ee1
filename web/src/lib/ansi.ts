// ANSI SGR colour sequences -> styled text segments (text only: rendered as React text, never markup).

export interface Segment {
  text: string;
  fg?: string;
  bold?: boolean;
}

/** The 16 ANSI colours, as in the terminal panel's theme. */
export const ANSI_COLORS = [
  "#000000", "#ff5555", "#50fa7b", "#ffd700", "#6a9fff", "#ff79c6", "#00e5ff", "#d6d6d6",
  "#808080", "#ff6e6e", "#69ff94", "#ffff80", "#9fc1ff", "#ff92df", "#a4ffff", "#ffffff",
];

function color256(n: number): string | undefined {
  if (n < 16) return ANSI_COLORS[n];
  if (n < 232) {
    const v = n - 16;
    const c = (x: number) => (x === 0 ? 0 : 55 + x * 40);
    return `rgb(${c(Math.floor(v / 36))},${c(Math.floor(v / 6) % 6)},${c(v % 6)})`;
  }
  if (n < 256) {
    const g = 8 + (n - 232) * 10;
    return `rgb(${g},${g},${g})`;
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex
const ESC = /\x1b\[([0-9;]*)m|\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** Split text with escape sequences into coloured segments; non-colour sequences are dropped. */
export function ansiSegments(input: string): Segment[] {
  const out: Segment[] = [];
  let fg: string | undefined;
  let bold = false;
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const prev = out[out.length - 1];
    if (prev && prev.fg === fg && !!prev.bold === bold) prev.text += text;
    else out.push(bold ? { text, fg, bold } : { text, fg });
  };
  for (const m of input.matchAll(ESC)) {
    push(input.slice(last, m.index));
    last = (m.index ?? 0) + m[0].length;
    if (m[1] === undefined) continue; // not a colour sequence
    const codes = m[1] === "" ? [0] : m[1].split(";").map(Number);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i] as number;
      if (c === 0) {
        fg = undefined;
        bold = false;
      } else if (c === 1) bold = true;
      else if (c === 22) bold = false;
      else if (c >= 30 && c <= 37) fg = ANSI_COLORS[c - 30];
      else if (c >= 90 && c <= 97) fg = ANSI_COLORS[c - 90 + 8];
      else if (c === 39) fg = undefined;
      else if (c === 38 && codes[i + 1] === 5) {
        fg = color256(codes[i + 2] ?? -1);
        i += 2;
      } else if (c === 38 && codes[i + 1] === 2) {
        fg = `rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`;
        i += 4;
      } else if (c === 48) i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0; // backgrounds: ignored
    }
  }
  push(input.slice(last));
  return out;
}
