// One uPlot chart of the compare / group views: created once per (key, series), fed with setData, with a
// hover readout that lists every line with its full name (wrapping, never cut).
import { memo, useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { fmtDuration, fmtNumber } from "../lib/format";
import { theme } from "../lib/theme";
import { chartColors, useScheme } from "./palette";

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
}

export interface BandSpec {
  /** indexes into the series (1-based, as uPlot counts: 0 is x) */
  upper: number;
  lower: number;
  fill: string;
}

interface Props {
  title: string;
  lines: LineSpec[];
  bands?: BandSpec[];
  /** aligned columns [x, ...one per line]; called whenever `subscribe` fires */
  data(): (number | null | undefined)[][];
  subscribe(cb: () => void): () => void;
  height?: number;
  /** extra text after a line's value in the readout (e.g. the band's range) */
  extra?(line: number, idx: number, data: (number | null | undefined)[][]): string;
  /** what x is: the step (default), or seconds since each run started (system metrics) */
  xKind?: "step" | "elapsed";
  /** the values' unit, shown after the title and in the readout ("%", "GB" ...) */
  unit?: string;
}

const HEIGHT = 170;

function XpChartImpl({ title, lines, bands, data, subscribe, height = HEIGHT, extra, xKind = "step", unit }: Props) {
  const fmtX = (v: number) => (xKind === "elapsed" ? fmtDuration(v) : fmtNumber(v, 3));
  const el = useRef<HTMLDivElement>(null);
  const scheme = useScheme();
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<{ x: number; items: { label: string; color: string; text: string }[] } | null>(null);
  const [points, setPoints] = useState(0);
  const sig = JSON.stringify([lines, bands]);
  const dataRef = useRef(data);
  dataRef.current = data;
  const extraRef = useRef(extra);
  extraRef.current = extra;
  const linesRef = useRef(lines);
  linesRef.current = lines;

  useEffect(() => {
    const box = el.current;
    if (!box) return;
    const cc = chartColors(scheme);
    const axis: uPlot.Axis = {
      stroke: cc.axis,
      grid: { stroke: cc.grid, width: 1 },
      ticks: { stroke: cc.tick, width: 1, size: 3 },
      font: `10px ${theme.font}`,
      size: 22,
    };
    const ls = linesRef.current;
    const opts: uPlot.Options = {
      width: Math.max(200, box.clientWidth),
      height,
      legend: { show: false },
      scales: { x: { time: false } },
      axes: [
        { ...axis, space: 56, values: (_u, splits) => splits.map(fmtX) },
        { ...axis, size: 58, values: (_u, splits) => splits.map((v) => fmtNumber(v, 3)) },
      ],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 5 } },
      series: [
        { label: xKind },
        ...ls.map((l) => ({
          label: l.label,
          stroke: l.hidden ? "transparent" : l.color,
          width: l.hidden ? 0 : (l.width ?? 1.5),
          ...(l.dash ? { dash: l.dash } : {}),
          points: { show: false },
          spanGaps: true,
        })),
      ],
      bands: (bands ?? []).map((b) => ({ series: [b.upper, b.lower] as [number, number], fill: b.fill })),
      hooks: {
        setCursor: [
          (u) => {
            const i = u.cursor.idx;
            if (i === null || i === undefined) {
              setHover(null);
              return;
            }
            const d = u.data as unknown as (number | null | undefined)[][];
            const items = linesRef.current.flatMap((l, j) => {
              if (l.quiet) return [];
              const v = d[j + 1]?.[i];
              if (v === null || v === undefined) return [];
              const more = extraRef.current?.(j, i, d) ?? "";
              return [{ label: l.label, color: l.color, text: `${fmtNumber(v)}${unit ? ` ${unit}` : ""}${more}` }];
            });
            setHover({ x: d[0]?.[i] as number, items });
          },
        ],
      },
    };
    const u = new uPlot(opts, [[]], box);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      const w = box.clientWidth;
      if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height });
    });
    ro.observe(box);
    const feed = () => {
      const d = dataRef.current();
      u.setData(d as uPlot.AlignedData);
      setPoints(d[0]?.length ?? 0);
    };
    feed();
    const off = subscribe(feed);
    const onDbl = () => feed();
    u.over.addEventListener("dblclick", onDbl);
    return () => {
      off();
      ro.disconnect();
      u.over.removeEventListener("dblclick", onDbl);
      u.destroy();
      plot.current = null;
    };
    // the plot is rebuilt when its lines change; data flows through `subscribe`
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sig, subscribe, height, scheme, xKind, unit]);

  return (
    <div className="xp-chart" data-chart-key={title} data-points={points} data-x-kind={xKind}>
      <div className="xp-chart-title">
        {title}
        {unit && <span className="muted"> ({unit})</span>}
      </div>
      <div ref={el} />
      <div className="xp-readout" aria-live="off">
        {hover ? (
          <>
            <span className="muted">{xKind === "elapsed" ? `${fmtDuration(hover.x)} in` : `step ${fmtNumber(hover.x)}`}</span>
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

export const XpChart = memo(XpChartImpl);
