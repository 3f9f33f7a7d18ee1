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

export function colorAt(s: Scheme, i: number): string {
  const c = runColorsOf(s);
  return c[i % c.length] as string;
}

/** Axis, grid and tick colours of a scheme. */
export function chartColors(s: Scheme): { axis: string; grid: string; tick: string } {
  return s === "light" ? { axis: "#555555", grid: "#e6e6e6", tick: "#bbbbbb" } : { axis: "#808080", grid: "#222222", tick: "#333333" };
}
