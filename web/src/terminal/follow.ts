// Follow one run's raw log: history (from the end for large logs), then the live stream from the last byte
// written; every byte goes to `write` exactly once and in order, across reconnects and replays.
import type { LogPage } from "../api/client";
import type { LogStreamHandlers } from "../api/live";
import { HISTORY_TAIL_BYTES, LogCursor, firstLineStart, historyStart } from "./resume";

export interface FollowDeps {
  /** GET /logs?offset=&limit= (a missing log may be reported as an empty page) */
  fetchPage(offset: number, limit: number): Promise<LogPage>;
  /** GET /logs?tail=N: the last N bytes in one request (when the server has it) */
  fetchTail?(bytes: number): Promise<LogPage>;
  /** open the (single) SSE stream from `offset`; `getOffset` gives the resume offset for reconnects */
  openStream(offset: number, h: LogStreamHandlers, getOffset: () => number): () => void;
  /** `start`: the log offset of the first byte (a player resizes where the recording did) */
  write(bytes: Uint8Array, start: number): void;
  /** history started mid-log: the bytes before `skipped` are not shown */
  onTruncated?(skipped: number): void;
  onHistoryLoaded?(): void;
  onDone?(exitCode: number | null): void;
  onState?: LogStreamHandlers["onState"];
  onError?(e: unknown): void;
  tailBytes?: number;
  /** the log's size if known (the run's `log_size`): a large log is then fetched from its end at once */
  sizeHint?: number | null;
  /** after `done`, look once more for bytes stored late, after this many ms */
  lateBytesMs?: number;
}

export interface Follower {
  close(): void;
  /** the resume offset: the absolute offset of the next byte expected */
  offset(): number;
  /** resolves when every chunk received so far is written */
  idle(): Promise<void>;
}

export function followLog(deps: FollowDeps): Follower {
  const tail = deps.tailBytes ?? HISTORY_TAIL_BYTES;
  const cursor = new LogCursor(0);
  let closed = false;
  let closeStream: (() => void) | null = null;
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (f: () => Promise<void> | void) => {
    chain = chain.then(f).catch((e: unknown) => deps.onError?.(e));
  };
  // called with what the cursor has just accepted: the bytes end at its offset
  const write = (b: Uint8Array) => {
    if (!closed && b.length) deps.write(b, cursor.offset - b.length);
  };

  const onChunk = (bytes: Uint8Array, end: number) =>
    enqueue(async () => {
      if (closed) return;
      let r = cursor.acceptEvent(bytes, end);
      if (r.gap > 0) {
        // bytes between what was written and this chunk never arrived: fetch them first
        const page = await deps.fetchPage(cursor.offset, r.gap);
        if (closed) return;
        write(cursor.accept(page.bytes, page.offset).write);
        r = cursor.acceptEvent(bytes, end);
      }
      write(r.write);
    });

  const catchUp = async () => {
    if (closed) return;
    const page = await deps.fetchPage(cursor.offset, tail);
    if (!closed) write(cursor.accept(page.bytes, page.offset).write);
  };

  enqueue(async () => {
    let page = deps.fetchTail
      ? await deps.fetchTail(tail)
      : await deps.fetchPage(historyStart(deps.sizeHint ?? 0, tail), tail);
    if (page.total - page.offset > tail) {
      // larger than the hint said: take the tail of what is there now
      const start = historyStart(page.total, tail);
      page = await deps.fetchPage(start, page.total - start);
    }
    if (closed) return;
    if (page.offset > 0) {
      const cut = firstLineStart(page.bytes, page.offset);
      cursor.skipTo(page.offset + cut);
      deps.onTruncated?.(page.offset + cut);
    }
    write(cursor.accept(page.bytes, page.offset).write);
    deps.onHistoryLoaded?.();
    closeStream = deps.openStream(
      cursor.offset,
      {
        onChunk,
        onDone: (code) => {
          // the stream has ended: catch up with any bytes stored after its last event (now, and once more
          // a little later for output uploaded after the status changed), then report
          enqueue(catchUp);
          enqueue(() => (closed ? undefined : deps.onDone?.(code)));
          setTimeout(() => enqueue(catchUp), deps.lateBytesMs ?? 2000);
        },
        onState: (s) => (closed ? undefined : deps.onState?.(s)),
      },
      () => cursor.offset,
    );
  });

  return {
    close() {
      closed = true;
      closeStream?.();
    },
    offset: () => cursor.offset,
    idle: () => chain,
  };
}
