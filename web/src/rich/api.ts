// Rich values of a run (histograms, images, text, tables): the server's /api/runs/{id}/rich routes.
import { query, request } from "../api/client";

export type RichKind = "histogram" | "image" | "text" | "table" | "mixed";

export interface RichKey {
  key: string;
  kind: RichKind;
  steps: number[];
}

export interface HistogramBody {
  bin_edges: number[];
  counts: number[];
  nonfinite: number;
}

export interface ImageBody {
  format: string;
  width: number;
  height: number;
  size: number;
  /** the image bytes, served by the server with their content type */
  url: string;
}

export type Cell = string | number | boolean | null;

export interface TableBody {
  columns: { name: string; type: "str" | "int" | "float" | "bool" }[];
  rows: Cell[][];
}

export interface RichValue {
  run_id: string;
  key: string;
  step: number;
  kind: RichKind;
  time: number | null;
  caption: string | null;
  truncated: string | null;
  histogram?: HistogramBody | null;
  image?: ImageBody | null;
  text?: { text: string } | null;
  table?: TableBody | null;
}

export interface RichSeries {
  key: string;
  total_steps: number;
  values: RichValue[];
}

const base = (runId: string) => `/api/runs/${encodeURIComponent(runId)}`;
/** A key in a path: each segment encoded, the slashes kept (the server reads the rest of the path as the key). */
const keyPath = (key: string) => key.split("/").map(encodeURIComponent).join("/");

async function json<T>(path: string): Promise<T> {
  return (await request(path, { headers: { Accept: "application/json" } })).json() as Promise<T>;
}

export async function richIndex(runId: string): Promise<RichKey[]> {
  return (await json<{ keys: RichKey[] }>(`${base(runId)}/rich`)).keys;
}

export function richValue(runId: string, key: string, step: number): Promise<RichValue> {
  return json<RichValue>(`${base(runId)}/rich/${keyPath(key)}${query({ step })}`);
}

export function richSeries(runId: string, key: string, limit: number): Promise<RichSeries> {
  return json<RichSeries>(`${base(runId)}/rich-series/${keyPath(key)}${query({ limit })}`);
}
