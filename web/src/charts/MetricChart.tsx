// A metric of one run, or of several overlaid, on the run page: the run stores adapted to the one Chart
// (raw points always drawn, an EMA over them, NaN / Inf markers, "parsed" when read from printed text, a
// click marks that step on the time line so the terminal and LINES show it).
import { memo, useCallback, useMemo, useRef, useState } from "react";
import { fmtNumber } from "../lib/format";
import { withAlpha, type Scheme } from "../lib/theme";
import { nearestIndex, timeline, type Moment } from "../timeline/moment";
import { isClockStepped, joinOnX, lastWindow, runColumns, xModeFor, xValues, type MarkerKind, type XMode } from "./adapters";
import { Chart, fmtX, type ChartMarker, type Columns, type LineSpec } from "./Chart";
import { useChartSettings } from "./settings";
import type { RunMetrics } from "./store";
import { unitOf } from "./units";

export interface ChartRun {
  store: RunMetrics;
  label: string;
  color: string;
  /** the run's start (epoch seconds), the origin of the elapsed-time axis */
  t0: number;
  /** the run's price (null: none known): the COST axis is usd_per_hour × (t - from) / 3600 */
  cost?: { from: number; perHour: number } | null;
}

/** Where a run's x axis starts and its dollars per hour, in `xMode` (the price only matters on COST). */
function frameOf(r: ChartRun, xMode: XMode): { t0: number; perHour: number } {
  return xMode === "cost" && r.cost ? { t0: r.cost.from, perHour: r.cost.perHour } : { t0: r.t0, perHour: 0 };
}

/** The page toolbar's settings: every chart's defaults (a chart's own settings win). */
export interface ChartOptions {
  xMode: XMode;
  window: number | null;
  smoothing: number;
  scheme: Scheme;
}

interface Props {
  metricKey: string;
  runs: ChartRun[];
  options: ChartOptions;
  pinned: boolean;
  onPin(metricKey: string): void;
  /** a drag-zoom over [xMin, xMax] in plot units of `xMode`; null when the zoom is reset */
  onZoom(metricKey: string, range: [number, number] | null, xMode: XMode): void;
}

const MARK: Record<MarkerKind, string> = { nan: "✕", inf: "▲", "-inf": "▼" };
const X_CHOICES: XMode[] = ["step", "elapsed", "wall"];

/** The x of a moment on a chart of `run` in `xMode`. */
function momentX(m: Moment, xMode: XMode, t0: number, perHour: number): number {
  if (xMode === "cost") return ((m.time - t0) * perHour) / 3600;
  return xMode === "step" ? m.step : xMode === "wall" ? m.time : m.time - t0;
}

function MetricChartImpl({ metricKey, runs, options, pinned, onPin, onZoom }: Props) {
  const [settings, setSettings] = useChartSettings(metricKey);
  const clock = runs.some((r) => isClockStepped(metricKey, r.store.series.get(metricKey)));
  const xMode = settings.x === null ? options.xMode : xModeFor(settings.x, clock);
  const smoothing = settings.smoothing ?? options.smoothing;
  // whether the EMA line is drawn: not for a sparse series, whose raw line then is the bold one
  const [smoothed, setSmoothed] = useState(false);
  const [parsedDigits, setParsedDigits] = useState<number | null>(null);
  const markers = useRef<ChartMarker[]>([]);
  const points = useRef(0);
  const runsKey = runs.map((r) => `${r.store.runId}:${r.color}:${r.label}`).join("|");
  const runsRef = useRef(runs);
  runsRef.current = runs;
  const unit = unitOf(metricKey);

  const lines: LineSpec[] = useMemo(
    () =>
      runsRef.current.flatMap((r) => [
        // raw data is always drawn, its points visible where they are sparse enough to see
        {
          label: `${r.label} raw`,
          color: smoothed ? withAlpha(r.color, 0.5) : r.color,
          width: smoothed ? 1 : 1.5,
          points: { size: 4, fill: smoothed ? withAlpha(r.color, 0.6) : r.color },
        },
        { label: r.label, color: r.color, width: 1.5, derived: true },
      ]),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [runsKey, smoothed],
  );

  const data = useCallback((): Columns => {
    const cols = [];
    const ms: ChartMarker[] = [];
    let n = 0;
    let anySmoothed = false;
    const scale = unit?.scale ?? 1;
    const scaled = (v: (number | null)[]) => (scale === 1 ? v : v.map((y) => (y === null ? null : y * scale)));
    const window = clock ? null : options.window; // a window counts steps: not for clock-stepped series
    for (const r of runsRef.current) {
      const p = r.store.series.get(metricKey);
      const frame = frameOf(r, xMode);
      const c = runColumns(p ?? { step: [], value: [], time: [] }, { xMode, window, smoothing, logScale: false, ...frame });
      cols.push({ x: c.x, ys: [scaled(c.raw), scaled(c.smooth)] });
      c.markers.x.forEach((x, i) => {
        const kind = c.markers.kind[i] as MarkerKind;
        ms.push({ x, glyph: MARK[kind], bottom: kind === "-inf" });
      });
      n += c.x.length;
      anySmoothed ||= c.smoothed;
    }
    markers.current = ms;
    points.current = n;
    setSmoothed(anySmoothed); // restyle: raw bold when not smoothed
    setParsedDigits(runsRef.current.map((r) => r.store.parsed.get(metricKey)).find((d) => d !== undefined) ?? null);
    return joinOnX(cols);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [metricKey, runsKey, xMode, options.window, smoothing, clock]);

  const subscribe = useCallback((cb: () => void) => {
    const offs = runsRef.current.map((r) => r.store.onChange(cb));
    return () => offs.forEach((f) => f());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runsKey]);

  const readout = useCallback(
    (i: number, d: Columns, fmt: (v: number | null | undefined) => string) => {
      const x = d[0]?.[i];
      const at = xMode === "step" ? `step ${x}` : xMode === "cost" ? `${fmtX(x as number, xMode)} spent` : fmtX(x as number, xMode);
      const parts = [x === undefined || x === null ? "" : at];
      runsRef.current.forEach((r, j) => {
        const raw = d[1 + 2 * j]?.[i];
        const sm = d[2 + 2 * j]?.[i];
        if ((raw === null || raw === undefined) && (sm === null || sm === undefined)) return;
        const smooth = smoothed && sm !== null && sm !== undefined ? ` · ema ${fmtNumber(sm)}` : "";
        parts.push(`${runsRef.current.length > 1 ? `${r.label} ` : ""}raw ${fmt(raw)}${smooth}`);
      });
      return parts.join("  ");
    },
    [xMode, smoothed],
  );

  // a click (not a drag) marks that step on the time line: the terminal and LINES show that moment
  const onPlotClick = useCallback(
    (xv: number) => {
      const r = runsRef.current[0];
      const p = r?.store.series.get(metricKey);
      if (!r || !p) return;
      const w = lastWindow(p, clock ? null : options.window);
      const frame = frameOf(r, xMode);
      const i = nearestIndex(xValues(w, xMode, frame.t0, frame.perHour), xv);
      const step = w.step[i];
      const time = w.time[i];
      if (i < 0 || step === undefined || time === undefined || !Number.isFinite(time)) return;
      timeline.set({ runId: r.store.runId, step, time, since: w.time[i - 1] ?? null, key: metricKey });
    },
    [metricKey, xMode, options.window, clock],
  );

  const moment = useCallback(() => {
    const mo = timeline.get();
    const run = mo && runsRef.current.find((r) => r.store.runId === mo.runId);
    if (!mo || !run) return null;
    const frame = frameOf(run, xMode);
    return momentX(mo, xMode, frame.t0, frame.perHour);
  }, [xMode]);

  const notes = (
    <>
      {!smoothed && smoothing > 0 && (
        <span className="muted chart-note" title="fewer than 50 points: not smoothed">
          raw
        </span>
      )}
      {parsedDigits !== null && (
        <span
          className="muted chart-note"
          data-parsed-digits={parsedDigits}
          title={`read from the program's printed output: values rounded to ${parsedDigits} significant digits as printed, not the exact numbers`}
        >
          parsed
        </span>
      )}
    </>
  );

  return (
    <Chart
      chartKey={metricKey}
      title={metricKey}
      unit={unit?.suffix}
      lines={lines}
      data={data}
      subscribe={subscribe}
      xMode={xMode}
      variant="run"
      settings={settings}
      onSettings={setSettings}
      controls={{ x: runs.every((r) => r.cost) ? [...X_CHOICES, "cost"] : X_CHOICES, smoothing: options.smoothing }}
      readout={readout}
      markers={() => markers.current}
      momentX={moment}
      redrawOn={timeline.subscribe}
      onZoom={(range) => onZoom(metricKey, range, xMode)}
      onPlotClick={onPlotClick}
      syncKey={`tb-${xMode}`}
      countPoints={() => points.current}
      attrs={{ "data-smoothed": String(smoothed) }}
      plotTitle="click: show the terminal at this step · drag: zoom · double-click: reset"
      lead={
        <button
          className={pinned ? "pin on" : "pin"}
          onClick={() => onPin(metricKey)}
          aria-pressed={pinned}
          aria-label={`${pinned ? "unpin" : "pin"} ${metricKey}`}
          title={pinned ? "unpin" : "pin to the top"}
        >
          {pinned ? "★" : "☆"}
        </button>
      }
      notes={notes}
    />
  );
}

export const MetricChart = memo(MetricChartImpl);
