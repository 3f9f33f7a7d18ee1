// Parallel coordinates: one vertical axis per chosen config key plus the metric; each run a polyline.
import { flattenConfig, type Scalar } from "./columns";

export interface Axis {
  key: string;
  /** numeric axes map min..max linearly; categorical ones spread their sorted distinct values */
  kind: "number" | "category";
  min: number;
  max: number;
  categories: string[];
  /** log scale when every value is > 0 and they span more than two decades (learning rates) */
  log: boolean;
}

/** Build an axis from the values (nulls ignored). */
export function makeAxis(key: string, values: readonly (Scalar | undefined)[]): Axis {
  const present = values.filter((v): v is Scalar => v !== undefined && v !== null);
  const numeric = present.length > 0 && present.every((v) => typeof v === "number" && Number.isFinite(v));
  if (numeric) {
    const nums = present as number[];
    const min = Math.min(...nums);
    const max = Math.max(...nums);
    const log = min > 0 && max / min > 100;
    return { key, kind: "number", min, max, categories: [], log };
  }
  const categories = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return { key, kind: "category", min: 0, max: Math.max(0, categories.length - 1), categories, log: false };
}

/** Position in [0, 1] (0 = bottom) of a value on the axis; null when it has none. */
export function axisPos(a: Axis, v: Scalar | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (a.kind === "category") {
    const i = a.categories.indexOf(String(v));
    if (i < 0) return null;
    return a.categories.length === 1 ? 0.5 : i / (a.categories.length - 1);
  }
  if (typeof v !== "number" || !Number.isFinite(v)) return null;
  if (a.max === a.min) return 0.5;
  if (a.log) return (Math.log10(v) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min));
  return (v - a.min) / (a.max - a.min);
}

/** The value at position `p` (0 = bottom) of a numeric axis: the inverse of `axisPos` (log axes too). */
export function axisValue(a: Axis, p: number): number {
  if (a.kind === "category") return Math.round(p * Math.max(0, a.categories.length - 1));
  if (a.max === a.min) return a.min;
  if (a.log) return 10 ** (Math.log10(a.min) + p * (Math.log10(a.max) - Math.log10(a.min)));
  return a.min + p * (a.max - a.min);
}

/**
 * The axis position (0 = bottom, 1 = top, clamped) under a pointer at `clientY`, from the on-screen box of the
 * axis' hit area (`boxTop`, `boxHeight`: its getBoundingClientRect), which spans the axis and `pad` px beyond each
 * end (a drag begun just past an end takes that end's value in). Screen pixels
 * to the box, not through the SVG's screen matrix: that one was off by the page's offset of the drawing after a
 * scroll, so a drag brushed a range hundreds of pixels above the pointer.
 */
export function pointerPos(clientY: number, boxTop: number, boxHeight: number, pad = 0): number {
  const span = boxHeight - 2 * pad;
  if (!(span > 0)) return 0.5;
  return Math.max(0, Math.min(1, 1 - (clientY - boxTop - pad) / span));
}

export interface PcRun {
  id: string;
  config: unknown;
  metric: number | null;
}

/** Axes (config keys, then the metric) and per-run positions (null: missing on that axis). */
export function parallelData(runs: readonly PcRun[], keys: readonly string[], metric: string): {
  axes: Axis[];
  lines: { id: string; pos: (number | null)[]; metric: number | null }[];
} {
  const flats = runs.map((r) => flattenConfig(r.config ?? {}));
  const axes = keys.map((k) => makeAxis(k, flats.map((f) => f[k])));
  const mAxis = makeAxis(metric, runs.map((r) => r.metric));
  const all = [...axes, mAxis];
  const lines = runs.map((r, i) => ({
    id: r.id,
    metric: r.metric,
    pos: [...keys.map((k, j) => axisPos(axes[j] as Axis, (flats[i] as Record<string, Scalar>)[k])), axisPos(mAxis, r.metric)],
  }));
  return { axes: all, lines };
}

/** A brushed range of one axis, as positions in [0, 1] (0 = bottom), lo <= hi. */
export type Brush = readonly [number, number];

/**
 * The runs inside every brush (axis index -> range); null when nothing is brushed. A run without a value on
 * a brushed axis is outside it.
 */
export function brushedIds(lines: readonly { id: string; pos: readonly (number | null)[] }[], brushes: ReadonlyMap<number, Brush>): Set<string> | null {
  if (brushes.size === 0) return null;
  const out = new Set<string>();
  for (const l of lines) {
    let inside = true;
    for (const [axis, [lo, hi]] of brushes) {
      const p = l.pos[axis];
      if (p === null || p === undefined || p < lo || p > hi) {
        inside = false;
        break;
      }
    }
    if (inside) out.add(l.id);
  }
  return out;
}

/** A label cut into lines of at most `width` characters (at `.` `/` `_` where it can): shown whole, never cut. */
export function wrapLabel(text: string, width: number): string[] {
  const w = Math.max(4, width);
  const out: string[] = [];
  let rest = text;
  while (rest.length > w) {
    let cut = -1;
    for (let i = w; i > w / 2; i--) if ("./_-".includes(rest[i - 1] as string)) {
      cut = i;
      break;
    }
    if (cut < 0) cut = w;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  out.push(rest);
  return out;
}
