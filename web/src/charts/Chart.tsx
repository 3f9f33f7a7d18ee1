// The one uPlot chart of the UI (run page, compare, group): created once per (lines, axes, scheme), fed with
// setData whenever its data source says so. It owns what every chart has: the chart's own settings (log /
// linear, y bounds; the caller applies smoothing and the x axis), units shown sensibly (MB under 1 GB, percent
// axes with a minimum span), values a log axis cannot draw counted where the user sees them, markers drawn
// over the plot (NaN / Inf, the time line's moment), drag-zoom, and a readout. Callers adapt their data to
// aligned columns: see MetricChart (one run or an overlay on the run page) and experiments/XpChart.
import { memo, useEffect, useRef, useState, type ReactNode } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useScheme } from "../layout/useScheme";
import { fmtClock, fmtDuration, fmtNumber, fmtUsd } from "../lib/format";
import { palette, theme } from "../lib/theme";
import { logSplits, type XMode } from "./adapters";
import { ChartSettingsBar } from "./ChartSettingsBar";
import type { ChartSettings } from "./settings";
import { displayUnit, logSafe, tickLabels, yRange } from "./units";

export interface LineSpec {
  label: string;
  color: string;
  width?: number;
  /** dash pattern (canvas `setLineDash`); solid when absent */
  dash?: number[];
  /** not drawn (the edges of a band) */
  hidden?: boolean;
  /** left out of the readout */
  quiet?: boolean;
  /** computed from another line (the EMA over the raw points): not counted again in the log-scale note */
  derived?: boolean;
  /** points drawn where they are sparse enough to see (the run page's raw series) */
  points?: { size: number; fill: string };
}

export interface BandSpec {
  /** indexes into the series (1-based, as uPlot counts: 0 is x) */
  upper: number;
  lower: number;
  fill: string;
}

/** Aligned columns: [x, ...one per line]; `undefined` where a line has no point, `null` a gap. */
export type Columns = (number | null | undefined)[][];

export interface ChartMarker {
  x: number;
  glyph: string;
  /** drawn at the bottom edge (-Inf) instead of the top */
  bottom?: boolean;
}

export interface ChartProps {
  /** the metric key: the chart's settings are saved under it */
  chartKey: string;
  title: string;
  /** the values' unit as they arrive ("%", "GB" ...) */
  unit?: string;
  lines: LineSpec[];
  bands?: BandSpec[];
  data(): Columns;
  subscribe(cb: () => void): () => void;
  /** what x is (formatting; "wall" is a time scale) */
  xMode: XMode;
  height?: number;
  /** "run": the run page's look (`.chart`, one-line readout); "overlay": compare / group (`.xp-chart`, a list) */
  variant?: "run" | "overlay";
  settings: ChartSettings;
  onSettings(patch: Partial<ChartSettings> | null): void;
  /** which of the settings the caller applies itself (the rest are the chart's: log, y bounds) */
  controls?: { x?: XMode[]; smoothing?: number };
  /** extra text after a line's value in the list readout (e.g. the band's range) */
  extra?(line: number, idx: number, data: Columns): string;
  /** the one-line readout of the run variant at a data index; values formatted with `fmt` (unit included) */
  readout?(idx: number, data: Columns, fmt: (v: number | null | undefined) => string): string;
  markers?(): ChartMarker[];
  /** x of a vertical dashed line (the time line's moment), re-read whenever `redrawOn` fires */
  momentX?(): number | null;
  redrawOn?(cb: () => void): () => void;
  /** a drag-zoom over [xMin, xMax]; null when reset (double-click) */
  onZoom?(range: [number, number] | null): void;
  /** a click (not a drag) at plot x */
  onPlotClick?(x: number): void;
  /** charts with the same key share the hover cursor */
  syncKey?: string;
  /** before the title (the pin button) */
  lead?: ReactNode;
  /** after the title (notes: "raw", "parsed") */
  notes?: ReactNode;
  /** points behind the chart, for `data-points` (default: the x column's length) */
  countPoints?(data: Columns): number;
  /** more data-* attributes on the chart's box */
  attrs?: Record<string, string>;
  plotTitle?: string;
}

const HEIGHT = { run: 150, overlay: 170 } as const;

export function fmtX(v: number, xMode: XMode): string {
  if (xMode === "cost") return fmtUsd(v);
  return xMode === "wall" ? fmtClock(v) : xMode === "elapsed" ? fmtDuration(v) : fmtNumber(v, 3);
}

function ChartImpl(props: ChartProps) {
  const { chartKey, title, lines, bands, xMode, settings, variant = "run" } = props;
  const height = props.height ?? HEIGHT[variant];
  const scheme = useScheme();
  const boxRef = useRef<HTMLDivElement>(null);
  const plotEl = useRef<HTMLDivElement>(null);
  const readoutEl = useRef<HTMLSpanElement>(null);
  const zoom = useRef<[number, number] | null>(null);
  const [hover, setHover] = useState<{ x: number; items: { label: string; color: string; text: string }[] } | null>(null);
  const [shownUnit, setShownUnit] = useState(props.unit);
  const [logHidden, setLogHidden] = useState(0);
  const p = useRef(props);
  p.current = props;
  const unitRef = useRef(props.unit);
  const feedRef = useRef<(() => void) | null>(null);
  const percent = props.unit === "%";
  const sig = JSON.stringify([lines, bands]);

  useEffect(() => {
    const el = plotEl.current;
    if (!el) return;
    const pal = palette(scheme);
    const ls = p.current.lines;
    const axis: uPlot.Axis = {
      stroke: pal.axis,
      grid: { stroke: pal.grid, width: 1 },
      ticks: { stroke: pal.tick, width: 1, size: 3 },
      font: `10px ${theme.font}`,
      size: 22,
    };
    const { log, yMin, yMax } = settings;
    const yScale: uPlot.Scale = log
      ? {
          distr: 3,
          log: 10,
          range: (_u, min, max) => {
            const [lo, hi] = uPlot.rangeLog(min, max, 10, true);
            return [yMin !== null && yMin > 0 ? yMin : lo, yMax !== null && yMax > 0 ? yMax : hi];
          },
        }
      : {
          auto: true,
          range: (_u, min, max) => yRange(min, max, { percent, userMin: yMin, userMax: yMax }) ?? uPlot.rangeNum(min, max, 0.1, true),
        };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: false },
      scales: { x: { time: xMode === "wall" }, y: yScale },
      axes: [
        { ...axis, space: 60, values: (_u, splits) => splits.map((v) => fmtX(v, xMode)) },
        {
          ...axis,
          // as wide as the widest label, so none is clipped
          size: (_u, values) => 10 + 6.2 * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
          values: (_u, splits) => tickLabels(splits, fmtNumber, log),
          // log scale: our ticks (powers of ten, 2x/5x over narrow ranges), every one labelled
          ...(log
            ? {
                splits: (_u: uPlot, _i: number, min: number, max: number) => logSplits(min, max),
                filter: (_u: uPlot, splits: number[]) => splits,
              }
            : {}),
        },
      ],
      cursor: {
        drag: { x: true, y: false, setScale: true },
        points: { size: 5 },
        ...(p.current.syncKey ? { sync: { key: p.current.syncKey } } : {}),
      },
      series: [
        { label: xMode },
        ...ls.map((l) => ({
          label: l.label,
          stroke: l.hidden ? "transparent" : l.color,
          width: l.hidden ? 0 : (l.width ?? 1.5),
          ...(l.dash ? { dash: l.dash } : {}),
          points: l.points ? { size: l.points.size, fill: l.points.fill, stroke: l.color } : { show: false },
          spanGaps: variant === "overlay",
        })),
      ],
      bands: (p.current.bands ?? []).map((b) => ({ series: [b.upper, b.lower] as [number, number], fill: b.fill })),
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            zoom.current = [min, max];
            p.current.onZoom?.([min, max]);
          },
        ],
        setCursor: [(u) => showReadout(u)],
        draw: [(u) => drawOverlays(u, pal)],
      },
    };
    const fmtV = (v: number | null | undefined) => `${fmtNumber(v)}${unitRef.current && v !== null && v !== undefined ? ` ${unitRef.current}` : ""}`;
    const showReadout = (u: uPlot) => {
      const i = u.cursor.idx;
      const d = u.data as unknown as Columns;
      if (variant === "run") {
        const out = readoutEl.current;
        if (out) out.textContent = i === null || i === undefined ? "" : (p.current.readout?.(i, d, fmtV) ?? "");
        return;
      }
      if (i === null || i === undefined) {
        setHover(null);
        return;
      }
      const items = p.current.lines.flatMap((l, j) => {
        if (l.quiet) return [];
        const v = d[j + 1]?.[i];
        if (v === null || v === undefined) return [];
        return [{ label: l.label, color: l.color, text: `${fmtV(v)}${p.current.extra?.(j, i, d) ?? ""}` }];
      });
      setHover({ x: d[0]?.[i] as number, items });
    };
    const drawOverlays = (u: uPlot, pal: ReturnType<typeof palette>) => {
      const ctx = u.ctx;
      const { left, top, width, height: h } = u.bbox;
      const px = Math.round(9 * devicePixelRatio);
      ctx.save();
      ctx.font = `${px}px ${theme.font}`;
      ctx.textAlign = "center";
      for (const m of p.current.markers?.() ?? []) {
        const cx = u.valToPos(m.x, "x", true);
        if (!(cx >= left && cx <= left + width)) continue;
        ctx.fillStyle = pal.marker;
        ctx.fillText(m.glyph, cx, m.bottom ? top + h - 2 : top + px);
      }
      const mx = p.current.momentX?.();
      if (mx !== null && mx !== undefined) {
        const cx = u.valToPos(mx, "x", true);
        if (cx >= left && cx <= left + width) {
          ctx.strokeStyle = pal.moment;
          ctx.lineWidth = Math.max(1, devicePixelRatio);
          ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(cx, top);
          ctx.lineTo(cx, top + h);
          ctx.stroke();
        }
      }
      ctx.restore();
    };
    // empty columns, one per series: uPlot must never draw with fewer columns than series (a redraw from the
    // time line can come before the first data)
    const u = new uPlot(opts, [[], ...ls.map(() => [])] as unknown as uPlot.AlignedData, el);
    zoom.current = null;

    const feed = () => {
      const d = p.current.data();
      const ys = d.slice(1);
      const visible = ys.filter((_c, j) => !p.current.lines[j]?.hidden);
      let maxAbs = 0;
      for (const c of visible) for (const v of c) if (typeof v === "number" && Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
      const du = displayUnit(p.current.unit, maxAbs);
      unitRef.current = du.suffix;
      setShownUnit(du.suffix);
      let cols = du.factor === 1 ? ys : ys.map((c) => c.map((v) => (typeof v === "number" ? v * du.factor : v)));
      if (settings.log) {
        const safe = logSafe(cols);
        cols = safe.cols;
        // the values behind what is drawn (lines and band edges), not those derived from another line (an EMA)
        setLogHidden(logSafe(ys.filter((_c, j) => !p.current.lines[j]?.derived)).hidden);
      } else setLogHidden(0);
      const z = zoom.current;
      u.setData([d[0] ?? [], ...cols] as uPlot.AlignedData, z === null);
      if (z) u.setScale("x", { min: z[0], max: z[1] });
      boxRef.current?.setAttribute("data-points", String(p.current.countPoints?.(d) ?? d[0]?.length ?? 0));
    };
    feed();
    feedRef.current = feed;
    const off = p.current.subscribe(feed);
    const offRedraw = p.current.redrawOn?.(() => {
      if (u.data.length === ls.length + 1) u.redraw(false);
    });
    const onDbl = () => {
      zoom.current = null;
      p.current.onZoom?.(null);
      feed();
    };
    // a click (not a drag) at x
    let down: { x: number; y: number } | null = null;
    const onDown = (e: MouseEvent) => (down = { x: e.clientX, y: e.clientY });
    const onClick = (e: MouseEvent) => {
      if (!down || Math.abs(e.clientX - down.x) > 3 || Math.abs(e.clientY - down.y) > 3) return;
      const rect = u.over.getBoundingClientRect();
      p.current.onPlotClick?.(u.posToVal(e.clientX - rect.left, "x"));
    };
    u.over.addEventListener("dblclick", onDbl);
    u.over.addEventListener("mousedown", onDown);
    u.over.addEventListener("click", onClick);
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      off();
      offRedraw?.();
      ro.disconnect();
      u.over.removeEventListener("dblclick", onDbl);
      u.over.removeEventListener("mousedown", onDown);
      u.over.removeEventListener("click", onClick);
      u.destroy();
      feedRef.current = null;
    };
    // the plot is rebuilt when its lines or axes change; data flows through `subscribe`
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sig, props.subscribe, height, scheme, xMode, settings.log, settings.yMin, settings.yMax, percent, variant]);

  // a new data source (the caller's smoothing or window changed): the same plot, fed again
  useEffect(() => feedRef.current?.(), [props.data]);

  const logNote =
    logHidden > 0 ? (
      <span className="chart-note log-hidden" data-log-hidden={logHidden} title="a log axis cannot draw zero or negative values">
        {logHidden} {logHidden === 1 ? "value" : "values"} ≤ 0 not drawn (log scale)
      </span>
    ) : null;
  const settingsBar = (
    <ChartSettingsBar chartKey={chartKey} settings={settings} onSettings={props.onSettings} controls={props.controls} unit={shownUnit} />
  );
  const titleEl = (
    <span className={variant === "run" ? "chart-title" : "xp-chart-title"} title={`${title}${shownUnit ? ` (${shownUnit})` : ""}`}>
      {title}
      {shownUnit && <span className="muted"> ({shownUnit})</span>}
    </span>
  );
  const boxAttrs = {
    ...props.attrs,
    "data-log": String(settings.log),
    ...(variant === "run" ? { "data-metric-key": chartKey, "data-x-mode": xMode } : { "data-chart-key": chartKey }),
  };

  if (variant === "run")
    return (
      <div className="chart" ref={boxRef} {...boxAttrs}>
        <div className="chart-head">
          {props.lead}
          {titleEl}
          {props.notes}
          {logNote}
          <span className="chart-readout" ref={readoutEl} />
          {settingsBar}
        </div>
        <div ref={plotEl} className="chart-plot" title={props.plotTitle} />
      </div>
    );
  return (
    <div className="xp-chart" ref={boxRef} {...boxAttrs}>
      <div className="chart-head xp-chart-head">
        {titleEl}
        {props.notes}
        {logNote}
        {settingsBar}
      </div>
      <div ref={plotEl} />
      <div className="xp-readout" aria-live="off">
        {hover ? (
          <>
            <span className="muted">{xMode === "step" ? `step ${fmtNumber(hover.x)}` : `${fmtX(hover.x, xMode)}${xMode === "elapsed" ? " in" : xMode === "cost" ? " spent" : ""}`}</span>
            {hover.items.map((it, k) => (
              <span key={k}>
                <span style={{ color: it.color }}>■</span> {it.label} <b className="amber">{it.text}</b>
              </span>
            ))}
          </>
        ) : (
          <span className="muted">hover for values · drag to zoom · double-click resets</span>
        )}
      </div>
    </div>
  );
}

export const Chart = memo(ChartImpl);
