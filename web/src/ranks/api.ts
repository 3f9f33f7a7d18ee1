// A distributed run's ranks: the server's /api/runs/{id}/ranks and the `rank` parameter of its log routes.
import { query, request } from "../api/client";
import type { components } from "../api/schema.gen";

export type RankRecord = components["schemas"]["RankOut"];
export type RankList = components["schemas"]["RankList"];
export type RankLine = components["schemas"]["LogLineOut"];
export type RankLines = components["schemas"]["LogLineList"];

const enc = encodeURIComponent;

export async function getRanks(runId: string): Promise<RankList> {
  const res = await request(`/api/runs/${enc(runId)}/ranks`, { headers: { Accept: "application/json" } });
  return (await res.json()) as RankList;
}

/** Lines after line number `after` (all ranks merged, or one rank's), in line order. */
export async function getRankLines(runId: string, rank: number | null, after: number, limit: number): Promise<RankLines> {
  const res = await request(`/api/runs/${enc(runId)}/logs/lines${query({ rank, after, limit, count: true })}`);
  return (await res.json()) as RankLines;
}

export interface RankBytes {
  offset: number;
  bytes: Uint8Array;
  /** the end of the rank's stream when read */
  total: number;
}

/** Bytes [offset, offset + limit) of one rank's stream (offsets of that stream). */
export async function getRankBytes(runId: string, rank: number, offset: number, limit: number): Promise<RankBytes> {
  const res = await request(`/api/runs/${enc(runId)}/logs${query({ rank, offset, limit })}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const at = Number(res.headers.get("X-Log-Offset") ?? offset);
  const total = Number(res.headers.get("X-Log-Size") ?? at + bytes.length);
  return { offset: at, bytes, total };
}
