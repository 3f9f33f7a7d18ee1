// /table: every run of a project as a sortable, filterable table; select runs to compare or group them.
import { keepPreviousData, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useNavigate } from "react-router";
import { ApiError } from "../api/client";
import { live } from "../api/live";
import { TopBar } from "../components/TopBar";
import { useKeybindings } from "../hooks/useKeybindings";
import { listProjects, projectKeys, type ExpRun } from "./api";
import { ColumnPicker } from "./ColumnPicker";
import { ConfigFilterList } from "./ConfigFilterList";
import { defaultColumns, flattenConfig, parseColumn } from "./columns";
import { varyingKeys } from "./group";
import { FILTER_FIELDS, appendClause, applyCompletion, completions, errorPosition, removeClause, wordAt } from "./filterExpr";
import { RunMeta } from "./RunMeta";
import { RunsTable } from "./RunsTable";
import { blockQuery, blocksOf, viewOf, type RowsView, type WindowQuery } from "./runsWindow";
import { compareHref } from "./savedSelection";
import { SavedViews } from "./SavedViews";
import { TableHelp } from "./TableHelp";
import { tableAction } from "./tableKeys";
import { useSelection } from "./useSelection";
import { useTableState } from "./useTableState";
import { XpNav } from "./XpNav";
import "./experiments.css";

/** The rows in view before the grid has measured itself: a screen of rows. */
const FIRST_VIEW = { start: 0, end: 44 };

const NO_KEYS = { config: [] as string[], metrics: [] as string[] };

/** Config and metric keys seen in the loaded runs: the picker's choices when the server has no key index. */
function keysOfRuns(runs: readonly ExpRun[]): { config: string[]; metrics: string[] } {
  const c = new Set<string>();
  const m = new Set<string>();
  for (const r of runs.slice(0, 2000)) {
    for (const k of Object.keys(flattenConfig(r.config ?? {}))) c.add(k);
    for (const k of Object.keys(r.metrics ?? {})) m.add(k);
  }
  return { config: [...c].sort(), metrics: [...m].sort() };
}

export function RunsTablePage() {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [state, update] = useTableState();
  const [draft, setDraft] = useState(state.filter);
  const [picker, setPicker] = useState(false);
  const [help, setHelp] = useState(false);
  const [caret, setCaret] = useState<number | null>(null);
  const filterRef = useRef<HTMLInputElement>(null);
  const gridRef = useRef<HTMLDivElement>(null);
  useEffect(() => setDraft(state.filter), [state.filter]);

  // a project's key index; across all projects the keys come from the loaded runs
  const keysQ = useQuery({
    queryKey: ["xp", "keys", state.project],
    queryFn: () => projectKeys(state.project),
    retry: false,
    enabled: !!state.project,
  });
  const serverColumns = useMemo(
    () => (keysQ.data ? defaultColumns(keysQ.data.config_keys, keysQ.data.metric_keys, true) : null),
    [keysQ.data],
  );
  // the summaries the rows carry: those of the metric columns shown (`*` until the keys are known)
  const summary = useMemo(() => {
    const cols = state.columns ?? serverColumns;
    if (!cols) return ["*"];
    const keys = new Set<string>();
    for (const id of cols) {
      const c = parseColumn(id);
      if (c?.kind === "metric") keys.add(c.key);
    }
    return [...keys].sort();
  }, [state.columns, serverColumns]);
  // the first window does not wait for the key index: it asks for every summary, and the windows after the
  // index arrived ask for the columns' summaries only (the first rows stay shown while that one is refetched).
  // (Waiting for the index put its request before the first rows: ~50-250 ms more under load.)
  const ready = true;
  const wq = useMemo<WindowQuery>(
    () => ({ project: state.project, filter: state.filter, sort: state.sort, summary }),
    [state.project, state.filter, state.sort, summary],
  );
  const ident = JSON.stringify([state.project, state.filter, state.sort, summary]);
  // a new project, filter or sort starts at the top
  const resetKey = JSON.stringify([state.project, state.filter, state.sort]);
  const [rangeState, setRangeState] = useState({ key: resetKey, ...FIRST_VIEW });
  const range = rangeState.key === resetKey ? rangeState : FIRST_VIEW;
  // the total of this query once one window told it: bounds the blocks asked for after a scroll
  const totals = useRef(new Map<string, number>());
  const knownTotal = totals.current.get(ident) ?? null;
  const blocks = blocksOf(range.start, range.end, knownTotal);
  const blocksKey = blocks.join(",");
  const onRange = useCallback(
    (start: number, end: number) =>
      // a new state only when the blocks in view change: a scroll within a block re-renders the grid alone
      setRangeState((cur) => {
        const next = { key: resetKey, start, end };
        const same = cur.key === resetKey && blocksOf(cur.start, cur.end, null).join(",") === blocksOf(start, end, null).join(",");
        return same ? cur : next;
      }),
    [resetKey],
  );
  const windows = useQueries({
    queries: blocks.map((b) => ({ ...blockQuery(wq, b), enabled: ready, refetchInterval: 5000 })),
  });
  // block 0 alone (shared with the window of the top): the default columns come from its runs; kept while a new
  // order loads so the columns do not change under the user
  const firstQ = useQuery({ ...blockQuery(wq, 0), enabled: ready, placeholderData: keepPreviousData });
  const signature = windows.map((w) => w.dataUpdatedAt).join(",");
  const current = useMemo(() => {
    const loaded = new Map<number, ExpRun[]>();
    let total: number | null = null;
    windows.forEach((w, i) => {
      const b = blocks[i];
      if (w.data && b !== undefined) {
        loaded.set(b, w.data.runs);
        total = w.data.total ?? total;
      }
    });
    return { loaded, total };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the windows' data changes exactly when signature does
  }, [signature, blocksKey, ident]);
  if (current.total !== null) totals.current.set(ident, current.total);
  // the view: this query's windows; while none of those in view has arrived after a new sort or filter, the
  // previous query's rows, dimmed (no blank table, no jump)
  const lastView = useRef<{ ident: string; view: RowsView } | null>(null);
  const view = useMemo<RowsView>(() => {
    if (current.loaded.size === 0 && lastView.current && lastView.current.ident !== ident) return lastView.current.view;
    return viewOf(current.loaded, current.total ?? knownTotal ?? 0);
  }, [current, ident, knownTotal]);
  const stale = current.loaded.size === 0 && view.total > 0;
  useEffect(() => {
    if (current.loaded.size > 0) lastView.current = { ident, view };
  }, [current, ident, view]);
  const loadingFirst = ready ? windows.some((w) => w.isLoading) && view.total === 0 && !lastView.current : true;
  const windowError = windows.find((w) => w.error)?.error ?? null;
  // the project list (the picker) after the first rows: it counts every project's runs, which the first window
  // need not wait behind
  const projectsQ = useQuery({
    queryKey: ["xp", "projects"],
    queryFn: listProjects,
    retry: false,
    enabled: !loadingFirst || !!windowError,
  });
  const fetching = windows.some((w) => w.isFetching);
  const total = current.total ?? knownTotal;
  const runs = view.loaded;
  const ids = useMemo(() => runs.map((r) => r.id), [runs]);
  // the focused row: its index, and its run's id once loaded (a re-sort keeps the run focused where it went,
  // and unfocuses it when it left the rows in view)
  const [cur, setCur] = useState<{ i: number; id: string | null }>({ i: -1, id: null });
  const viewRef = useRef(view);
  viewRef.current = view;
  const cursor = cursorIndex(view, cur);
  const setCursor = useCallback((i: number) => setCur({ i, id: i < 0 ? null : (viewRef.current.rowAt(i)?.id ?? null) }), []);
  const cursorRun = cur.i >= 0 && cur.id === null ? view.rowAt(cur.i) : undefined;
  useEffect(() => {
    if (cursorRun) setCur((c) => (c.id === null ? { i: c.i, id: cursorRun.id } : c));
  }, [cursorRun]);
  const sel = useSelection(ids);

  useEffect(
    () =>
      live.onMessage((m) => {
        const kinds = ["run_created", "status_change", "run_deleted", "run_updated", "reset"];
        if (kinds.includes(m.type)) void qc.invalidateQueries({ queryKey: ["xp", "runs"], refetchType: "active" });
      }),
    [qc],
  );

  // (only without the server's key index: flattening every loaded run's config on each new page is not free)
  const indexed = !!(keysQ.data?.config_keys.length && keysQ.data.metric_keys.length);
  const seen = useMemo(() => (indexed ? NO_KEYS : keysOfRuns(runs)), [indexed, runs]);
  const configKeys = keysQ.data?.config_keys.length ? keysQ.data.config_keys : seen.config;
  const metricKeys = keysQ.data?.metric_keys.length ? keysQ.data.metric_keys : seen.metrics;
  // one array per distinct column list: a new sort or filter does not re-render every row
  // the default config columns: the keys whose value varies across the first page's runs
  const firstPage = firstQ.data?.runs;
  const varying = useMemo(() => (firstPage ? varyingKeys(firstPage.map((r) => flattenConfig(r.config ?? {}))) : undefined), [firstPage]);
  const columnsKey = (state.columns ?? defaultColumns(configKeys, metricKeys, !!state.project, varying)).join("\n");
  const columns = useMemo(() => columnsKey.split("\n").filter(Boolean), [columnsKey]);
  const filterKeys = useMemo(
    () => [...FILTER_FIELDS, ...configKeys.map((k) => `config.${k}`), ...metricKeys],
    [configKeys, metricKeys],
  );
  const [placeCaret, setPlaceCaret] = useState<number | null>(null);
  useLayoutEffect(() => {
    if (placeCaret === null) return;
    filterRef.current?.setSelectionRange(placeCaret, placeCaret);
    setPlaceCaret(null);
  }, [placeCaret]);
  const typing = caret === null ? null : wordAt(draft, caret);
  const suggestions = typing ? completions(typing.word, filterKeys) : [];
  const complete = (key: string) => {
    if (!typing || caret === null) return;
    const next = applyCompletion(draft, typing.start, caret, key);
    setDraft(next.text);
    setCaret(next.caret);
    setPlaceCaret(next.caret); // in the same commit as the text (a frame later, keys typed meanwhile went astray)
  };
  const archivedShown = /\barchived\b/.test(state.filter);
  const projects = useMemo(() => {
    const s = new Set((projectsQ.data ?? []).map((p) => p.name));
    for (const r of runs) if (r.project) s.add(r.project);
    if (state.project) s.add(state.project);
    return [...s].sort();
  }, [projectsQ.data, runs, state.project]);

  const openRun = useCallback((r: ExpRun) => navigate(`/runs/${encodeURIComponent(r.id)}`), [navigate]);
  const onSort = useCallback(
    (sort: string) => {
      // the new order's first window is requested now, not once React has rendered the new header and the
      // query's effect runs (tens of ms on a busy machine); the table's query takes this fetch over
      if (ready) void qc.prefetchQuery(blockQuery({ ...wq, sort }, 0));
      update({ sort });
    },
    [qc, ready, wq, update],
  );
  const filterError = windowError instanceof ApiError && windowError.status === 422 ? windowError.message : null;
  const pos = filterError ? errorPosition(filterError) : null;
  const focused: ExpRun | undefined = cursor >= 0 ? view.rowAt(cursor) : undefined;
  // every ticked run, also those scrolled out of the window (in the order they were ticked)
  const selectedIds = useMemo(() => [...sel.selected], [sel.selected]);
  const compareIds = selectedIds.length ? selectedIds : focused ? [focused.id] : [];
  const compare = () => {
    if (compareIds.length) navigate(compareHref(compareIds));
  };
  const group = (by: string) => {
    const p = new URLSearchParams({ by });
    if (selectedIds.length) p.set("runs", selectedIds.join(","));
    else {
      if (state.project) p.set("project", state.project);
      if (state.filter) p.set("filter", state.filter);
    }
    navigate(`/group?${p.toString()}`);
  };

  useKeybindings([
    { keys: ["/"], run: () => filterRef.current?.focus() },
    { keys: ["?"], run: () => setHelp(true) },
    { keys: ["Escape"], always: true, run: () => (help ? setHelp(false) : picker ? setPicker(false) : undefined) },
  ]);

  const onGridKey = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.target !== e.currentTarget) return; // a checkbox or button inside keeps its keys
    const act = tableAction(e);
    if (!act) return;
    e.preventDefault();
    if (act.kind === "move") setCursor(act.to(cursor < 0 ? cur.i : cursor, view.total));
    else if (act.kind === "toggle") {
      if (focused) sel.toggle(focused.id, e.shiftKey);
    }
    else if (act.kind === "toggleAll") sel.toggleAll();
    else if (act.kind === "open") {
      if (focused) navigate(`/runs/${encodeURIComponent(focused.id)}`);
    }
    else if (act.kind === "compare") compare();
    else sel.clear();
  };

  return (
    <div className="app xp-page">
      <TopBar total={total ?? 0} running={runs.filter((r) => r.status === "running").length} onHelp={() => setHelp(true)} />
      <XpNav>
        <span className="muted small xp-keys-hint">j/k move · space select · c compare · enter open · / filter</span>
      </XpNav>
      <div className="xp-toolbar toolbar">
        <select
          className="input"
          aria-label="project"
          value={state.project}
          onChange={(e) => update({ project: e.target.value, columns: null })}
        >
          <option value="">all projects</option>
          {projects.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <form
          className="xp-filter"
          onSubmit={(e) => {
            e.preventDefault();
            update({ filter: draft.trim() });
            setCursor(-1);
          }}
        >
          <input
            ref={filterRef}
            className={`input grow${filterError ? " bad" : ""}`}
            aria-label="filter expression"
            aria-invalid={!!filterError}
            placeholder="/ filter: config.lr < 1e-3 and status = failed and val/loss < 0.2   (Enter applies)"
            value={draft}
            spellCheck={false}
            onChange={(e) => {
              setDraft(e.target.value);
              setCaret(e.target.selectionStart);
            }}
            onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
            onBlur={() => setTimeout(() => setCaret(null), 150)}
            aria-autocomplete="list"
            aria-controls="xp-suggest"
            onKeyDown={(e) => {
              if (e.key === "Tab" && suggestions[0] && !e.shiftKey) {
                e.preventDefault();
                complete(suggestions[0]);
              }
              if (e.key === "Escape") {
                setDraft(state.filter);
                gridRef.current?.querySelector<HTMLElement>(".xp-scroll")?.focus();
              }
            }}
          />
          {suggestions.length > 0 && (
            <ul className="xp-suggest" id="xp-suggest" role="listbox" aria-label="keys">
              {suggestions.map((k, i) => (
                <li key={k} role="option" aria-selected={i === 0}>
                  <button type="button" onMouseDown={(e) => e.preventDefault()} onClick={() => complete(k)}>
                    {k}
                  </button>
                  {i === 0 && <span className="muted small"> Tab</span>}
                </li>
              ))}
            </ul>
          )}
          <button className="btn" type="submit">
            APPLY
          </button>
          {state.filter && (
            <button
              className="btn"
              type="button"
              onClick={() => {
                setDraft("");
                update({ filter: "" });
              }}
            >
              CLEAR
            </button>
          )}
        </form>
        <button
          className={`btn${archivedShown ? " on" : ""}`}
          title="archived runs are hidden unless the filter names them"
          onClick={() =>
            update({
              filter: archivedShown ? removeClause(state.filter, "archived = true") : appendClause(state.filter, "archived = true"),
            })
          }
        >
          {archivedShown ? "HIDE ARCHIVED" : "ARCHIVED"}
        </button>
        <button className={`btn${picker ? " on" : ""}`} aria-expanded={picker} onClick={() => setPicker((v) => !v)}>
          COLUMNS ({columns.length})
        </button>
        <SavedViews
          state={state}
          columns={columns}
          onApply={(v) => update({ filter: v.filter, sort: v.sort, columns: v.columns.length ? v.columns : null })}
        />
      </div>
      {filterError && (
        <div className="xp-error red" role="alert">
          filter: {filterError}
          {pos !== null && (
            <pre className="xp-caret">
              {state.filter}
              {"\n"}
              {" ".repeat(Math.min(pos, state.filter.length))}^
            </pre>
          )}
        </div>
      )}
      <div className="xp-selbar toolbar" aria-live="polite">
        <span className="muted">
          {loadingFirst
            ? "loading…"
            : `${view.total.toLocaleString("en-US")} runs${view.total > 0 ? ` · rows ${(range.start + 1).toLocaleString("en-US")}–${Math.min(range.end + 1, view.total).toLocaleString("en-US")} in view (End: the last, Home: the first)` : ""}`}
          {fetching && !loadingFirst ? " ·" : ""}
        </span>
        <span className="amber">{selectedIds.length ? `${selectedIds.length} selected` : ""}</span>
        <button className="btn" disabled={compareIds.length === 0} onClick={compare} title="overlay the selected runs (c)">
          COMPARE{selectedIds.length ? ` ${selectedIds.length}` : ""} →
        </button>
        <select
          className="input"
          aria-label="group by"
          value=""
          onChange={(e) => e.target.value && group(e.target.value)}
          title="group the selected runs (or all matching the filter)"
        >
          <option value="">GROUP BY…</option>
          <option value="tag">tag</option>
          {configKeys.map((k) => (
            <option key={k} value={`config.${k}`}>
              {k}
            </option>
          ))}
        </select>
        {selectedIds.length > 0 && (
          <button className="btn" onClick={sel.clear}>
            CLEAR SELECTION
          </button>
        )}
      </div>
      {picker && (
        <ColumnPicker
          configKeys={configKeys}
          metricKeys={metricKeys}
          columns={columns}
          onChange={(c) => update({ columns: c })}
          onClose={() => setPicker(false)}
        />
      )}
      <main className="xp-body" ref={gridRef}>
        {windowError && !filterError && view.total === 0 ? (
          <div className="center red">cannot load runs: {(windowError as Error).message}</div>
        ) : (
          <RunsTable
            total={view.total}
            rowAt={view.rowAt}
            loaded={runs}
            columns={columns}
            sort={state.sort}
            onSort={onSort}
            selected={sel.selected}
            onToggle={sel.toggle}
            onToggleAll={sel.toggleAll}
            cursor={cursor}
            onCursor={setCursor}
            onOpen={openRun}
            onRange={onRange}
            resetKey={resetKey}
            onKeyDown={onGridKey}
            busy={stale || loadingFirst}
          />
        )}
        {!loadingFirst && !stale && !fetching && view.total === 0 && !filterError && (
          <div className="empty">{state.filter ? "no run matches the filter" : "no runs"}</div>
        )}
        <aside className="xp-side" aria-label="run details">
          {focused ? (
            <>
              <RunMeta run={focused} onDeleted={(id) => (sel.drop(id), setCursor(-1))} />
              <div className="muted xp-side-head">CONFIG · = keeps runs with that value</div>
              <ConfigFilterList config={focused.config} filter={state.filter} onFilter={(f) => update({ filter: f })} />
            </>
          ) : (
            <div className="empty">click a row (or j/k) to see and edit its tags, notes and name</div>
          )}
        </aside>
      </main>
      {help && <TableHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

/** The focused row's index in `view`: where its run is now (a re-sort moves it), -1 when the run left the
 * loaded rows, the row itself while its window loads. */
function cursorIndex(view: RowsView, cur: { i: number; id: string | null }): number {
  if (cur.i < 0) return -1;
  const row = view.rowAt(cur.i);
  if (cur.id === null || row?.id === cur.id) return cur.i;
  const at = view.indexOf(cur.id);
  if (at >= 0) return at;
  return row ? -1 : cur.i;
}
