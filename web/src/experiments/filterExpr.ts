// Helpers around the server's filter language (`config.lr < 1e-3 and status = failed and val/loss < 0.2`):
// the server parses; the UI points at the error and builds clauses from what the user clicks.
import { parseColumn, type ColumnId, type Scalar } from "./columns";

/** The 0-based character position a 422 detail names ("... at position 12", "col 12", "offset 12"). */
export function errorPosition(detail: string): number | null {
  const m = /(?:position|pos\.?|column|col|offset|char(?:acter)?)\s*:?\s*(\d+)/i.exec(detail);
  return m ? Number(m[1]) : null;
}

/** A value as the filter language reads it: numbers bare, other text quoted with escapes. */
export function filterLiteral(v: Scalar): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
  if (typeof v === "boolean") return String(v);
  if (v === null) return "null";
  return JSON.stringify(v);
}

/** The key a column is filtered by (`config.lr`, `val/loss.min`, `status`), or null for tags/duration/start. */
export function filterKey(id: ColumnId): string | null {
  const c = parseColumn(id);
  if (!c) return null;
  if (c.kind === "config") return `config.${c.key}`;
  if (c.kind === "metric") return c.stat === "last" ? c.key : `${c.key}.${c.stat}`;
  return c.id === "name" || c.id === "status" || c.id === "project" ? c.id : null;
}

/** `filter and clause` (parenthesised when the filter has an `or` of its own), or the clause alone. */
export function appendClause(filter: string, clause: string): string {
  const f = filter.trim();
  if (!f) return clause;
  return /\bor\b/i.test(f) ? `(${f}) and ${clause}` : `${f} and ${clause}`;
}

/** The clause that keeps runs equal to a cell's value. */
export function equalsClause(id: ColumnId, v: Scalar): string | null {
  const key = filterKey(id);
  return key === null ? null : `${key} = ${filterLiteral(v)}`;
}

/** The word being typed at the caret (a key prefix to complete) and where it starts. */
export function wordAt(text: string, caret: number): { word: string; start: number } {
  let start = caret;
  while (start > 0 && /[\w./:-]/.test(text[start - 1] as string)) start--;
  return { word: text.slice(start, caret), start };
}

/** Run fields the filter language knows besides config and metric keys. */
export const FILTER_FIELDS = ["name", "status", "project", "tags", "notes", "start_time", "duration", "exit_code", "archived"];

/** Keys that complete the word being typed: prefix matches first, then substring matches; none for an exact key. */
export function completions(word: string, keys: readonly string[], max = 8): string[] {
  if (!word) return [];
  const w = word.toLowerCase();
  if (keys.some((k) => k.toLowerCase() === w)) return [];
  const starts = keys.filter((k) => k.toLowerCase().startsWith(w));
  const inside = keys.filter((k) => !k.toLowerCase().startsWith(w) && k.toLowerCase().includes(w));
  return [...starts, ...inside].slice(0, max);
}

/** The text with the word at [start, caret) replaced by `key`; returns the new text and caret. */
export function applyCompletion(text: string, start: number, caret: number, key: string): { text: string; caret: number } {
  const next = text.slice(0, start) + key + text.slice(caret);
  return { text: next, caret: start + key.length };
}

/** The inverse of appendClause: the filter without a trailing `and clause` (or the clause alone); unchanged when
 * the clause was not appended that way. */
export function removeClause(filter: string, clause: string): string {
  const f = filter.trim();
  if (f === clause) return "";
  const tail = ` and ${clause}`;
  if (!f.endsWith(tail)) return f;
  const rest = f.slice(0, -tail.length).trim();
  return /^\(.*\)$/.test(rest) && /\bor\b/i.test(rest) ? rest.slice(1, -1) : rest;
}
