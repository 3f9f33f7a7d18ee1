// /group?by=config.seed[&mode=over][&center=median][&band=std][&runs=a,b | &project=&filter=]: runs grouped
// by a config key or tag. The server groups every matching run and aggregates each metric per step bucket
// over all runs of a group (GET /api/run-groups): the chosen line (mean or median) inside the chosen band
// (min–max, ± std, ± standard error), with the count of runs behind every point in the readout. Single runs
// can be drawn over their group (ticked in the member list).
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import type { RunMetrics } from "../charts/store";
import { HelpOverlay } from "../components/HelpOverlay";
import { TopBar } from "../components/TopBar";
import { unitOf } from "../charts/units";
import { withAlpha } from "../lib/theme";
import { projectKeys, queryRuns, runGroups, runsByIds, type RunGroupsAnswer } from "./api";
import { flattenConfig } from "./columns";
import { parseRunIds } from "./ComparePage";
import { BAND_LABEL, countRange, fmtValue, groupColumns, type BandStat, type CenterStat } from "./group";
import { onStoresChange, useRunStores } from "../charts/useRunStores";
import { orderKeys, overlaySeries } from "./overlay";
import { XpChart, type BandSpec, type LineSpec } from "./XpChart";
import { XpNav } from "./XpNav";
import { colorAt, useScheme } from "./palette";
import "./experiments.css";

const fmtInt = (n: number) => n.toLocaleString("en-US");

interface Selection {
  by: string;
  mode: "by" | "over";
  ids: string[];
  project: string;
  filter: string;
}

interface Single {
  id: string;
  name: string;
  group: number;
}

function BandChart({
  metricKey,
  sel,
  center,
  band,
  singles,
  storeOf,
}: {
  metricKey: string;
  sel: Selection;
  center: CenterStat;
  band: BandStat;
  singles: Single[];
  storeOf: Map<string, RunMetrics>;
}) {
  const scheme = useScheme();
  const q = useQuery({
    queryKey: ["xp", "run-groups", sel, metricKey],
    queryFn: () => runGroups({ ...sel, metric: metricKey }),
    staleTime: 30_000,
  });
  const answer: RunGroupsAnswer | undefined = q.data;
  const groups = useMemo(() => answer?.groups ?? [], [answer]);
  const lines: LineSpec[] = [];
  const bands: BandSpec[] = [];
  groups.forEach((g, i) => {
    const color = colorAt(scheme, i);
    const base = lines.length + 1;
    lines.push({ label: `${g.label} upper`, color, hidden: true, quiet: true });
    lines.push({ label: `${g.label} lower`, color, hidden: true, quiet: true });
    lines.push({ label: `${g.label} ${center} (${countRange(g.series)})`, color, width: 1.8 });
    if (band !== "none") bands.push({ upper: base, lower: base + 1, fill: withAlpha(color, 0.18) });
  });
  for (const s of singles) {
    lines.push({ label: `${s.name} (single run)`, color: colorAt(scheme, s.group), width: 1, dash: [4, 3] });
  }
  const singleStores = useMemo(() => singles.map((s) => storeOf.get(s.id)).filter((s): s is RunMetrics => !!s), [singles, storeOf]);
  // the key's unit as the run page has it (sys/proc_rss: bytes -> GB, shown in MB under 1 GB)
  const unit = unitOf(metricKey);
  const scale = unit?.scale ?? 1;
  const raw = useCallback(() => {
    const cols = groupColumns(
      groups.map((g) => g.series),
      center,
      band,
    );
    if (singles.length === 0) return cols;
    // single runs: their own points, placed on the union of x
    const own = singles.map((s) => overlaySeries(metricKey, storeOf.get(s.id)?.series.get(metricKey), 0, false));
    const xs = [...new Set([...(cols[0] as number[]), ...own.flatMap((o) => o.x)])].sort((a, b) => a - b);
    const remap = (x0: readonly (number | null | undefined)[], col: readonly (number | null | undefined)[]) => {
      const at = new Map((x0 as number[]).map((x, i) => [x, i]));
      return xs.map((x) => (at.has(x) ? col[at.get(x) as number] : undefined));
    };
    const out = [xs, ...cols.slice(1).map((c) => remap(cols[0] as number[], c))];
    for (const o of own) out.push(remap(o.x, o.y));
    return out;
  }, [groups, center, band, singles, storeOf, metricKey]);
  const data = useCallback(() => {
    const out = raw();
    if (scale === 1) return out;
    return [out[0] ?? [], ...out.slice(1).map((c) => c.map((y) => (y === null || y === undefined ? y : y * scale)))];
  }, [raw, scale]);
  const subscribe = useCallback((cb: () => void) => onStoresChange(singleStores, cb), [singleStores]);
  const extra = useCallback(
    (line: number, idx: number, d: (number | null | undefined)[][]) => {
      const g = Math.floor((line - 1) / 3);
      if (g >= groups.length || (line - 1) % 3 !== 2) return "";
      const s = groups[g]?.series;
      const x = d[0]?.[idx];
      const at = s ? s.step.indexOf(x as number) : -1;
      if (!s || at < 0) return "";
      const hi = d[line - 2]?.[idx];
      const lo = d[line - 1]?.[idx];
      const range = band === "none" || hi === null || hi === undefined || lo === null || lo === undefined ? "" : ` [${Number(lo).toPrecision(4)} … ${Number(hi).toPrecision(4)}]`;
      const nonfinite = s.nonfinite[at] ? `, ${s.nonfinite[at]} NaN/Inf` : "";
      return `${range} n=${fmtInt(s.count[at] ?? 0)}${nonfinite}`;
    },
    [groups, band],
  );
  if (q.isError) return <div className="red">cannot aggregate {metricKey}: {(q.error as Error).message}</div>;
  if (!answer) return <div className="empty">aggregating {metricKey} over every run…</div>;
  const width = answer.bucket_width ?? 1;
  return (
    <div data-testid="group-chart" data-metric={metricKey}>
      <XpChart key={`${center}-${band}-${groups.length}-${singles.length}`} title={metricKey} lines={lines} bands={bands} data={data} subscribe={subscribe} extra={extra} unit={unit?.suffix} />
      <div className="muted small" data-testid="group-chart-note">
        {groups.map((g) => {
          const s = g.series;
          const last = s ? s.step.length - 1 : -1;
          const v = s && last >= 0 ? s[center][last] : null;
          return (
            <div key={g.label} data-group={g.label} data-last-step={s && last >= 0 ? s.step[last] : undefined} data-last-value={v ?? undefined}>
              {g.label}: {fmtInt(g.with_metric ?? 0)} of {fmtInt(g.runs)} runs logged it
              {s && last >= 0 && v !== null && v !== undefined ? ` · ${center} at step ${fmtInt(s.step[last] as number)}: ${fmtValue(v, unit)} over ${fmtInt(s.count[last] ?? 0)} runs` : ""}
            </div>
          );
        })}
        {width > 1 ? <div>each point: the runs&apos; mean over {fmtInt(width)} steps (a bucket)</div> : null}
      </div>
    </div>
  );
}

export function GroupPage() {
  const [params, setParams] = useSearchParams();
  const [help, setHelp] = useState(false);
  const scheme = useScheme();
  const by = params.get("by") ?? "";
  const mode = params.get("mode") === "over" ? "over" : "by";
  const center: CenterStat = params.get("center") === "median" ? "median" : "mean";
  const bandParam = params.get("band") as BandStat | null;
  const band: BandStat = bandParam && bandParam in BAND_LABEL ? bandParam : "minmax";
  const idsParam = params.get("runs");
  const ids = useMemo(() => parseRunIds(idsParam), [idsParam]);
  const project = params.get("project") ?? "";
  const filter = params.get("filter") ?? "";
  const set = (patch: Record<string, string>) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      for (const [k, v] of Object.entries(patch)) if (v) n.set(k, v);
      else n.delete(k);
      return n;
    });
  const sel: Selection = useMemo(() => ({ by, mode, ids, project, filter }), [by, mode, ids, project, filter]);

  // the choices of the group key: the project's config keys, or those of the newest 200 selected runs
  const keysQ = useQuery({
    queryKey: ["xp", "group-keys", ids, project, filter],
    queryFn: async () => {
      if (project && !ids.length) return { keys: (await projectKeys(project)).config_keys, of: null as number | null, total: null as number | null };
      const page = ids.length ? { runs: await runsByIds(ids.slice(0, 200)), total: ids.length } : await queryRuns({ filter, limit: 200 });
      const s = new Set<string>();
      for (const r of page.runs) for (const k of Object.keys(flattenConfig(r.config ?? {}))) s.add(k);
      return { keys: [...s].sort(), of: page.runs.length, total: page.total ?? null };
    },
  });
  const configKeys = useMemo(() => {
    const k = keysQ.data?.keys ?? [];
    const cur = by.startsWith("config.") ? by.slice(7) : "";
    return cur && !k.includes(cur) ? [...k, cur].sort() : k;
  }, [keysQ.data, by]);
  const groupsQ = useQuery({
    queryKey: ["xp", "run-groups", sel, ""],
    queryFn: () => runGroups(sel),
    enabled: !!by,
  });
  const answer = groupsQ.data;
  // the top bar's running count over the same selection (a one-run query: its total)
  const runningQ = useQuery({
    queryKey: ["xp", "group-running", ids, project, filter],
    queryFn: async () =>
      ids.length
        ? (await runsByIds(ids)).filter((r) => r.status === "running").length
        : ((await queryRuns({ project, filter: filter ? `(${filter}) and status = running` : "status = running", limit: 1 })).total ?? 0),
  });
  const keys = orderKeys(answer?.metric_keys ?? []);
  const [metric, setMetric] = useState("");
  const shownKeys = metric ? keys.filter((k) => k === metric) : keys;
  const [picked, setPicked] = useState<Single[]>([]);
  const stores = useRunStores(picked.map((s) => s.id));
  const storeOf = useMemo(() => new Map(stores.map((s) => [s.runId, s])), [stores]);
  const toggle = (s: Single) => setPicked((p) => (p.some((x) => x.id === s.id) ? p.filter((x) => x.id !== s.id) : [...p, s]));
  const total = answer?.runs;
  const keysNote = keysQ.data?.total && keysQ.data.of !== null && keysQ.data.total > keysQ.data.of ? ` (keys of the newest ${fmtInt(keysQ.data.of)} of ${fmtInt(keysQ.data.total)} runs)` : "";

  return (
    <div className="app xp-page scrolls">
      <TopBar total={total ?? 0} running={runningQ.data ?? 0} onHelp={() => setHelp(true)} />
      <XpNav />
      <div className="xp-main">
        <section className="xp-section">
          <h2 data-testid="group-title">
            GROUP {total === undefined ? "" : `${fmtInt(total)} RUNS`}
            {ids.length ? " (selected)" : filter ? ` matching ${filter}` : project ? ` of ${project}` : ""}
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
            <select className="input" aria-label="line" value={center} onChange={(e) => set({ center: e.target.value === "median" ? "median" : "" })}>
              <option value="mean">mean</option>
              <option value="median">median</option>
            </select>
            <select className="input" aria-label="band" value={band} onChange={(e) => set({ band: e.target.value === "minmax" ? "" : e.target.value })}>
              {(Object.keys(BAND_LABEL) as BandStat[]).map((b) => (
                <option key={b} value={b}>
                  {BAND_LABEL[b]}
                </option>
              ))}
            </select>
            <span className="muted small">
              {mode === "over" ? "runs that differ only in this key share a group" : "runs with the same value share a group"}
              {" · aggregated on the server over every run of each group"}
              {keysNote}
            </span>
          </div>
        </section>
        {(groupsQ.isError || keysQ.isError) && <div className="red">cannot load the groups: {((groupsQ.error ?? keysQ.error) as Error).message}</div>}
        {!by ? (
          <div className="empty">choose a key to group by (e.g. seed)</div>
        ) : !answer ? (
          <div className="empty">grouping…</div>
        ) : (
          <>
            <section className="xp-section" aria-label="groups">
              <h2>{answer.groups.length} GROUPS</h2>
              <div className="xp-section-body" data-testid="groups">
                {answer.groups.map((g, i) => (
                  <details key={g.label} className="xp-group" data-group={g.label} data-runs={g.runs}>
                    <summary>
                      <span style={{ color: colorAt(scheme, i) }}>■ {g.label}</span> <span className="muted">({fmtInt(g.runs)} runs)</span>
                    </summary>
                    <div className="muted small">
                      {g.members.length < g.runs ? `showing the newest ${fmtInt(g.members.length)} of ${fmtInt(g.runs)} runs (all of them are in the aggregate) — narrow the filter to list others` : "tick a run to draw it over its group"}
                    </div>
                    <div className="xp-group-members">
                      {g.members.map((r) => (
                        <span key={r.id}>
                          <input
                            type="checkbox"
                            aria-label={`draw ${r.name}`}
                            checked={picked.some((p) => p.id === r.id)}
                            onChange={() => toggle({ id: r.id, name: r.name, group: i })}
                          />
                          <Link to={`/runs/${encodeURIComponent(r.id)}`} className="xp-runlink">
                            {r.name}
                          </Link>
                        </span>
                      ))}
                    </div>
                  </details>
                ))}
              </div>
            </section>
            <section className="xp-section" aria-label="group charts">
              <h2>
                {center.toUpperCase()} AND {BAND_LABEL[band].toUpperCase()} PER GROUP{picked.length ? ` · ${picked.length} SINGLE RUNS DRAWN` : ""}
              </h2>
              <div className="xp-section-body">
                {keys.length === 0 ? (
                  <div className="empty">no metrics</div>
                ) : (
                  <div className="xp-charts">
                    {shownKeys.map((k) => (
                      <BandChart key={k} metricKey={k} sel={sel} center={center} band={band} singles={picked} storeOf={storeOf} />
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
