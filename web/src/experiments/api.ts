// The experiments views' calls: the runs query (filter / sort / cursor), run metadata (tags, notes, name,
// archive), saved views and a project's keys. Built on the shared `request` of api/client.ts.
import { query, request } from "../api/client";
import type { Run } from "../api/types";

/** Per-run summary of one metric, maintained by the server at ingest. */
export interface MetricSummary {
  last: number | null;
  min: number | null;
  max: number | null;
  count?: number;
  step?: number | null;
}

/** A run as the runs query answers it: the run, its tags and notes, and its metric summaries. */
export type ExpRun = Run & {
  tags?: string[] | null;
  notes?: string | null;
  archived?: boolean | null;
  metrics?: Record<string, MetricSummary> | null;
};

export interface RunsPage {
  runs: ExpRun[];
  next_cursor: string | null;
  total?: number | null;
}

export interface RunsQuery {
  filter?: string;
  sort?: string;
  project?: string;
  limit?: number;
  cursor?: string | null;
}

const enc = encodeURIComponent;

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await request(path, { ...init, headers: { Accept: "application/json", ...(init?.headers ?? {}) } });
  return (await res.json()) as T;
}

function body(method: string, value: unknown): RequestInit {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) };
}

/** Numbers on the wire may be the protobuf JSON strings for non-finite values. */
function num(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return null;
}

/** The summaries as the UI uses them, whatever map or list shape the server sends. */
export function summariesFromWire(w: unknown): Record<string, MetricSummary> {
  const out: Record<string, MetricSummary> = {};
  const add = (key: string, s: Record<string, unknown>) => {
    out[key] = { last: num(s.last), min: num(s.min), max: num(s.max), count: num(s.count) ?? undefined, step: num(s.last_step ?? s.step) };
  };
  if (Array.isArray(w)) {
    for (const s of w) if (s && typeof s === "object" && typeof (s as { key?: unknown }).key === "string") add((s as { key: string }).key, s as Record<string, unknown>);
  } else if (w && typeof w === "object") {
    for (const [k, s] of Object.entries(w as Record<string, unknown>)) if (s && typeof s === "object") add(k, s as Record<string, unknown>);
  }
  return out;
}

function runFromWire(r: Record<string, unknown>): ExpRun {
  const run = r as ExpRun;
  const summaries = r.metrics ?? r.summaries ?? r.metric_summaries;
  return { ...run, metrics: summariesFromWire(summaries) };
}

/** One page of `GET /api/runs?filter=&sort=&cursor=&limit=`. */
export async function queryRuns(q: RunsQuery): Promise<RunsPage> {
  const page = await json<{ runs: Record<string, unknown>[]; next_cursor?: string | null; total?: number | null }>(
    `/api/runs${query({ filter: q.filter?.trim() || undefined, sort: q.sort || undefined, project: q.project || undefined, limit: q.limit ?? 200, cursor: q.cursor ?? undefined })}`,
  );
  return { runs: page.runs.map(runFromWire), next_cursor: page.next_cursor ?? null, total: page.total ?? null };
}

/** Every run matching the query, page after page, up to `max`. */
export async function queryAllRuns(q: RunsQuery, max = 1000): Promise<ExpRun[]> {
  const out: ExpRun[] = [];
  let cursor: string | null = null;
  do {
    const page: RunsPage = await queryRuns({ ...q, cursor, limit: Math.min(500, max - out.length) });
    out.push(...page.runs);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

export async function getExpRun(id: string): Promise<ExpRun> {
  return runFromWire(await json<Record<string, unknown>>(`/api/runs/${enc(id)}`));
}

export interface RunPatch {
  name?: string;
  tags?: string[];
  notes?: string;
  archived?: boolean;
}

/** Rename, retag, write notes, archive / restore (`PUT /api/runs/{id}`). */
export async function updateRun(id: string, patch: RunPatch): Promise<ExpRun> {
  return runFromWire(await json<Record<string, unknown>>(`/api/runs/${enc(id)}`, body("PUT", patch)));
}

export async function deleteRuns(ids: readonly string[]): Promise<void> {
  for (const id of ids) await request(`/api/runs/${enc(id)}`, { method: "DELETE" });
}

/** A saved table view: what the table shows, per project. */
export interface SavedView {
  id?: string | number;
  name: string;
  project: string;
  filter: string;
  sort: string;
  columns: string[];
}

interface ViewWire {
  id?: string | number;
  name: string;
  project?: string;
  filter?: string | null;
  sort?: string | null;
  columns?: string[] | null;
  spec?: { filter?: string | null; sort?: string | null; columns?: string[] | null } | null;
}

function viewFromWire(v: ViewWire, project: string): SavedView {
  const s = v.spec ?? v;
  return { id: v.id, name: v.name, project: v.project ?? project, filter: s.filter ?? "", sort: s.sort ?? "", columns: s.columns ?? [] };
}

function viewsPath(project: string): string {
  return `/api/projects/${enc(project || "default")}/views`;
}

export async function listViews(project: string): Promise<SavedView[]> {
  const b = await json<{ views: ViewWire[] } | ViewWire[]>(viewsPath(project));
  const list = Array.isArray(b) ? b : (b.views ?? []);
  return list.map((v) => viewFromWire(v, project));
}

/** Create or replace the view of that name. */
export async function saveView(v: SavedView): Promise<SavedView> {
  const spec = { filter: v.filter, sort: v.sort, columns: v.columns };
  const w = await json<ViewWire>(`${viewsPath(v.project)}/${enc(v.name)}`, body("PUT", { name: v.name, ...spec, spec }));
  return viewFromWire(w, v.project);
}

export async function deleteView(project: string, name: string): Promise<void> {
  await request(`${viewsPath(project)}/${enc(name)}`, { method: "DELETE" });
}

export interface ProjectKeys {
  config_keys: string[];
  metric_keys: string[];
}

/** The union of flattened config keys and metric keys of a project's runs (the column picker's choices). */
export async function projectKeys(project: string): Promise<ProjectKeys> {
  const b = await json<Partial<ProjectKeys>>(`/api/projects/${enc(project || "default")}/keys`);
  return { config_keys: b.config_keys ?? [], metric_keys: b.metric_keys ?? [] };
}
