import { useQueries } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { getRun } from "../api/client";
import type { Run } from "../api/types";
import { epochSeconds } from "../api/wire";
import type { LayoutApi } from "../layout/useLayout";
import { useScheme } from "../layout/useScheme";
import { runColor } from "../lib/theme";
import { isClockStepped, stepRangeForX, xModeFor, type XMode } from "./adapters";
import { MetricChart, type ChartOptions, type ChartRun } from "./MetricChart";
import { sectionOf, sectionOrder } from "./units";
import { useRunStores } from "./useRunStores";

const X_MODES: { mode: XMode; label: string; title: string }[] = [
  { mode: "step", label: "STEP", title: "x axis: step" },
  { mode: "elapsed", label: "ELAPSED", title: "x axis: time since the run started" },
  { mode: "wall", label: "WALL", title: "x axis: wall-clock time" },
  { mode: "cost", label: "COST", title: "x axis: what the run had cost by then (its price × the time since launch)" },
];

const WINDOWS: { label: string; value: number | null }[] = [
  { label: "100", value: 100 },
  { label: "1K", value: 1000 },
  { label: "ALL", value: null },
];

/** The charts grouped: pinned first, then one section per key prefix (train, val, ..., sys per GPU). */
function sections(keys: string[], pinned: string[]): { name: string; keys: string[] }[] {
  const out = new Map<string, string[]>();
  const pins = pinned.filter((k) => keys.includes(k));
  for (const k of keys) {
    const s = sectionOf(k);
    out.set(s, [...(out.get(s) ?? []), k]);
  }
  const rest = [...out.keys()].sort(sectionOrder).map((name) => ({ name, keys: out.get(name) ?? [] }));
  return pins.length ? [{ name: "pinned", keys: pins }, ...rest] : rest;
}

export function MetricsPanel({ runs, layout }: { runs: Run[]; layout: LayoutApi }) {
  const [filter, setFilter] = useState("");
  const scheme = useScheme();
  const [xMode, setXMode] = useState<XMode>("step");
  const [window, setWindow] = useState<number | null>(null);
  const [smoothing, setSmoothing] = useState(0.6);
  const stores = useRunStores(runs.map((r) => r.id));
  // each run's price for the COST axis: the live run list carries no cost, the run itself does (the same query
  // as the launch panel's cost row, so one request serves both)
  const costs = useQueries({
    queries: runs.map((r) => ({
      queryKey: ["run-cost", r.id, r.status],
      queryFn: async () => (await getRun(r.id)).cost ?? null,
      staleTime: 30_000,
      retry: false,
    })),
  });
  const priced = runs.map((r, i) => r.cost ?? costs[i]?.data ?? null);
  const options: ChartOptions = useMemo(
    () => ({ xMode, window, smoothing, scheme }),
    [xMode, window, smoothing, scheme],
  );
  // the system sampler's series: on a STEP axis against the time since the run started (xModeFor); a window
  // of N steps does not apply to them (their "steps" are milliseconds of wall time)
  const clockOptions: ChartOptions = useMemo(
    () => ({ ...options, xMode: xModeFor(xMode, true), window: null }),
    [options, xMode],
  );
  const clockStepped = (key: string) => stores.some((s) => isClockStepped(key, s.series.get(key)));
  const chartRuns: ChartRun[] = useMemo(
    () =>
      stores.map((store, i) => ({
        store,
        label: runs[i]?.name ?? store.runId,
        color: runColor(scheme, i),
        t0: epochSeconds(runs[i]?.start_time) || 0,
        cost: priced[i] ? { from: priced[i].billed_from, perHour: priced[i].usd_per_hour } : null,
      })),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [stores, runs.map((r, i) => `${r.name}@${r.start_time}@${priced[i]?.billed_from}:${priced[i]?.usd_per_hour}`).join("|"), scheme],
  );
  const loading = stores.some((s) => s.loading);
  const error = stores.map((s) => s.error).find(Boolean);
  const keys = [...new Set(stores.flatMap((s) => s.keys()))].sort();
  const shown = filter ? keys.filter((k) => k.toLowerCase().includes(filter.toLowerCase())) : keys;

  // A window shows the last N steps at full resolution: fetch them finer than the whole-run downsample.
  useEffect(() => {
    if (window === null || loading) return;
    for (const s of stores) {
      // a window counts steps: system metrics (indexed by wall time) keep their whole-run view
      const ks = s.keys().filter((k) => !isClockStepped(k, s.series.get(k)));
      let last = 0;
      for (const k of ks) last = Math.max(last, s.series.get(k)?.step.at(-1) ?? 0);
      void s.refine(ks, Math.max(0, last - window), last).catch(() => undefined);
    }
  }, [window, loading, stores]);

  const onZoom = useCallback(
    (key: string, range: [number, number] | null, chartX: XMode) => {
      if (!range) return;
      for (const s of stores) {
        const p = s.series.get(key);
        if (!p) continue;
        const t0 = chartRuns.find((r) => r.store === s)?.t0 ?? 0;
        const steps = stepRangeForX(p, xModeFor(chartX, isClockStepped(key, p)), range[0], range[1], t0);
        if (steps) void s.refine([key], steps[0], steps[1]).catch(() => undefined);
      }
    },
    [stores, chartRuns],
  );

  return (
    <div className="metrics">
      <div className="toolbar">
        <input
          className="input"
          placeholder="filter keys…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          aria-label="filter metric keys"
        />
        <span className="seg" role="group" aria-label="x axis">
          {X_MODES.map((m) => {
            // COST needs every run's price: never a guess
            const unpriced = m.mode === "cost" ? runs.filter((_r, i) => !priced[i]).map((r) => r.name) : [];
            return (
              <button
                key={m.mode}
                className={xMode === m.mode ? "on" : ""}
                onClick={() => setXMode(m.mode)}
                disabled={unpriced.length > 0}
                title={unpriced.length ? `no COST axis: no known price for ${unpriced.join(", ")}` : m.title}
              >
                {m.label}
              </button>
            );
          })}
        </span>
        <span className="seg" role="group" aria-label="window">
          {WINDOWS.map((w) => (
            <button key={w.label} className={window === w.value ? "on" : ""} onClick={() => setWindow(w.value)}>
              {w.label}
            </button>
          ))}
        </span>
        <label className="slider" title="EMA smoothing of series with 50 points or more; raw points stay visible">
          EMA
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            onChange={(e) => setSmoothing(Number(e.target.value))}
            aria-label="smoothing"
          />
          <span className="num">{smoothing.toFixed(2)}</span>
        </label>
        <span className="muted hint">click: terminal at that step · drag: zoom · dbl-click: reset · LOG / ⚙ on a chart: its own axes</span>
      </div>
      {runs.length > 1 && (
        <div className="legend">
          {chartRuns.map((r) => (
            <span key={r.store.runId} style={{ color: r.color }}>
              ━ {r.label}
            </span>
          ))}
        </div>
      )}
      {error && <div className="error">metrics: {error}</div>}
      {loading && keys.length === 0 ? (
        <div className="empty">loading metrics…</div>
      ) : keys.length === 0 ? (
        <div className="empty">no metrics logged yet</div>
      ) : (
        <div className="chart-sections">
          {sections(shown, layout.layout.pinned).map((sec) => {
            const folded = layout.layout.foldedSections.includes(sec.name);
            return (
              <section key={sec.name} className="chart-section" data-section={sec.name}>
                <button
                  className="section-head"
                  onClick={() => layout.toggleSection(sec.name)}
                  aria-expanded={!folded}
                  title={folded ? "show these charts" : "fold these charts away"}
                >
                  {folded ? "▸" : "▾"} {sec.name === "pinned" ? "★ PINNED" : `${sec.name}/`} <span className="muted">{sec.keys.length}</span>
                </button>
                {!folded && (
                  <div className="chart-grid">
                    {sec.keys.map((k) => (
                      <MetricChart
                        key={k}
                        metricKey={k}
                        runs={chartRuns}
                        options={clockStepped(k) ? clockOptions : options}
                        onZoom={onZoom}
                        pinned={sec.name === "pinned"}
                        onPin={layout.togglePinned}
                      />
                    ))}
                  </div>
                )}
              </section>
            );
          })}
          {shown.length === 0 && <div className="empty">no key matches “{filter}”</div>}
        </div>
      )}
    </div>
  );
}
