// /group?by=config.seed[&mode=over][&runs=a,b | &project=&filter=]: runs grouped by a config key or tag,
// each group drawn as its mean line inside a min-max band, its members listed.
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { epochSeconds } from "../api/wire";
import type { RunMetrics } from "../charts/store";
import { HelpOverlay } from "../components/HelpOverlay";
import { TopBar } from "../components/TopBar";
import { withAlpha } from "../lib/theme";
import { queryAllRuns, runsByIds, type ExpRun } from "./api";
import { flattenConfig } from "./columns";
import { parseRunIds } from "./ComparePage";
import { groupRuns, meanBand, type Group } from "./group";
import { onStoresChange, useRunStores } from "../charts/useRunStores";
import { clockKey, orderKeys, overlayAxis, overlaySeries } from "./overlay";
import { XpChart, type BandSpec, type LineSpec } from "./XpChart";
import { XpNav } from "./XpNav";
import { colorAt, useScheme } from "./palette";
import "./experiments.css";

/** Charts draw at most this many runs (their series are loaded in the browser). */
const MAX_RUNS = 120;

function BandChart({ metricKey, groups, storeOf }: { metricKey: string; groups: Group<ExpRun>[]; storeOf: Map<string, RunMetrics> }) {
  const scheme = useScheme();
  const lines: LineSpec[] = [];
  const bands: BandSpec[] = [];
  groups.forEach((g, i) => {
    const color = colorAt(scheme, i);
    const base = lines.length + 1;
    lines.push({ label: `${g.label} max`, color, hidden: true, quiet: true });
    lines.push({ label: `${g.label} min`, color, hidden: true, quiet: true });
    lines.push({ label: `${g.label} mean (n=${g.runs.length})`, color, width: 1.8 });
    bands.push({ upper: base, lower: base + 1, fill: withAlpha(color, 0.18) });
  });
  const stores = useMemo(() => [...storeOf.values()], [storeOf]);
  const clock = clockKey(metricKey, [...storeOf.values()].map((s) => s.series.get(metricKey)));
  const data = useCallback(() => {
    const bs = groups.map((g) =>
      meanBand(
        g.runs.map((r) => {
          const p = storeOf.get(r.id)?.series.get(metricKey);
          const { x, y } = overlaySeries(metricKey, p, epochSeconds(r.start_time), clock);
          return { x, y: y.map((v) => v ?? Number.NaN) };
        }),
      ),
    );
    // one x column for all groups: the union of their x, each group's values placed by x
    const all = [...new Set(bs.flatMap((b) => b.x))].sort((a, b) => a - b);
    const cols: (number | null | undefined)[][] = [all];
    for (const b of bs) {
      const at = new Map(b.x.map((x, i) => [x, i]));
      for (const col of [b.max, b.min, b.mean]) cols.push(all.map((x) => (at.has(x) ? col[at.get(x) as number] : undefined)));
    }
    return cols;
  }, [groups, storeOf, metricKey, clock]);
  const subscribe = useCallback((cb: () => void) => onStoresChange(stores, cb), [stores]);
  const extra = useCallback((line: number, idx: number, d: (number | null | undefined)[][]) => {
    if (line % 3 !== 2) return "";
    const lo = d[line - 1 + 1]?.[idx];
    const hi = d[line - 2 + 1]?.[idx];
    return lo === null || lo === undefined || hi === null || hi === undefined ? "" : ` [${Number(lo).toPrecision(4)} … ${Number(hi).toPrecision(4)}]`;
  }, []);
  return <XpChart title={metricKey} lines={lines} bands={bands} data={data} subscribe={subscribe} extra={extra} {...overlayAxis(metricKey, clock)} />;
}

export function GroupPage() {
  const [params, setParams] = useSearchParams();
  const [help, setHelp] = useState(false);
  const scheme = useScheme();
  const by = params.get("by") ?? "";
  const mode = params.get("mode") === "over" ? "over" : "by";
  const ids = useMemo(() => parseRunIds(params.get("runs")), [params]);
  const project = params.get("project") ?? "";
  const filter = params.get("filter") ?? "";
  const set = (patch: Record<string, string>) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      for (const [k, v] of Object.entries(patch)) if (v) n.set(k, v);
      else n.delete(k);
      return n;
    });

  const runsQ = useQuery({
    queryKey: ["xp", "group-runs", ids, project, filter],
    queryFn: () => (ids.length ? runsByIds(ids) : queryAllRuns({ project, filter }, MAX_RUNS)),
  });
  const runs: ExpRun[] = useMemo(() => runsQ.data ?? [], [runsQ.data]);
  const configKeys = useMemo(() => {
    const s = new Set<string>();
    for (const r of runs) for (const k of Object.keys(flattenConfig(r.config ?? {}))) s.add(k);
    return [...s].sort();
  }, [runs]);
  const groups = useMemo(() => (by ? groupRuns(runs, by, mode) : []), [runs, by, mode]);
  const charted = useMemo(() => runs.slice(0, MAX_RUNS), [runs]);
  const stores = useRunStores(by ? charted.map((r) => r.id) : []);
  const storeOf = useMemo(() => new Map(stores.map((s) => [s.runId, s])), [stores]);
  const keys = orderKeys(stores.flatMap((s) => s.keys()));
  const [metric, setMetric] = useState("");
  const shownKeys = metric ? keys.filter((k) => k === metric) : keys;

  return (
    <div className="app xp-page scrolls">
      <TopBar total={runs.length} running={runs.filter((r) => r.status === "running").length} onHelp={() => setHelp(true)} />
      <XpNav />
      <div className="xp-main">
        <section className="xp-section">
          <h2>
            GROUP {runs.length} RUNS{ids.length ? " (selected)" : filter ? ` matching ${filter}` : project ? ` of ${project}` : ""}
          </h2>
          <div className="xp-section-body toolbar">
            <select className="input" aria-label="group mode" value={mode} onChange={(e) => set({ mode: e.target.value === "over" ? "over" : "" })}>
              <option value="by">same value of</option>
              <option value="over">mean over</option>
            </select>
            <select className="input" aria-label="group key" value={by} onChange={(e) => set({ by: e.target.value })}>
              <option value="">choose a key…</option>
              <option value="tag">tag</option>
              {configKeys.map((k) => (
                <option key={k} value={`config.${k}`}>
                  {k}
                </option>
              ))}
            </select>
            <select className="input" aria-label="metric" value={metric} onChange={(e) => setMetric(e.target.value)}>
              <option value="">all metrics</option>
              {keys.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
            <span className="muted small">
              {mode === "over"
                ? "runs that differ only in this key share a group"
                : "runs with the same value share a group"}
              {runs.length > MAX_RUNS ? ` · charts show the first ${MAX_RUNS} runs` : ""}
            </span>
          </div>
        </section>
        {runsQ.isError && <div className="red">cannot load the runs: {(runsQ.error as Error).message}</div>}
        {!by ? (
          <div className="empty">choose a key to group by (e.g. seed)</div>
        ) : (
          <>
            <section className="xp-section" aria-label="groups">
              <h2>{groups.length} GROUPS</h2>
              <div className="xp-section-body" data-testid="groups">
                {groups.map((g, i) => (
                  <div key={g.label} className="xp-group" data-group={g.label}>
                    <span style={{ color: colorAt(scheme, i) }}>■ {g.label}</span>{" "}
                    <span className="muted">({g.runs.length} runs)</span>
                    <div className="xp-group-members">
                      {g.runs.map((r) => (
                        <Link key={r.id} to={`/runs/${encodeURIComponent(r.id)}`} className="xp-runlink">
                          {r.name}
                        </Link>
                      ))}
                    </div>
                  </div>
                ))}
              </div>
            </section>
            <section className="xp-section" aria-label="group charts">
              <h2>MEAN AND MIN-MAX BAND PER GROUP</h2>
              <div className="xp-section-body">
                {keys.length === 0 ? (
                  <div className="empty">{stores.some((s) => s.loading) ? "loading metrics…" : "no metrics"}</div>
                ) : (
                  <div className="xp-charts">
                    {shownKeys.map((k) => (
                      <BandChart key={k} metricKey={k} groups={groups} storeOf={storeOf} />
                    ))}
                  </div>
                )}
              </div>
            </section>
          </>
        )}
      </div>
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
    </div>
  );
}
