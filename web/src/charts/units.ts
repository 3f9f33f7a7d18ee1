// Units of metric keys, by naming convention (the system sampler's `sys/...` keys and common suffixes):
// charts plot values in the unit and label their axes and readouts with it.

export interface Unit {
  /** shown after values: "%", "GB", "°C" ... */
  suffix: string;
  /** multiply stored values by this to get the unit (bytes -> GB) */
  scale: number;
}

const GB = 1 / 1024 ** 3;
const MB = 1 / 1024 ** 2;

/** The unit of a metric key, or null (a plain number). */
export function unitOf(key: string): Unit | null {
  const k = key.toLowerCase();
  if (/(_bytes_per_s|bytes_per_sec)$/.test(k)) return { suffix: "MB/s", scale: MB };
  if (/(percent|utilization|util|_pct)$/.test(k)) return { suffix: "%", scale: 1 };
  if (/(memory_used|memory_total|ram_used|ram_total|ram_available|proc_rss|_bytes)$/.test(k)) return { suffix: "GB", scale: GB };
  if (/(power_watts|_watts|power_w)$/.test(k)) return { suffix: "W", scale: 1 };
  if (/(temperature_c|temp_c|_celsius)$/.test(k)) return { suffix: "°C", scale: 1 };
  if (/(_seconds|_secs|_s)$/.test(k) && !k.endsWith("per_s")) return { suffix: "s", scale: 1 };
  return null;
}

/**
 * The chart section of a key: its first path segment (`train/loss` -> `train`), per GPU for system metrics
 * (`sys/gpu0/utilization` -> `sys/gpu0`), "other" for keys without one.
 */
export function sectionOf(key: string): string {
  const gpu = /^sys\/(gpu\d+)\//.exec(key);
  if (gpu) return `sys/${gpu[1]}`;
  const i = key.indexOf("/");
  return i > 0 ? key.slice(0, i) : "other";
}

const ORDER = ["train", "val", "eval", "test"];

/** Sections in reading order: train, val, eval, test, then the rest alphabetically, "other" and system last. */
export function sectionOrder(a: string, b: string): number {
  const rank = (s: string) => {
    const i = ORDER.indexOf(s);
    if (i >= 0) return i;
    if (s === "other") return 90;
    if (s === "sys") return 100;
    if (s.startsWith("sys/")) return 101;
    return 50;
  };
  return rank(a) - rank(b) || a.localeCompare(b, undefined, { numeric: true });
}

/**
 * The unit a chart shows its values in, from the unit they arrive in (`suffix`, already scaled) and the largest
 * magnitude among them: memory under 1 GB in MB ("34.5 MB", not "0.0345 GB"). `factor` multiplies the values.
 */
export function displayUnit(suffix: string | undefined, maxAbs: number): { suffix: string | undefined; factor: number } {
  if (suffix === "GB" && Number.isFinite(maxAbs) && maxAbs < 1) return { suffix: "MB", factor: 1024 };
  return { suffix, factor: 1 };
}

/** The smallest span of a percent axis: CPU at 96–100 % is not drawn as if it swung wildly. */
export const PERCENT_MIN_SPAN = 10;

/**
 * The y range of a linear axis over data in [min, max]: the user's bounds where set; a percent axis spans at
 * least PERCENT_MIN_SPAN points, kept inside 0–100 when the data is; otherwise null (uPlot's own).
 */
export function yRange(
  min: number,
  max: number,
  opts: { percent: boolean; userMin: number | null; userMax: number | null },
): [number, number] | null {
  let lo = min;
  let hi = max;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    if (opts.userMin === null && opts.userMax === null) return null;
    lo = opts.userMin ?? opts.userMax ?? 0;
    hi = opts.userMax ?? lo + 1;
  }
  if (opts.percent && hi - lo < PERCENT_MIN_SPAN) {
    const mid = (lo + hi) / 2;
    lo = mid - PERCENT_MIN_SPAN / 2;
    hi = mid + PERCENT_MIN_SPAN / 2;
    if (min >= 0 && lo < 0) [lo, hi] = [0, PERCENT_MIN_SPAN];
    if (max <= 100 && hi > 100) [lo, hi] = [100 - PERCENT_MIN_SPAN, 100];
  } else if (opts.userMin === null && opts.userMax === null) {
    return null;
  }
  lo = opts.userMin ?? lo;
  hi = opts.userMax ?? hi;
  if (!(hi > lo)) hi = lo + 1;
  return [lo, hi];
}

/** How many finite values in the columns are <= 0 (a log axis cannot draw them), and the columns with those
 * values as gaps. */
export function logSafe(cols: readonly (readonly (number | null | undefined)[])[]): {
  cols: (number | null | undefined)[][];
  hidden: number;
} {
  let hidden = 0;
  const out = cols.map((c) =>
    c.map((v) => {
      if (typeof v === "number" && Number.isFinite(v) && v <= 0) {
        hidden++;
        return null;
      }
      return v;
    }),
  );
  return { cols: out, hidden };
}

/**
 * Labels of an axis's ticks: as few significant digits as tell every tick apart (34.50 and 34.58 MB are not
 * both "34.5"), from 3 up to 8; `trim` drops trailing zeros (log axes).
 */
export function tickLabels(splits: readonly number[], fmt: (v: number, digits: number) => string, trim = false): string[] {
  let labels: string[] = [];
  // a log axis's ticks are 1, 2, 5 x powers of ten: "0.1", not "0.100"
  const clean = (t: string) => (trim && !t.includes("e") && t.includes(".") ? t.replace(/\.?0+$/, "") : t);
  for (let d = 3; d <= 8; d++) {
    labels = splits.map((v) => clean(fmt(v, d)));
    if (new Set(labels).size === labels.length) return labels;
  }
  return labels;
}
