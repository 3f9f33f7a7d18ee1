// Search matches inside a line, for highlighting: the same matching the server filters with (a
// case-insensitive substring, or a regular expression — Python's syntax mostly reads the same in JS).

export interface Piece {
  text: string;
  match: boolean;
}

/** A matcher for `search`, or null when there is nothing (valid) to highlight. */
export function matcher(search: string, regex: boolean): RegExp | null {
  if (!search) return null;
  try {
    const re = new RegExp(regex ? search : search.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
    return re.test("") ? null : re; // a pattern matching the empty string would mark nothing useful
  } catch {
    return null;
  }
}

/** `text` cut into matching and non-matching pieces (in order, covering all of it). */
export function splitMatches(text: string, re: RegExp | null): Piece[] {
  if (!re || !text) return [{ text, match: false }];
  const out: Piece[] = [];
  let at = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0] === "") {
      re.lastIndex++;
      continue;
    }
    if (m.index > at) out.push({ text: text.slice(at, m.index), match: false });
    out.push({ text: m[0], match: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out.length ? out : [{ text, match: false }];
}
