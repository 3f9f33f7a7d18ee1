// The runs table's rows as blocks of the server's order, fetched by offset: only the blocks in view (and a
// margin) are asked for, so row 99,900 costs what row 0 costs and a jump never walks the pages in between.
import { queryOptions } from "@tanstack/react-query";
import { queryRuns, type ExpRun } from "./api";

/** Rows per request: a screen of rows (~45) and a margin, small enough that a sort answers fast. */
export const BLOCK = 100;
/** Rows fetched beyond each edge of the view, so a wheel scroll rarely shows a row still loading. */
export const MARGIN = 30;

export interface WindowQuery {
  project: string;
  filter: string;
  sort: string;
  summary: readonly string[];
}

/** The query of block `b` (rows b*BLOCK ... b*BLOCK+BLOCK-1 of the order). */
export function blockQuery(q: WindowQuery, b: number) {
  return queryOptions({
    queryKey: ["xp", "runs", q.project, q.filter, q.sort, q.summary, b] as const,
    queryFn: () =>
      queryRuns({ project: q.project, filter: q.filter, sort: q.sort, offset: b * BLOCK, limit: BLOCK, summary: q.summary }),
  });
}

/** The blocks holding rows `start`..`end` (inclusive) and `margin` rows beyond each edge; `total` (when known)
 * bounds them. */
export function blocksOf(start: number, end: number, total: number | null, margin = MARGIN): number[] {
  const last = total === null ? Infinity : Math.max(0, total - 1);
  const lo = Math.max(0, Math.min(start - margin, last));
  const hi = Math.max(lo, Math.min(end + margin, last));
  const out: number[] = [];
  for (let b = Math.floor(lo / BLOCK); b <= Math.floor(hi / BLOCK); b++) out.push(b);
  return out;
}

/** What the table shows: the row count and the run at a row (undefined: still loading). */
export interface RowsView {
  total: number;
  rowAt(i: number): ExpRun | undefined;
  /** the loaded runs in view, in order: what range selection and "select all" work on */
  loaded: ExpRun[];
  /** the row of run `id` among the loaded ones; -1: not loaded */
  indexOf(id: string): number;
}

/** The view of the blocks `loaded` (block -> its runs) with `total` rows. */
export function viewOf(loaded: ReadonlyMap<number, readonly ExpRun[]>, total: number): RowsView {
  const blocks = [...loaded.keys()].sort((a, b) => a - b);
  const runs: ExpRun[] = [];
  for (const b of blocks) runs.push(...(loaded.get(b) ?? []));
  return {
    total,
    rowAt: (i) => loaded.get(Math.floor(i / BLOCK))?.[i % BLOCK],
    loaded: runs,
    indexOf: (id) => {
      for (const b of blocks) {
        const at = (loaded.get(b) ?? []).findIndex((r) => r.id === id);
        if (at >= 0) return b * BLOCK + at;
      }
      return -1;
    },
  };
}
