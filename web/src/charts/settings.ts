// Each chart's own settings, saved per metric key in this browser: the y axis (log or linear, fixed bounds),
// smoothing and the x axis. Unset fields follow the page's toolbar, so the toolbar stays the default for
// every chart and a chart's own choice wins over it.
import { useCallback, useSyncExternalStore } from "react";
import type { XMode } from "./adapters";

export interface ChartSettings {
  /** log-scale y axis */
  log: boolean;
  /** fixed y bounds (in the chart's shown unit); null: from the data */
  yMin: number | null;
  yMax: number | null;
  /** EMA weight for this chart; null: the toolbar's */
  smoothing: number | null;
  /** x axis for this chart; null: the toolbar's */
  x: XMode | null;
}

export const DEFAULT_SETTINGS: ChartSettings = { log: false, yMin: null, yMax: null, smoothing: null, x: null };

const STORAGE_KEY = "trainboard.charts";
const X_MODES: readonly XMode[] = ["step", "elapsed", "wall", "cost"];

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** One chart's stored settings as any version left them: unknown or malformed fields fall back to defaults. */
export function parseSettings(raw: unknown): ChartSettings {
  if (!raw || typeof raw !== "object") return DEFAULT_SETTINGS;
  const o = raw as Record<string, unknown>;
  const smoothing = num(o.smoothing);
  let yMin = num(o.yMin);
  let yMax = num(o.yMax);
  if (yMin !== null && yMax !== null && !(yMax > yMin)) [yMin, yMax] = [null, null];
  return {
    log: o.log === true,
    yMin,
    yMax,
    smoothing: smoothing === null ? null : Math.min(0.99, Math.max(0, smoothing)),
    x: X_MODES.includes(o.x as XMode) ? (o.x as XMode) : null,
  };
}

/** The settings of every chart that has any, by metric key. */
function readAll(): Record<string, ChartSettings> {
  let text: string | null = null;
  try {
    text = localStorage.getItem(STORAGE_KEY);
  } catch {
    /* storage disabled: defaults */
  }
  if (!text) return {};
  try {
    const raw = JSON.parse(text) as unknown;
    if (!raw || typeof raw !== "object") return {};
    return Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, parseSettings(v)]));
  } catch {
    return {};
  }
}

let all: Record<string, ChartSettings> | null = null;
const listeners = new Set<() => void>();

export function chartSettings(key: string): ChartSettings {
  all ??= readAll();
  return all[key] ?? DEFAULT_SETTINGS;
}

const isDefault = (s: ChartSettings) =>
  !s.log && s.yMin === null && s.yMax === null && s.smoothing === null && s.x === null;

/** Change one chart's settings (a patch); saved at once; back to the defaults drops the entry. */
export function setChartSettings(key: string, patch: Partial<ChartSettings>): void {
  all ??= readAll();
  const next = parseSettings({ ...chartSettings(key), ...patch });
  const copy = { ...all };
  if (isDefault(next)) delete copy[key];
  else copy[key] = next;
  all = copy;
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(all));
  } catch {
    /* quota or disabled: this page only */
  }
  for (const l of listeners) l();
}

export function onChartSettings(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Forget what was read (tests: a fresh page). */
export function resetChartSettingsCache(): void {
  all = null;
}

/** A chart's settings and a setter; re-renders when they change (here or in another chart of the same key). */
export function useChartSettings(key: string): [ChartSettings, (patch: Partial<ChartSettings> | null) => void] {
  const s = useSyncExternalStore(onChartSettings, () => chartSettings(key));
  const set = useCallback(
    (patch: Partial<ChartSettings> | null) => setChartSettings(key, patch ?? DEFAULT_SETTINGS),
    [key],
  );
  return [s, set];
}
