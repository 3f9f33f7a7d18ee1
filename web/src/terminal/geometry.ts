// Replaying a raw log at the terminal size it was produced at (GET /api/runs/{id}/logs/geometry): pure
// planning of writes and resizes by byte offset, and the scale that fits the recorded screen in a panel.
import type { TerminalGeometry } from "../api/types";

export type TermSize = TerminalGeometry["sizes"][number];

/** One step of a replay: resize the terminal, or write bytes. */
export type ReplayOp = { resize: { cols: number; rows: number } } | { write: Uint8Array };

/** The size in effect at byte `offset`: the last one recorded at or before it (else the first one). */
export function sizeAt(sizes: readonly TermSize[], offset: number): TermSize | null {
  let found: TermSize | null = null;
  for (const s of sizes) {
    if (s.offset <= offset) found = s;
    else break;
  }
  return found ?? sizes[0] ?? null;
}

/** Sorted by offset, one size per offset (the later one wins), only changes kept. */
export function normalize(sizes: readonly TermSize[]): TermSize[] {
  const byOffset = new Map<number, TermSize>();
  for (const s of sizes) byOffset.set(s.offset, s);
  const out: TermSize[] = [];
  for (const s of [...byOffset.values()].sort((a, b) => a.offset - b.offset)) {
    const prev = out[out.length - 1];
    if (!prev || prev.cols !== s.cols || prev.rows !== s.rows) out.push(s);
  }
  return out;
}

/**
 * Follows the recorded sizes through a log written in order: `plan(bytes, start)` returns what to do for the
 * bytes [start, start + length): a resize wherever the recording changed size (or a size learnt late applies
 * at the next write), and the bytes cut at those offsets. Without recorded sizes it only writes.
 */
export class GeometryPlayer {
  private sizes: TermSize[] = [];
  private current: { cols: number; rows: number } | null = null;
  /** The end offset of what has been planned (written) so far. */
  private end = 0;

  constructor(sizes: readonly TermSize[] = []) {
    this.update(sizes);
  }

  /**
   * Replace the known sizes (e.g. refetched while a run is live). Returns true when they change the size of
   * bytes already planned: what is on screen was drawn at the wrong size and must be replayed (a size that
   * arrives after the bytes it applies to, as for a live run whose resize is learnt by polling).
   */
  update(sizes: readonly TermSize[]): boolean {
    const next = normalize(sizes);
    const old = this.sizes;
    this.sizes = next;
    for (let i = 0; i < Math.max(next.length, old.length); i++) {
      const a = next[i];
      const b = old[i];
      if (a && b && a.offset === b.offset && a.cols === b.cols && a.rows === b.rows) continue;
      const from = Math.min(a?.offset ?? Infinity, b?.offset ?? Infinity);
      return from < this.end;
    }
    return false;
  }

  get recorded(): boolean {
    return this.sizes.length > 0;
  }

  /** The size the terminal was last resized to by `plan` (null before the first). */
  get size(): { cols: number; rows: number } | null {
    return this.current;
  }

  plan(bytes: Uint8Array, start: number): ReplayOp[] {
    const ops: ReplayOp[] = [];
    const resizeTo = (s: TermSize | null) => {
      if (!s || (this.current && this.current.cols === s.cols && this.current.rows === s.rows)) return;
      this.current = { cols: s.cols, rows: s.rows };
      ops.push({ resize: { ...this.current } });
    };
    resizeTo(sizeAt(this.sizes, start));
    let from = 0;
    for (const s of this.sizes) {
      const at = s.offset - start;
      if (at <= from) continue;
      if (at >= bytes.length) break;
      ops.push({ write: bytes.subarray(from, at) });
      from = at;
      resizeTo(s);
    }
    if (from < bytes.length) ops.push({ write: bytes.subarray(from) });
    this.end = Math.max(this.end, start + bytes.length);
    return ops;
  }
}

/**
 * The CSS scale that shows a screen `width` px wide across a panel `boxWidth` px wide: shrunk to fit (never
 * enlarged), as a player shows a recording wider than the window.
 */
export function fitScale(width: number, boxWidth: number): number {
  if (width <= 0 || boxWidth <= 0) return 1;
  return Math.min(1, boxWidth / width);
}

/**
 * The rows to show: the recorded ones when they fit the panel's `boxHeight` at `cellHeight` px per row,
 * else as many as fit (at least `min`; output that scrolls wraps the same, only fewer rows are on screen
 * at once). Without a panel height, the recorded rows.
 */
export function fitRows(recorded: number, cellHeight: number, boxHeight: number, min = 5): number {
  if (cellHeight <= 0 || boxHeight <= 0) return recorded;
  return Math.max(Math.min(min, recorded), Math.min(recorded, Math.floor(boxHeight / cellHeight)));
}
