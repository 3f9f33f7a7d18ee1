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
