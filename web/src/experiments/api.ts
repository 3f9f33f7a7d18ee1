// The experiments views' calls: the runs query (filter / sort / cursor), run metadata (tags, notes, name,
// archive), saved views and a project's keys. Built on the shared `request` of api/client.ts.
import { query, request } from "../api/client";
import type { Run, RunList } from "../api/types";

/** Per-run summary of one metric, maintained by the server at ingest. */
export interface MetricSummary {
  last: number | null;
  min: number | null;
  max: number | null;
  count?: number;
  step?: number | null;
}

/** A run as the runs query answers it: the run (tags, notes, archived included) and its metric summaries. */
export type ExpRun = Omit<Run, "summary"> & {
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
  /** metric keys whose summaries the runs carry; `["*"]` all */
  summary?: readonly string[];
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

/** The summaries (`summary` of a run: key -> {last, min, max, count, step}) as the UI uses them. */
export function summariesFromWire(w: unknown): Record<string, MetricSummary> {
  const out: Record<string, MetricSummary> = {};
  if (!w || typeof w !== "object") return out;
  for (const [k, s] of Object.entries(w as Record<string, Record<string, unknown> | null>)) {
    if (!s || typeof s !== "object") continue;
    out[k] = { last: num(s.last), min: num(s.min), max: num(s.max), count: num(s.count) ?? undefined, step: num(s.step) };
  }
  return out;
}

function runFromWire(r: Run): ExpRun {
  const { summary, ...run } = r;
  return { ...run, metrics: summariesFromWire(summary) };
}

/** One page of `GET /api/runs?filter=&sort=&cursor=&limit=&summary=`. */
export async function queryRuns(q: RunsQuery): Promise<RunsPage> {
  const page = await json<RunList>(
    `/api/runs${query({
      filter: q.filter?.trim() || undefined,
      sort: q.sort || undefined,
      project: q.project || undefined,
      limit: q.limit ?? 200,
      cursor: q.cursor ?? undefined,
      summary: q.summary?.length ? q.summary.join(",") : undefined,
    })}`,
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

/** A filter that matches archived and live runs alike (a filter naming `archived` lifts the default hiding). */
export const ANY_ARCHIVED = "(archived = true or archived = false)";

/** The runs with these ids (archived too), in the ids' order, with the summaries of all their metrics. */
export async function runsByIds(ids: readonly string[]): Promise<ExpRun[]> {
  if (ids.length === 0) return [];
  const filter = `id in (${ids.map((id) => JSON.stringify(id)).join(", ")}) and ${ANY_ARCHIVED}`;
  const page = await queryRuns({ filter, summary: ["*"], limit: Math.min(1000, ids.length) });
  const byId = new Map(page.runs.map((r) => [r.id, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is ExpRun => !!r);
}

export interface RunPatch {
  name?: string;
  notes?: string;
  archived?: boolean;
}

/** Rename, write notes, archive / restore (`PUT /api/runs/{id}`). */
export async function updateRun(id: string, patch: RunPatch): Promise<ExpRun> {
  return runFromWire(await json<Run>(`/api/runs/${enc(id)}`, body("PUT", patch)));
}

/** Add and remove tags (`POST /api/runs/{id}/tags`): two people tagging at once both keep their tags. */
export async function changeTags(id: string, change: { add?: string[]; remove?: string[] }): Promise<string[]> {
  const b = await json<{ tags: string[] }>(`/api/runs/${enc(id)}/tags`, body("POST", { add: change.add ?? [], remove: change.remove ?? [] }));
  return b.tags;
}

export async function deleteRuns(ids: readonly string[]): Promise<void> {
  for (const id of ids) await request(`/api/runs/${enc(id)}`, { method: "DELETE" });
}

/** A saved table view: what the table shows, per project. */
export interface SavedView {
  name: string;
  project: string;
  filter: string;
  sort: string;
  columns: string[];
}

/** Views and column keys belong to a project; "all projects" keeps its own under the default project. */
export const DEFAULT_PROJECT = "default";

function projectPath(project: string): string {
  return `/api/projects/${enc(project || DEFAULT_PROJECT)}`;
}

interface ViewWire {
  name: string;
  project: string;
  filter: string;
  sort: string;
  columns: unknown[];
}

function viewFromWire(v: ViewWire): SavedView {
  return { name: v.name, project: v.project, filter: v.filter, sort: v.sort, columns: v.columns.filter((c): c is string => typeof c === "string") };
}

export async function listViews(project: string): Promise<SavedView[]> {
  const b = await json<{ views: ViewWire[] }>(`${projectPath(project)}/views`);
  return b.views.map(viewFromWire);
}

/** Create or replace the view of that name. */
export async function saveView(v: SavedView): Promise<SavedView> {
  const w = await json<ViewWire>(`${projectPath(v.project)}/views/${enc(v.name)}`, body("PUT", { filter: v.filter, sort: v.sort, columns: v.columns }));
  return viewFromWire(w);
}

export async function deleteView(project: string, name: string): Promise<void> {
  await request(`${projectPath(project)}/views/${enc(name)}`, { method: "DELETE" });
}

export interface ProjectKeys {
  config_keys: string[];
  metric_keys: string[];
  tags: string[];
}

/** The union of flattened config keys, metric keys and tags of a project's runs (the column picker's choices). */
export async function projectKeys(project: string): Promise<ProjectKeys> {
  const b = await json<Partial<ProjectKeys>>(`${projectPath(project)}/columns`);
  return { config_keys: b.config_keys ?? [], metric_keys: b.metric_keys ?? [], tags: b.tags ?? [] };
}

export interface Project {
  name: string;
  runs: number;
}

export async function listProjects(): Promise<Project[]> {
  const b = await json<{ projects: Project[] }>(`/api/projects`);
  return b.projects;
}
