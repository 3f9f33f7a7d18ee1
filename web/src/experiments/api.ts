// The experiments views' calls: the runs query (filter / sort / cursor), run metadata (tags, notes, name,
// archive), saved views and a project's keys. Built on the shared `request` of api/client.ts.
import { query, request } from "../api/client";
import type { Run, RunList } from "../api/types";
import type { GroupSeries } from "./group";

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
  /** without a cursor: runs to skip (a window anywhere in the results, e.g. the last page) */
  offset?: number;
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
      offset: q.offset || undefined,
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

/** Ids per `id in (...)` filter: the filter parameter holds at most 1,000 characters. */
export function idChunks(ids: readonly string[], maxChars = 900): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  for (const id of ids) {
    const w = JSON.stringify(id).length + 2;
    if (cur.length && len + w > maxChars) {
      out.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(id);
    len += w;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The runs with these ids (archived too), in the ids' order, with the summaries of all their metrics (any number
 * of ids: asked in chunks that fit the filter parameter, four at a time). */
export async function runsByIds(ids: readonly string[]): Promise<ExpRun[]> {
  if (ids.length === 0) return [];
  const chunks = idChunks(ids, 1000 - ANY_ARCHIVED.length - 20);
  const byId = new Map<string, ExpRun>();
  for (let i = 0; i < chunks.length; i += 4) {
    const pages = await Promise.all(
      chunks.slice(i, i + 4).map((c) =>
        queryRuns({ filter: `id in (${c.map((id) => JSON.stringify(id)).join(", ")}) and ${ANY_ARCHIVED}`, summary: ["*"], limit: Math.min(1000, c.length) }),
      ),
    );
    for (const p of pages) for (const r of p.runs) byId.set(r.id, r);
  }
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

export interface RunGroupWire {
  label: string;
  runs: number;
  members: { id: string; name: string }[];
  with_metric: number | null;
  series: GroupSeries | null;
}

export interface RunGroupsAnswer {
  runs: number;
  by: string;
  mode: string;
  metric: string | null;
  metric_keys: string[];
  bucket_width: number | null;
  groups: RunGroupWire[];
}

export interface RunGroupsQuery {
  by: string;
  mode?: "by" | "over";
  project?: string;
  filter?: string;
  ids?: readonly string[];
  metric?: string;
  buckets?: number;
}

/** `GET /api/run-groups`: every matching run grouped; with `metric`, its aggregates over all runs of each group. */
export async function runGroups(q: RunGroupsQuery): Promise<RunGroupsAnswer> {
  return json<RunGroupsAnswer>(
    `/api/run-groups${query({
      by: q.by,
      mode: q.mode === "over" ? "over" : undefined,
      project: q.ids?.length ? undefined : q.project || undefined,
      filter: q.ids?.length ? undefined : q.filter?.trim() || undefined,
      runs: q.ids?.length ? q.ids.join(",") : undefined,
      metric: q.metric || undefined,
      buckets: q.buckets,
    })}`,
  );
}
