// The REST client: one function per endpoint the UI uses, and the wire -> UI adapters.
import { connectivity } from "./connectivity";
import type {
  Checkpoint,
  CheckpointLoad,
  LatestPoint,
  LogLines,
  LogSummary,
  MetricHistory,
  MetricLatest,
  Run,
  RunEvent,
  RunList,
  Series,
  SystemSample,
  TerminalGeometry,
  WireSeries,
} from "./types";
import { decodeFloat } from "./wire";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** seconds from a Retry-After header (a 429 or 503), when the server sent one */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

// A 401 means the session ended (or never was): whoever registered here (the session context) shows the
// login page. Kept as a plain callback so the client does not depend on the UI.
let unauthorizedHandler: ((path: string) => void) | null = null;

/** Register the one handler called when an API request answers 401; returns the unregister function. */
export function onUnauthorized(handler: (path: string) => void): () => void {
  unauthorizedHandler = handler;
  return () => {
    if (unauthorizedHandler === handler) unauthorizedHandler = null;
  };
}

function retryAfterOf(res: Response): number | null {
  const v = res.headers.get("Retry-After");
  if (v === null) return null;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : null;
}

function detailOf(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const d = (body as { detail: unknown }).detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((x) => (x && typeof x === "object" && "msg" in x ? String(x.msg) : String(x))).join("; ");
  }
  return fallback;
}

// A state-changing request carries this header (or a JSON body): a page on another site cannot send it
// without a CORS preflight, so the server refuses writes that lack it (server/guard.py).
export const WRITE_MARKER = { "X-Trainboard": "1" } as const;

/** `init` with the write marker added when its method changes state. */
export function withWriteMarker(init?: RequestInit): RequestInit | undefined {
  const method = (init?.method ?? "GET").toUpperCase();
  if (method === "GET" || method === "HEAD") return init;
  const headers = new Headers(init?.headers);
  for (const [k, v] of Object.entries(WRITE_MARKER)) headers.set(k, v);
  return { ...init, headers };
}

/** `fetch` with the write marker; a non-2xx answer throws ApiError. A 401 also calls the unauthorized handler
 * unless `expect401` (the login form: a wrong password is not an ended session). */
export async function request(path: string, init?: RequestInit, expect401 = false): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, withWriteMarker(init));
  } catch (e) {
    connectivity.failed();
    throw e;
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) connectivity.failed();
  else connectivity.ok();
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    if (res.status === 401 && !expect401) unauthorizedHandler?.(path);
    throw new ApiError(res.status, detailOf(body, `${res.status} ${res.statusText}`), retryAfterOf(res));
  }
  return res;
}

async function getJson<T>(path: string): Promise<T> {
  return (await request(path, { headers: { Accept: "application/json" } })).json() as Promise<T>;
}

export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

const enc = encodeURIComponent;

// ---- runs
export function listRuns(params: { status?: string; project?: string; search?: string; limit?: number } = {}): Promise<RunList> {
  return getJson<RunList>(`/api/runs${query({ limit: 500, ...params })}`);
}
export function getRun(runId: string): Promise<Run> {
  return getJson<Run>(`/api/runs/${enc(runId)}`);
}
export async function deleteRun(runId: string): Promise<void> {
  await request(`/api/runs/${enc(runId)}`, { method: "DELETE" });
}

// ---- metrics
export function seriesFromWire(w: WireSeries): Series {
  const n = Math.min(w.step.length, w.value.length);
  const step = new Float64Array(n);
  const value = new Float64Array(n);
  const timestamp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    step[i] = w.step[i] ?? NaN;
    value[i] = decodeFloat(w.value[i]);
    timestamp[i] = w.timestamp?.[i] ?? NaN;
  }
  const parsed = w.parsed?.significant_digits;
  return parsed === undefined ? { count: w.count ?? n, step, value, timestamp } : { count: w.count ?? n, step, value, timestamp, parsedDigits: parsed };
}

export async function getMetrics(
  runId: string,
  opts: { keys?: string[]; start?: number; end?: number; maxPoints?: number } = {},
): Promise<Map<string, Series>> {
  const body = await getJson<MetricHistory>(
    `/api/runs/${enc(runId)}/metrics${query({
      keys: opts.keys?.join(","),
      start: opts.start === undefined ? undefined : Math.floor(opts.start),
      end: opts.end === undefined ? undefined : Math.ceil(opts.end),
      max_points: opts.maxPoints,
    })}`,
  );
  const out = new Map<string, Series>();
  for (const [k, w] of Object.entries(body.metrics ?? {})) out.set(k, seriesFromWire(w));
  return out;
}

export async function getLatestMetrics(runId: string): Promise<Map<string, LatestPoint>> {
  const body = await getJson<MetricLatest>(`/api/runs/${enc(runId)}/metrics/latest`);
  const out = new Map<string, LatestPoint>();
  for (const [k, p] of Object.entries(body.metrics ?? {})) {
    out.set(k, { step: p.step, value: decodeFloat(p.value), timestamp: p.timestamp });
  }
  return out;
}

// ---- raw log
export interface LogPage {
  offset: number;
  bytes: Uint8Array;
  /** total size of the log when the server answered (X-Log-Size) */
  total: number;
}

function logPage(res: Response, bytes: Uint8Array, asked: number): LogPage {
  // X-Log-Offset: where the bytes start (retention may have trimmed the beginning); X-Log-Size: total
  const at = Number(res.headers.get("X-Log-Offset") ?? NaN);
  const offset = Number.isFinite(at) ? at : asked;
  const size = Number(res.headers.get("X-Log-Size") ?? NaN);
  return { offset, bytes, total: Number.isFinite(size) ? size : offset + bytes.length };
}

/** Raw log bytes [offset, offset + limit). */
export async function getLogBytes(runId: string, offset: number, limit?: number): Promise<LogPage> {
  const res = await request(`/api/runs/${enc(runId)}/logs${query({ offset, limit })}`);
  return logPage(res, new Uint8Array(await res.arrayBuffer()), offset);
}

/** The last `bytes` bytes of the raw log, in one request. */
export async function getLogTail(runId: string, bytes: number): Promise<LogPage> {
  const res = await request(`/api/runs/${enc(runId)}/logs${query({ tail: bytes })}`);
  const data = new Uint8Array(await res.arrayBuffer());
  return logPage(res, data, Math.max(0, Number(res.headers.get("X-Log-Size") ?? data.length) - data.length));
}

/** The terminal sizes the run's output was produced at (empty when none was recorded). */
export function getLogGeometry(runId: string): Promise<TerminalGeometry> {
  return getJson<TerminalGeometry>(`/api/runs/${enc(runId)}/logs/geometry`);
}

export async function getLogSize(runId: string): Promise<number> {
  const page = await getLogBytes(runId, 0, 0);
  return page.total;
}

// ---- log lines
export interface LineFilters {
  level?: string;
  source?: string;
  search?: string;
  regex?: boolean;
}

/** level: that level and above; search: a case-insensitive substring, or with `regex` a Python regex. */
function lineFilterParams(f: LineFilters): Record<string, string | undefined> {
  return {
    level: f.level,
    source: f.source,
    search: f.regex ? undefined : f.search,
    regex: f.regex ? f.search : undefined,
  };
}

export function getLogLines(runId: string, f: LineFilters, offset: number, limit: number): Promise<LogLines> {
  return getJson<LogLines>(`/api/runs/${enc(runId)}/logs/lines${query({ ...lineFilterParams(f), offset, limit })}`);
}
export function getLogSummary(runId: string): Promise<LogSummary> {
  return getJson<LogSummary>(`/api/runs/${enc(runId)}/logs/summary`);
}
export function logDownloadUrl(runId: string, format: "txt" | "json" | "csv", f: LineFilters): string {
  return `/api/runs/${enc(runId)}/logs/download${query({ format, ...lineFilterParams(f) })}`;
}
export async function clearLogs(runId: string): Promise<void> {
  await request(`/api/runs/${enc(runId)}/logs`, { method: "DELETE" });
}

// ---- checkpoints
export async function listCheckpoints(runId: string): Promise<Checkpoint[]> {
  const body = await getJson<{ checkpoints: Checkpoint[] } | Checkpoint[]>(`/api/runs/${enc(runId)}/checkpoints`);
  return Array.isArray(body) ? body : (body.checkpoints ?? []);
}
/** Delete the record; with `deleteFile` also the file (the server allows it only inside a checkpoint root). */
export async function deleteCheckpoint(id: string, deleteFile = false): Promise<{ file_deleted?: boolean }> {
  const res = await request(`/api/checkpoints/${enc(id)}${query({ delete_file: deleteFile || undefined })}`, {
    method: "DELETE",
  });
  return (await res.json()) as { file_deleted?: boolean };
}
/** What a trainer needs to resume from the checkpoint (path, step, metrics, metadata, whether the file exists). */
export async function loadCheckpoint(id: string): Promise<CheckpointLoad> {
  return (await request(`/api/checkpoints/${enc(id)}/load`, { method: "POST" })).json() as Promise<CheckpointLoad>;
}
export async function markBestCheckpoint(id: string): Promise<void> {
  await request(`/api/checkpoints/${enc(id)}/best`, { method: "POST" });
}
export function checkpointDownloadUrl(id: string): string {
  return `/api/checkpoints/${enc(id)}/download`;
}

// ---- events and system
export async function listEvents(runId: string): Promise<RunEvent[]> {
  const body = await getJson<{ events: RunEvent[] } | RunEvent[]>(`/api/runs/${enc(runId)}/events`);
  return Array.isArray(body) ? body : (body.events ?? []);
}
export function getSystemStatus(): Promise<SystemSample> {
  return getJson<SystemSample>(`/api/system/status`);
}
export async function getSystemHistory(since?: number): Promise<SystemSample[]> {
  const body = await getJson<{ samples: SystemSample[] } | SystemSample[]>(`/api/system/history${query({ since })}`);
  return Array.isArray(body) ? body : (body.samples ?? []);
}
