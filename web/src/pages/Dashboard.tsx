import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Suspense, lazy, useEffect, useMemo, useRef, useState, type CSSProperties } from "react";
import { useNavigate, useParams } from "react-router";
import { ApiError, getRun } from "../api/client";
import { live } from "../api/live";
import type { Run } from "../api/types";
import { MetricsPanel } from "../charts/MetricsPanel";
import { ActionsPanel } from "../components/ActionsPanel";
import { UnreachableBanner } from "../components/Banner";
import { CheckpointTable } from "../components/CheckpointTable";
import { ConfigTree } from "../components/ConfigTree";
import { EventLog } from "../components/EventLog";
import { HelpOverlay } from "../components/HelpOverlay";
import { Panel } from "../components/Panel";
import { RunList, compareHref, defaultFilter, type RunFilter } from "../components/RunList";
import { useLiveRunList } from "../components/useLiveRunList";
import { SystemPanel } from "../components/SystemPanel";
import { TopBar } from "../components/TopBar";
import { useDashboardKeybindings, type LogTab } from "../hooks/useDashboardKeybindings";
import { Splitter } from "../layout/Splitter";
import { timeline } from "../timeline/moment";
import { useLayout } from "../layout/useLayout";
import { LinesView, type LinesHandle } from "../lines/LinesView";
import { RanksPanel } from "../ranks/RanksPanel";
import { RichPanel } from "../rich/RichPanel";
import { RunAlerts } from "../alerts/RunAlerts";
import { BookmarkList } from "../bookmarks/BookmarkList";
import { usePermalink } from "../bookmarks/usePermalink";
import { PluginPanels } from "../plugins/PluginPanels";
import type { TerminalHandle } from "../terminal/TerminalPanel";

/** The run page's charts overlay live streams of this many runs at most (the shown one included); past it the
 * panel says so, and the compare page draws any number. */
const LIVE_OVERLAY_MAX = 7;

// xterm.js is loaded in its own chunk, so the charts paint without waiting for it
const TerminalPanel = lazy(() => import("../terminal/TerminalPanel").then((m) => ({ default: m.TerminalPanel })));

export function Dashboard() {
  const { runId } = useParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [filter, setFilter] = useState<RunFilter>(defaultFilter);
  const [compare, setCompare] = useState<string[]>([]);
  const [help, setHelp] = useState(false);
  const [logTab, setLogTab] = useState<LogTab>("terminal");
  const searchRef = useRef<HTMLInputElement>(null);
  const termRef = useRef<TerminalHandle>(null);
  const linesRef = useRef<LinesHandle>(null);

  const runsQ = useLiveRunList(filter); // the runs query, kept live by /ws (no re-download)
  const allRuns = runsQ.runs;
  const runs = allRuns;
  const listed = allRuns.find((r) => r.id === runId);
  const runQ = useQuery({
    queryKey: ["run", runId],
    queryFn: () => getRun(runId as string),
    enabled: !!runId && !listed && runsQ.isSuccess,
    refetchInterval: 3000,
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 3,
  });
  const run: Run | undefined = listed ?? runQ.data;

  // `/` opens the newest run
  useEffect(() => {
    if (!runId && runs[0]) navigate(`/runs/${encodeURIComponent(runs[0].id)}`, { replace: true });
  }, [runId, runs, navigate]);

  // live: new runs, status changes and checkpoints refresh what shows them
  useEffect(
    () =>
      live.onMessage((m) => {
        if (m.type === "reset") {
          for (const key of ["runs", "run", "events", "checkpoints"]) void qc.invalidateQueries({ queryKey: [key] });
          return;
        }
        if (["run_created", "status_change", "run_deleted", "run_updated"].includes(m.type))
          void qc.invalidateQueries({ queryKey: ["runs"] });
        if (["status_change", "checkpoint_saved", "event", "run_updated"].includes(m.type) && "run_id" in m) {
          void qc.invalidateQueries({ queryKey: ["events", m.run_id] });
          void qc.invalidateQueries({ queryKey: ["run", m.run_id] });
        }
        if (m.type === "checkpoint_saved") void qc.invalidateQueries({ queryKey: ["checkpoints", m.run_id] });
      }),
    [qc],
  );
  useEffect(() => (runId ? live.subscribe(runId, () => undefined) : undefined), [runId]);
  // another run: the time line goes back to live
  useEffect(() => timeline.set(null), [runId]);
  // a permalink (?line= / ?offset= / ?t=): LINES at its line, the time line at its moment
  const permalink = usePermalink(run?.id);
  useEffect(() => {
    if (permalink.target) setLogTab("lines");
  }, [permalink.target]);

  // every tick is kept (the COMPARE link opens them all); the live charts overlay the newest few and say so
  const ticked = useMemo(() => compare.filter((id) => id !== run?.id), [run, compare]);
  const overlay = useMemo(() => {
    if (!run) return [];
    const others = ticked.slice(-(LIVE_OVERLAY_MAX - 1)).map((id) => allRuns.find((r) => r.id === id));
    return [run, ...others.filter((r): r is Run => !!r)];
  }, [run, ticked, allRuns]);

  const select = (id: string) => navigate(`/runs/${encodeURIComponent(id)}`);

  // Layout: panel sizes (live while dragging, saved when the drag ends), folded panels, pinned charts.
  const layout = useLayout(run?.project ?? "default");
  const [dragging, setDragging] = useState<Record<string, number>>({});
  const boardRef = useRef<HTMLElement>(null);
  const size = (name: string): number | undefined => dragging[name] ?? layout.layout.sizes[name];
  const drag = (name: string) => (px: number) => setDragging((d) => ({ ...d, [name]: px }));
  const commit = (name: string) => (px: number) => {
    layout.setSize(name, px);
    setDragging((d) => Object.fromEntries(Object.entries(d).filter(([k]) => k !== name)));
  };
  const measure = (sel: string, dim: "offsetHeight" | "offsetWidth") => () =>
    boardRef.current?.querySelector<HTMLElement>(sel)?.[dim] ?? 400;
  const fold = (panel: string) => ({ collapsed: layout.isCollapsed(panel), onToggle: () => layout.toggleCollapsed(panel) });
  const metricsH = size("metrics");
  // a column whose panels are all folded gives its width back (the stylesheet narrows it; no saved width then)
  const allFolded = (ids: string[]) => ids.every((id) => layout.isCollapsed(id));
  const sideW = allFolded(["runs", "system", "events"]) ? undefined : size("side");
  const infoW = allFolded(["config", "ckpt", "actions"]) ? undefined : size("info");
  const boardStyle = {
    ...(metricsH ? { "--metrics-h": `${metricsH}px` } : {}),
    ...(sideW ? { "--side-w": `${sideW}px` } : {}),
    ...(infoW ? { "--info-w": `${infoW}px` } : {}),
  } as CSSProperties;
  const splitter = (name: string, axis: "x" | "y", label: string, sel: string, invert = false) => {
    const [min, max] = layout.bounds(name);
    return (
      <Splitter
        axis={axis}
        label={label}
        min={min}
        max={max}
        invert={invert}
        getValue={measure(sel, axis === "x" ? "offsetWidth" : "offsetHeight")}
        onDrag={drag(name)}
        onCommit={commit(name)}
      />
    );
  };
  const resetLayout = (
    <button
      className="btn"
      onClick={() => {
        setDragging({});
        layout.reset();
      }}
      title="panel sizes and folded panels back to the defaults (pinned charts stay)"
    >
      RESET LAYOUT
    </button>
  );

  const keys = { runs, runId, logTab, select, setLogTab, setCompare, setHelp, searchRef, termRef, linesRef };
  useDashboardKeybindings(keys);

  const running = runsQ.running;
  const noRuns = runsQ.isSuccess && runsQ.data?.total === 0;
  const notFound = runQ.isError && runQ.error instanceof ApiError && runQ.error.status === 404;

  return (
    <div className="app">
      <TopBar total={runsQ.data?.total ?? allRuns.length} running={running} onHelp={() => setHelp(true)} extra={resetLayout} />
      <UnreachableBanner />
      {runsQ.isError && !runsQ.data ? (
        <div className="center red">cannot load runs: {(runsQ.error as Error).message} — retrying…</div>
      ) : runsQ.isLoading ? (
        <div className="center">loading runs…</div>
      ) : noRuns ? (
        <div className="center">
          <div className="amber big">no runs yet — run `trainboard demo` or see the README</div>
          <div className="muted">
            or wrap any script: <span className="amber">trainboard run --name exp -- python train.py</span>
          </div>
        </div>
      ) : (
        <main className="board" ref={boardRef} style={boardStyle}>
          <div className="col col-side">
            <Panel
              title="RUNS"
              className="p-runs"
              {...fold("runs")}
              extra={
                <span className="muted">
                  {runsQ.label}
                </span>
              }
            >
              <RunList
                ref={searchRef}
                runs={runs}
                allRuns={allRuns}
                window={runsQ.window}
                filter={filter}
                onFilter={setFilter}
                selected={runId}
                onSelect={select}
                compare={compare}
                overlay={overlay.map((r) => r.id)}
                onToggleCompare={(id) =>
                  setCompare((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]))
                }
              />
            </Panel>
            <Panel title="SYSTEM" className="p-system" {...fold("system")}>
              <SystemPanel runId={run?.id} run={run} />
            </Panel>
            <Panel title="EVENTS" className="p-events" {...fold("events")}>
              <EventLog runId={run?.id} />
            </Panel>
          </div>
          {splitter("side", "x", "resize the runs column", ".col-side")}
          {!run ? (
            <div className="col col-main">
              <Panel title="RUN" className="p-metrics">
                <div className="empty">{notFound ? `run ${runId} not found` : runId ? "loading run…" : "select a run"}</div>
              </Panel>
            </div>
          ) : (
            <>
              <div className="col col-main">
                <Panel
                  title={`METRICS · ${run.name}${overlay.length > 1 ? ` +${overlay.length - 1}` : ""}`}
                  className="p-metrics"
                  {...fold("metrics")}
                  extra={
                    ticked.length > LIVE_OVERLAY_MAX - 1 ? (
                      <span className="amber overlay-cap">
                        live overlay: the {LIVE_OVERLAY_MAX - 1} newest of {ticked.length} ticked runs —{" "}
                        <a href={compareHref([run.id, ...ticked])}>COMPARE all {ticked.length + 1} →</a>
                      </span>
                    ) : undefined
                  }
                >
                  <MetricsPanel runs={overlay} layout={layout} />
                </Panel>
                {splitter("metrics", "y", "resize the charts and the log", ".p-metrics")}
                <Panel
                  title="LOG"
                  className="p-log"
                  id="log"
                  {...fold("log")}
                  extra={
                    <span className="seg" role="tablist">
                      <button role="tab" className={logTab === "terminal" ? "on" : ""} onClick={() => setLogTab("terminal")}>
                        TERMINAL
                      </button>
                      <button role="tab" className={logTab === "lines" ? "on" : ""} onClick={() => setLogTab("lines")}>
                        LINES
                      </button>
                    </span>
                  }
                >
                  <div className={logTab === "terminal" ? "tab" : "tab hidden"}>
                    <Suspense fallback={<div className="empty">loading terminal…</div>}>
                      <TerminalPanel ref={termRef} run={run} />
                    </Suspense>
                  </div>
                  {logTab === "lines" && (
                    <div className="tab">
                      <LinesView
                        ref={linesRef}
                        runId={run.id}
                        running={run.status === "running"}
                        target={permalink.target}
                        onLeaveTarget={permalink.clear}
                      />
                    </div>
                  )}
                </Panel>
                <RanksPanel run={run} {...fold("ranks")} />
                <RichPanel run={run} others={overlay.slice(1)} {...fold("rich")} />
              </div>
              {splitter("info", "x", "resize the config and checkpoints column", ".col-info", true)}
              <div className="col col-info">
                <RunAlerts runId={run.id} {...fold("alerts")} />
                <Panel title="CONFIG" className="p-config" {...fold("config")}>
                  <ConfigTree config={run.config} />
                </Panel>
                <Panel title="CHECKPOINTS" className="p-ckpt" {...fold("ckpt")}>
                  <CheckpointTable runId={run.id} />
                </Panel>
                <Panel title="BOOKMARKS" className="p-bookmarks" {...fold("bookmarks")}>
                  <BookmarkList runId={run.id} />
                </Panel>
                <Panel title="ACTIONS" className="p-actions" {...fold("actions")}>
                  <ActionsPanel run={run} onHelp={() => setHelp(true)} />
                </Panel>
                <PluginPanels run={run} />
              </div>
            </>
          )}
        </main>
      )}
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
    </div>
  );
}
