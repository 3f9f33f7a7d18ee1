import { memo, useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtClock, fmtDuration, fmtNumber } from "../lib/format";
import { palette, theme, withAlpha, type Scheme } from "../lib/theme";
import { nearestIndex, timeline, type Moment } from "../timeline/moment";
import { joinOnX, lastWindow, logSplits, runColumns, xValues, type MarkerKind, type XMode } from "./adapters";
import type { RunMetrics } from "./store";
import { unitOf } from "./units";

export interface ChartRun {
  store: RunMetrics;
  label: string;
  color: string;
  /** the run's start (epoch seconds), the origin of the elapsed-time axis */
  t0: number;
}

export interface ChartOptions {
  xMode: XMode;
  window: number | null;
  smoothing: number;
  logScale: boolean;
  scheme: Scheme;
}

interface Props {
  metricKey: string;
  runs: ChartRun[];
  options: ChartOptions;
  pinned: boolean;
  onPin(metricKey: string): void;
  /** a drag-zoom over [xMin, xMax] in plot units; null when the zoom is reset */
  onZoom(metricKey: string, range: [number, number] | null): void;
}

const HEIGHT = 150;
const MARK: Record<MarkerKind, string> = { nan: "✕", inf: "▲", "-inf": "▼" };

/** The x of a moment on a chart of `run` in `xMode`. */
function momentX(m: Moment, xMode: XMode, t0: number): number {
  return xMode === "step" ? m.step : xMode === "wall" ? m.time : m.time - t0;
}

function fmtX(v: number, xMode: XMode): string {
  return xMode === "wall" ? fmtClock(v) : xMode === "elapsed" ? fmtDuration(v) : fmtNumber(v, 3);
}

function MetricChartImpl({ metricKey, runs, options, pinned, onPin, onZoom }: Props) {
  const boxRef = useRef<HTMLDivElement>(null);
  const plotEl = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLSpanElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoom = useRef<[number, number] | null>(null);
  const markers = useRef<{ x: number; kind: MarkerKind; color: string }[]>([]);
  // whether the EMA line is drawn: not for a sparse series, whose raw line then is the bold one
  const [smoothed, setSmoothed] = useState(false);
  const [parsedDigits, setParsedDigits] = useState<number | null>(null);
  const smoothedRef = useRef(smoothed);
  smoothedRef.current = smoothed;
  const runsKey = runs.map((r) => `${r.store.runId}:${r.color}`).join("|");
  const onZoomRef = useRef(onZoom);
  onZoomRef.current = onZoom;
  const runsRef = useRef(runs);
  runsRef.current = runs;
  const optsRef = useRef(options);
  optsRef.current = options;
  const unit = unitOf(metricKey);

  // Build the plot once per (key, runs, x mode, scale, scheme, smoothing shown); data is fed with setData below.
  useEffect(() => {
    const el = plotEl.current;
    if (!el) return;
    const rs = runsRef.current;
    const xMode = options.xMode;
    const pal = palette(options.scheme);
    const series: uPlot.Series[] = [{ label: xMode }];
    for (const r of rs) {
      // raw data is always drawn, its points visible where they are sparse enough to see
      series.push({
        label: `${r.label} raw`,
        stroke: smoothed ? withAlpha(r.color, 0.5) : r.color,
        width: smoothed ? 1 : 1.5,
        points: { size: 4, fill: smoothed ? withAlpha(r.color, 0.6) : r.color, stroke: r.color },
      });
      series.push({ label: r.label, stroke: r.color, width: 1.5, points: { show: false } });
    }
    const axis: uPlot.Axis = {
      stroke: pal.axis,
      grid: { stroke: pal.grid, width: 1 },
      ticks: { stroke: pal.tick, width: 1, size: 3 },
      font: `10px ${theme.font}`,
      size: 22,
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      scales: {
        x: { time: xMode === "wall" },
        y: options.logScale ? { distr: 3, log: 10 } : { auto: true },
      },
      axes: [
        { ...axis, space: 64, values: (_u, splits) => splits.map((v) => fmtX(v, xMode)) },
        {
          ...axis,
          // as wide as the widest label, so none is clipped
          size: (_u, values) => 10 + 6.2 * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
          values: (_u, splits) => splits.map((v) => fmtNumber(v, 3)),
          // log scale: our ticks (powers of ten, 2x/5x over narrow ranges), every one labelled
          ...(options.logScale
            ? {
                splits: (_u: uPlot, _i: number, min: number, max: number) => logSplits(min, max),
                filter: (_u: uPlot, splits: number[]) => splits,
              }
            : {}),
        },
      ],
      // hovering a step shows it (and every chart's readout) on all charts with the same x axis
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 5 }, sync: { key: `tb-${xMode}` } },
      series,
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            zoom.current = [min, max];
            onZoomRef.current(metricKey, [min, max]);
          },
        ],
        setCursor: [
          (u) => {
            const out = readout.current;
            if (!out) return;
            const i = u.cursor.idx;
            if (i === null || i === undefined) {
              out.textContent = "";
              return;
            }
            const x = u.data[0][i];
            const fmt = (v: number | null | undefined) => `${fmtNumber(v)}${unit && v !== null && v !== undefined ? ` ${unit.suffix}` : ""}`;
            const parts = [x === undefined || x === null ? "" : xMode === "step" ? `step ${x}` : fmtX(x, xMode)];
            runsRef.current.forEach((r, j) => {
              const raw = u.data[1 + 2 * j]?.[i];
              const sm = u.data[2 + 2 * j]?.[i];
              if ((raw === null || raw === undefined) && (sm === null || sm === undefined)) return;
              const smooth = smoothedRef.current && sm !== null && sm !== undefined ? ` · ema ${fmtNumber(sm)}` : "";
              parts.push(`${runsRef.current.length > 1 ? `${r.label} ` : ""}raw ${fmt(raw)}${smooth}`);
            });
            out.textContent = parts.join("  ");
          },
        ],
        draw: [
          (u) => {
            const ctx = u.ctx;
            const { left, top, width, height } = u.bbox;
            const px = Math.round(9 * devicePixelRatio);
            ctx.save();
            ctx.font = `${px}px ${theme.font}`;
            ctx.textAlign = "center";
            for (const m of markers.current) {
              const cx = u.valToPos(m.x, "x", true);
              if (!(cx >= left && cx <= left + width)) continue;
              ctx.fillStyle = pal.marker;
              const cy = m.kind === "-inf" ? top + height - 2 : top + px;
              ctx.fillText(MARK[m.kind], cx, cy);
            }
            // the moment marked on the time line (any chart's click), on every chart of that run
            const mo = timeline.get();
            const run = mo && runsRef.current.find((r) => r.store.runId === mo.runId);
            if (mo && run) {
              const cx = u.valToPos(momentX(mo, xMode, run.t0), "x", true);
              if (cx >= left && cx <= left + width) {
                ctx.strokeStyle = pal.moment;
                ctx.lineWidth = Math.max(1, devicePixelRatio);
                ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
                ctx.beginPath();
                ctx.moveTo(cx, top);
                ctx.lineTo(cx, top + height);
                ctx.stroke();
              }
            }
            ctx.restore();
          },
        ],
      },
    };
    // empty columns, one per series: uPlot must never draw with fewer columns than series (a redraw from the
    // time line can come before the first data)
    const u = new uPlot(opts, series.map(() => []) as unknown as uPlot.AlignedData, el);
    plot.current = u;
    zoom.current = null;
    const onDbl = () => {
      zoom.current = null;
      onZoomRef.current(metricKey, null);
    };
    // a click (not a drag) marks that step on the time line: the terminal and LINES show that moment
    let down: { x: number; y: number } | null = null;
    const onDown = (e: MouseEvent) => (down = { x: e.clientX, y: e.clientY });
    const onClick = (e: MouseEvent) => {
      if (!down || Math.abs(e.clientX - down.x) > 3 || Math.abs(e.clientY - down.y) > 3) return;
      const r = runsRef.current[0];
      const p = r?.store.series.get(metricKey);
      if (!r || !p) return;
      const o = optsRef.current;
      const w = lastWindow(p, o.window);
      const rect = u.over.getBoundingClientRect();
      const i = nearestIndex(xValues(w, o.xMode, r.t0), u.posToVal(e.clientX - rect.left, "x"));
      const step = w.step[i];
      const time = w.time[i];
      if (i < 0 || step === undefined || time === undefined || !Number.isFinite(time)) return;
      timeline.set({ runId: r.store.runId, step, time, since: w.time[i - 1] ?? null, key: metricKey });
    };
    u.over.addEventListener("dblclick", onDbl);
    u.over.addEventListener("mousedown", onDown);
    u.over.addEventListener("click", onClick);
    const offMoment = timeline.subscribe(() => {
      if (u.data.length === series.length) u.redraw(false);
    });
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      offMoment();
      u.over.removeEventListener("dblclick", onDbl);
      u.over.removeEventListener("mousedown", onDown);
      u.over.removeEventListener("click", onClick);
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [metricKey, runsKey, options.xMode, options.logScale, options.scheme, smoothed]);

  // Feed data: on every store change (live updates are coalesced by the store).
  useEffect(() => {
    const update = () => {
      const u = plot.current;
      if (!u) return;
      const cols = [];
      const ms: { x: number; kind: MarkerKind; color: string }[] = [];
      let points = 0;
      let anySmoothed = false;
      const scale = unit?.scale ?? 1;
      const scaled = (v: (number | null)[]) => (scale === 1 ? v : v.map((y) => (y === null ? null : y * scale)));
      for (const r of runsRef.current) {
        const p = r.store.series.get(metricKey);
        const c = runColumns(p ?? { step: [], value: [], time: [] }, { ...options, t0: r.t0 });
        cols.push({ x: c.x, ys: [scaled(c.raw), scaled(c.smooth)] });
        c.markers.x.forEach((x, i) => ms.push({ x, kind: c.markers.kind[i] as MarkerKind, color: r.color }));
        points += c.x.length;
        anySmoothed ||= c.smoothed;
      }
      markers.current = ms;
      if (anySmoothed !== smoothedRef.current) setSmoothed(anySmoothed); // restyle: raw bold when not smoothed
      setParsedDigits(runsRef.current.map((r) => r.store.parsed.get(metricKey)).find((d) => d !== undefined) ?? null);
      const data = joinOnX(cols) as uPlot.AlignedData;
      const z = zoom.current;
      u.setData(data, z === null);
      if (z) u.setScale("x", { min: z[0], max: z[1] });
      boxRef.current?.setAttribute("data-points", String(points));
      boxRef.current?.setAttribute("data-smoothed", String(anySmoothed));
    };
    update();
    const offs = runsRef.current.map((r) => r.store.onChange(update));
    return () => offs.forEach((f) => f());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [metricKey, runsKey, options, smoothed]);

  return (
    <div className="chart" ref={boxRef} data-metric-key={metricKey} data-x-mode={options.xMode}>
      <div className="chart-head">
        <button
          className={pinned ? "pin on" : "pin"}
          onClick={() => onPin(metricKey)}
          aria-pressed={pinned}
          aria-label={`${pinned ? "unpin" : "pin"} ${metricKey}`}
          title={pinned ? "unpin" : "pin to the top"}
        >
          {pinned ? "★" : "☆"}
        </button>
        <span className="chart-title" title={metricKey}>
          {metricKey}
          {unit && <span className="muted"> ({unit.suffix})</span>}
        </span>
        {!smoothed && options.smoothing > 0 && <span className="muted chart-note" title="fewer than 50 points: not smoothed">raw</span>}
        {parsedDigits !== null && (
          <span className="muted chart-note" data-parsed-digits={parsedDigits} title={`read from the program's printed output: values rounded to ${parsedDigits} significant digits as printed, not the exact numbers`}>
            parsed
          </span>
        )}
        <span className="chart-readout" ref={readout} />
      </div>
      <div ref={plotEl} className="chart-plot" title="click: show the terminal at this step · drag: zoom · double-click: reset" />
    </div>
  );
}

export const MetricChart = memo(MetricChartImpl);
