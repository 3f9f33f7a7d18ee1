// The typed API a panel plugin's ES module gets: `export function mount(element, api)` (trainboard.plugins.panels).
// Plugin API version 1. A panel draws into `element` only; it reads data through `fetchJson` (this server's API,
// with the user's session) and `richValue`; `mount` may return (or resolve to) a cleanup function.
import { request } from "../api/client";
import type { components } from "../api/schema.gen";
import type { Run } from "../api/types";

export const PLUGIN_API_VERSION = 1;

/** An enabled panel plugin and the load errors, as GET /api/plugins answers (generated from the server's schema). */
export type PanelInfo = components["schemas"]["PanelOut"];
export type PluginsResponse = components["schemas"]["PluginsOut"];

export interface PanelRun {
  id: string;
  name: string;
  project: string;
  status: string;
  config: Record<string, unknown>;
}

export interface PanelRichKey {
  key: string;
  kind: string;
  steps: number[];
}

export interface PanelTheme {
  background: string;
  panel: string;
  foreground: string;
  accent: string;
  muted: string;
  green: string;
  red: string;
  font: string;
}

export interface PanelApi {
  apiVersion: number;
  run: PanelRun;
  /** the run's metric keys matching the panel's `keys` patterns */
  keys: string[];
  /** the run's rich keys (with their steps) matching the panel's `rich` patterns */
  rich: PanelRichKey[];
  /** GET a path of this server's API (`/api/...` only) as JSON */
  fetchJson<T = unknown>(path: string): Promise<T>;
  /** one rich value (histogram, image, text, table) of the run at a step */
  richValue(key: string, step: number): Promise<{ key: string; step: number; kind: string; [body: string]: unknown }>;
  theme: PanelTheme;
}

export type Cleanup = () => void;

export interface PanelModule {
  mount(element: HTMLElement, api: PanelApi): void | Cleanup | Promise<void | Cleanup>;
}

export async function fetchJson<T>(path: string): Promise<T> {
  if (!/^\/api\/[^?#]*/.test(path) || path.includes("..")) throw new Error(`a panel may only fetch /api/ paths, not ${path}`);
  return (await request(path, { headers: { Accept: "application/json" } })).json() as Promise<T>;
}

export function listPlugins(): Promise<PluginsResponse> {
  return fetchJson<PluginsResponse>("/api/plugins");
}

/** Shell-style pattern (`*`, `?`) match, as the server's fnmatchcase. */
export function matches(pattern: string, key: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(key);
}

export function themeFromDocument(): PanelTheme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  return {
    background: v("--bg-primary", "#000"),
    panel: v("--bg-panel", "#1a1a1a"),
    foreground: v("--text-primary", "#ffd700"),
    accent: v("--info", "#00ffff"),
    muted: v("--text-muted", "#808080"),
    green: v("--good", "#00ff00"),
    red: v("--error", "#ff0000"),
    font: v("--font-mono", "monospace"),
  };
}

const keyPath = (key: string) => key.split("/").map(encodeURIComponent).join("/");

/** The API object handed to `mount` for `panel` on `run`. */
export async function panelApi(panel: PanelInfo, run: Run): Promise<PanelApi> {
  const id = encodeURIComponent(run.id);
  const wantsRich = panel.rich.length > 0;
  const wantsKeys = panel.keys.length > 0;
  const [rich, latest] = await Promise.all([
    wantsRich ? fetchJson<{ keys: PanelRichKey[] }>(`/api/runs/${id}/rich`).then((r) => r.keys) : Promise.resolve([]),
    wantsKeys ? fetchJson<Record<string, unknown>>(`/api/runs/${id}/metrics/latest`) : Promise.resolve({}),
  ]);
  const metricKeys = Object.keys((latest as { metrics?: Record<string, unknown> }).metrics ?? latest);
  return {
    apiVersion: PLUGIN_API_VERSION,
    run: { id: run.id, name: run.name, project: run.project, status: run.status, config: run.config ?? {} },
    keys: metricKeys.filter((k) => panel.keys.some((p) => matches(p, k))),
    rich: rich.filter((k) => panel.rich.some((p) => matches(p, k.key))),
    fetchJson,
    richValue: (key, step) => fetchJson(`/api/runs/${id}/rich/${keyPath(key)}?step=${step}`),
    theme: themeFromDocument(),
  };
}
