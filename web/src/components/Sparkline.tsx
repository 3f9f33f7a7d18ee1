/** A tiny history chart (SVG polyline), for the system panel. Values outside [0, max] are clamped. */
export function Sparkline({ values, max = 100, color }: { values: number[]; max?: number; color: string }) {
  const w = 120;
  const h = 18;
  const n = values.length;
  if (n < 2) return <svg className="spark" width={w} height={h} />;
  const pts = values
    .map((v, i) => {
      const x = (i / (n - 1)) * w;
      const y = h - (Math.min(Math.max(Number.isFinite(v) ? v : 0, 0), max) / max) * (h - 2) - 1;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(" ");
  return (
    <svg className="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none">
      <polyline points={pts} fill="none" stroke={color} strokeWidth="1" />
    </svg>
  );
}
