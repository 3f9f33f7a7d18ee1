// The live dashboard's run list as the runs query answers it (server-side search, project, status and
// order; pages of PAGE runs, more on demand) and how a `/ws` change is applied to the pages already shown,
// instead of downloading the list again. Pure: the hook (useLiveRunList.ts) owns the fetching.
import type { LiveMessage } from "../api/live";
import type { Run } from "../api/types";
import type { RunFilter } from "./RunList";

/** Runs per page of the live list. */
export const PAGE = 200;

export interface ListPage {
  runs: Run[];
  total: number;
  next_cursor: string | null;
}

/** The `GET /api/runs` parameters of a filter. */
export function listParams(f: RunFilter, search: string): Record<string, string | number | undefined> {
  return {
    search: search.trim() || undefined,
    project: f.project || undefined,
    status: f.status || undefined,
    sort: f.newestFirst ? "-start_time" : "start_time",
    limit: PAGE,
  };
}

/** Whether a run belongs in the list of this filter (the server's `search`: a substring of name, project or id). */
export function matches(r: Run, f: RunFilter, search: string): boolean {
  const t = search.trim().toLowerCase();
  return (
    (!f.status || r.status === f.status) &&
    (!f.project || (r.project ?? "") === f.project) &&
    (!t || r.name.toLowerCase().includes(t) || (r.project ?? "").toLowerCase().includes(t) || r.id.toLowerCase().includes(t))
  );
}

/**
 * The pages after one socket message: a new run joins the top of a newest-first list when it matches, a
 * changed run is changed in place (or leaves a list whose status filter it no longer matches), a deleted
 * run leaves. `refetch` is true when the pages cannot be made exact from the message alone (a reset, a run
 * that now matches but is not shown, a new run in an oldest-first list): then ask the server again.
 */
export function applyMessage(
  pages: readonly ListPage[],
  msg: LiveMessage,
  f: RunFilter,
  search: string,
): { pages: ListPage[]; refetch: boolean; changed: boolean } {
  const same = { pages: pages as ListPage[], refetch: false, changed: false };
  const shown = (id: string) => pages.some((p) => p.runs.some((r) => r.id === id));
  const map = (fn: (r: Run) => Run | null, totalDelta = 0): ListPage[] =>
    pages.map((p) => ({
      ...p,
      total: Math.max(0, p.total + totalDelta),
      runs: p.runs.flatMap((r) => {
        const out = fn(r);
        return out ? [out] : [];
      }),
    }));
  switch (msg.type) {
    case "reset":
      return { pages: pages as ListPage[], refetch: true, changed: false };
    case "run_created": {
      const run = msg.run;
      if (!matches(run, f, search) || shown(run.id)) return same;
      if (!f.newestFirst || pages.length === 0) return { pages: map((r) => r, 1), refetch: true, changed: true };
      const [first, ...rest] = map((r) => r, 1);
      return { pages: [{ ...(first as ListPage), runs: [run, ...(first as ListPage).runs] }, ...rest], refetch: false, changed: true };
    }
    case "run_deleted":
      if (!shown(msg.run_id)) return same;
      return { pages: map((r) => (r.id === msg.run_id ? null : r), -1), refetch: false, changed: true };
    case "status_change": {
      if (!shown(msg.run_id)) return f.status === msg.new_status ? { ...same, refetch: true } : same;
      const leaves = !!f.status && f.status !== msg.new_status;
      return {
        pages: map((r) => (r.id !== msg.run_id ? r : leaves ? null : { ...r, status: msg.new_status, exit_code: msg.exit_code ?? r.exit_code }), leaves ? -1 : 0),
        refetch: false,
        changed: true,
      };
    }
    case "run_updated": {
      const run = msg.run;
      const now = matches(run, f, search) && !run.archived;
      if (!shown(run.id)) return now ? { ...same, refetch: true } : same;
      return { pages: map((r) => (r.id !== run.id ? r : now ? { ...r, ...run } : null), now ? 0 : -1), refetch: false, changed: true };
    }
    default:
      return same;
  }
}

/** "200 of 9,997" (the count shown, of all that match). */
export function shownOf(shown: number, total: number): string {
  const f = (n: number) => n.toLocaleString("en-US");
  return shown >= total ? f(total) : `${f(shown)} of ${f(total)}`;
}
