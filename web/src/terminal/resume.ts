// The log viewer's resume logic, pure: which bytes to write and which offset to resume from, so that
// history + live stream + reconnects give every byte exactly once, in order.

/** How much of a large log the terminal loads when it opens (from the end). */
export const HISTORY_TAIL_BYTES = 4 * 1024 * 1024;

/** Where history loading starts: the whole log if small, else the last `tail` bytes. */
export function historyStart(total: number, tail: number = HISTORY_TAIL_BYTES): number {
  return Math.max(0, total - tail);
}

/**
 * When history starts mid-log, drop the partial first line (it may start inside a UTF-8 character or an
 * escape sequence). Returns the index of the first byte to keep.
 */
export function firstLineStart(bytes: Uint8Array, startOffset: number): number {
  if (startOffset === 0) return 0;
  const nl = bytes.indexOf(0x0a);
  return nl < 0 ? 0 : nl + 1;
}

/**
 * The byte position up to which the terminal has written. Every chunk is placed by its absolute offsets
 * and only the part past the cursor is written: overlaps (a reconnect that replays, a stream that starts
 * before the history's end) never duplicate; a chunk that starts past the cursor is a gap.
 */
export class LogCursor {
  constructor(private pos: number = 0) {}

  /** absolute offset of the next byte the terminal expects: the resume offset */
  get offset(): number {
    return this.pos;
  }

  /**
   * Accept the chunk covering [start, start + bytes.length). Returns the bytes to write (possibly empty),
   * and `gap` > 0 when bytes between the cursor and `start` are missing (the caller refetches them).
   */
  accept(bytes: Uint8Array, start: number): { write: Uint8Array; gap: number } {
    const end = start + bytes.length;
    if (start > this.pos) return { write: new Uint8Array(0), gap: start - this.pos };
    if (end <= this.pos) return { write: new Uint8Array(0), gap: 0 };
    const write = bytes.subarray(this.pos - start);
    this.pos = end;
    return { write, gap: 0 };
  }

  /** An SSE `log` event: its id is the offset just past the chunk. */
  acceptEvent(bytes: Uint8Array, endOffset: number): { write: Uint8Array; gap: number } {
    const start = Number.isFinite(endOffset) ? endOffset - bytes.length : this.pos;
    return this.accept(bytes, start);
  }

  /** Skip ahead without writing (history starting mid-log). */
  skipTo(offset: number): void {
    if (offset > this.pos) this.pos = offset;
  }
}
