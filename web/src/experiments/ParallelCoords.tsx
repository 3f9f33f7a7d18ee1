// Parallel coordinates (SVG): chosen config keys, then a chosen metric; one polyline per run.
import { useEffect, useMemo, useRef, useState } from "react";
import { fmtNumber } from "../lib/format";
import type { ExpRun } from "./api";
import type { MetricStat } from "./columns";
import { axisPos, parallelData, type Axis } from "./parallel";

const H = 250;
const PAD = { top: 22, bottom: 26, left: 40, right: 40 };

function tickLabels(a: Axis): { pos: number; text: string }[] {
  if (a.kind === "category") return a.categories.map((c) => ({ pos: axisPos(a, c) ?? 0, text: c }));
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
}

export function ParallelCoords({ runs, configKeys, metricKeys, colorOf, metricValue }: Props) {
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
  const yOf = (p: number) => PAD.top + (1 - p) * (H - PAD.top - PAD.bottom);
  const mAxis = data.axes[n - 1];
  // axis titles share the width between axes (10 px monospace: ~6 px a character)
  const maxChars = Math.max(6, Math.floor((W - PAD.left - PAD.right) / Math.max(1, n - 1) / 6.2));
  const names = new Map(runs.map((r) => [r.id, r.name]));
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
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`parallel coordinates of ${keys.join(", ")} against ${m}`}>
        {data.lines.map((l) => {
          const pts = l.pos.map((p, i) => (p === null ? null : `${xOf(i)},${yOf(p)}`));
          const tMetric = mAxis && l.metric !== null ? axisPos(mAxis, l.metric) : null;
          const color = colorOf(l.id) ?? (tMetric === null ? theme_muted : ramp(tMetric));
          // a missing value breaks the line: draw the contiguous pieces
          const pieces: string[][] = [[]];
          for (const p of pts) {
            if (p === null) pieces.push([]);
            else (pieces[pieces.length - 1] as string[]).push(p);
          }
          return (
            <g key={l.id} data-run-id={l.id}>
              <title>{`${names.get(l.id) ?? l.id}: ${fmtNumber(l.metric)}`}</title>
              {pieces
                .filter((pc) => pc.length > 1)
                .map((pc, k) => (
                  <polyline key={k} points={pc.join(" ")} fill="none" stroke={color} strokeWidth={1.4} strokeOpacity={0.85} />
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
        {data.axes.map((a, i) => (
          <g key={a.key}>
            <line x1={xOf(i)} x2={xOf(i)} y1={PAD.top} y2={H - PAD.bottom} style={{ stroke: "var(--text-muted)" }} />
            <text x={xOf(i)} y={12} textAnchor="middle" style={{ fill: i === n - 1 ? "var(--text-secondary)" : "var(--text-primary)" }}>
              {a.key.length > maxChars ? `…${a.key.slice(-(maxChars - 1))}` : a.key}
              {a.log ? " (log)" : ""}
            </text>
            {tickLabels(a).map((t, k) => (
              <text key={k} x={i === n - 1 ? xOf(i) - 3 : xOf(i) + 3} y={yOf(t.pos) + 3} textAnchor={i === n - 1 ? "end" : "start"}>
                {t.text.length > 14 ? `${t.text.slice(0, 13)}…` : t.text}
              </text>
            ))}
          </g>
        ))}
      </svg>
    </div>
  );
}

const theme_muted = "#808080";
