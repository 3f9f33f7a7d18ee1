// The run page's shared time line: the moment a chart click marked (a step of a run, with the time its
// metric point was logged). The terminal replays its screen at that moment; LINES highlights the output
// printed around it. `null` = live.

import { useSyncExternalStore } from "react";

export interface Moment {
  runId: string;
  step: number;
  /** epoch seconds: when the metric point at `step` was logged */
  time: number;
  /** epoch seconds: when the previous point of that series was logged (the output of this step began after it) */
  since: number | null;
  /** the metric whose chart was clicked */
  key: string;
}

type Listener = () => void;
let current: Moment | null = null;
const listeners = new Set<Listener>();

export const timeline = {
  get: (): Moment | null => current,
  set(m: Moment | null): void {
    current = m;
    for (const l of listeners) l();
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** The marked moment of `runId`, or null (live / another run's moment). */
export function useMoment(runId: string | undefined): Moment | null {
  const m = useSyncExternalStore(timeline.subscribe, timeline.get);
  return m && m.runId === runId ? m : null;
}

/**
 * The point of a series nearest to x (in the units of the plot), for a click on a chart.
 * `xs` sorted ascending; returns its index or -1.
 */
export function nearestIndex(xs: readonly number[], x: number): number {
  if (xs.length === 0 || !Number.isFinite(x)) return -1;
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo === xs.length) return xs.length - 1;
  return x - (xs[lo - 1] as number) <= (xs[lo] as number) - x ? lo - 1 : lo;
}
