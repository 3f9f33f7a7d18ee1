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

/** The first line colours of overlaid runs on the dark scheme, in selection order (then `runColor` generates). */
export const runColors = ["#FFD700", "#00FFFF", "#00FF00", "#FF8C00", "#FF66FF", "#87CEFA", "#FF6347", "#ADFF2F", "#C39BFF", "#F5F5DC"];

/** The same ten on the light scheme: darker colours that read on white (amber and cyan do not). */
const LIGHT_RUN_COLORS = ["#b07800", "#007c91", "#1b8a1b", "#c0501a", "#a0309a", "#2f6fb0", "#c0392b", "#5a7d00", "#6a3fc0", "#505050"];

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
  /** load levels (system bars): fine, busy, saturated */
  good: string;
  warn: string;
  bad: string;
  runColors: readonly string[];
}

const DARK: Palette = {
  axis: theme.muted,
  grid: theme.grid,
  tick: theme.border,
  text: theme.amber,
  marker: theme.red,
  moment: "#FF66FF",
  good: theme.green,
  warn: theme.orange,
  bad: theme.red,
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
  good: "#137a13",
  warn: "#a85a00",
  bad: "#c00000",
  runColors: LIGHT_RUN_COLORS,
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

// ---------------------------------------------------------------- run colours past the first ten
// The categorical ten come first; run 10 onwards gets a generated colour: from a grid of candidates in OKLCH (a
// perceptual space) at lightnesses that read on the scheme's background, each next colour is the candidate
// farthest from every colour already given (farthest-point sampling), so the 11th and the 200th run are as
// far apart as the gamut allows. GENERATED_MAX colours are generated; past them the colours repeat, and
// `runDash` (a different dash per round of ten) tells the lines apart.

/** How many colours are generated beyond the categorical ten (the rest repeat, dashed differently). */
export const GENERATED_MAX = 250;

/** Lightness levels and chroma of the candidates: light lines on the dark scheme, dark ones on light. */
const CANDIDATES: Record<Scheme, { l: readonly number[]; c: readonly number[] }> = {
  dark: { l: [0.62, 0.7, 0.78, 0.86, 0.94], c: [0.09, 0.16, 0.24] },
  light: { l: [0.34, 0.42, 0.5, 0.58], c: [0.08, 0.14, 0.2] },
};

function srgbGamma(x: number): number {
  return x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
}

function srgbLinear(x: number): number {
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
}

/** OKLab -> linear sRGB (Björn Ottosson's matrices). */
function oklabToLinear(l: number, a: number, b: number): [number, number, number] {
  const l_ = (l + 0.3963377774 * a + 0.2158037573 * b) ** 3;
  const m_ = (l - 0.1055613458 * a - 0.0638541728 * b) ** 3;
  const s_ = (l - 0.0894841775 * a - 1.291485548 * b) ** 3;
  return [
    4.0767416621 * l_ - 3.3077115913 * m_ + 0.2309699292 * s_,
    -1.2684380046 * l_ + 2.6097574011 * m_ - 0.3413193965 * s_,
    -0.0041960863 * l_ - 0.7034186147 * m_ + 1.707614701 * s_,
  ];
}

/** `#rrggbb` -> OKLab [L, a, b]: for distance checks. */
export function hexToOklab(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => srgbLinear(c / 255)) as [number, number, number];
  const l = Math.cbrt(0.4122214708 * r + 0.5363031317 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

/** Perceptual distance of two colours (Euclidean in OKLab; ~0.02 is just noticeable). */
export function colorDistance(a: string, b: string): number {
  const [l1, a1, b1] = hexToOklab(a);
  const [l2, a2, b2] = hexToOklab(b);
  return Math.hypot(l1 - l2, a1 - a2, b1 - b2);
}

/** OKLCH -> `#rrggbb`, the chroma lowered until the colour fits sRGB. */
export function oklch(l: number, c: number, hueDeg: number): string {
  const h = (hueDeg * Math.PI) / 180;
  for (let chroma = c; chroma >= 0; chroma -= 0.005) {
    const rgb = oklabToLinear(l, chroma * Math.cos(h), chroma * Math.sin(h));
    if (rgb.every((v) => v >= -1e-4 && v <= 1 + 1e-4) || chroma < 0.005)
      return `#${rgb.map((v) => Math.round(255 * srgbGamma(Math.min(1, Math.max(0, v)))).toString(16).padStart(2, "0")).join("")}`;
  }
  return "#808080";
}

const generated: Partial<Record<Scheme, string[]>> = {};

/** The generated colours of a scheme (computed once, on first use). */
function generatedColors(scheme: Scheme): string[] {
  const done = generated[scheme];
  if (done) return done;
  const g = CANDIDATES[scheme];
  const seen = new Set<string>();
  const pool: { hex: string; lab: [number, number, number] }[] = [];
  for (const l of g.l)
    for (const c of g.c)
      for (let h = 0; h < 360; h += 6) {
        const hex = oklch(l, c, h);
        if (!seen.has(hex)) pool.push({ hex, lab: hexToOklab(hex) });
        seen.add(hex);
      }
  const dist = (p: [number, number, number], q: [number, number, number]) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
  // each candidate's distance to the nearest colour given so far (the ten, and the background: never near it)
  const given = [...palette(scheme).runColors, scheme === "dark" ? "#000000" : "#ffffff"].map(hexToOklab);
  const near = pool.map((p) => Math.min(...given.map((q) => dist(p.lab, q))));
  const out: string[] = [];
  while (out.length < GENERATED_MAX && out.length < pool.length) {
    let best = 0;
    for (let i = 1; i < pool.length; i++) if ((near[i] as number) > (near[best] as number)) best = i;
    const pick = pool[best] as { hex: string; lab: [number, number, number] };
    out.push(pick.hex);
    pool.forEach((p, i) => (near[i] = Math.min(near[i] as number, dist(p.lab, pick.lab))));
  }
  generated[scheme] = out;
  return out;
}

/** Run `i`'s line colour in a scheme: the categorical ten, then the generated ones (see above). */
export function runColor(scheme: Scheme, i: number): string {
  const base = palette(scheme).runColors;
  if (i < base.length) return base[i] as string;
  const gen = generatedColors(scheme);
  return gen[(i - base.length) % gen.length] as string;
}

/** Dash patterns (canvas `setLineDash`) per round of ten runs; the first round is solid. */
const ROUND_DASHES: readonly (number[] | undefined)[] = [undefined, [7, 3], [2, 3], [10, 3, 2, 3], [1, 2]];

/** Run `i`'s line dash: solid for the first ten, then one pattern per round of ten (a cue besides colour). */
export function runDash(scheme: Scheme, i: number): number[] | undefined {
  return ROUND_DASHES[Math.floor(i / palette(scheme).runColors.length) % ROUND_DASHES.length];
}

if (typeof window !== "undefined") {
  applyScheme();
  window.matchMedia?.(LIGHT_QUERY).addEventListener?.("change", () => {
    applyScheme();
    for (const l of schemeListeners) l();
  });
}
