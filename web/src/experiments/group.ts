// Grouping of runs (by a config key or a tag) and the group's mean line with its min-max band.
import { flattenConfig, type Scalar } from "./columns";
import { fmtScalar } from "./diff";
import { displayUnit, type Unit } from "../charts/units";
import { fmtNumber } from "../lib/format";

export interface GroupableRun {
  id: string;
  config: unknown;
  tags?: string[] | null;
}

export interface Group<R extends GroupableRun> {
  label: string;
  runs: R[];
}

/**
 * `by` is `config.<key>` or `tag`. Mode "by": runs with the same value share a group (a run without the key
 * lands in "(none)"; with `tag`, a run is in the group of each of its tags). Mode "over": the key is what
 * varies inside a group — runs are grouped by every other config key that differs between them (the usual
 * "mean over seeds").
 */
export function groupRuns<R extends GroupableRun>(runs: readonly R[], by: string, mode: "by" | "over" = "by"): Group<R>[] {
  const groups = new Map<string, R[]>();
  const order = new Map<string, (Scalar | undefined)[]>();
  const add = (label: string, r: R, sortKey: (Scalar | undefined)[] = [label]) => {
    const g = groups.get(label);
    if (g) g.push(r);
    else {
      groups.set(label, [r]);
      order.set(label, sortKey);
    }
  };
  if (by === "tag") {
    for (const r of runs) {
      const tags = r.tags ?? [];
      if (tags.length === 0) add("(untagged)", r);
      for (const t of tags) add(t, r);
    }
  } else {
    const key = by.startsWith("config.") ? by.slice(7) : by;
    const flats = runs.map((r) => flattenConfig(r.config ?? {}));
    if (mode === "by") {
      runs.forEach((r, i) => {
        const f = flats[i] as Record<string, Scalar>;
        add(key in f ? `${key}=${fmtScalar(f[key])}` : `${key}=(none)`, r, [f[key]]);
      });
    } else {
      const varying = varyingKeys(flats).filter((k) => k !== key);
      runs.forEach((r, i) => {
        const f = flats[i] as Record<string, Scalar>;
        const label = varying.map((k) => `${k}=${fmtScalar(k in f ? f[k] : undefined)}`).join(" ");
        add(label || "(all)", r, varying.map((k) => f[k]));
      });
    }
  }
  return [...groups.entries()]
    .map(([label, rs]) => ({ label, runs: rs }))
    .sort((a, b) => compareKeys(order.get(a.label) ?? [], order.get(b.label) ?? []));
}

/** Numbers by value, before text; missing values last. */
function compareKeys(a: readonly (Scalar | undefined)[], b: readonly (Scalar | undefined)[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === undefined || x === null) return 1;
    if (y === undefined || y === null) return -1;
    if (typeof x === "number" && typeof y === "number") return x - y;
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    const c = String(x).localeCompare(String(y), undefined, { numeric: true });
    if (c !== 0) return c;
  }
  return 0;
}

/** Config keys whose value is not the same in all the flattened configs. */
export function varyingKeys(flats: readonly Record<string, Scalar>[]): string[] {
  const keys = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) keys.add(k);
  return [...keys]
    .filter((k) => {
      const first = JSON.stringify(flats[0]?.[k]);
      return flats.some((f) => JSON.stringify(f[k]) !== first);
    })
    .sort();
}

export interface XY {
  x: readonly number[];
  y: readonly number[];
}

export interface Band {
  x: number[];
  mean: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  /** how many members have a value at each x */
  n: number[];
}

/** The member's value at x: exact, or linear between its neighbours; null outside its range or at a non-finite point. */
function valueAt(s: XY, x: number, hint: { i: number }): number | null {
  const xs = s.x;
  let i = hint.i;
  while (i < xs.length && (xs[i] as number) < x) i++;
  hint.i = i;
  if (i >= xs.length) return null;
  const xi = xs[i] as number;
  const yi = s.y[i] as number;
  if (xi === x) return Number.isFinite(yi) ? yi : null;
  if (i === 0) return null;
  const x0 = xs[i - 1] as number;
  const y0 = s.y[i - 1] as number;
  if (!Number.isFinite(y0) || !Number.isFinite(yi)) return null;
  return y0 + ((yi - y0) * (x - x0)) / (xi - x0);
}

/**
 * Mean, min and max of the members at every x any member has (each member sorted by x). A member counts
 * only inside its own x range (no extrapolation: a shorter run does not drag the mean beyond its end).
 */
export function meanBand(members: readonly XY[]): Band {
  const all: number[] = [];
  for (const m of members) for (const x of m.x) if (Number.isFinite(x)) all.push(x);
  all.sort((a, b) => a - b);
  const xs: number[] = [];
  for (const x of all) if (xs.length === 0 || xs[xs.length - 1] !== x) xs.push(x);
  const hints = members.map(() => ({ i: 0 }));
  const band: Band = { x: xs, mean: [], min: [], max: [], n: [] };
  for (const x of xs) {
    let sum = 0;
    let n = 0;
    let lo = Infinity;
    let hi = -Infinity;
    members.forEach((m, j) => {
      const v = valueAt(m, x, hints[j] as { i: number });
      if (v === null) return;
      sum += v;
      n++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    });
    band.n.push(n);
    band.mean.push(n ? sum / n : null);
    band.min.push(n ? lo : null);
    band.max.push(n ? hi : null);
  }
  return band;
}

/** One group's aggregate per step bucket as `GET /api/run-groups?metric=` answers it (over all its runs). */
export interface GroupSeries {
  step: number[];
  /** runs with a finite value in the bucket: the runs behind the point */
  count: number[];
  nonfinite: number[];
  mean: (number | null)[];
  median: (number | null)[];
  min: (number | null)[];
  max: (number | null)[];
  std: (number | null)[];
  sem: (number | null)[];
}

export type CenterStat = "mean" | "median";
export type BandStat = "minmax" | "std" | "sem" | "none";

export const BAND_LABEL: Record<BandStat, string> = {
  minmax: "min–max",
  std: "± std",
  sem: "± std. error",
  none: "no band",
};

/** The line and its band (upper, lower) of one group for the chosen statistics; null where no run has a value. */
export function groupLines(s: GroupSeries, center: CenterStat, band: BandStat): { y: (number | null)[]; upper: (number | null)[]; lower: (number | null)[] } {
  const y = s[center];
  if (band === "none") return { y, upper: y.map(() => null), lower: y.map(() => null) };
  if (band === "minmax") return { y, upper: s.max, lower: s.min };
  const spread = s[band];
  const around = (sign: number) =>
    y.map((v, i) => {
      const d = spread[i];
      return v === null || d === null || d === undefined ? null : v + sign * d;
    });
  return { y, upper: around(1), lower: around(-1) };
}

/**
 * Aligned chart columns for several groups: [x, then per group upper, lower, center]; x is the union of the
 * groups' bucket steps (a group without that bucket has `undefined` there: no point, not a zero).
 */
export function groupColumns(series: readonly (GroupSeries | null | undefined)[], center: CenterStat, band: BandStat): (number | null | undefined)[][] {
  const xs = [...new Set(series.flatMap((s) => s?.step ?? []))].sort((a, b) => a - b);
  const cols: (number | null | undefined)[][] = [xs];
  for (const s of series) {
    if (!s) {
      for (let k = 0; k < 3; k++) cols.push(xs.map(() => undefined));
      continue;
    }
    const at = new Map(s.step.map((x, i) => [x, i]));
    const l = groupLines(s, center, band);
    for (const col of [l.upper, l.lower, l.y]) cols.push(xs.map((x) => (at.has(x) ? col[at.get(x) as number] : undefined)));
  }
  return cols;
}

/** "3,333 runs" or "1,201–3,333 runs" (when runs end at different steps): the runs behind the points. */
export function countRange(s: GroupSeries | null | undefined): string {
  const c = (s?.count ?? []).filter((n) => n > 0);
  if (c.length === 0) return "no runs";
  const lo = Math.min(...c);
  const hi = Math.max(...c);
  const f = (n: number) => n.toLocaleString("en-US");
  return lo === hi ? `${f(hi)} runs` : `${f(lo)}–${f(hi)} runs`;
}

/** A stored value of a metric in its key's unit, as the charts show it (bytes in GB, in MB under 1 GB). */
export function fmtValue(v: number, unit: Unit | null): string {
  if (!unit) return fmtNumber(v, 4);
  const du = displayUnit(unit.suffix, Math.abs(v * unit.scale));
  return `${fmtNumber(v * unit.scale * du.factor, 4)} ${du.suffix ?? ""}`.trimEnd();
}
