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
