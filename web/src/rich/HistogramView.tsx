// Histogram over steps: a heatmap (x: step, y: value, brightness: the share of that step's values), as
// TensorBoard's distributions; the steps shown are spread over all of them (and it says so when sampled).
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { useMoment } from "../timeline/moment";
import { richSeries, type RichKey } from "./api";
import { heatmap } from "./model";
import { Truncated } from "./StepSlider";

const LIMIT = 300;
const ROWS = 96;

export function HistogramView({ runId, rkey, live }: { runId: string; rkey: RichKey; live: boolean }) {
  const q = useQuery({
    queryKey: ["rich-series", runId, rkey.key, rkey.steps.length],
    queryFn: () => richSeries(runId, rkey.key, LIMIT),
    refetchInterval: live ? 10_000 : false,
  });
  const values = useMemo(() => q.data?.values ?? [], [q.data]);
  const map = useMemo(() => heatmap(values.map((v) => v.histogram!), ROWS), [values]);
  const canvas = useRef<HTMLCanvasElement>(null);
  const moment = useMoment(runId);
  const [hover, setHover] = useState<string | null>(null);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !map.columns.length) return;
    const width = Math.max(1, c.clientWidth);
    const height = Math.max(1, c.clientHeight);
    c.width = width;
    c.height = height;
    const ctx = c.getContext("2d");
    if (!ctx) return;
    const img = ctx.createImageData(width, height);
    const n = map.columns.length;
    for (let x = 0; x < width; x++) {
      const col = map.columns[Math.min(n - 1, Math.floor((x * n) / width))]!;
      for (let y = 0; y < height; y++) {
        const d = col[Math.min(ROWS - 1, Math.floor(((height - 1 - y) * ROWS) / height))]!;
        const o = (y * width + x) * 4;
        img.data[o] = 255 * Math.sqrt(d);
        img.data[o + 1] = 215 * d;
        img.data[o + 2] = 40 * d;
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    if (moment && values.length) {
      const first = values[0]!.step;
      const last = values[values.length - 1]!.step;
      const x = last > first ? ((moment.step - first) / (last - first)) * width : 0;
      ctx.fillStyle = "#00ffff";
      ctx.fillRect(Math.round(x), 0, 1, height);
    }
  }, [map, moment, values]);

  if (q.isError) return <div className="empty red">cannot load {rkey.key}: {(q.error as Error).message}</div>;
  if (!values.length) return <div className="empty">loading {rkey.key}…</div>;
  const first = values[0]!;
  const last = values[values.length - 1]!;
  const onMove = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const i = Math.min(values.length - 1, Math.floor(((e.clientX - r.left) / r.width) * values.length));
    const value = map.hi - ((e.clientY - r.top) / r.height) * (map.hi - map.lo);
    setHover(`step ${values[i]!.step} · value ${value.toPrecision(4)}`);
  };
  return (
    <div className="rich-hist">
      <div className="rich-hist-note muted">
        {q.data && q.data.total_steps > values.length
          ? `showing ${values.length} of ${q.data.total_steps} steps, spread evenly (first and last included)`
          : `${values.length} steps`}
        {" · "}
        {hover ?? "each step's column scaled to its own peak"}
      </div>
      <div className="rich-hist-plot">
        <div className="rich-axis-y muted">
          <span>{map.hi.toPrecision(4)}</span>
          <span>{map.lo.toPrecision(4)}</span>
        </div>
        <canvas
          ref={canvas}
          className="rich-heatmap"
          aria-label={`${rkey.key} histogram over steps`}
          onMouseMove={onMove}
          onMouseLeave={() => setHover(null)}
        />
      </div>
      <div className="rich-axis-x muted">
        <span>step {first.step}</span>
        <span>step {last.step}</span>
      </div>
      {last.histogram && last.histogram.nonfinite > 0 && (
        <div className="amber">step {last.step}: {last.histogram.nonfinite} NaN/infinite values not in the bins</div>
      )}
      <Truncated text={last.truncated} />
    </div>
  );
}
