import { forwardRef, useMemo } from "react";
import type { Run, RunStatus } from "../api/types";
import { parseTime } from "../api/wire";
import { fmtDuration, fmtTime } from "../lib/format";
import { runColors } from "../lib/theme";
import { StatusBadge } from "./StatusBadge";

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
  onToggleCompare(id: string): void;
}

function duration(r: Run): string {
  const s = parseTime(r.start_time);
  const e = r.end_time ? parseTime(r.end_time) : Date.now();
  return fmtDuration((e - s) / 1000);
}

export const RunList = forwardRef<HTMLInputElement, Props>(function RunList(p, searchRef) {
  const projects = useMemo(
    () => [...new Set(p.allRuns.map((r) => r.project ?? "").filter(Boolean))].sort(),
    [p.allRuns],
  );
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
      <ul className="rows" role="listbox" aria-label="runs">
        {p.runs.map((r) => {
          const ci = p.compare.indexOf(r.id);
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
                title="overlay on the charts"
                aria-label={`compare ${r.name}`}
                checked={ci >= 0 || r.id === p.selected}
                disabled={r.id === p.selected}
                onClick={(e) => e.stopPropagation()}
                onChange={() => p.onToggleCompare(r.id)}
                style={ci >= 0 ? { accentColor: runColors[(ci + 1) % runColors.length] } : undefined}
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
      {p.runs.length === 0 && p.allRuns.length > 0 && <div className="empty">no run matches the filter</div>}
    </div>
  );
});
