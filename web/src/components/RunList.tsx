import { forwardRef, useMemo } from "react";
import type { Run, RunStatus } from "../api/types";
import { useKeybindings } from "../hooks/useKeybindings";
import { parseTime } from "../api/wire";
import { fmtDuration, fmtTime } from "../lib/format";
import { useScheme } from "../layout/useScheme";
import { runColor } from "../lib/theme";
import { compareHref as savedCompareHref } from "../experiments/savedSelection";
import { StatusBadge } from "./StatusBadge";
import { PAGE } from "./liveRunList";
import type { ListWindow } from "./useLiveRunList";

export interface RunFilter {
  text: string;
  project: string;
  status: "" | RunStatus;
  newestFirst: boolean;
}

export const defaultFilter: RunFilter = { text: "", project: "", status: "", newestFirst: true };

/** Filter (name, project, id; project; status) and sort (start time) the run list. */
export function filterRuns(runs: readonly Run[], f: RunFilter): Run[] {
  const text = f.text.trim().toLowerCase();
  const out = runs.filter(
    (r) =>
      (!f.status || r.status === f.status) &&
      (!f.project || (r.project ?? "") === f.project) &&
      (!text ||
        r.name.toLowerCase().includes(text) ||
        (r.project ?? "").toLowerCase().includes(text) ||
        r.id.toLowerCase().includes(text)),
  );
  const t = (r: Run) => {
    const v = parseTime(r.start_time);
    return Number.isFinite(v) ? v : 0;
  };
  out.sort((a, b) => (f.newestFirst ? t(b) - t(a) : t(a) - t(b)));
  return out;
}

interface Props {
  runs: Run[];
  allRuns: Run[];
  filter: RunFilter;
  onFilter(f: RunFilter): void;
  selected: string | undefined;
  onSelect(id: string): void;
  compare: string[];
  /** the runs the charts overlay, in their series order (the shown run first): a checkbox takes its run's series
   * colour (runColor of the one palette); a ticked run past the live overlay's cap has none */
  overlay?: readonly string[];
  onToggleCompare(id: string): void;
  /** the list is a window of the runs query: how many of how many, and the next page */
  window?: ListWindow;
}

function duration(r: Run): string {
  const s = parseTime(r.start_time);
  const e = r.end_time ? parseTime(r.end_time) : Date.now();
  return fmtDuration((e - s) / 1000);
}

/** The compare page's address for these runs. */
export function compareHref(ids: readonly string[]): string {
  return savedCompareHref(ids); // past a few hundred ids: a selection kept in this browser (experiments/savedSelection)
}

export const RunList = forwardRef<HTMLInputElement, Props>(function RunList(p, searchRef) {
  const scheme = useScheme();
  const windowProjects = p.window?.projects;
  const projects = useMemo(
    () => windowProjects ?? [...new Set(p.allRuns.map((r) => r.project ?? "").filter(Boolean))].sort(),
    [p.allRuns, windowProjects],
  );
  // the shown run first, then the ones ticked for overlay: what the compare page opens with
  const compareIds = [...new Set([...(p.selected ? [p.selected] : []), ...p.compare])];
  const openCompare = () => {
    if (compareIds.length > 1) window.location.assign(compareHref(compareIds));
  };
  useKeybindings([
    // x: keep the shown run overlaid (it stays when j/k move on); shift+C: open the comparison
    { keys: ["x"], run: () => p.selected && p.onToggleCompare(p.selected) },
    { keys: ["C"], run: openCompare },
  ]);
  return (
    <div className="runlist">
      <div className="toolbar">
        <input
          ref={searchRef}
          className="input grow"
          placeholder="/ filter name, project…"
          value={p.filter.text}
          onChange={(e) => p.onFilter({ ...p.filter, text: e.target.value })}
          aria-label="filter runs"
        />
        <select
          className="input"
          value={p.filter.project}
          onChange={(e) => p.onFilter({ ...p.filter, project: e.target.value })}
          aria-label="project"
        >
          <option value="">all projects</option>
          {projects.map((x) => (
            <option key={x} value={x}>
              {x}
            </option>
          ))}
        </select>
        <select
          className="input"
          value={p.filter.status}
          onChange={(e) => p.onFilter({ ...p.filter, status: e.target.value as RunFilter["status"] })}
          aria-label="status"
        >
          <option value="">all status</option>
          <option value="running">running</option>
          <option value="completed">completed</option>
          <option value="failed">failed</option>
          <option value="interrupted">interrupted</option>
        </select>
        <button
          className="btn"
          onClick={() => p.onFilter({ ...p.filter, newestFirst: !p.filter.newestFirst })}
          title="sort by start time"
        >
          START {p.filter.newestFirst ? "▼" : "▲"}
        </button>
      </div>
      <div className="toolbar" data-testid="compare-bar">
        {compareIds.length > 1 ? (
          <>
            <a className="btn link" href={compareHref(compareIds)} title="open the comparison: overlay, config diff, parallel coordinates (shift+C)">
              COMPARE {compareIds.length} →
            </a>
            <button className="btn" onClick={() => p.compare.forEach((id) => p.onToggleCompare(id))} title="stop overlaying (c)">
              CLEAR
            </button>
            <a className="btn link" href="/table">
              TABLE
            </a>
          </>
        ) : (
          <span className="muted small">
            ☐ tick runs (or press x) to overlay and compare ·{" "}
            <a href="/table" title="all runs as a sortable, filterable table">
              table view
            </a>
          </span>
        )}
      </div>
      <ul className="rows" role="listbox" aria-label="runs">
        {p.runs.map((r) => {
          const ci = p.compare.indexOf(r.id);
          const oi = p.overlay?.indexOf(r.id) ?? -1;
          return (
            <li
              key={r.id}
              role="option"
              aria-selected={r.id === p.selected}
              className={r.id === p.selected ? "row sel" : "row"}
              data-run-id={r.id}
              onClick={() => p.onSelect(r.id)}
            >
              <input
                type="checkbox"
                title="overlay on the charts and compare (x on the shown run)"
                aria-label={`compare ${r.name}`}
                checked={ci >= 0 || r.id === p.selected}
                disabled={r.id === p.selected}
                onClick={(e) => e.stopPropagation()}
                onChange={() => p.onToggleCompare(r.id)}
                style={oi >= 0 ? { accentColor: runColor(scheme, oi) } : undefined}
                data-series-color={oi >= 0 ? runColor(scheme, oi) : undefined}
              />
              <StatusBadge status={r.status} />
              <span className="run-name" title={r.name}>
                {r.name}
              </span>
              <span className="muted run-proj">{r.project ?? ""}</span>
              <span className="muted run-time" title={fmtTime(r.start_time)}>
                {fmtTime(r.start_time).slice(5, 16)} · {duration(r)}
              </span>
            </li>
          );
        })}
      </ul>
      {p.window && p.window.shown < p.window.total && (
        <div className="toolbar muted small" data-testid="runlist-more">
          <span>
            showing {p.window.shown.toLocaleString("en-US")} of {p.window.total.toLocaleString("en-US")} — narrow the filter or
          </span>
          <button className="btn" disabled={!p.window.hasMore || p.window.loadingMore} onClick={p.window.more}>
            {p.window.loadingMore ? "LOADING…" : `SHOW ${Math.min(PAGE, p.window.total - p.window.shown)} MORE`}
          </button>
        </div>
      )}
      {p.runs.length === 0 && (p.window ? p.window.total === 0 : p.allRuns.length > 0) && <div className="empty">no run matches the filter</div>}
    </div>
  );
});
