// The config diff of compared runs: only the keys whose values differ (a key missing in a run differs).
import { flattenConfig, type Scalar } from "./columns";

export interface DiffRow {
  key: string;
  /** one entry per run, in the runs' order; `undefined` where the run has no such key */
  values: (Scalar | undefined)[];
}

function same(a: Scalar | undefined, b: Scalar | undefined): boolean {
  if (typeof a === "number" && typeof b === "number") return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

/** Rows for the keys (flattened, sorted) that do not have one value across all `configs`. */
export function configDiff(configs: readonly unknown[]): DiffRow[] {
  const flats = configs.map((c) => flattenConfig(c ?? {}));
  const keys = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) keys.add(k);
  const rows: DiffRow[] = [];
  for (const key of [...keys].sort()) {
    const values = flats.map((f) => (key in f ? f[key] : undefined));
    const first = values[0];
    if (values.some((v) => !same(v, first))) rows.push({ key, values });
  }
  return rows;
}

/** How a config value reads in a table cell. */
export function fmtScalar(v: Scalar | undefined): string {
  if (v === undefined) return "—";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) || Math.abs(v) >= 1e-3 ? String(v) : v.toExponential(2);
  return String(v);
}
