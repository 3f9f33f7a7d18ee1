// Parallel coordinates (SVG): chosen config keys, then a chosen metric; one polyline per run.
import { useEffect, useMemo, useRef, useState } from "react";
import { fmtNumber } from "../lib/format";
import type { ExpRun } from "./api";
import type { MetricStat } from "./columns";
import { axisPos, brushedIds, parallelData, pointerPos, wrapLabel, type Axis, type Brush } from "./parallel";

const H = 250;
const PAD = { top: 22, bottom: 26, left: 40, right: 40 };
/** Tick labels at most every this many px on a category axis (the others in the axis' hover text). */
const TICK_PX = 13;
/** The brush's hit area reaches this far past each end of an axis: a drag begun at an end includes it. */
const HIT_PAD = 6;

function tickLabels(a: Axis, room: number): { pos: number; text: string }[] {
  if (a.kind === "category") {
    const every = Math.max(1, Math.ceil(a.categories.length / Math.max(1, Math.floor(room / TICK_PX))));
    return a.categories.filter((_c, i) => i % every === 0).map((c) => ({ pos: axisPos(a, c) ?? 0, text: c }));
  }
  if (a.min === a.max) return [{ pos: 0.5, text: fmtNumber(a.min, 3) }];
  return [
    { pos: 0, text: fmtNumber(a.min, 3) },
    { pos: 1, text: fmtNumber(a.max, 3) },
  ];
}

/** Low metric values green, high red (flip the sense with the metric's `higher is better` toggle). */
function ramp(t: number): string {
  const r = Math.round(255 * Math.min(1, 2 * t));
  const g = Math.round(255 * Math.min(1, 2 * (1 - t)));
  return `rgb(${r},${g},60)`;
}

interface Props {
  runs: ExpRun[];
  configKeys: string[];
  metricKeys: string[];
  colorOf(id: string): string | undefined;
  metricValue(run: ExpRun, key: string, stat: MetricStat): number | null;
  /** the runs inside the brushed ranges (drag along an axis), null when none is brushed */
  onBrush?(ids: Set<string> | null): void;
}

export function ParallelCoords({ runs, configKeys, metricKeys, colorOf, metricValue, onBrush }: Props) {
  const [brushes, setBrushes] = useState<ReadonlyMap<number, Brush>>(new Map());
  const drag = useRef<{ axis: number; from: number } | null>(null);
  const [chosen, setChosen] = useState<string[] | null>(null);
  // drawn at the box's own width, so labels keep their size on a phone as on a desktop
  const box = useRef<HTMLDivElement>(null);
  const [W, setW] = useState(860);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setW(Math.max(300, Math.min(1400, el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const [metric, setMetric] = useState<string>("");
  const [stat, setStat] = useState<MetricStat>("last");
  const keys = chosen ?? configKeys.slice(0, 6);
  const m = metric || metricKeys[0] || "";
  const data = useMemo(
    () =>
      parallelData(
        runs.map((r) => ({ id: r.id, config: r.config, metric: m ? metricValue(r, m, stat) : null })),
        keys,
        m ? `${m}${stat === "last" ? "" : `.${stat}`}` : "(no metric)",
      ),
    [runs, keys, m, stat, metricValue],
  );
  const n = data.axes.length;
  const xOf = (i: number) => PAD.left + (n <= 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (n - 1));
  const mAxis = data.axes[n - 1];
  // axis titles share the width between axes (10 px monospace: ~6 px a character)
  const maxChars = Math.max(6, Math.floor((W - PAD.left - PAD.right) / Math.max(1, n - 1) / 6.2));
  const names = new Map(runs.map((r) => [r.id, r.name]));
  // axis titles wrap onto as many lines as they need (never cut): the plot starts below the tallest
  const titles = data.axes.map((a) => wrapLabel(`${a.key}${a.log ? " (log)" : ""}`, maxChars));
  const top = PAD.top + 11 * (Math.max(1, ...titles.map((t) => t.length)) - 1);
  const height = H + top - PAD.top;
  const yAt = (p: number) => top + (1 - p) * (height - top - PAD.bottom);
  const posAt = (clientY: number, hit: Element) => {
    const r = hit.getBoundingClientRect(); // the hit area: the axis and HIT_PAD (drawing units) beyond its ends
    return pointerPos(clientY, r.top, r.height, HIT_PAD * (r.height / (height - top - PAD.bottom + 2 * HIT_PAD)));
  };
  const axesKey = `${keys.join("\n")}|${m}|${stat}`;
  useEffect(() => setBrushes(new Map()), [axesKey]); // other axes: the old ranges mean nothing
  const inside = useMemo(() => brushedIds(data.lines, brushes), [data.lines, brushes]);
  // the page hears of a brush when the drag ends: the config diff above shrinking mid-drag moved the axis
  // under the pointer, so the rest of the drag brushed another part of it
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    if (!dragging) onBrush?.(inside);
  }, [inside, onBrush, dragging]);
  // many runs: thinner, fainter lines so the bundle's shape shows
  const opacity = runs.length > 300 ? 0.22 : runs.length > 60 ? 0.45 : 0.85;
  return (
    <div className="xp-pc" ref={box}>
      <div className="toolbar">
        <span className="muted">axes:</span>
        {configKeys.map((k) => (
          <label key={k} className="xp-pick">
            <input
              type="checkbox"
              checked={keys.includes(k)}
              onChange={() => setChosen(keys.includes(k) ? keys.filter((x) => x !== k) : [...keys, k])}
            />
            {k}
          </label>
        ))}
        <span className="muted">vs</span>
        <select className="input" aria-label="parallel coordinates metric" value={m} onChange={(e) => setMetric(e.target.value)}>
          {metricKeys.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <select className="input" aria-label="metric statistic" value={stat} onChange={(e) => setStat(e.target.value as MetricStat)}>
          <option value="last">last</option>
          <option value="min">min</option>
          <option value="max">max</option>
        </select>
      </div>
      <div className="muted small">
        drag along an axis to keep the runs in that range (the config diff follows) · click an axis to clear it
        {inside ? ` · ${inside.size} of ${runs.length} runs brushed` : ""}
      </div>
      <svg viewBox={`0 0 ${W} ${height}`} role="img" aria-label={`parallel coordinates of ${keys.join(", ")} against ${m}`}>
        {data.lines.map((l) => {
          const pts = l.pos.map((p, i) => (p === null ? null : `${xOf(i)},${yAt(p)}`));
          const tMetric = mAxis && l.metric !== null ? axisPos(mAxis, l.metric) : null;
          const color = colorOf(l.id) ?? (tMetric === null ? theme_muted : ramp(tMetric));
          // a missing value breaks the line: draw the contiguous pieces
          const pieces: string[][] = [[]];
          for (const p of pts) {
            if (p === null) pieces.push([]);
            else (pieces[pieces.length - 1] as string[]).push(p);
          }
          return (
            <g key={l.id} data-run-id={l.id} data-brushed={inside ? String(inside.has(l.id)) : undefined} opacity={inside && !inside.has(l.id) ? 0.12 : 1}>
              <title>{`${names.get(l.id) ?? l.id}: ${fmtNumber(l.metric)}`}</title>
              {pieces
                .filter((pc) => pc.length > 1)
                .map((pc, k) => (
                  <polyline key={k} points={pc.join(" ")} fill="none" stroke={color} strokeWidth={runs.length > 300 ? 1 : 1.4} strokeOpacity={opacity} />
                ))}
              {pieces
                .filter((pc) => pc.length === 1)
                .map((pc, k) => {
                  const [x, y] = (pc[0] as string).split(",");
                  return <circle key={`c${k}`} cx={x} cy={y} r={2} fill={color} />;
                })}
            </g>
          );
        })}
        {data.axes.map((a, i) => {
          const br = brushes.get(i);
          return (
            <g key={a.key} data-axis={a.key}>
              <line x1={xOf(i)} x2={xOf(i)} y1={top} y2={height - PAD.bottom} style={{ stroke: "var(--text-muted)" }} />
              <text x={xOf(i)} y={12} textAnchor="middle" style={{ fill: i === n - 1 ? "var(--text-secondary)" : "var(--text-primary)" }}>
                <title>{a.kind === "category" ? `${a.key}: ${a.categories.join(", ")}` : a.key}</title>
                {(titles[i] ?? []).map((t, k) => (
                  <tspan key={k} x={xOf(i)} dy={k === 0 ? 0 : 11}>
                    {t}
                  </tspan>
                ))}
              </text>
              {tickLabels(a, height - top - PAD.bottom).map((t, k) => (
                <text key={k} x={i === n - 1 ? xOf(i) - 3 : xOf(i) + 3} y={yAt(t.pos) + 3} textAnchor={i === n - 1 ? "end" : "start"}>
                  <title>{t.text}</title>
                  {t.text.length > 14 ? `${t.text.slice(0, 13)}…` : t.text}
                </text>
              ))}
              {br && (
                <rect x={xOf(i) - 7} width={14} y={yAt(br[1])} height={Math.max(2, yAt(br[0]) - yAt(br[1]))} fill="var(--accent, #0ff)" fillOpacity={0.25} stroke="var(--accent, #0ff)" />
              )}
              <rect
                data-brush-axis={a.key}
                x={xOf(i) - 9}
                width={18}
                y={top - HIT_PAD}
                height={height - top - PAD.bottom + 2 * HIT_PAD}
                fill="transparent"
                style={{ cursor: "ns-resize" }}
                onPointerDown={(e) => {
                  e.currentTarget.setPointerCapture(e.pointerId);
                  drag.current = { axis: i, from: posAt(e.clientY, e.currentTarget) };
                  setDragging(true);
                }}
                onPointerMove={(e) => {
                  const d = drag.current;
                  if (!d || d.axis !== i) return;
                  const to = posAt(e.clientY, e.currentTarget);
                  if (Math.abs(to - d.from) < 0.01) return;
                  setBrushes((b) => new Map(b).set(i, [Math.min(d.from, to), Math.max(d.from, to)] as const));
                }}
                onPointerCancel={() => {
                  drag.current = null;
                  setDragging(false);
                }}
                onPointerUp={(e) => {
                  const d = drag.current;
                  drag.current = null;
                  setDragging(false);
                  if (!d) return;
                  if (Math.abs(posAt(e.clientY, e.currentTarget) - d.from) < 0.01)
                    setBrushes((b) => {
                      const nb = new Map(b);
                      nb.delete(i);
                      return nb;
                    });
                }}
              />
            </g>
          );
        })}
      </svg>
    </div>
  );
}

const theme_muted = "#808080";
