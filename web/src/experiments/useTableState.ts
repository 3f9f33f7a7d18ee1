// The runs table's state lives in the address bar (project, filter, sort, columns), so a reload, a link or
// the back button shows the same table; saved views store the same triple on the server.
import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";

export interface TableState {
  project: string;
  filter: string;
  sort: string;
  /** null: the defaults (none chosen yet) */
  columns: string[] | null;
}

export function readTableState(p: URLSearchParams): TableState {
  const cols = p.get("cols");
  return {
    project: p.get("project") ?? "",
    filter: p.get("filter") ?? "",
    sort: p.get("sort") ?? "",
    columns: cols === null ? null : cols.split("\n").filter(Boolean),
  };
}

export function writeTableState(s: TableState): URLSearchParams {
  const p = new URLSearchParams();
  if (s.project) p.set("project", s.project);
  if (s.filter) p.set("filter", s.filter);
  if (s.sort) p.set("sort", s.sort);
  // column ids hold dots, slashes, colons and commas (config keys may): one per line
  if (s.columns) p.set("cols", s.columns.join("\n"));
  return p;
}

export function useTableState(): [TableState, (patch: Partial<TableState>) => void] {
  const [params, setParams] = useSearchParams();
  const state = useMemo(() => readTableState(params), [params]);
  const update = useCallback(
    (patch: Partial<TableState>) => setParams((p) => writeTableState({ ...readTableState(p), ...patch }), { replace: true }),
    [setParams],
  );
  return [state, update];
}
