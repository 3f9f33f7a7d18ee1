import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { clampLayout, loadLayout, onLayoutChange, resetLayoutOf, saveLayout, sizeBounds, toggled, type Layout } from "./store";

export interface LayoutApi {
  layout: Layout;
  isCollapsed(panel: string): boolean;
  toggleCollapsed(panel: string): void;
  setSize(name: string, px: number): void;
  isPinned(key: string): boolean;
  togglePinned(key: string): void;
  toggleSection(section: string): void;
  /** sizes and folded panels back to the defaults */
  reset(): void;
  /** the bounds of a size in this viewport */
  bounds(name: string): [number, number];
}

function viewport(): { width: number; height: number } {
  return typeof window === "undefined" ? { width: 1920, height: 1080 } : { width: window.innerWidth, height: window.innerHeight };
}

/** The viewport's size, following resizes. */
function useViewport(): { width: number; height: number } {
  const [v, setV] = useState(viewport);
  useEffect(() => {
    const on = () => setV(viewport());
    window.addEventListener("resize", on);
    return () => window.removeEventListener("resize", on);
  }, []);
  return v;
}

/** The layout of `project`'s run page, saved as it changes. */
export function useLayout(project: string): LayoutApi {
  const stored = useSyncExternalStore(onLayoutChange, () => loadLayout(project));
  const vp = useViewport();
  // what is drawn is always inside the viewport's bounds, whatever was saved (and from whichever screen)
  const layout = clampLayout(stored, vp);
  const update = useCallback((f: (l: Layout) => Layout) => saveLayout(project, f(loadLayout(project))), [project]);
  return {
    layout,
    isCollapsed: (p) => layout.collapsed.includes(p),
    toggleCollapsed: (p) => update((l) => ({ ...l, collapsed: toggled(l.collapsed, p) })),
    setSize: (name, px) => update((l) => ({ ...l, sizes: { ...l.sizes, [name]: Math.round(px) } })),
    isPinned: (k) => layout.pinned.includes(k),
    togglePinned: (k) => update((l) => ({ ...l, pinned: toggled(l.pinned, k) })),
    toggleSection: (s) => update((l) => ({ ...l, foldedSections: toggled(l.foldedSections, s) })),
    reset: () => update(resetLayoutOf),
    bounds: (name) => sizeBounds(name, vp) ?? [0, 10_000],
  };
}
