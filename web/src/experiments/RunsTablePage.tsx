// /table: every run of a project as a sortable, filterable table; select runs to compare or group them.
import { infiniteQueryOptions, keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useNavigate } from "react-router";
import { ApiError } from "../api/client";
import { live } from "../api/live";
import { TopBar } from "../components/TopBar";
import { useKeybindings } from "../hooks/useKeybindings";
import { listProjects, projectKeys, queryRuns, type ExpRun } from "./api";
import { ColumnPicker } from "./ColumnPicker";
import { ConfigFilterList } from "./ConfigFilterList";
import { defaultColumns, flattenConfig, parseColumn } from "./columns";
import { varyingKeys } from "./group";
import { FILTER_FIELDS, appendClause, applyCompletion, completions, errorPosition, removeClause, wordAt } from "./filterExpr";
import { RunMeta } from "./RunMeta";
import { RunsTable } from "./RunsTable";
import { SavedViews } from "./SavedViews";
import { TableHelp } from "./TableHelp";
import { tableAction } from "./tableKeys";
import { useSelection } from "./useSelection";
import { useTableState } from "./useTableState";
import { XpNav } from "./XpNav";
import "./experiments.css";

/** The first page fills the screen fast (a sort or filter answers quickly); the next ones are bigger. */
const FIRST_PAGE = 100;
const PAGE = 500;

/** The table's runs query for one (project, filter, sort, summaries): first page small, then bigger ones. */
function runsQuery(project: string, filter: string, sort: string, summary: string[]) {
  return infiniteQueryOptions({
    queryKey: ["xp", "runs", project, filter, sort, summary],
    queryFn: ({ pageParam }) =>
      queryRuns({ project, filter, sort, cursor: pageParam, limit: pageParam ? PAGE : FIRST_PAGE, summary }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

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
  // the focused run, by id: it stays focused when a re-sort or refresh moves it (and unfocused when it leaves)
  const [cursorId, setCursorId] = useState<string | null>(null);
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
  const projectsQ = useQuery({ queryKey: ["xp", "projects"], queryFn: listProjects, retry: false });
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
  const runsQ = useInfiniteQuery({
    ...runsQuery(state.project, state.filter, state.sort, summary),
    placeholderData: keepPreviousData,
    // one page: keep it fresh; more than one was scrolled in by the user: leave it still
    refetchInterval: (q) => ((q.state.data?.pages.length ?? 0) <= 1 ? 5000 : false),
  });
  const total = runsQ.data?.pages[0]?.total ?? null;
  // End with pages still to come: the last PAGE runs by offset (one request), not every page in between
  const [tailFrom, setTailFrom] = useState<number | null>(null);
  const tailKey = `${state.project}|${state.filter}|${state.sort}`;
  useEffect(() => setTailFrom(null), [tailKey]);
  const tailQ = useQuery({
    queryKey: ["xp", "runs-tail", state.project, state.filter, state.sort, summary, tailFrom],
    queryFn: () => queryRuns({ project: state.project, filter: state.filter, sort: state.sort, offset: tailFrom ?? 0, limit: PAGE, summary }),
    enabled: tailFrom !== null,
  });
  const tail = tailFrom !== null ? tailQ.data?.runs : undefined;
  const runs = useMemo(() => tail ?? runsQ.data?.pages.flatMap((p) => p.runs) ?? [], [tail, runsQ.data]);
  const ids = useMemo(() => runs.map((r) => r.id), [runs]);
  const idsRef = useRef(ids);
  idsRef.current = ids;
  const cursor = cursorId === null ? -1 : ids.indexOf(cursorId);
  const setCursor = useCallback((i: number) => setCursorId(i < 0 ? null : (idsRef.current[i] ?? null)), []);
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
  const firstPage = runsQ.data?.pages[0]?.runs;
  const varying = useMemo(() => (firstPage ? varyingKeys(firstPage.map((r) => flattenConfig(r.config ?? {}))) : undefined), [firstPage]);
  const columnsKey = (state.columns ?? defaultColumns(configKeys, metricKeys, !!state.project, varying)).join("\n");
  const columns = useMemo(() => columnsKey.split("\n").filter(Boolean), [columnsKey]);
  const filterKeys = useMemo(
    () => [...FILTER_FIELDS, ...configKeys.map((k) => `config.${k}`), ...metricKeys],
    [configKeys, metricKeys],
  );
  const typing = caret === null ? null : wordAt(draft, caret);
  const suggestions = typing ? completions(typing.word, filterKeys) : [];
  const complete = (key: string) => {
    if (!typing || caret === null) return;
    const next = applyCompletion(draft, typing.start, caret, key);
    setDraft(next.text);
    setCaret(next.caret);
    requestAnimationFrame(() => filterRef.current?.setSelectionRange(next.caret, next.caret));
  };
  const archivedShown = /\barchived\b/.test(state.filter);
  const projects = useMemo(() => {
    const s = new Set((projectsQ.data ?? []).map((p) => p.name));
    for (const r of runs) if (r.project) s.add(r.project);
    if (state.project) s.add(state.project);
    return [...s].sort();
  }, [projectsQ.data, runs, state.project]);

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = runsQ;
  const tailMode = tailFrom !== null;
  const onEndReached = useCallback(() => {
    if (!tailMode && hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [tailMode, hasNextPage, isFetchingNextPage, fetchNextPage]);
  // the last window arrived: the cursor on its last run
  const tailLast = tail?.at(-1)?.id ?? null;
  useEffect(() => {
    if (tailLast) setCursorId(tailLast);
  }, [tailLast]);

  const openRun = useCallback((r: ExpRun) => navigate(`/runs/${encodeURIComponent(r.id)}`), [navigate]);
  const onSort = useCallback(
    (sort: string) => {
      // the new order's first page is requested now, not once React has rendered the new header and the
      // query's effect runs (tens of ms on a busy machine); the table's query takes this fetch over
      void qc.prefetchInfiniteQuery(runsQuery(state.project, state.filter, sort, summary));
      update({ sort });
    },
    [qc, state.project, state.filter, summary, update],
  );
  const filterError = runsQ.error instanceof ApiError && runsQ.error.status === 422 ? runsQ.error.message : null;
  const pos = filterError ? errorPosition(filterError) : null;
  const focused: ExpRun | undefined = cursor >= 0 ? runs[cursor] : undefined;
  const selectedIds = ids.filter((id) => sel.selected.has(id));
  const compareIds = selectedIds.length ? selectedIds : focused ? [focused.id] : [];
  const compare = () => {
    if (compareIds.length) navigate(`/compare?runs=${compareIds.map(encodeURIComponent).join(",")}`);
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
    if (act.kind === "move" && e.key === "End" && tailFrom === null && runsQ.hasNextPage && total) {
      setTailFrom(Math.max(0, total - PAGE));
      setCursorId(null);
    } else if (act.kind === "move" && e.key === "Home" && tailFrom !== null) {
      setTailFrom(null);
      setCursorId(null);
    } else if (act.kind === "move") setCursor(act.to(cursor, runs.length));
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
      <TopBar total={total ?? runs.length} running={runs.filter((r) => r.status === "running").length} onHelp={() => setHelp(true)} />
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
          {runsQ.isLoading
            ? "loading…"
            : tailFrom !== null
              ? `runs ${(tailFrom + 1).toLocaleString("en-US")}–${(tailFrom + runs.length).toLocaleString("en-US")} of ${(total ?? 0).toLocaleString("en-US")} (the end: Home goes back to the top)`
              : `${runs.length}${total !== null && total !== undefined ? ` of ${total}` : ""} runs${runsQ.hasNextPage ? " (scroll for more, End jumps to the last)" : ""}`}
          {runsQ.isFetching && !runsQ.isLoading ? " ·" : ""}
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
        {runsQ.isError && !filterError && !runsQ.data ? (
          <div className="center red">cannot load runs: {(runsQ.error as Error).message}</div>
        ) : (
          <RunsTable
            runs={runs}
            columns={columns}
            sort={state.sort}
            onSort={onSort}
            selected={sel.selected}
            onToggle={sel.toggle}
            onToggleAll={sel.toggleAll}
            cursor={cursor}
            onCursor={setCursor}
            onOpen={openRun}
            onEndReached={onEndReached}
            onKeyDown={onGridKey}
            busy={runsQ.isPlaceholderData || runsQ.isLoading}
          />
        )}
        {!runsQ.isLoading && runs.length === 0 && !filterError && (
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
