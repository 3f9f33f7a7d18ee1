// Checkpoint table ordering, pure.
import type { Checkpoint } from "../api/types";
import { parseTime, toFloat } from "../api/wire";

export type CheckpointSortKey = "step" | "created_at" | "size" | "path" | `metric:${string}`;
export type SortDir = "asc" | "desc";

function sortValue(c: Checkpoint, key: CheckpointSortKey): number | string | null {
  if (key === "step") return c.step;
  if (key === "size") return c.size;
  if (key === "path") return c.path;
  if (key === "created_at") {
    const t = parseTime(c.created_at);
    return Number.isFinite(t) ? t : null;
  }
  const m = c.metrics?.[key.slice("metric:".length)];
  if (m === undefined || m === null) return null;
  const v = toFloat(m);
  return Number.isNaN(v) ? null : v;
}

/**
 * Sort checkpoints by a column. Missing values (and NaN metrics) sort last in both directions;
 * ties keep step order so the table does not jump between refreshes.
 */
export function sortCheckpoints(list: readonly Checkpoint[], key: CheckpointSortKey, dir: SortDir): Checkpoint[] {
  const sign = dir === "asc" ? 1 : -1;
  const byStep = (a: Checkpoint, b: Checkpoint) => (a.step ?? Infinity) - (b.step ?? Infinity) || 0;
  return [...list].sort((a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null && vb === null) return byStep(a, b);
    if (va === null) return 1;
    if (vb === null) return -1;
    const c = typeof va === "string" || typeof vb === "string" ? String(va).localeCompare(String(vb)) : va - vb;
    return c !== 0 ? sign * c : byStep(a, b);
  });
}

/** The metric keys that appear in any checkpoint, for the table's columns. */
export function checkpointMetricKeys(list: readonly Checkpoint[]): string[] {
  const keys = new Set<string>();
  for (const c of list) for (const k of Object.keys(c.metrics ?? {})) keys.add(k);
  return [...keys].sort();
}
