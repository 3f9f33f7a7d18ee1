import { memo, useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtClock, fmtNumber } from "../lib/format";
import { theme, withAlpha } from "../lib/theme";
import { joinOnX, runColumns, type MarkerKind, type XMode } from "./adapters";
import type { RunMetrics } from "./store";

export interface ChartRun {
  store: RunMetrics;
  label: string;
  color: string;
}

export interface ChartOptions {
  xMode: XMode;
  window: number | null;
  smoothing: number;
  logScale: boolean;
}

interface Props {
  metricKey: string;
  runs: ChartRun[];
  options: ChartOptions;
  /** a drag-zoom over [xMin, xMax] in plot units; null when the zoom is reset */
  onZoom(metricKey: string, range: [number, number] | null): void;
}

const HEIGHT = 150;
const MARK: Record<MarkerKind, string> = { nan: "✕", inf: "▲", "-inf": "▼" };

function MetricChartImpl({ metricKey, runs, options, onZoom }: Props) {
  const boxRef = useRef<HTMLDivElement>(null);
  const plotEl = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLSpanElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoom = useRef<[number, number] | null>(null);
  const markers = useRef<{ x: number; kind: MarkerKind; color: string }[]>([]);
  const runsKey = runs.map((r) => `${r.store.runId}:${r.color}`).join("|");
  const onZoomRef = useRef(onZoom);
  onZoomRef.current = onZoom;
  const runsRef = useRef(runs);
  runsRef.current = runs;
  const optsRef = useRef(options);
  optsRef.current = options;

  // Build the plot once per (key, runs, x mode, scale); data is fed with setData below.
  useEffect(() => {
    const el = plotEl.current;
    if (!el) return;
    const rs = runsRef.current;
    const xMode = options.xMode;
    const series: uPlot.Series[] = [{ label: xMode }];
    for (const r of rs) {
      series.push({ label: `${r.label} raw`, stroke: withAlpha(r.color, 0.28), width: 1, points: { show: false } });
      series.push({ label: r.label, stroke: r.color, width: 1.5, points: { show: false } });
    }
    const axis: uPlot.Axis = {
      stroke: theme.muted,
      grid: { stroke: theme.grid, width: 1 },
      ticks: { stroke: theme.border, width: 1, size: 3 },
      font: `10px ${theme.font}`,
      size: 22,
    };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      scales: {
        x: { time: xMode === "time" },
        y: options.logScale ? { distr: 3 } : { auto: true },
      },
      axes: [
        { ...axis, values: xMode === "time" ? undefined : (_u, splits) => splits.map((v) => fmtNumber(v, 3)) },
        { ...axis, size: 62, values: (_u, splits) => splits.map((v) => fmtNumber(v, 3)) },
      ],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 5 } },
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
            const parts = [x === undefined || x === null ? "" : xMode === "time" ? fmtClock(x) : `step ${x}`];
            runsRef.current.forEach((r, j) => {
              const raw = u.data[1 + 2 * j]?.[i];
              const sm = u.data[2 + 2 * j]?.[i];
              if (raw === null && sm === null) return;
              const smooth = optsRef.current.smoothing > 0 ? ` (ema ${fmtNumber(sm)})` : "";
              parts.push(`${runsRef.current.length > 1 ? `${r.label} ` : ""}${fmtNumber(raw)}${smooth}`);
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
              ctx.fillStyle = theme.red;
              const cy = m.kind === "-inf" ? top + height - 2 : top + px;
              ctx.fillText(MARK[m.kind], cx, cy);
            }
            ctx.restore();
          },
        ],
      },
    };
    const u = new uPlot(opts, [[]], el);
    plot.current = u;
    zoom.current = null;
    const onDbl = () => {
      zoom.current = null;
      onZoomRef.current(metricKey, null);
    };
    u.over.addEventListener("dblclick", onDbl);
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.over.removeEventListener("dblclick", onDbl);
      u.destroy();
      plot.current = null;
    };
  }, [metricKey, runsKey, options.xMode, options.logScale]);

  // Feed data: on every store change (live updates are coalesced by the store).
  useEffect(() => {
    const update = () => {
      const u = plot.current;
      if (!u) return;
      const cols = [];
      const ms: { x: number; kind: MarkerKind; color: string }[] = [];
      let points = 0;
      for (const r of runsRef.current) {
        const p = r.store.series.get(metricKey);
        const c = runColumns(p ?? { step: [], value: [], time: [] }, options);
        cols.push({ x: c.x, ys: [c.raw, c.smooth] });
        c.markers.x.forEach((x, i) => ms.push({ x, kind: c.markers.kind[i] as MarkerKind, color: r.color }));
        points += c.x.length;
      }
      markers.current = ms;
      const data = joinOnX(cols) as uPlot.AlignedData;
      const z = zoom.current;
      u.setData(data, z === null);
      if (z) u.setScale("x", { min: z[0], max: z[1] });
      boxRef.current?.setAttribute("data-points", String(points));
    };
    update();
    const offs = runsRef.current.map((r) => r.store.onChange(update));
    return () => offs.forEach((f) => f());
  }, [metricKey, runsKey, options]);

  return (
    <div className="chart" ref={boxRef} data-metric-key={metricKey}>
      <div className="chart-head">
        <span className="chart-title">{metricKey}</span>
        <span className="chart-readout" ref={readout} />
      </div>
      <div ref={plotEl} className="chart-plot" />
    </div>
  );
}

export const MetricChart = memo(MetricChartImpl);
