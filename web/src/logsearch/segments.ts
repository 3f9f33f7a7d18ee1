// A message cut into plain and matched pieces from the server's `match` spans (pure: tested beside it).

export interface Segment {
  text: string;
  match: boolean;
}

/** `spans`: [start, end) pairs in UTF-16 code units of `text` (Python counts code points: a character outside
 * the BMP shifts later spans, so spans are mapped from code points to code units first). Overlapping or
 * out-of-range spans are merged and clipped; the pieces always join back to `text`. */
export function segments(text: string, spans: number[][]): Segment[] {
  const units = codeUnitOffsets(text);
  const clean = spans
    .filter((s) => s.length === 2 && Number.isFinite(s[0]) && Number.isFinite(s[1]))
    .map(([a, b]) => [units(Math.max(0, a!)), units(Math.max(0, b!))] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  const out: Segment[] = [];
  let at = 0;
  for (const [a, b] of clean) {
    const start = Math.max(a, at);
    if (b <= start) continue;
    if (start > at) out.push({ text: text.slice(at, start), match: false });
    out.push({ text: text.slice(start, b), match: true });
    at = b;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out;
}

function codeUnitOffsets(text: string): (cp: number) => number {
  const table: number[] = [];
  let unit = 0;
  for (const ch of text) {
    table.push(unit);
    unit += ch.length;
  }
  table.push(unit);
  return (cp) => table[Math.min(cp, table.length - 1)]!;
}
