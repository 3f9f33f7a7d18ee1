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

export type Scheme = "dark" | "light";

/** The page follows the browser's preference; dark (the terminal palette) is the default. */
export function currentScheme(): Scheme {
  return typeof window !== "undefined" && window.matchMedia?.(LIGHT_QUERY).matches ? "light" : "dark";
}

export function palette(scheme: Scheme = currentScheme()): Palette {
  return scheme === "light" ? LIGHT : DARK;
}

export function onSchemeChange(cb: () => void): () => void {
  const mq = typeof window !== "undefined" ? window.matchMedia?.(LIGHT_QUERY) : undefined;
  if (!mq) return () => undefined;
  mq.addEventListener("change", cb);
  return () => mq.removeEventListener("change", cb);
}
