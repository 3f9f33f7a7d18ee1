// How a metric key is drawn over several runs (compare, group): against the step, or for a system metric
// (`sys/...`, sampled on the clock) against the seconds since each run started — runs started hours apart
// overlay from their start, and the axis reads "1m30s", not epoch milliseconds — with values in the key's unit.
import { isClockStepped, xValues, type Points } from "../charts/adapters";
import { sectionOf, sectionOrder, unitOf } from "../charts/units";

export interface OverlayAxis {
  xKind: "step" | "elapsed";
  unit?: string;
}

/** Whether any run's series of `key` is stepped by the clock (then every run's is drawn against elapsed time). */
export function clockKey(key: string, series: readonly (Points | undefined)[]): boolean {
  return series.some((p) => isClockStepped(key, p));
}

export function overlayAxis(key: string, clock: boolean): OverlayAxis {
  const unit = unitOf(key);
  return { xKind: clock ? "elapsed" : "step", ...(unit ? { unit: unit.suffix } : {}) };
}

/** A run's points of `key` as chart columns; `t0` is the run's start (epoch seconds). Non-finite values are gaps. */
export function overlaySeries(
  key: string,
  p: Points | undefined,
  t0: number,
  clock: boolean,
): { x: number[]; y: (number | null)[] } {
  if (!p) return { x: [], y: [] };
  const scale = unitOf(key)?.scale ?? 1;
  return {
    x: clock ? xValues(p, "elapsed", t0) : p.step,
    y: p.value.map((v) => (Number.isFinite(v) ? v * scale : null)),
  };
}

/** Keys in the run page's reading order: train, val, eval, test, the rest, system metrics last. */
export function orderKeys(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort((a, b) => sectionOrder(sectionOf(a), sectionOf(b)) || a.localeCompare(b, undefined, { numeric: true }));
}
