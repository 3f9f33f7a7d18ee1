// The experiments pages' names for the one colour system in lib/theme.ts (kept so their imports stay as they
// are): run colours, dashes, chart colours and the page's scheme all come from there.
import { useScheme as useLayoutScheme } from "../layout/useScheme";
import { palette, runColor, runDash, type Scheme } from "../lib/theme";

export type { Scheme };

/** The page's colour scheme, re-rendering when it changes (the theme button or the browser's preference). */
export const useScheme = useLayoutScheme;

/** The categorical first colours of a scheme. */
export function runColorsOf(s: Scheme): readonly string[] {
  return palette(s).runColors;
}

/** `hex` (#rrggbb) mixed toward white (`amount` > 0) or black (< 0) by |amount|. */
export function shade(hex: string, amount: number): string {
  const n = parseInt(hex.slice(1), 16);
  const target = amount > 0 ? 255 : 0;
  const a = Math.min(1, Math.abs(amount));
  const mix = (c: number) => Math.round(c + (target - c) * a);
  const rgb = [mix((n >> 16) & 255), mix((n >> 8) & 255), mix(n & 255)];
  return `#${rgb.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

/** Run `i`'s colour (lib/theme `runColor`). */
export const colorAt = runColor;

/** Run `i`'s line dash (lib/theme `runDash`). */
export const dashAt = runDash;

/** Axis, grid and tick colours of a scheme. */
export function chartColors(s: Scheme): { axis: string; grid: string; tick: string } {
  const p = palette(s);
  return { axis: p.axis, grid: p.grid, tick: p.tick };
}
