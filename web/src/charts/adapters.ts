// Pure chart data adapters: API series -> uPlot columns, zoom merge, EMA, non-finite markers, overlay join.
import type { Series } from "../api/types";

/** A growable series of points, sorted by step (one point per step). */
export interface Points {
  step: number[];
  value: number[];
  time: number[];
}

/** The x axis: the step, the time since the run started, the wall clock, or the dollars the run had cost. */
export type XMode = "step" | "elapsed" | "wall" | "cost";

/** Series with fewer points than this are not smoothed by default (an EMA over 8 points only misleads). */
export const SPARSE_POINTS = 50;

/** System metrics (`sys/...`) are sampled on the clock: their "step" is the sample's wall time in milliseconds. */
export const isSystemKey = (k: string): boolean => k.startsWith("sys/");

/** Steps from here on are epoch milliseconds (no training run counts 10^11 steps). */
const CLOCK_STEP = 1e11;

/** Whether a series is stepped by the clock: the system sampler's `sys/*` series (a user's own `sys/` keys
 * logged at training steps are not). */
export function isClockStepped(key: string, p: Points | undefined): boolean {
  return isSystemKey(key) && (p?.step[0] ?? 0) >= CLOCK_STEP;
}

/**
 * The x mode of a chart: a clock-stepped series on a STEP axis is drawn against the time since its run started
 * (its "steps" are epoch milliseconds: a step axis would read 1.80e+12 and overlay runs by start date).
 */
export function xModeFor(xMode: XMode, clockStepped: boolean): XMode {
  return xMode === "step" && clockStepped ? "elapsed" : xMode;
}

/**
 * The x values of a series in a mode; `t0` is the run's start (epoch seconds) for "elapsed", and for "cost" the
 * time its price applies from, with `perHour` its price: x = dollars spent by then.
 */
export function xValues(p: Points, xMode: XMode, t0 = 0, perHour = 0): number[] {
  if (xMode === "step") return p.step;
  if (xMode === "wall") return p.time;
  if (xMode === "cost") return p.time.map((t) => ((t - t0) * perHour) / 3600);
  return p.time.map((t) => t - t0);
}

export function emptyPoints(): Points {
  return { step: [], value: [], time: [] };
}

export function pointsFromSeries(s: Series): Points {
  return { step: Array.from(s.step), value: Array.from(s.value), time: Array.from(s.timestamp) };
}

/** Index of the first point with step >= target (binary search). */
export function lowerBound(steps: readonly number[], target: number): number {
  let lo = 0;
  let hi = steps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((steps[mid] as number) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Add one live point; a repeated step replaces the earlier value (last write wins, as the server does). */
export function appendPoint(p: Points, step: number, value: number, time: number): void {
  const n = p.step.length;
  if (n === 0 || step > (p.step[n - 1] as number)) {
    p.step.push(step);
    p.value.push(value);
    p.time.push(time);
    return;
  }
  const i = lowerBound(p.step, step);
  if (p.step[i] === step) {
    p.value[i] = value;
    p.time[i] = time;
  } else {
    p.step.splice(i, 0, step);
    p.value.splice(i, 0, value);
    p.time.splice(i, 0, time);
  }
}

/**
 * Merge a finer downsample of [start, end] (steps, inclusive) into a coarse series: coarse points outside
 * the range are kept, those inside are replaced by the fine ones. Both inputs sorted by step.
 */
export function mergeRange(coarse: Points, fine: Points, start: number, end: number): Points {
  const a = lowerBound(coarse.step, start);
  let b = lowerBound(coarse.step, end);
  if (coarse.step[b] === end) b++;
  const fa = lowerBound(fine.step, start);
  let fb = lowerBound(fine.step, end);
  if (fine.step[fb] === end) fb++;
  const pick = (col: keyof Points): number[] => [
    ...coarse[col].slice(0, a),
    ...fine[col].slice(fa, fb),
    ...coarse[col].slice(b),
  ];
  return { step: pick("step"), value: pick("value"), time: pick("time") };
}

/** The points with step >= (last step - window); `null` keeps all. */
export function lastWindow(p: Points, window: number | null): Points {
  const n = p.step.length;
  if (window === null || n === 0) return p;
  const from = lowerBound(p.step, (p.step[n - 1] as number) - window);
  if (from === 0) return p;
  return { step: p.step.slice(from), value: p.value.slice(from), time: p.time.slice(from) };
}

/**
 * Exponential moving average with TensorBoard's debiasing; `weight` in [0, 1) (0 = raw).
 * Non-finite values give null and do not disturb the average.
 */
export function ema(values: readonly number[], weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  const out: (number | null)[] = new Array(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    n++;
    last = last * w + (1 - w) * v;
    const debias = w === 0 ? 1 : 1 - w ** n;
    out[i] = last / debias;
  }
  return out;
}

/** Values for the plot: non-finite -> null (a gap; drawn as markers instead); on a log scale also <= 0. */
export function plotValues(values: readonly number[], logScale = false): (number | null)[] {
  return values.map((v) => (Number.isFinite(v) && (!logScale || v > 0) ? v : null));
}

export type MarkerKind = "nan" | "inf" | "-inf";

export interface Markers {
  x: number[];
  kind: MarkerKind[];
}

/** Where the series holds NaN / +Inf / -Inf, by x. */
export function nonFiniteMarkers(p: Points, xMode: XMode, t0 = 0, perHour = 0): Markers {
  const xs = xValues(p, xMode, t0, perHour);
  const out: Markers = { x: [], kind: [] };
  for (let i = 0; i < p.value.length; i++) {
    const v = p.value[i] as number;
    if (Number.isFinite(v)) continue;
    out.x.push(xs[i] as number);
    out.kind.push(Number.isNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");
  }
  return out;
}

/**
 * Join several (x, y) series on the union of their x values (sorted, deduplicated): uPlot's shared x column,
 * with `undefined` where a series has no point (uPlot draws the line across it) while a `null` value
 * (NaN/Inf) stays a gap.
 */
export function joinOnX(
  series: { x: readonly number[]; ys: readonly (readonly (number | null)[])[] }[],
): (number | null | undefined)[][] {
  const all: number[] = [];
  for (const s of series) for (const x of s.x) if (Number.isFinite(x)) all.push(x);
  all.sort((a, b) => a - b);
  const xs: number[] = [];
  for (const x of all) if (xs.length === 0 || xs[xs.length - 1] !== x) xs.push(x);
  const cols: (number | null | undefined)[][] = [xs];
  for (const s of series) {
    const idx = new Map<number, number>();
    s.x.forEach((x, i) => idx.set(x, i));
    for (const y of s.ys) {
      cols.push(
        xs.map((x) => {
          const i = idx.get(x);
          return i === undefined ? undefined : (y[i] ?? null);
        }),
      );
    }
  }
  return cols;
}

/**
 * The columns of one run for one chart: x, smoothed, raw. A sparse series (< SPARSE_POINTS points) is not
 * smoothed unless `smoothSparse`: then `smoothed` is false and `smooth` all null (only the raw line is drawn).
 */
export function runColumns(
  p: Points,
  opts: {
    xMode: XMode;
    window: number | null;
    smoothing: number;
    logScale: boolean;
    t0?: number;
    perHour?: number;
    smoothSparse?: boolean;
  },
): { x: number[]; smooth: (number | null)[]; raw: (number | null)[]; markers: Markers; smoothed: boolean } {
  const w = lastWindow(p, opts.window);
  const x = xValues(w, opts.xMode, opts.t0, opts.perHour);
  const raw = plotValues(w.value, opts.logScale);
  const smoothed = opts.smoothing > 0 && (opts.smoothSparse === true || w.value.length >= SPARSE_POINTS);
  const smooth = smoothed ? plotValues(ema(w.value, opts.smoothing).map((v) => v ?? NaN), opts.logScale) : raw.map(() => null);
  return { x, smooth, raw, markers: nonFiniteMarkers(w, opts.xMode, opts.t0, opts.perHour), smoothed };
}

/** The step range to refetch for a zoom over [xMin, xMax] of the plot. */
export function stepRangeForX(
  p: Points,
  xMode: XMode,
  xMin: number,
  xMax: number,
  t0 = 0,
  perHour = 0,
): [number, number] | null {
  if (xMode === "step") return [Math.floor(xMin), Math.ceil(xMax)];
  if (xMode === "elapsed") return stepRangeForX(p, "wall", xMin + t0, xMax + t0);
  if (xMode === "cost") {
    if (!(perHour > 0)) return null;
    return stepRangeForX(p, "wall", (xMin * 3600) / perHour + t0, (xMax * 3600) / perHour + t0);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < p.time.length; i++) {
    const t = p.time[i] as number;
    if (t >= xMin && t <= xMax) {
      const s = p.step[i] as number;
      if (s < lo) lo = s;
      if (s > hi) hi = s;
    }
  }
  if (lo > hi) return null;
  // widen to the neighbouring coarse points so the gap between them is filled
  const i = lowerBound(p.step, lo);
  const j = lowerBound(p.step, hi);
  return [p.step[Math.max(0, i - 1)] ?? lo, p.step[Math.min(p.step.length - 1, j + 1)] ?? hi];
}

/**
 * Ticks of a log-scale axis over [min, max] (both > 0): the powers of ten, and when the range spans fewer than
 * two decades 2x and 5x too — never the dense 2..9 grid uPlot draws by default.
 */
export function logSplits(min: number, max: number): number[] {
  if (!(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max < min) [min, max] = [max, min];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const decades = hi - lo;
  const mults = decades <= 2 ? [1, 2, 5] : [1];
  const step = decades > 8 ? Math.ceil(decades / 6) : 1;
  const out: number[] = [];
  for (let e = lo; e <= hi; e += step) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
    }
  }
  // a narrow range inside one decade: at least its ends
  if (out.length < 2) return [min, max];
  return out;
}
