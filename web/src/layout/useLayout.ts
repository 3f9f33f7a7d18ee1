import { useCallback, useSyncExternalStore } from "react";
import { loadLayout, onLayoutChange, saveLayout, toggled, type Layout } from "./store";

export interface LayoutApi {
  layout: Layout;
  isCollapsed(panel: string): boolean;
  toggleCollapsed(panel: string): void;
  setSize(name: string, px: number): void;
  isPinned(key: string): boolean;
  togglePinned(key: string): void;
  toggleSection(section: string): void;
}

/** The layout of `project`'s run page, saved as it changes. */
export function useLayout(project: string): LayoutApi {
  const layout = useSyncExternalStore(onLayoutChange, () => loadLayout(project));
  const update = useCallback((f: (l: Layout) => Layout) => saveLayout(project, f(loadLayout(project))), [project]);
  return {
    layout,
    isCollapsed: (p) => layout.collapsed.includes(p),
    toggleCollapsed: (p) => update((l) => ({ ...l, collapsed: toggled(l.collapsed, p) })),
    setSize: (name, px) => update((l) => ({ ...l, sizes: { ...l.sizes, [name]: Math.round(px) } })),
    isPinned: (k) => layout.pinned.includes(k),
    togglePinned: (k) => update((l) => ({ ...l, pinned: toggled(l.pinned, k) })),
    toggleSection: (s) => update((l) => ({ ...l, foldedSections: toggled(l.foldedSections, s) })),
  };
}
