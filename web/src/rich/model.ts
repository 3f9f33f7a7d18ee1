// Pure adapters for the rich panels: histograms -> a heatmap grid, a line diff of two texts, steps.
import type { Cell, HistogramBody } from "./api";

export interface Heatmap {
  lo: number;
  hi: number;
  /** one column per histogram, `rows` densities in [0, 1] each (bottom row first), scaled per column */
  columns: Float32Array[];
}

/** Histograms (one per step) on a common value range, re-binned into `rows` equal bins by overlap; each column
 * scaled to its own largest bin (TensorBoard's distributions read the same way: the shape at each step). */
export function heatmap(hists: HistogramBody[], rows: number): Heatmap {
  let lo = Infinity;
  let hi = -Infinity;
  for (const h of hists) {
    lo = Math.min(lo, h.bin_edges[0]!);
    hi = Math.max(hi, h.bin_edges[h.bin_edges.length - 1]!);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { lo: 0, hi: 1, columns: [] };
  if (hi <= lo) hi = lo + 1;
  const width = (hi - lo) / rows;
  const columns = hists.map((h) => {
    const col = new Float32Array(rows);
    for (let b = 0; b < h.counts.length; b++) {
      const a = h.bin_edges[b]!;
      const z = h.bin_edges[b + 1]!;
      const count = h.counts[b]!;
      if (!count) continue;
      if (z <= a) {
        const r = Math.min(rows - 1, Math.max(0, Math.floor((a - lo) / width)));
        col[r] = col[r]! + count;
        continue;
      }
      const first = Math.max(0, Math.floor((a - lo) / width));
      const last = Math.min(rows - 1, Math.floor((z - lo) / width));
      for (let r = first; r <= last; r++) {
        const overlap = Math.min(z, lo + (r + 1) * width) - Math.max(a, lo + r * width);
        if (overlap > 0) col[r] = col[r]! + (count * overlap) / (z - a);
      }
    }
    let max = 0;
    for (const v of col) max = Math.max(max, v);
    if (max > 0) for (let r = 0; r < rows; r++) col[r] = col[r]! / max;
    return col;
  });
  return { lo, hi, columns };
}

export type DiffOp = { op: "same" | "add" | "del"; text: string };

/** Cells of the LCS table allowed before the diff falls back to "everything between the common head and tail
 * changed" (said by `exact: false`). */
const MAX_CELLS = 4_000_000;

/** A line diff of `a` -> `b` (longest common subsequence after the common head and tail are taken off). */
export function lineDiff(a: string, b: string): { ops: DiffOp[]; exact: boolean } {
  const x = a.split("\n");
  const y = b.split("\n");
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail);
  const ys = y.slice(head, y.length - tail);
  const ops: DiffOp[] = x.slice(0, head).map((text) => ({ op: "same", text }));
  let exact = true;
  if ((xs.length + 1) * (ys.length + 1) > MAX_CELLS) {
    exact = false;
    ops.push(...xs.map((text): DiffOp => ({ op: "del", text })), ...ys.map((text): DiffOp => ({ op: "add", text })));
  } else {
    const n = xs.length;
    const m = ys.length;
    const dp = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        dp[i * (m + 1) + j] =
          xs[i] === ys[j]
            ? dp[(i + 1) * (m + 1) + j + 1]! + 1
            : Math.max(dp[(i + 1) * (m + 1) + j]!, dp[i * (m + 1) + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (xs[i] === ys[j]) {
        ops.push({ op: "same", text: xs[i]! });
        i++;
        j++;
      } else if (dp[(i + 1) * (m + 1) + j]! >= dp[i * (m + 1) + j + 1]!) ops.push({ op: "del", text: xs[i++]! });
      else ops.push({ op: "add", text: ys[j++]! });
    }
    while (i < n) ops.push({ op: "del", text: xs[i++]! });
    while (j < m) ops.push({ op: "add", text: ys[j++]! });
  }
  ops.push(...x.slice(x.length - tail).map((text): DiffOp => ({ op: "same", text })));
  return { ops, exact };
}

/** The step of `steps` (ascending) nearest to `target`. */
export function nearestStep(steps: number[], target: number): number {
  if (!steps.length) return target;
  let lo = 0;
  let hi = steps.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(steps[lo - 1]! - target) <= Math.abs(steps[lo]! - target)) return steps[lo - 1]!;
  return steps[lo]!;
}

/** A table cell as text (a float's token "NaN"/"Infinity" as it is, null as empty). */
export function cellText(cell: Cell): string {
  if (cell === null) return "";
  if (typeof cell === "number") return Number.isInteger(cell) ? String(cell) : cell.toPrecision(6).replace(/\.?0+$/, "");
  return String(cell);
}
