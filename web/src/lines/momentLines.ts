// Which LINES rows belong to a moment of the time line: the output printed after the previous metric point
// and up to the clicked one (by line time), as positions in the filtered list the view shows.
import { request, type LineFilters } from "../api/client";

async function countUntil(runId: string, f: LineFilters, until: number): Promise<number> {
  const q = new URLSearchParams({ until: String(until), limit: "1", count: "true" });
  if (f.level) q.set("level", f.level);
  if (f.source) q.set("source", f.source);
  if (f.search) q.set(f.regex ? "regex" : "search", f.search);
  const res = await request(`/api/runs/${encodeURIComponent(runId)}/logs/lines?${q.toString()}`);
  const body = (await res.json()) as { total?: number | null };
  return body.total ?? 0;
}

/** Rows [first, last] (indexes in the filtered list) printed in (since, time]; or just the last row printed
 * by `time` when that step printed nothing; null when nothing was printed yet. */
export async function momentRows(
  runId: string,
  f: LineFilters,
  since: number | null,
  time: number,
): Promise<{ first: number; last: number; exact: boolean } | null> {
  const [upTo, before] = await Promise.all([countUntil(runId, f, time), since === null ? 0 : countUntil(runId, f, since)]);
  return rowsBetween(before, upTo);
}

/** Pure part of momentRows: `before` lines were printed by the previous point, `upTo` by this one. */
export function rowsBetween(before: number, upTo: number): { first: number; last: number; exact: boolean } | null {
  if (upTo <= 0) return null;
  if (upTo > before) return { first: before, last: upTo - 1, exact: true };
  return { first: upTo - 1, last: upTo - 1, exact: false };
}
