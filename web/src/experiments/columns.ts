// Pure helpers of the runs table: flattened config keys, column ids <-> server sort keys, cell values.
import type { ExpRun, MetricSummary } from "./api";

export type Scalar = string | number | boolean | null;

/** `{"optim": {"lr": 1e-3}}` -> `{"optim.lr": 1e-3}`; arrays are kept whole (shown as JSON), depth-limited. */
export function flattenConfig(config: unknown, prefix = "", out: Record<string, Scalar> = {}, depth = 0): Record<string, Scalar> {
  if (config === null || typeof config !== "object" || Array.isArray(config) || depth > 8) {
    if (prefix) out[prefix] = toScalar(config);
    return out;
  }
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    flattenConfig(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  }
  return out;
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") return v;
  return JSON.stringify(v);
}

/** A column of the table. `config.<key>`, `metric.<key>.<last|min|max>` or one of the fixed ones. */
export type ColumnId = string;
export const FIXED_COLUMNS = ["name", "status", "project", "tags", "start_time", "duration", "cost"] as const;
export type MetricStat = "last" | "min" | "max";

export function configColumn(key: string): ColumnId {
  return `config.${key}`;
}
export function metricColumn(key: string, stat: MetricStat): ColumnId {
  return `metric:${stat}:${key}`;
}

export type ParsedColumn =
  | { kind: "fixed"; id: (typeof FIXED_COLUMNS)[number] }
  | { kind: "config"; key: string }
  | { kind: "metric"; key: string; stat: MetricStat };

const parsedCache = new Map<ColumnId, ParsedColumn | null>();

/** What a column id names (memoised: the runs table asks once per cell, 2,500 cells a page). */
export function parseColumn(id: ColumnId): ParsedColumn | null {
  let c = parsedCache.get(id);
  if (c === undefined) {
    if (parsedCache.size > 10_000) parsedCache.clear();
    parsedCache.set(id, (c = parseColumnUncached(id)));
  }
  return c;
}

function parseColumnUncached(id: ColumnId): ParsedColumn | null {
  if ((FIXED_COLUMNS as readonly string[]).includes(id)) return { kind: "fixed", id: id as (typeof FIXED_COLUMNS)[number] };
  if (id.startsWith("config.") && id.length > 7) return { kind: "config", key: id.slice(7) };
  const m = /^metric:(last|min|max):(.+)$/.exec(id);
  if (m) return { kind: "metric", key: m[2] as string, stat: m[1] as MetricStat };
  return null;
}

/** Column header text. */
export function columnLabel(id: ColumnId): string {
  const c = parseColumn(id);
  if (!c) return id;
  if (c.kind === "fixed") return c.id === "start_time" ? "start" : c.id;
  if (c.kind === "config") return c.key;
  return c.stat === "last" ? c.key : `${c.key} ${c.stat}`;
}

/** The server's `sort=` value for a column (`-` prefix when descending); null when it cannot sort by it. */
export function sortParam(id: ColumnId, desc: boolean): string | null {
  const c = parseColumn(id);
  if (!c || (c.kind === "fixed" && c.id === "tags")) return null;
  const key = c.kind === "fixed" ? c.id : c.kind === "config" ? `config.${c.key}` : c.stat === "last" ? c.key : `${c.key}.${c.stat}`;
  return `${desc ? "-" : ""}${key}`;
}

/** The inverse of sortParam for the columns shown: `-val/loss.min` -> {id: metric:min:val/loss, desc}. */
export function columnOfSort(sort: string): { id: ColumnId; desc: boolean } | null {
  if (!sort) return null;
  const desc = sort.startsWith("-");
  const key = desc ? sort.slice(1) : sort;
  if (!key) return null;
  if ((FIXED_COLUMNS as readonly string[]).includes(key)) return { id: key, desc };
  if (key.startsWith("config.")) return { id: key, desc };
  const m = /^(.+)\.(min|max|last)$/.exec(key);
  if (m) return { id: metricColumn(m[1] as string, m[2] as MetricStat), desc };
  return { id: metricColumn(key, "last"), desc };
}

/** The value a cell shows / compares, from the run. */
export function cellValue(run: ExpRun, id: ColumnId, flat: Record<string, Scalar>): Scalar | string[] {
  const c = parseColumn(id);
  if (!c) return null;
  if (c.kind === "config") return c.key in flat ? (flat[c.key] as Scalar) : null;
  if (c.kind === "metric") {
    const s: MetricSummary | undefined = run.metrics?.[c.key];
    const v = s?.[c.stat];
    return v === undefined ? null : v;
  }
  switch (c.id) {
    case "name":
      return run.name;
    case "status":
      return run.status;
    case "project":
      return run.project;
    case "tags":
      return run.tags ?? [];
    case "start_time":
      return run.start_time;
    case "duration": {
      const s = run.start_time ? Date.parse(run.start_time) : NaN;
      const e = run.end_time ? Date.parse(run.end_time) : Date.now();
      return Number.isFinite(s) ? Math.max(0, (e - s) / 1000) : null;
    }
    case "cost": // US dollars so far (server-side: price × hours); null when the price is not known
      return (run as { cost?: { usd: number } | null }).cost?.usd ?? null;
  }
}

/**
 * The columns a fresh table shows: the fixed ones, then config keys and the first few metrics. The config
 * keys are those whose value varies across the runs shown (`varying`, when known: a sweep's lr and seed,
 * not the `command` and `cwd` every run shares), else the first few known.
 */
export function defaultColumns(
  configKeys: readonly string[],
  metricKeys: readonly string[],
  oneProject = false,
  varying?: readonly string[],
): ColumnId[] {
  const shown = metricKeys.filter((k) => !k.startsWith("sys/")).slice(0, 4);
  const config = varying && varying.length ? varying.slice(0, 6) : configKeys.slice(0, 4);
  return [
    ...FIXED_COLUMNS.filter((c) => !(oneProject && c === "project") && c !== "cost"),
    ...config.map(configColumn),
    ...shown.map((k) => metricColumn(k, "last")),
  ];
}

/** A number to 4 significant digits (0.098879… -> 0.09888); integers as they are. Cells show this, their title the exact value. */
export function roundedNumber(v: number): string {
  if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e6 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}
