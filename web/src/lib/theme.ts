// The Bloomberg-terminal palette (seed plan), shared by CSS-less widgets (uPlot, xterm).
export const theme = {
  bg: "#000000",
  bg2: "#0a0a0a",
  panel: "#1a1a1a",
  hover: "#2a2a2a",
  amber: "#FFD700",
  orange: "#FFA500",
  muted: "#808080",
  green: "#00FF00",
  red: "#FF0000",
  cyan: "#00FFFF",
  border: "#333333",
  grid: "#222222",
  font: "'JetBrains Mono', 'Fira Code', 'DejaVu Sans Mono', Menlo, Monaco, Consolas, monospace",
} as const;

/** Line colours of overlaid runs, in selection order. */
export const runColors = ["#FFD700", "#00FFFF", "#00FF00", "#FF8C00", "#FF66FF", "#87CEFA", "#FF6347", "#ADFF2F"];

export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(alpha * 255)
    .toString(16)
    .padStart(2, "0");
  return `${hex}${a}`;
}

/** Colours of the charts (and other canvas widgets) in a colour scheme. The terminal stays dark in both. */
export interface Palette {
  axis: string;
  grid: string;
  tick: string;
  text: string;
  marker: string;
  moment: string;
  runColors: readonly string[];
}

const DARK: Palette = {
  axis: theme.muted,
  grid: theme.grid,
  tick: theme.border,
  text: theme.amber,
  marker: theme.red,
  moment: "#FF66FF",
  runColors,
};

/** Darker line colours that read on white (amber and cyan do not). */
const LIGHT: Palette = {
  axis: "#555555",
  grid: "#e6e6e6",
  tick: "#bbbbbb",
  text: "#5c4300",
  marker: "#c00000",
  moment: "#b000b0",
  runColors: ["#b07800", "#007c91", "#1b8a1b", "#c0501a", "#a0309a", "#2f6fb0", "#c0392b", "#5a7d00"],
};

const LIGHT_QUERY = "(prefers-color-scheme: light)";
const CHOICE_KEY = "trainboard.theme";

export type Scheme = "dark" | "light";
/** The user's choice: the dark terminal palette (the default), light, or whatever the browser prefers. */
export type ThemeChoice = "dark" | "light" | "auto";

const schemeListeners = new Set<() => void>();

export function themeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(CHOICE_KEY);
    return v === "light" || v === "auto" ? v : "dark";
  } catch {
    return "dark";
  }
}

function browserPrefersLight(): boolean {
  return typeof window !== "undefined" && Boolean(window.matchMedia?.(LIGHT_QUERY).matches);
}

/** The scheme the page is drawn in: the choice, "auto" following the browser's preference. */
export function currentScheme(): Scheme {
  const c = themeChoice();
  return c === "auto" ? (browserPrefersLight() ? "light" : "dark") : c;
}

/** Put the scheme on <html data-theme> (the stylesheet's switch). */
export function applyScheme(): void {
  if (typeof document !== "undefined") document.documentElement.dataset.theme = currentScheme();
}

export function setThemeChoice(c: ThemeChoice): void {
  try {
    localStorage.setItem(CHOICE_KEY, c);
  } catch {
    /* this page only */
  }
  applyScheme();
  for (const l of schemeListeners) l();
}

export function palette(scheme: Scheme = currentScheme()): Palette {
  return scheme === "light" ? LIGHT : DARK;
}

/** Called when the scheme may have changed: the choice, or the browser's preference (under "auto"). */
export function onSchemeChange(cb: () => void): () => void {
  schemeListeners.add(cb);
  return () => schemeListeners.delete(cb);
}

if (typeof window !== "undefined") {
  applyScheme();
  window.matchMedia?.(LIGHT_QUERY).addEventListener?.("change", () => {
    applyScheme();
    for (const l of schemeListeners) l();
  });
}
