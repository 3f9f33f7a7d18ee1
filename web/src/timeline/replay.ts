// The terminal at a moment: the raw bytes up to the offset the log had reached then, replayed into a fresh
// terminal (as asciinema's player seeks).
import { request } from "../api/client";
import type { components } from "../api/schema.gen";

/** At most this many bytes are replayed (the screen at a moment rarely needs more; earlier output is skipped). */
export const REPLAY_MAX_BYTES = 4 * 1024 * 1024;

/** GET /api/runs/{id}/logs/offset?time= (the generated type: the wire cannot drift). */
export type OffsetAt = components["schemas"]["LogOffsetAt"];

export async function offsetAt(runId: string, time: number): Promise<OffsetAt> {
  const res = await request(`/api/runs/${encodeURIComponent(runId)}/logs/offset?time=${encodeURIComponent(String(time))}`);
  return (await res.json()) as OffsetAt;
}

/** The byte range to replay for the screen at `at`: [start, end), start cut to the last `max` bytes. */
export function replayRange(at: OffsetAt, max = REPLAY_MAX_BYTES): { start: number; end: number } {
  const end = Math.max(at.offset, at.log_start);
  return { start: Math.max(at.log_start, end - max), end };
}
