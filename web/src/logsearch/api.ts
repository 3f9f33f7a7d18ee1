// GET /api/logs/search (server/api/log_search.py): lines matching a log query across runs, newest first.
import { query, request } from "../api/client";

export interface SearchHit {
  run_id: string;
  run_name: string | null;
  project: string | null;
  line: number;
  timestamp: number;
  source: string;
  level: string;
  level_no: number | null;
  logger: string | null;
  message: string;
  fields: Record<string, unknown> | null;
  /** [start, end) of each matched word or phrase in `message` */
  match: number[][];
}

export interface SearchPage {
  hits: SearchHit[];
  next_cursor: string | null;
  indexed: boolean;
  partial: boolean;
}

export interface SearchParams {
  q: string;
  project?: string;
  cursor?: string | null;
  limit?: number;
}

/** The browser's time zone: `time:10:02..10:05` in a query means the user's wall clock. */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

export async function searchLogs(p: SearchParams): Promise<SearchPage> {
  const path = `/api/logs/search${query({ q: p.q, project: p.project, cursor: p.cursor, limit: p.limit ?? 50, tz: browserZone() })}`;
  return (await request(path, { headers: { Accept: "application/json" } })).json() as Promise<SearchPage>;
}
