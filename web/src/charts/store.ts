// Per-run metric data held outside React: loaded once (server-side downsampled), extended by the
// WebSocket's metric_update messages, refined by zoom fetches. Charts subscribe and call setData.
import { getLatestMetrics, getMetrics } from "../api/client";
import { live } from "../api/live";
import type { WsMessage } from "../api/types";
import { decodeFloat } from "../api/wire";
import { appendPoint, emptyPoints, isSystemKey, mergeRange, pointsFromSeries, type Points } from "./adapters";

/** Points asked of the server for a whole series or a zoomed range. */
export const MAX_POINTS = 1000;
/** Parallel history requests per run (browsers allow 6 connections per host; one is the log stream). */
const FETCH_CONCURRENCY = 2;

export { isSystemKey } from "./adapters";

type Listener = () => void;

export class RunMetrics {
  readonly series = new Map<string, Points>();
  /** points stored on the server per key (the count field), for the legend */
  readonly counts = new Map<string, number>();
  /** keys read from printed text (``trainboard run``) -> the significant digits they were printed with */
  readonly parsed = new Map<string, number>();
  version = 0;
  loading = true;
  error: string | null = null;
  private readonly listeners = new Set<Listener>();
  private pending: WsMessage[] = [];
  private unsubscribe: (() => void) | null = null;
  private refs = 0;
  private notifyQueued = false;

  constructor(readonly runId: string) {}

  /** Every key, system metrics (`sys/...`) included: they are charted like any metric. */
  keys(): string[] {
    return [...this.series.keys()].sort();
  }

  onChange(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  acquire(): void {
    if (this.refs++ > 0) return;
    const off = live.subscribe(this.runId, (m) => this.onLive(m));
    // updates sent while the socket was down are lost: reload the history when it comes back
    let seenOpen = live.getState() === "open";
    let dropped = false;
    const offState = live.onState(() => {
      const st = live.getState();
      if (st !== "open") dropped = seenOpen;
      else if (dropped) {
        dropped = false;
        void this.load();
      } else seenOpen = true;
    });
    this.unsubscribe = () => {
      off();
      offState();
    };
    void this.load();
  }

  release(): void {
    if (--this.refs > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async load(): Promise<void> {
    this.loading = true;
    this.pending = [];
    try {
      const latest = await getLatestMetrics(this.runId);
      // training metrics first (the charts the user came for), system metrics after
      const keys = [...latest.keys()].sort((a, b) => Number(isSystemKey(a)) - Number(isSystemKey(b)) || a.localeCompare(b));
      this.series.clear();
      // One request per key: the first alone (a busy server answers it soonest, and the first chart
      // paints), then the rest a few at a time.
      const first = keys.shift();
      if (first !== undefined) await this.fetchKey(first);
      let next = 0;
      const worker = async () => {
        while (next < keys.length) await this.fetchKey(keys[next++] as string);
      };
      await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, keys.length) }, worker));
      this.error = null;
    } catch (e) {
      this.error = e instanceof Error ? e.message : String(e);
    }
    this.loading = false;
    this.flushPending();
    this.notify();
  }

  private async fetchKey(key: string): Promise<void> {
    const data = await getMetrics(this.runId, { keys: [key], maxPoints: MAX_POINTS });
    const s = data.get(key);
    if (s) {
      const fetched = pointsFromSeries(s);
      // live points that arrived while this key was loading
      const live = this.series.get(key);
      const last = fetched.step.at(-1) ?? -Infinity;
      live?.step.forEach((st, i) => {
        if (st > last) appendPoint(fetched, st, live.value[i] as number, live.time[i] as number);
      });
      this.series.set(key, fetched);
      this.counts.set(key, s.count);
      if (s.parsedDigits !== undefined) this.parsed.set(key, s.parsedDigits);
    }
    if (this.loading) {
      this.loading = false; // the first key is in: charts render, the rest fill in
      this.flushPending();
    }
    this.notify();
  }

  private flushPending(): void {
    const queued = this.pending;
    this.pending = [];
    for (const m of queued) this.apply(m);
  }

  /** Fetch a finer downsample of [start, end] (steps) for the keys and merge it in. */
  async refine(keys: string[], start: number, end: number): Promise<void> {
    if (!keys.length || !(end > start)) return;
    const data = await getMetrics(this.runId, { keys, start, end, maxPoints: MAX_POINTS });
    for (const [k, s] of data) {
      const cur = this.series.get(k) ?? emptyPoints();
      this.series.set(k, mergeRange(cur, pointsFromSeries(s), start, end));
    }
    this.notify();
  }

  private onLive(m: WsMessage): void {
    if (m.type !== "metric_update") return;
    if (this.loading) {
      this.pending.push(m);
      return;
    }
    this.apply(m);
    this.scheduleNotify();
  }

  private apply(m: WsMessage): void {
    if (m.type !== "metric_update") return;
    const t = m.timestamp ?? Date.now() / 1000;
    for (const [k, v] of Object.entries(m.metrics)) {
      let p = this.series.get(k);
      if (!p) this.series.set(k, (p = emptyPoints()));
      appendPoint(p, m.step, decodeFloat(v), t);
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
  }

  /** live updates are coalesced: at most one redraw per 250 ms */
  private scheduleNotify(): void {
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    setTimeout(() => {
      this.notifyQueued = false;
      this.notify();
    }, 250);
  }

  private notify(): void {
    this.version++;
    for (const l of this.listeners) l();
  }
}

const stores = new Map<string, RunMetrics>();

export function runMetrics(runId: string): RunMetrics {
  let s = stores.get(runId);
  if (!s) stores.set(runId, (s = new RunMetrics(runId)));
  return s;
}
