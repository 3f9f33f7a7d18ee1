// Permalinks of a run's log: `/runs/{id}?line=N`, `?offset=B` (a raw byte offset) or `?t=EPOCH` (a moment).
// Anything else in the query is ignored; a malformed value is no permalink (the page opens as usual).

export type Place = { line: number } | { offset: number } | { t: number };

const INT = /^\d{1,16}$/;
const NUM = /^\d{1,12}(\.\d{1,9})?$/;

/** The place a page URL's query names, or null. The first of line, offset, t that is well formed wins. */
export function parsePlace(search: URLSearchParams): Place | null {
  const line = search.get("line");
  if (line !== null && INT.test(line)) return { line: Number(line) };
  const offset = search.get("offset");
  if (offset !== null && INT.test(offset)) return { offset: Number(offset) };
  const t = search.get("t");
  if (t !== null && NUM.test(t)) return { t: Number(t) };
  return null;
}

/** The query string (with `?`) of a place. */
export function placeQuery(place: Place): string {
  if ("line" in place) return `?line=${place.line}`;
  if ("offset" in place) return `?offset=${place.offset}`;
  return `?t=${place.t.toFixed(3)}`;
}

/** The run page's path at a place. */
export function permalinkPath(runId: string, place: Place): string {
  return `/runs/${encodeURIComponent(runId)}${placeQuery(place)}`;
}

/** The absolute URL (what "copy link" puts on the clipboard). */
export function permalinkUrl(runId: string, place: Place, origin: string = window.location.origin): string {
  return origin + permalinkPath(runId, place);
}

/** The metric step at `time`: the last point logged at or before it (null when none was). */
export function stepAt(steps: readonly number[], times: readonly number[], time: number): { step: number; since: number | null } | null {
  let found = -1;
  for (let i = 0; i < times.length; i++) {
    if ((times[i] as number) <= time) found = i;
    else break;
  }
  if (found < 0) return null;
  return { step: steps[found] as number, since: found > 0 ? (times[found - 1] as number) : null };
}
