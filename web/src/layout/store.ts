// The run page's layout per project: collapsed panels, panel sizes, pinned charts, collapsed chart sections.
// Saved on the server (GET/PUT /api/projects/{project}/layout, per user: it follows the user), under the
// document's `run_page` key so other pages' parts are kept; localStorage holds a copy that paints the
// page before the server answers (and keeps working when it does not).
import { request } from "../api/client";

export interface Layout {
  /** panel ids folded to their header */
  collapsed: string[];
  /** panel sizes in px by name (e.g. the metrics panel's height, the side column's width) */
  sizes: Record<string, number>;
  /** metric keys shown first, in the PINNED section */
  pinned: string[];
  /** chart sections (key prefixes) folded away */
  foldedSections: string[];
}

export const EMPTY_LAYOUT: Layout = { collapsed: [], sizes: {}, pinned: [], foldedSections: [] };

/**
 * Bounds of each resizable size, from the viewport: a saved layout (from a wider screen, an older version or
 * a wild drag) can never push a panel off screen. The side columns leave the charts at least MIN_MAIN px; the
 * charts' height leaves the log at least MIN_LOG px.
 */
export const MIN_MAIN = 360;
export const MIN_LOG = 120;
const CHROME = 60; // top bar, panel heads, gaps

export function sizeBounds(name: string, viewport: { width: number; height: number }): [number, number] | null {
  const { width, height } = viewport;
  if (name === "side") return [200, Math.max(200, Math.min(720, (width - MIN_MAIN) / 2))];
  if (name === "info") return [260, Math.max(260, Math.min(900, (width - MIN_MAIN) / 2))];
  if (name === "metrics") return [140, Math.max(140, height - CHROME - MIN_LOG)];
  return null;
}

/** `layout` with every size inside its bounds for the viewport (unknown sizes are kept as they are). */
export function clampLayout(layout: Layout, viewport: { width: number; height: number }): Layout {
  let changed = false;
  const sizes: Record<string, number> = {};
  for (const [k, v] of Object.entries(layout.sizes)) {
    const b = sizeBounds(k, viewport);
    const c = b ? Math.round(Math.min(b[1], Math.max(b[0], v))) : v;
    changed ||= c !== v;
    sizes[k] = c;
  }
  return changed ? { ...layout, sizes } : layout;
}

/** The layout with sizes and folds back to the defaults (pinned charts are kept: they are content). */
export function resetLayoutOf(layout: Layout): Layout {
  return { ...EMPTY_LAYOUT, pinned: layout.pinned };
}

const PREFIX = "trainboard.layout.";
type Listener = () => void;
const listeners = new Set<Listener>();
const cache = new Map<string, Layout>();

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(0, 500) : [];
}

/** A stored layout as saved by any version: unknown or malformed fields fall back to the defaults. */
export function parseLayout(text: string | null): Layout {
  if (!text) return EMPTY_LAYOUT;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return EMPTY_LAYOUT;
  }
  if (!raw || typeof raw !== "object") return EMPTY_LAYOUT;
  const o = raw as Record<string, unknown>;
  const sizes: Record<string, number> = {};
  if (o.sizes && typeof o.sizes === "object") {
    for (const [k, v] of Object.entries(o.sizes as Record<string, unknown>))
      if (typeof v === "number" && Number.isFinite(v) && v > 0) sizes[k] = v;
  }
  return { collapsed: strings(o.collapsed), sizes, pinned: strings(o.pinned), foldedSections: strings(o.foldedSections) };
}

/** The whole layout document of each project as the server last had it (other pages' keys included). */
const serverDocs = new Map<string, Record<string, unknown>>();
const saveTimers = new Map<string, ReturnType<typeof setTimeout>>();
const KEY = "run_page";
const SAVE_DELAY_MS = 400;

const layoutUrl = (project: string) => `/api/projects/${encodeURIComponent(project)}/layout`;

function remember(project: string, layout: Layout): void {
  cache.set(project, layout);
  try {
    localStorage.setItem(PREFIX + project, JSON.stringify(layout));
  } catch {
    /* quota or disabled: kept for this page only */
  }
  for (const l of listeners) l();
}

async function fetchServerLayout(project: string): Promise<void> {
  try {
    const res = await request(layoutUrl(project), { headers: { Accept: "application/json" } });
    const body = (await res.json()) as { layout?: Record<string, unknown> | null };
    const doc = body.layout ?? {};
    serverDocs.set(project, doc);
    if (doc[KEY] !== undefined && !saveTimers.has(project)) remember(project, parseLayout(JSON.stringify(doc[KEY])));
  } catch {
    /* an older server or no access: the local copy stands */
  }
}

async function putServerLayout(project: string): Promise<void> {
  saveTimers.delete(project);
  const doc = { ...(serverDocs.get(project) ?? {}), [KEY]: cache.get(project) ?? EMPTY_LAYOUT };
  try {
    await request(layoutUrl(project), {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ layout: doc }),
    });
    serverDocs.set(project, doc);
  } catch {
    /* kept locally; the next change tries again */
  }
}

export function loadLayout(project: string): Layout {
  let l = cache.get(project);
  if (!l) {
    let text: string | null = null;
    try {
      text = localStorage.getItem(PREFIX + project);
    } catch {
      /* storage disabled: the default layout */
    }
    l = parseLayout(text);
    cache.set(project, l);
    void fetchServerLayout(project);
  }
  return l;
}

export function saveLayout(project: string, layout: Layout): void {
  remember(project, layout);
  const pending = saveTimers.get(project);
  if (pending) clearTimeout(pending);
  saveTimers.set(project, setTimeout(() => void putServerLayout(project), SAVE_DELAY_MS));
}

export function onLayoutChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** `list` with `item` added when absent, removed when present. */
export function toggled(list: readonly string[], item: string): string[] {
  return list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
}
