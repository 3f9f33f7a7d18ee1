import type { Dispatch, RefObject, SetStateAction } from "react";
import type { Run } from "../api/types";
import type { LinesHandle } from "../lines/LinesView";
import type { TerminalHandle } from "../terminal/TerminalPanel";
import { timeline } from "../timeline/moment";
import { isField, useKeybindings, type Keybinding } from "./useKeybindings";

export type LogTab = "terminal" | "lines";

/** What the dashboard's shortcuts read and drive. */
export interface DashboardKeys {
  runs: readonly Run[];
  runId: string | undefined;
  logTab: LogTab;
  select(id: string): void;
  setLogTab: Dispatch<SetStateAction<LogTab>>;
  setCompare(ids: string[]): void;
  setHelp: Dispatch<SetStateAction<boolean>>;
  searchRef: RefObject<HTMLInputElement | null>;
  termRef: RefObject<TerminalHandle | null>;
  linesRef: RefObject<LinesHandle | null>;
}

/** The dashboard's shortcuts, as listed by the help overlay (components/HelpOverlay.tsx SHORTCUTS). */
export function dashboardKeybindings(d: DashboardKeys): Keybinding[] {
  // step through the (filtered) run list from the open run, stopping at either end
  const go = (delta: number) => {
    const i = d.runs.findIndex((r) => r.id === d.runId);
    const next = d.runs[Math.min(d.runs.length - 1, Math.max(0, (i < 0 ? -1 : i) + delta))];
    if (next) d.select(next.id);
  };
  return [
    {
      keys: ["Escape"],
      always: true,
      run: (e) => {
        d.setHelp(false);
        if (isField(e.target)) (e.target as HTMLElement).blur();
        else timeline.set(null); // a step marked on the time line: back to live
      },
    },
    { keys: ["j", "ArrowDown"], run: () => go(1) },
    { keys: ["k", "ArrowUp"], run: () => go(-1) },
    { keys: ["/"], run: () => d.searchRef.current?.focus() },
    {
      keys: ["l"],
      run: () => {
        d.setLogTab("terminal");
        // the terminal tab may be hidden until the state change renders
        setTimeout(() => d.termRef.current?.focus(), 0);
      },
    },
    {
      keys: ["f"],
      run: () => (d.logTab === "terminal" ? d.termRef.current : d.linesRef.current)?.focusSearch(),
    },
    { keys: ["t"], run: () => d.setLogTab((t) => (t === "terminal" ? "lines" : "terminal")) },
    { keys: ["c"], run: () => d.setCompare([]) },
    { keys: ["?"], inPassThrough: true, run: () => d.setHelp((h) => !h) },
  ];
}

/** Keyboard shortcuts of the dashboard page; keys typed into the terminal stay with the terminal, except `?`. */
export function useDashboardKeybindings(d: DashboardKeys): void {
  useKeybindings(dashboardKeybindings(d), { passThrough: ".xterm" });
}
