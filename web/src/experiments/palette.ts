// Colours of the experiments charts, following the page's colour scheme: `<html data-theme="light|dark">` when
// the page sets it (global.css switches its variables on it), else the browser's `prefers-color-scheme`.
import { useSyncExternalStore } from "react";
import { runColors as darkRunColors } from "../lib/theme";

const LIGHT_QUERY = "(prefers-color-scheme: light)";

/** Line colours that read on white (amber and cyan do not). */
const LIGHT_RUN_COLORS = ["#b07800", "#007c91", "#1b8a1b", "#c0501a", "#a0309a", "#2f6fb0", "#c0392b", "#5a7d00"];

export type Scheme = "dark" | "light";

function scheme(): Scheme {
  if (typeof document === "undefined") return "dark";
  const set = document.documentElement.dataset.theme;
  if (set === "light" || set === "dark") return set;
  return window.matchMedia?.(LIGHT_QUERY).matches ? "light" : "dark";
}

function subscribe(cb: () => void): () => void {
  if (typeof window === "undefined") return () => undefined;
  const mq = window.matchMedia?.(LIGHT_QUERY);
  mq?.addEventListener("change", cb);
  const mo = new MutationObserver(cb);
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return () => {
    mq?.removeEventListener("change", cb);
    mo.disconnect();
  };
}

/** The current scheme; re-renders when the browser's preference changes. */
export function useScheme(): Scheme {
  return useSyncExternalStore(subscribe, scheme, () => "dark");
}

export function runColorsOf(s: Scheme): readonly string[] {
  return s === "light" ? LIGHT_RUN_COLORS : darkRunColors;
}

/** Per round of the palette (runs 0-7, 8-15, ...): how far its colours move toward white (+) or black (-).
 * Dark backgrounds keep the bright colours first; light ones the dark colours. */
const ROUND_SHADES: Record<Scheme, readonly number[]> = {
  dark: [0, -0.42, 0.5, -0.62, 0.72],
  light: [0, 0.4, -0.45, 0.62, -0.65],
};

/** Dash patterns (canvas `setLineDash`) per round of the palette; the first round is solid. */
const ROUND_DASHES: readonly (number[] | undefined)[] = [undefined, [7, 3], [2, 3], [10, 3, 2, 3], [1, 2]];

/** `hex` (#rrggbb) mixed toward white (`amount` > 0) or black (< 0) by |amount|. */
export function shade(hex: string, amount: number): string {
  const n = parseInt(hex.slice(1), 16);
  const target = amount > 0 ? 255 : 0;
  const a = Math.min(1, Math.abs(amount));
  const mix = (c: number) => Math.round(c + (target - c) * a);
  const rgb = [mix((n >> 16) & 255), mix((n >> 8) & 255), mix(n & 255)];
  return `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

/** Run ``i``'s colour: the palette's, lighter or darker each time the palette comes round again, so the
 * 9th run is not the 1st's colour. */
export function colorAt(s: Scheme, i: number): string {
  const c = runColorsOf(s);
  const base = c[i % c.length] as string;
  const shades = ROUND_SHADES[s];
  const amount = shades[Math.floor(i / c.length) % shades.length] ?? 0;
  return amount === 0 ? base : shade(base, amount);
}

/** Run ``i``'s line dash: solid for the palette's first round, then one pattern per round (with
 * `colorAt`'s shade, two cues that the line is not the earlier run's). */
export function dashAt(s: Scheme, i: number): number[] | undefined {
  const round = Math.floor(i / runColorsOf(s).length);
  return ROUND_DASHES[round % ROUND_DASHES.length];
}

/** Axis, grid and tick colours of a scheme. */
export function chartColors(s: Scheme): { axis: string; grid: string; tick: string } {
  return s === "light" ? { axis: "#555555", grid: "#e6e6e6", tick: "#bbbbbb" } : { axis: "#808080", grid: "#222222", tick: "#333333" };
}
